// The SchemaCodec contract: every adapter (embedded, Schema Registry) must pass it unchanged.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRelayguardError } from '../../services/core/errors.js';
import { type ContractTopic, Topics } from '../../services/core/topics.js';
import type { SchemaCodec } from '../../services/platform/ports.js';
import { sampleContractValues } from '../support/builders.js';

function rejectsWith(code: string) {
  return (error: unknown) => isRelayguardError(error) && error.code === code && !error.retryable;
}

export function schemaCodecContract(
  name: string,
  setup: () => Promise<{ codec: SchemaCodec; cleanup(): Promise<void> }>,
) {
  describe(`SchemaCodec contract: ${name}`, () => {
    it('round-trips a value of every contract topic in the Confluent wire format', async () => {
      const { codec, cleanup } = await setup();
      try {
        for (const [topic, value] of Object.entries(sampleContractValues()) as [ContractTopic, never][]) {
          const bytes = await codec.encode(topic, value);
          assert.equal(bytes[0], 0, `${topic}: magic byte`);
          // Decoders may return Avro record instances: compare the data, not the prototypes.
          assert.deepEqual(JSON.parse(JSON.stringify(await codec.decode(topic, bytes))), value, topic);
        }
      } finally {
        await cleanup();
      }
    });

    it('names what is wrong with bytes it cannot decode', async () => {
      const { codec, cleanup } = await setup();
      try {
        const good = await codec.encode(
          Topics.messageSubmitted,
          sampleContractValues()[Topics.messageSubmitted],
        );
        await assert.rejects(
          codec.decode(Topics.messageSubmitted, Buffer.from('{"json":true}')),
          rejectsWith('UNDECODABLE'),
        );
        await assert.rejects(
          codec.decode(Topics.messageSubmitted, Buffer.from([0, 0, 0])),
          rejectsWith('UNDECODABLE'),
        );
        const unknownId = Buffer.from(good);
        unknownId.writeInt32BE(987_654, 1);
        await assert.rejects(
          codec.decode(Topics.messageSubmitted, unknownId),
          rejectsWith('UNKNOWN_SCHEMA_ID'),
        );
        await assert.rejects(
          codec.decode(Topics.messageSubmitted, good.subarray(0, good.length - 3)),
          rejectsWith('SCHEMA_MISMATCH'),
        );
        const audit = await codec.encode(Topics.audit, sampleContractValues()[Topics.audit]);
        await assert.rejects(codec.decode(Topics.messageSubmitted, audit), rejectsWith('SCHEMA_MISMATCH'));
      } finally {
        await cleanup();
      }
    });

    it('refuses to encode a value that does not match the schema, naming the field', async () => {
      const { codec, cleanup } = await setup();
      try {
        const bad = { ...sampleContractValues()[Topics.messageSubmitted], recipientCount: 'many' } as never;
        await assert.rejects(
          codec.encode(Topics.messageSubmitted, bad),
          (error) =>
            isRelayguardError(error) && error.code === 'SCHEMA_MISMATCH' && error.field === 'recipientCount',
        );
      } finally {
        await cleanup();
      }
    });
  });
}
