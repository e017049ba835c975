// The SchemaCodec contract against the Schema Registry codec, talking HTTP to the registry double (real
// compatibility checks with avsc).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import avro from 'avsc';
import { SCORED_FIELDS } from '../../services/core/classify.js';
import { isRelayguardError } from '../../services/core/errors.js';
import { Topics } from '../../services/core/topics.js';
import { frame, readSchema } from '../../services/platform/codec/avro.js';
import { RegistryCodec, subjectOf } from '../../services/platform/codec/registry-codec.js';
import { sampleContractValues } from '../support/builders.js';
import { type SchemaRegistryDouble, startSchemaRegistry } from '../support/schema-registry.js';
import { schemaCodecContract } from './schema-codec.contract.js';

let registry: SchemaRegistryDouble;
before(async () => {
  registry = await startSchemaRegistry();
});
after(() => registry.stop());

schemaCodecContract('schema registry', async () => ({
  codec: new RegistryCodec({ url: registry.url, auth: undefined }),
  cleanup: async () => {},
}));

describe('registry codec beyond the contract', () => {
  it('reads records written with an older registered version through a resolver', async () => {
    const current = readSchema(Topics.messageSubmitted) as { fields: Array<{ name: string }> };
    // The version before relayHost and sizeBytes were added (both have defaults).
    const older = {
      ...current,
      fields: current.fields.filter((field) => field.name !== 'relayHost' && field.name !== 'sizeBytes'),
    };
    const subject = subjectOf(Topics.messageSubmitted);
    const fresh = await startSchemaRegistry();
    try {
      const response = await fetch(`${fresh.url}/subjects/${subject}/versions`, {
        method: 'POST',
        body: JSON.stringify({ schema: JSON.stringify(older) }),
      });
      const { id: olderId } = (await response.json()) as { id: number };
      const codec = new RegistryCodec({ url: fresh.url, auth: undefined });
      await codec.registerAll();
      const { relayHost: _, sizeBytes: __, ...value } = sampleContractValues()[Topics.messageSubmitted];
      const bytes = frame(olderId, avro.Type.forSchema(older as avro.Schema).toBuffer(value));
      const decoded = await codec.decode(Topics.messageSubmitted, bytes);
      assert.deepEqual(
        { ...decoded },
        { ...value, relayHost: null, sizeBytes: 0 },
        'the defaults of the newer schema fill the fields the older one lacked',
      );
      // The scorer's reader schema resolves from the older version too (a resolver per writer id and fields).
      const [scored] = await codec.decodeFields(Topics.messageSubmitted, [bytes], SCORED_FIELDS);
      assert.deepEqual({ ...scored }, Object.fromEntries(SCORED_FIELDS.map((f) => [f, value[f]])));
    } finally {
      await fresh.stop();
    }
  });

  it('reports an unreachable registry as REGISTRY_UNAVAILABLE, which is retried rather than dead-lettered', async () => {
    const gone = await startSchemaRegistry();
    const codec = new RegistryCodec({ url: gone.url, auth: undefined });
    const bytes = await codec.encode(Topics.audit, sampleContractValues()[Topics.audit]);
    await gone.stop();
    // A fresh codec has no resolver cached for the writer id, so it must ask the registry.
    await assert.rejects(
      new RegistryCodec({ url: gone.url, auth: undefined }).decode(Topics.audit, bytes),
      (error) => isRelayguardError(error) && error.code === 'REGISTRY_UNAVAILABLE' && error.retryable,
    );
    // The codec that has seen the schema decodes without the registry.
    assert.deepEqual(
      JSON.parse(JSON.stringify(await codec.decode(Topics.audit, bytes))),
      sampleContractValues()[Topics.audit],
    );
  });
});
