// The field reader against avsc's resolver, which it stands in front of: for any bytes it answers for, avsc
// decodes the same value (the same record class, the same strings and numbers); whatever it declines, avsc
// judges. And the codec's decodeFields, which tries it first, gives exactly avsc's answers, poison codes and
// messages included, for random events, the same events mutated, truncated or extended, and random bytes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import avro from 'avsc';
import fc from 'fast-check';
import { REPEATED_FIELDS, SCORED_FIELDS } from '../../../services/core/classify.js';
import type { MessageSubmitted } from '../../../services/core/contracts.generated.js';
import { isRelayguardError } from '../../../services/core/errors.js';
import { Topics } from '../../../services/core/topics.js';
import {
  contractTypes,
  decodeBody,
  HEADER_BYTES,
  ReaderTypes,
} from '../../../services/platform/codec/avro.js';
import { EmbeddedCodec } from '../../../services/platform/codec/embedded-codec.js';
import { FieldReader } from '../../../services/platform/codec/field-reader.js';
import { skippedFieldCases } from '../../support/avro-bytes.js';

const topic = Topics.messageSubmitted;
const writer = contractTypes().get(topic)!;
const reader = new ReaderTypes().of(topic, SCORED_FIELDS);
const resolver = reader.createResolver(writer);
const fieldReader = FieldReader.of<object>(writer, reader)!;
/** The scorer's: its repeated fields' strings interned, one table over every run (values repeat across them). */
const interningReader = FieldReader.of<object>(writer, reader, REPEATED_FIELDS)!;
const fieldReaders = [fieldReader, interningReader];

/** avsc's answer for a framed body: the value, or the poison error's code and message. */
function avscAnswer(bytes: Buffer): unknown {
  try {
    return decodeBody(reader, bytes, topic, resolver);
  } catch (error) {
    return plainAnswer(error);
  }
}

/** A poison error as its code and message, a record as its fields (records of two reader types differ in class). */
function plainAnswer(answer: unknown): unknown {
  if (isRelayguardError(answer)) return { code: answer.code, message: answer.message };
  if (answer instanceof Error) throw answer;
  return { ...(answer as object) };
}

/** Random strings, and a few that repeat from event to event, as tenant ids and domains do (interned ones). */
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('tenant-1', 'tenant-2', 'mail.tenant-1.example', 'tenant-1.example', 'bücher.example', ''),
);
/** Every long avsc writes and reads back (it refuses the two outermost safe integers: isSafeLong). */
const SAFE_LONG = 9007199254740990;
const long = fc.oneof(
  fc.integer(),
  fc.integer({ min: -SAFE_LONG, max: SAFE_LONG }),
  fc.constantFrom(0, -1, 2 ** 31, -(2 ** 31) - 1, 2 ** 52, -SAFE_LONG, SAFE_LONG),
);
const event: fc.Arbitrary<MessageSubmitted> = fc.record({
  eventId: text,
  tenantId: text,
  occurredAt: long,
  envelopeSenderDomain: fc.option(text),
  headerFromDomain: fc.option(text),
  relayPath: fc.constantFrom('ONPREM', 'FORWARDED', 'APPLICATION'),
  connectorId: fc.option(text),
  clientAddress: fc.option(text),
  queueId: fc.option(text),
  relayHost: fc.option(text),
  recipientCount: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  sizeBytes: long,
});

const framed = (body: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0, 1]), body]);

/** An encoded event with some bytes overwritten, then cut short or extended. */
const mutated = fc
  .tuple(
    event,
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    fc.option(fc.nat()),
    fc.uint8Array({ maxLength: 3 }),
  )
  .map(([value, writes, cut, extra]) => {
    const body = Buffer.from(writer.toBuffer(value));
    for (const [at, byte] of writes) if (body.length > 0) body[at % body.length] = byte;
    const kept = cut === null ? body : body.subarray(0, cut % (body.length + 1));
    return framed(Buffer.concat([kept, extra]));
  });

const randomBody = fc.uint8Array({ maxLength: 80 }).map((body) => framed(Buffer.from(body)));

describe('field reader', () => {
  it('reads every well-formed event, as avsc does', () => {
    fc.assert(
      fc.property(event, (value) => {
        const bytes = framed(writer.toBuffer(value));
        for (const each of fieldReaders) {
          const fast = each.read(bytes, HEADER_BYTES);
          assert.notEqual(fast, undefined, 'a well-formed event is read without avsc');
          assert.deepStrictEqual(fast, avscAnswer(bytes));
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('answers only what avsc answers for mutated, truncated, extended and random bytes', () => {
    let read = 0;
    fc.assert(
      fc.property(fc.oneof(mutated, randomBody), (bytes) => {
        const fast = fieldReader.read(bytes, HEADER_BYTES);
        assert.deepStrictEqual(interningReader.read(bytes, HEADER_BYTES), fast);
        if (fast === undefined) return;
        read++;
        assert.deepStrictEqual(fast, avscAnswer(bytes));
      }),
      { numRuns: 6_000 },
    );
    // About a hundred in 6,000 stay readable (an overwrite that keeps every length in range, nothing cut or added).
    assert.ok(read > 25, `only ${read} mutated inputs were read by the field reader`);
  });

  it("gives the codec's decodeFields exactly avsc's answers, poison included", async () => {
    const codec = new EmbeddedCodec();
    const good = await codec.encode(topic, fc.sample(event, 1)[0]!);
    const schemaId = good.readInt32BE(1);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(mutated, randomBody), { maxLength: 20 }), async (values) => {
        for (const bytes of values) bytes.writeInt32BE(schemaId, 1);
        const expected = values.map(avscAnswer).map(plainAnswer);
        const answers = await codec.decodeFields(topic, values, SCORED_FIELDS);
        assert.deepStrictEqual(answers.map(plainAnswer), expected);
        const interned = await codec.decodeFields(topic, values, SCORED_FIELDS, REPEATED_FIELDS);
        assert.deepStrictEqual(interned.map(plainAnswer), expected);
      }),
      { numRuns: 300 },
    );
  });

  it('skips a field it does not read as avsc does, and leaves a branch it cannot skip to avsc', () => {
    const value = fc.sample(event, 1)[0]!;
    const good = framed(writer.toBuffer(value));
    const { outOfRange, thirdBranch } = skippedFieldCases(good, value);
    assert.deepStrictEqual(fieldReader.read(outOfRange, HEADER_BYTES), avscAnswer(outOfRange));
    assert.equal(fieldReader.read(thirdBranch, HEADER_BYTES), undefined);
    assert.equal((avscAnswer(thirdBranch) as { code: string }).code, 'SCHEMA_MISMATCH');
  });

  it('declines schemas it does not read: a promoted field, a reader field the writer lacks', () => {
    const schema = (fields: avro.schema.RecordType['fields']) =>
      avro.Type.forSchema({ type: 'record', name: 'R', fields });
    const intWriter = schema([{ name: 'n', type: 'int' }]);
    assert.equal(FieldReader.of(intWriter, schema([{ name: 'n', type: 'long' }])), null);
    assert.equal(
      FieldReader.of(intWriter, schema([{ name: 'm', type: ['null', 'string'], default: null }])),
      null,
    );
    assert.notEqual(FieldReader.of(intWriter, schema([{ name: 'n', type: 'int' }])), null);
  });
});
