// GET /asyncapi.json as the admin service serves it (`relayguard admin`'s HTTP server on a free loopback port): the
// document docs/asyncapi.yaml holds, valid for the AsyncAPI parser with its Avro schema parser.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AvroSchemaParser } from '@asyncapi/avro-schema-parser';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import { parse } from 'yaml';
import { ASYNCAPI_FILE } from '../../scripts/gen-asyncapi.js';
import { startServers } from '../../services/app/serve.js';
import { loadConfig } from '../../services/platform/config.js';
import { silentLogger } from '../../services/platform/logger.js';

describe('/asyncapi.json', () => {
  it('is served by the admin service, valid, and the same document as docs/asyncapi.yaml', async (t) => {
    const servers = await startServers(loadConfig({ RELAYGUARD_HTTP_PORT: '0' }), ['admin'], silentLogger);
    t.after(() => servers.stop());
    const response = await fetch(`${servers.httpAddress}/asyncapi.json`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    const text = await response.text();
    assert.deepEqual(JSON.parse(text), parse(readFileSync(ASYNCAPI_FILE, 'utf8')));

    const parser = new Parser();
    parser.registerSchemaParser(AvroSchemaParser());
    const { document, diagnostics } = await parser.parse(text);
    const problems = diagnostics.filter(
      (d) => d.severity === DiagnosticSeverity.Error || d.severity === DiagnosticSeverity.Warning,
    );
    assert.deepEqual(problems, []);
    assert.ok(document?.channels().all().length, 'no channels');
  });
});
