// docs/asyncapi.yaml: generated from the topics, the topic plan and schemas/, valid AsyncAPI 3 (checked with the
// AsyncAPI parser and its Avro schema parser), and current: a topic or schema added without regenerating it fails.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { AvroSchemaParser } from '@asyncapi/avro-schema-parser';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import { parse } from 'yaml';
import { ASYNCAPI_FILE, asyncApiYaml } from '../../scripts/gen-asyncapi.js';
import { Topics } from '../../services/core/topics.js';
import { projectPath } from '../../services/platform/project-files.js';

const committed = readFileSync(ASYNCAPI_FILE, 'utf8');

async function problems(document: string) {
  const parser = new Parser();
  parser.registerSchemaParser(AvroSchemaParser());
  const { diagnostics } = await parser.parse(document);
  return diagnostics
    .filter((d) => d.severity === DiagnosticSeverity.Error || d.severity === DiagnosticSeverity.Warning)
    .map((d) => `${d.path.join('.')}: ${d.message}`);
}

describe('AsyncAPI document', () => {
  let parsed: {
    channels: Record<string, { address: string; messages: Record<string, { $ref: string }> }>;
    components: { messages: Record<string, { payload: { schema?: unknown } }> };
  };
  before(() => {
    parsed = parse(committed);
  });

  it('is what scripts/gen-asyncapi.ts generates (run `npm run gen` after changing a topic or schema)', () => {
    assert.equal(committed, asyncApiYaml());
  });

  it('is valid AsyncAPI, Avro payloads included, without errors or warnings', async () => {
    assert.deepEqual(await problems(committed), []);
  });

  it('has a channel for every topic, and every schema in schemas/ is a payload exactly as written there', () => {
    const channels = Object.values(parsed.channels);
    assert.deepEqual(channels.map((channel) => channel.address).sort(), Object.values(Topics).sort());
    const payloads = Object.values(parsed.components.messages).map((message) => message.payload.schema);
    for (const file of readdirSync(projectPath('schemas')).filter((name) => name.endsWith('.avsc'))) {
      const schema = JSON.parse(readFileSync(projectPath('schemas', file), 'utf8'));
      assert.ok(
        payloads.some((payload) => JSON.stringify(payload) === JSON.stringify(schema)),
        `schemas/${file} is no channel's payload`,
      );
    }
  });

  it('is checked for real: the parser refuses an Avro payload that is not a valid schema', async () => {
    const broken = parse(committed);
    broken.components.messages.TenantBlockEvent.payload.schema.fields[0].type = 'no-such-type';
    const found = await problems(JSON.stringify(broken));
    assert.ok(
      found.some((problem) =>
        problem.startsWith('components.messages.TenantBlockEvent.payload.schema.fields.0.type'),
      ),
      `the broken field was not named: ${found.slice(0, 3).join('; ')}`,
    );
  });
});
