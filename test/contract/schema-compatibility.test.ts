// Schema evolution is checked like a deployment would: every committed version of each schema is registered
// in order under its subject (BACKWARD_TRANSITIVE), then `relayguard schemas check` asks whether the working
// tree's schemas can follow. A change that breaks consumers — e.g. a new field without a default — fails here.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ExitCode } from '../../services/cli/exit-codes.js';
import { type ContractTopic, TopicSchemas, Topics } from '../../services/core/topics.js';
import { RegistryCodec, subjectOf } from '../../services/platform/codec/registry-codec.js';
import { checkSchemas } from '../../services/platform/codec/schema-check.js';
import { projectPath } from '../../services/platform/project-files.js';
import { type SchemaRegistryDouble, startSchemaRegistry } from '../support/schema-registry.js';

const run = promisify(execFile);
const topics = Object.keys(TopicSchemas) as ContractTopic[];

async function registry(): Promise<{
  double: SchemaRegistryDouble;
  config: { url: string; auth: undefined };
}> {
  const double = await startSchemaRegistry();
  return { double, config: { url: double.url, auth: undefined } };
}

/** Every committed version of a schema file, oldest first (empty outside a git checkout). */
async function committedVersions(file: string): Promise<string[]> {
  const git = (...args: string[]) => run('git', args, { cwd: projectPath(), maxBuffer: 16 << 20 });
  const { stdout } = await git('log', '--reverse', '--format=%H', '--', `schemas/${file}`).catch(() => ({
    stdout: '',
  }));
  const versions: string[] = [];
  for (const commit of stdout.split('\n').filter(Boolean)) {
    versions.push((await git('show', `${commit}:schemas/${file}`)).stdout);
  }
  return versions;
}

async function register(url: string, subject: string, schema: string): Promise<Response> {
  return fetch(`${url}/subjects/${encodeURIComponent(subject)}/versions`, {
    method: 'POST',
    body: JSON.stringify({ schema: JSON.stringify(JSON.parse(schema)) }),
  });
}

describe('schema compatibility', () => {
  it('every schema in schemas/ can be registered over all its committed versions', async (t) => {
    const { double, config } = await registry();
    t.after(() => double.stop());
    let registered = 0;
    for (const topic of topics) {
      const subject = subjectOf(topic);
      await fetch(`${double.url}/config/${subject}`, {
        method: 'PUT',
        body: JSON.stringify({ compatibility: 'BACKWARD_TRANSITIVE' }),
      });
      for (const version of await committedVersions(TopicSchemas[topic])) {
        const response = await register(double.url, subject, version);
        assert.equal(response.status, 200, `${subject}: a committed version broke an older one`);
        registered++;
      }
    }
    if (registered === 0) {
      t.skip('no git history of schemas/ (not a git checkout): nothing released to compare with');
      return;
    }
    const results = await checkSchemas(config);
    for (const result of results) {
      assert.deepEqual(result.problems, [], `${result.subject}: ${result.problems.join('; ')}`);
    }
  });

  describe('relayguard schemas check', () => {
    let double: SchemaRegistryDouble;
    let config: { url: string; auth: undefined };
    let dir: string;
    const schemaFile = () => join(dir, TopicSchemas[Topics.messageSubmitted]);

    before(async () => {
      ({ double, config } = await registry());
      await new RegistryCodec(config).registerAll();
      dir = await mkdtemp(join(tmpdir(), 'relayguard-schemas-'));
      await cp(projectPath('schemas'), dir, { recursive: true });
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
      await double.stop();
    });

    async function withNewField(field: Record<string, unknown>) {
      const schema = JSON.parse(
        await readFile(projectPath('schemas', TopicSchemas[Topics.messageSubmitted]), 'utf8'),
      );
      schema.fields.push({ name: 'spamScore', type: 'int', ...field });
      await writeFile(schemaFile(), JSON.stringify(schema, null, 2));
    }

    it('fails when a new field has no default (old records cannot be read), naming the field', async () => {
      await withNewField({});
      const results = await checkSchemas(config, dir);
      const changed = results.find((r) => r.topic === Topics.messageSubmitted)!;
      assert.equal(changed.status, 'incompatible');
      assert.match(changed.problems.join(), /spamScore/);
      assert.ok(
        results.filter((r) => r !== changed).every((r) => r.status === 'compatible'),
        'the unchanged schemas pass',
      );

      // The command says so with its exit code.
      const cli = await run(
        process.execPath,
        ['--import', 'tsx', 'services/cli/main.ts', 'schemas', 'check', '--schemas', dir],
        {
          cwd: projectPath(),
          env: { PATH: process.env.PATH, SCHEMA_REGISTRY_URL: double.url },
        },
      ).then(
        () => ({ code: 0, stdout: '' }),
        (error: { code: number; stdout: string }) => error,
      );
      assert.equal(cli.code, ExitCode.UNEXPECTED_RESULT);
      assert.match(
        cli.stdout,
        /relayguard\.message-submitted\.v1-value\s+message-submitted\.avsc\s+incompatible/,
      );
    });

    it('passes when the new field has a default', async () => {
      await withNewField({ default: 0 });
      const results = await checkSchemas(config, dir);
      assert.ok(
        results.every((r) => r.status === 'compatible'),
        JSON.stringify(results.filter((r) => r.status !== 'compatible')),
      );
    });

    it('fails when a subject is not BACKWARD_TRANSITIVE (older versions would go unchecked)', async () => {
      const subject = subjectOf(Topics.audit);
      await fetch(`${double.url}/config/${subject}`, {
        method: 'PUT',
        body: JSON.stringify({ compatibility: 'BACKWARD' }),
      });
      const result = (await checkSchemas(config)).find((r) => r.subject === subject)!;
      assert.equal(result.status, 'not-transitive');
      assert.match(result.problems.join(), /compatibility level is BACKWARD, not BACKWARD_TRANSITIVE/);
    });
  });
});
