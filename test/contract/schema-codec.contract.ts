// The SchemaCodec contract: every adapter (embedded, Schema Registry) must pass it unchanged.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SCORED_FIELDS } from '../../services/core/classify.js';
import { isRelayguardError } from '../../services/core/errors.js';
import { type ContractTopic, Topics } from '../../services/core/topics.js';
import type { SchemaCodec } from '../../services/platform/ports.js';
import { skippedFieldCases } from '../support/avro-bytes.js';
import { sampleContractValues } from '../support/builders.js';
import { withFixture } from '../support/tether.js';

function rejectsWith(code: string) {
  return (error: unknown) => isRelayguardError(error) && error.code === code && !error.retryable;
}

export function schemaCodecContract(
  name: string,
  setup: () => Promise<{ codec: SchemaCodec; cleanup(): Promise<void> }>,
) {
  describe(`SchemaCodec contract: ${name}`, () => {
    it('round-trips a value of every contract topic in the Confluent wire format', () =>
      withFixture(setup, async ({ codec }) => {
        for (const [topic, value] of Object.entries(sampleContractValues()) as [ContractTopic, never][]) {
          const bytes = await codec.encode(topic, value);
          assert.equal(bytes[0], 0, `${topic}: magic byte`);
          // Decoders may return Avro record instances: compare the data, not the prototypes.
          assert.deepEqual(JSON.parse(JSON.stringify(await codec.decode(topic, bytes))), value, topic);
        }
      }));

    it('names what is wrong with bytes it cannot decode', () =>
      withFixture(setup, async ({ codec }) => {
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
      }));

    it('decodes a batch as it decodes each record, a poison error in place of each bad one', () =>
      withFixture(setup, async ({ codec }) => {
        const sample = sampleContractValues()[Topics.messageSubmitted];
        const good = await codec.encode(Topics.messageSubmitted, sample);
        const other = await codec.encode(Topics.messageSubmitted, { ...sample, eventId: 'evt-other' });
        const unknownId = Buffer.from(good);
        unknownId.writeInt32BE(987_654, 1);
        const values = [good, Buffer.from([0, 0]), other, good.subarray(0, good.length - 3), unknownId, good];
        const batch = await codec.decodeAll(Topics.messageSubmitted, values);
        assert.equal(batch.length, values.length);
        for (const [i, bytes] of values.entries()) {
          const entry = batch[i];
          if (isRelayguardError(entry)) {
            await assert.rejects(
              codec.decode(Topics.messageSubmitted, bytes),
              rejectsWith(entry.code),
              `#${i}`,
            );
          } else {
            assert.deepEqual(entry, await codec.decode(Topics.messageSubmitted, bytes), `#${i}`);
          }
        }
        assert.deepEqual(
          batch.map((entry) => (isRelayguardError(entry) ? entry.code : entry.eventId)),
          [
            sample.eventId,
            'UNDECODABLE',
            'evt-other',
            'SCHEMA_MISMATCH',
            'UNKNOWN_SCHEMA_ID',
            sample.eventId,
          ],
        );
      }));

    it('decodes only the fields asked for, with the events and poison answers of decodeAll', () =>
      withFixture(setup, async ({ codec }) => {
        const sample = sampleContractValues()[Topics.messageSubmitted];
        const good = await codec.encode(Topics.messageSubmitted, sample);
        const unknownId = Buffer.from(good);
        unknownId.writeInt32BE(987_654, 1);
        const audit = await codec.encode(Topics.audit, sampleContractValues()[Topics.audit]);
        const values = [good, Buffer.from([0, 0]), good.subarray(0, good.length - 3), unknownId, audit];
        const fields = ['eventId', 'tenantId', 'relayPath'] as const;
        const full = await codec.decodeAll(Topics.messageSubmitted, values);
        const some = await codec.decodeFields(Topics.messageSubmitted, values, fields);
        const answer = (entry: object) =>
          isRelayguardError(entry) ? entry.code : JSON.parse(JSON.stringify(entry));
        assert.deepEqual(
          some.map(answer),
          full.map((entry) =>
            isRelayguardError(entry) ? entry.code : Object.fromEntries(fields.map((f) => [f, entry[f]])),
          ),
        );
        assert.deepEqual(some.map(answer).slice(1), [
          'UNDECODABLE',
          'SCHEMA_MISMATCH',
          'UNKNOWN_SCHEMA_ID',
          'SCHEMA_MISMATCH',
        ]);
      }));

    it('skips the other fields: a value outside its type there passes, bytes that do not frame are poison', () =>
      withFixture(setup, async ({ codec }) => {
        const sample = sampleContractValues()[Topics.messageSubmitted];
        const good = await codec.encode(Topics.messageSubmitted, sample);
        const { outOfRange, thirdBranch } = skippedFieldCases(good, sample);
        const [fullRange, fullBranch] = await codec.decodeAll(Topics.messageSubmitted, [
          outOfRange,
          thirdBranch,
        ]);
        assert.ok(isRelayguardError(fullRange) && fullRange.code === 'SCHEMA_MISMATCH');
        assert.equal(fullRange.field, 'recipientCount');
        assert.ok(isRelayguardError(fullBranch) && fullBranch.code === 'SCHEMA_MISMATCH');

        const [scored, branch] = await codec.decodeFields(
          Topics.messageSubmitted,
          [outOfRange, thirdBranch],
          SCORED_FIELDS,
        );
        assert.ok(!isRelayguardError(scored), 'a skipped field is not checked');
        assert.deepEqual(
          JSON.parse(JSON.stringify(scored)),
          Object.fromEntries(SCORED_FIELDS.map((f) => [f, sample[f]])),
        );
        assert.ok(isRelayguardError(branch) && branch.code === 'SCHEMA_MISMATCH', 'a skip that cannot frame');
      }));

    it('refuses to encode a value that does not match the schema, naming the field', () =>
      withFixture(setup, async ({ codec }) => {
        const bad = { ...sampleContractValues()[Topics.messageSubmitted], recipientCount: 'many' } as never;
        await assert.rejects(
          codec.encode(Topics.messageSubmitted, bad),
          (error) =>
            isRelayguardError(error) && error.code === 'SCHEMA_MISMATCH' && error.field === 'recipientCount',
        );
      }));
  });
}
