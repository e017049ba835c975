// MessageSubmitted bytes no relayguard writer produces: a real message's header (its schema id) on a body written
// with a schema whose one field has another type, for tests of what the decoders make of them.
import avro from 'avsc';
import type { MessageSubmitted } from '../../services/core/contracts.generated.js';
import { Topics } from '../../services/core/topics.js';
import { HEADER_BYTES, readSchema } from '../../services/platform/codec/avro.js';

export function withFieldWrittenAs<K extends keyof MessageSubmitted>(
  framed: Buffer,
  event: Omit<MessageSubmitted, K> & Record<K, unknown>,
  field: K,
  type: avro.Schema,
): Buffer {
  const schema = readSchema(Topics.messageSubmitted) as avro.schema.RecordType;
  const writer = avro.Type.forSchema({
    ...schema,
    fields: schema.fields.map((each) => (each.name === field ? { ...each, type } : each)),
  });
  return Buffer.concat([framed.subarray(0, HEADER_BYTES), writer.toBuffer(event)]);
}

/**
 * Two events malformed only in fields the scorer does not read: `outOfRange`'s recipient count (an int) is 2^40,
 * which avsc reads without complaint and only the full type's check refuses; `thirdBranch`'s client address
 * names a union branch the schema lacks, so a reader cannot tell how many bytes to skip.
 */
export function skippedFieldCases(framed: Buffer, event: MessageSubmitted) {
  return {
    outOfRange: withFieldWrittenAs(framed, { ...event, recipientCount: 2 ** 40 }, 'recipientCount', 'long'),
    thirdBranch: withFieldWrittenAs(framed, { ...event, clientAddress: 7 }, 'clientAddress', [
      'null',
      'string',
      'int',
    ]),
  };
}
