// What relayguard parses from the outside, fuzzed: domain names and mail addresses, CIDR ranges and addresses
// (and the longest-prefix index over them), the MessageSubmitted decoder (random bytes; truncated and mutated
// Avro; wrong schema ids) alone and through the scorer's decode path, the Postfix policy protocol parser and
// request handler, and every body of the HTTP decision API. Each target states what a correct answer is and
// which errors count as clear ones.
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import type { MessageSubmitted } from '../../services/core/contracts.generated.js';
import { TenantDirectory } from '../../services/core/directory.js';
import { domainOfAddress, normalizeDomain } from '../../services/core/domain-name.js';
import { ErrorCodes, isRelayguardError } from '../../services/core/errors.js';
import { IpRangeIndex, parseIpAddress, parseIpRange } from '../../services/core/ip-ranges.js';
import { DEFAULT_POLICY } from '../../services/core/policy.js';
import { Topics } from '../../services/core/topics.js';
import { decisionApi } from '../../services/enforcer/decision-api.js';
import { InvalidPolicyRequest, PolicyHandler } from '../../services/enforcer/postfix/handler.js';
import {
  DEFAULT_POLICY_LIMITS,
  formatPolicyReply,
  type ParseResult,
  PolicyRequestParser,
} from '../../services/enforcer/postfix/protocol.js';
import { ManualClock } from '../../services/platform/clock.js';
import { contractTypes } from '../../services/platform/codec/avro.js';
import { EmbeddedCodec } from '../../services/platform/codec/embedded-codec.js';
import { createHttpServer } from '../../services/platform/http-server.js';
import { silentLogger } from '../../services/platform/logger.js';
import { MemoryWindowStore } from '../../services/platform/memory/memory-window-store.js';
import { Metrics } from '../../services/platform/metrics.js';
import type { EventLog, LogRecord, OutgoingRecord, SchemaCodec } from '../../services/platform/ports.js';
import { DlqHeaders } from '../../services/scorer/dead-letter.js';
import { Scorer, UNKNOWN_TENANT_ATTEMPTS } from '../../services/scorer/scorer.js';
import { acceptedDomainAdded } from '../support/builders.js';
import { readyEnforcer } from '../support/enforcement.js';
import { adminApiTarget } from './admin-target.js';
import { claimsTarget } from './claims-target.js';
import { type FuzzTarget, violation } from './harness.js';

const START = Date.UTC(2026, 10, 28, 9);
const TENANT = 'acme';

/** A RelayguardError with one of `codes`, naming what is wrong in a bounded, printable message: its code. */
function clearError(error: unknown, codes: readonly string[]): string {
  if (!isRelayguardError(error) || !codes.includes(error.code)) throw error;
  violation(ErrorCodes[error.code].retryable === false, `${error.code} must not be retryable for bad input`);
  violation(
    error.message.length > 0 && error.message.length <= 600,
    `${error.code}: message of ${error.message.length} characters`,
  );
  // Error messages reach logs: a hostile input must not be able to forge a log line.
  const control = [...error.message].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
  violation(!control, `${error.code}: control characters in the message`);
  return error.code;
}

// ---------------------------------------------------------------------------------------------------------
// Domain names and addresses

const LDH_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

function assertNormalDomain(domain: string): void {
  violation(domain.length <= 253, `"${domain}" is longer than 253`);
  const labels = domain.split('.');
  violation(labels.length >= 2, `"${domain}" has fewer than two labels`);
  for (const label of labels) violation(LDH_LABEL.test(label), `"${domain}" has a bad label "${label}"`);
  violation(!/^[0-9]+$/.test(labels.at(-1)!), `"${domain}" has a numeric top-level label`);
  violation(normalizeDomain(domain) === domain, `"${domain}" does not normalize to itself`);
}

/** Strings that look like domains and then break in the ways relays and people break them. */
const domainish = fc.oneof(
  fc.domain(),
  fc.domain().map((d) => `${d.toUpperCase()}.`),
  fc
    .tuple(fc.domain(), fc.integer({ min: 0, max: 60 }), fc.string({ unit: 'binary', maxLength: 3 }))
    .map(([d, at, junk]) => d.slice(0, at) + junk + d.slice(at)),
  fc
    .array(fc.stringMatching(/^[a-zA-Z0-9ßüé\u00e0-\u00ff-]{0,70}$/), { minLength: 1, maxLength: 6 })
    .map((labels) => labels.join('.')),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.integer({ min: 250, max: 2_000 }).map((n) => `${'a.'.repeat(n / 2)}example`),
);

const domainTarget: FuzzTarget<string> = {
  name: 'domain normalization',
  cases: 25_000,
  arbitrary: domainish,
  check(input) {
    let domain: string;
    try {
      domain = normalizeDomain(input, 'domain');
    } catch (error) {
      return clearError(error, ['INVALID_DOMAIN']);
    }
    assertNormalDomain(domain);
    if (/^[\x20-\x7e]*$/.test(input)) {
      const expected = input.trim().replace(/\.$/, '').toLowerCase();
      violation(domain === expected, `ASCII "${input}" normalized to "${domain}", not "${expected}"`);
    }
    return 'answer';
  },
};

const addressTarget: FuzzTarget<string> = {
  name: 'mail address -> domain',
  cases: 10_000,
  arbitrary: fc.oneof(
    fc.emailAddress(),
    fc.emailAddress().map((a) => `<${a}>`),
    fc.tuple(fc.string({ maxLength: 20 }), domainish).map(([local, domain]) => `${local}@${domain}`),
    fc.constantFrom('', '<>', '@', 'a@', '@b.example', '<a@b.example', 'a@@b.example'),
    fc.string({ unit: 'binary', maxLength: 80 }),
  ),
  check(input) {
    let domain: string | null;
    try {
      domain = domainOfAddress(input, 'sender');
    } catch (error) {
      return clearError(error, ['INVALID_DOMAIN']);
    }
    if (domain === null) {
      violation(input.trim() === '' || input.trim() === '<>', `"${input}" taken for the null sender`);
      return 'null sender';
    }
    assertNormalDomain(domain);
    return 'answer';
  },
};

// ---------------------------------------------------------------------------------------------------------
// CIDR ranges and addresses

const cidrish = fc.oneof(
  fc
    .tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 }))
    .map(([ip, p]) => ({ text: `${ip}/${p}`, valid: true })),
  fc
    .tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 }))
    .map(([ip, p]) => ({ text: `${ip}/${p}`, valid: true })),
  fc.ipV4().map((ip) => ({ text: ip, valid: true })),
  fc.ipV6().map((ip) => ({ text: ip, valid: true })),
  fc
    .tuple(fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: -5, max: 300 }))
    .map(([ip, p]) => ({ text: `${ip}/${p}`, valid: false })),
  fc
    .tuple(fc.ipV4(), fc.integer({ min: 0, max: 20 }), fc.string({ unit: 'binary', maxLength: 3 }))
    .map(([ip, at, junk]) => ({ text: ip.slice(0, at) + junk + ip.slice(at), valid: false })),
  fc.string({ unit: 'binary', maxLength: 60 }).map((text) => ({ text, valid: false })),
);

const cidrTarget: FuzzTarget<{ text: string; valid: boolean }> = {
  name: 'CIDR parsing',
  cases: 15_000,
  arbitrary: cidrish,
  check({ text, valid }) {
    let range: ReturnType<typeof parseIpRange>;
    try {
      range = parseIpRange(text, 'senderIpRanges');
    } catch (error) {
      violation(!valid, `a valid range "${text}" was refused: ${(error as Error).message}`);
      return clearError(error, ['INVALID_ADDRESS']);
    }
    const max = range.family === 'ipv4' ? 32 : 128;
    violation(range.prefix >= 0 && range.prefix <= max, `"${text}": prefix ${range.prefix}`);
    if (valid && text.includes('/')) {
      // An IPv4-mapped IPv6 range (::ffff:192.0.2.0/120) is stored as the IPv4 range it maps (/24).
      const mapped = range.family === 'ipv4' && text.includes(':');
      const stated = Number(text.split('/')[1]);
      violation(range.prefix === (mapped ? stated - 96 : stated), `"${text}": prefix ${range.prefix}`);
    }
    // The normalized form is canonical: parsing it again gives the same range.
    const again = parseIpRange(range.cidr);
    violation(
      again.key === range.key && again.cidr === range.cidr,
      `"${text}" -> ${range.cidr} is not stable`,
    );
    return 'answer';
  },
};

const addressParseTarget: FuzzTarget<string> = {
  name: 'IP address parsing',
  cases: 5_000,
  arbitrary: fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended(), fc.string({ unit: 'binary', maxLength: 50 })),
  check(text) {
    let bytes: number[];
    try {
      bytes = parseIpAddress(text);
    } catch (error) {
      return clearError(error, ['INVALID_ADDRESS']);
    }
    violation(bytes.length === 4 || bytes.length === 16, `"${text}": ${bytes.length} bytes`);
    violation(
      bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255),
      `"${text}": bytes ${bytes.join(',')}`,
    );
    return 'answer';
  },
};

/** Text of an address in the family the index keys it by (IPv4-mapped IPv6 addresses are IPv4). */
function familyText(bytes: readonly number[]): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

const indexTarget: FuzzTarget<{ ranges: string[]; addresses: string[] }> = {
  name: 'CIDR longest-prefix index',
  cases: 2_000,
  arbitrary: fc.record({
    ranges: fc.array(
      fc.oneof(
        fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([ip, p]) => `${ip}/${p}`),
        fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([ip, p]) => `${ip}/${p}`),
        fc.constantFrom('192.0.2.0/24', '192.0.2.128/25', '10.0.0.0/8', '2001:db8::/32'),
      ),
      { maxLength: 20 },
    ),
    addresses: fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('192.0.2.200', '10.1.2.3')), {
      maxLength: 20,
    }),
  }),
  check({ ranges, addresses }) {
    const index = new IpRangeIndex<string>();
    const parsed = ranges.map((text) => parseIpRange(text));
    for (const range of parsed) index.set(range, range.cidr);
    for (const text of addresses) {
      const bytes = parseIpAddress(text);
      const family = bytes.length === 4 ? 'ipv4' : 'ipv6';
      // Brute force: the longest prefix among the ranges of the address's family that contain it.
      let best: string | undefined;
      let bestPrefix = -1;
      for (const range of parsed) {
        if (range.family !== family || range.prefix <= bestPrefix) continue;
        if (parseIpRange(`${familyText(bytes)}/${range.prefix}`).key === range.key) {
          best = range.cidr;
          bestPrefix = range.prefix;
        }
      }
      const found = index.lookup(bytes);
      violation(found === best, `${text} in [${ranges.join(' ')}]: index says ${found}, expected ${best}`);
    }
    return 'answer';
  },
};

// ---------------------------------------------------------------------------------------------------------
// The MessageSubmitted decoder, and the scorer's decode path

const messageArbitrary: fc.Arbitrary<MessageSubmitted> = fc.record({
  eventId: fc.string({ maxLength: 40 }),
  tenantId: fc.oneof(
    { weight: 8, arbitrary: fc.constant(TENANT) },
    fc.constant(''),
    fc.string({ maxLength: 12 }),
  ),
  occurredAt: fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: START - 7_200_000, max: START + 600_000 }) },
    // avsc encodes longs up to 2^52 exactly; beyond that it refuses them (precision).
    fc.constantFrom(0, -1, 2 ** 52),
  ),
  envelopeSenderDomain: fc.option(fc.oneof(fc.domain(), fc.constant('acme.example'), domainish)),
  headerFromDomain: fc.option(fc.oneof(fc.domain(), domainish)),
  relayPath: fc.constantFrom('ONPREM', 'FORWARDED', 'APPLICATION'),
  connectorId: fc.option(fc.string({ maxLength: 16 })),
  clientAddress: fc.option(fc.ipV4()),
  queueId: fc.option(fc.string({ maxLength: 16 })),
  relayHost: fc.option(fc.string({ maxLength: 16 })),
  recipientCount: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  sizeBytes: fc.integer({ min: 0, max: 2 ** 52 }),
});

type Mutation =
  | { kind: 'none' }
  | { kind: 'truncate'; keep: number }
  | { kind: 'flip'; edits: { at: number; value: number }[] }
  | { kind: 'schema id'; id: number }
  | { kind: 'append'; bytes: Uint8Array }
  | { kind: 'insert'; at: number; bytes: Uint8Array };

const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constant<Mutation>({ kind: 'none' }),
  fc.record({ kind: fc.constant('truncate' as const), keep: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({
    kind: fc.constant('flip' as const),
    edits: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), {
      minLength: 1,
      maxLength: 4,
    }),
  }),
  fc.record({
    kind: fc.constant('schema id' as const),
    id: fc.oneof(fc.integer({ min: -1, max: 10 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
  }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
);

function mutate(encoded: Buffer, mutation: Mutation): Buffer {
  switch (mutation.kind) {
    case 'none':
      return encoded;
    case 'truncate':
      return encoded.subarray(0, Math.floor(encoded.length * mutation.keep));
    case 'flip': {
      const copy = Buffer.from(encoded);
      for (const { at, value } of mutation.edits) copy[at % copy.length] = value;
      return copy;
    }
    case 'schema id': {
      const copy = Buffer.from(encoded);
      copy.writeInt32BE(mutation.id, 1);
      return copy;
    }
    case 'append':
      return Buffer.concat([encoded, mutation.bytes]);
    case 'insert': {
      const at = mutation.at % (encoded.length + 1);
      return Buffer.concat([encoded.subarray(0, at), mutation.bytes, encoded.subarray(at)]);
    }
  }
}

const DECODE_ERRORS = ['UNDECODABLE', 'UNKNOWN_SCHEMA_ID', 'SCHEMA_MISMATCH'] as const;

/** The decoder target for a codec: `name` says which (embedded, Schema Registry). */
export function decoderTargets(
  codecName: string,
  codec: SchemaCodec,
  close?: () => Promise<void>,
): FuzzTarget<unknown>[] {
  const type = contractTypes().get(Topics.messageSubmitted)!;
  const decode = async (bytes: Buffer, original: MessageSubmitted | null): Promise<string> => {
    let value: MessageSubmitted;
    try {
      value = await codec.decode(Topics.messageSubmitted, bytes);
    } catch (error) {
      return clearError(error, DECODE_ERRORS);
    }
    const invalid: string[] = [];
    type.isValid(value, { errorHook: (path, v) => invalid.push(`${path.join('.')}=${String(v)}`) });
    violation(invalid.length === 0, `decoded a value that does not match the schema: ${invalid.join(', ')}`);
    if (original) violation(isDeepStrictEqual({ ...value }, { ...original }), 'round trip changed the event');
    return original ? 'answer (round trip)' : 'answer (other value)';
  };
  const randomBytes: FuzzTarget<Uint8Array> = {
    name: `event decoder (${codecName}): random bytes`,
    cases: 10_000,
    arbitrary: fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      // Framed: magic byte and a small schema id, so the bytes reach the Avro decoder.
      fc
        .tuple(fc.integer({ min: 0, max: 8 }), fc.uint8Array({ maxLength: 200 }))
        .map(([id, body]) => Buffer.concat([Buffer.from([0, 0, 0, 0, id]), body])),
    ),
    check: (bytes) => decode(Buffer.from(bytes), null),
  };
  const mutated: FuzzTarget<{ event: MessageSubmitted; mutation: Mutation }> = {
    name: `event decoder (${codecName}): mutated Avro, schema ids`,
    cases: 20_000,
    arbitrary: fc.record({ event: messageArbitrary, mutation: mutationArbitrary }),
    async check({ event, mutation }) {
      const encoded = await codec.encode(Topics.messageSubmitted, event);
      const bytes = mutate(encoded, mutation);
      return decode(bytes, bytes.equals(encoded) ? event : null);
    },
    close,
  };
  return [randomBytes, mutated] as FuzzTarget<unknown>[];
}

/** Captures what the scorer publishes (dead letters, blocks); consumes nothing. */
class CapturingLog implements EventLog {
  published: { topic: string; record: OutgoingRecord }[] = [];
  async publish(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
    for (const record of records) this.published.push({ topic, record });
  }
  subscribe(): never {
    throw new Error('the fuzzed scorer is driven through handleBatch');
  }
  async settled(): Promise<void> {}
  async close(): Promise<void> {}
}

function knownTenantDirectory(): TenantDirectory {
  const directory = new TenantDirectory();
  directory.apply(
    acceptedDomainAdded(TENANT, 'acme.example', {
      matchSubdomains: true,
      verification: { method: 'OPERATOR', verifiedAt: START - 86_400_000, actor: 'fuzz' },
      occurredAt: START - 86_400_000,
      actor: 'fuzz',
    }),
  );
  directory.apply({
    kind: 'connector',
    event: {
      eventId: 'c1',
      tenantId: TENANT,
      connectorId: 'onprem-1',
      change: 'UPSERTED',
      relayPath: 'ONPREM',
      senderIpRanges: ['192.0.2.0/24', '2001:db8::/48'],
      tlsCertificateDomain: 'relay.acme.example',
      enabled: true,
      createdAt: START - 86_400_000,
      createdBy: 'fuzz',
      identifiersSince: {},
      occurredAt: START - 86_400_000,
      actor: 'fuzz',
    },
  });
  return directory;
}

interface FuzzRecord {
  event: MessageSubmitted;
  mutation: Mutation;
  key: 'tenant' | 'null' | 'other';
  nullValue: boolean;
}

function scorerTarget(): FuzzTarget<FuzzRecord[]> {
  const codec = new EmbeddedCodec();
  const directory = knownTenantDirectory();
  const clock = new ManualClock(START);
  const metrics = new Metrics({ processMetrics: false });
  let offset = 0;
  const consumed = async () =>
    (await metrics.eventsConsumed.get()).values.reduce((sum, { value }) => sum + value, 0);
  return {
    name: 'scorer decode path (batches)',
    cases: 2_000,
    arbitrary: fc.array(
      fc.record({
        event: messageArbitrary,
        mutation: fc.oneof(
          { weight: 3, arbitrary: fc.constant<Mutation>({ kind: 'none' }) },
          mutationArbitrary,
        ),
        key: fc.constantFrom('tenant', 'tenant', 'null', 'other'),
        nullValue: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
      }),
      { minLength: 1, maxLength: 20 },
    ),
    async check(inputs) {
      const log = new CapturingLog();
      const scorer = new Scorer({
        log,
        codec,
        store: new MemoryWindowStore({ clock, ttlMs: 3_900_000 }),
        directory,
        policy: DEFAULT_POLICY,
        logger: silentLogger,
        metrics,
        maxClockSkewMs: 300_000,
      });
      const records: LogRecord[] = await Promise.all(
        inputs.map(async ({ event, mutation, key, nullValue }) => ({
          key: key === 'tenant' ? event.tenantId : key === 'null' ? null : 'someone-else',
          value: nullValue ? null : mutate(await codec.encode(Topics.messageSubmitted, event), mutation),
          headers: {},
          partition: 0,
          offset: String(offset++),
          timestamp: START,
        })),
      );
      const before = await consumed();
      // As the log does: a batch refused while a tenant may still reach the directory is delivered again.
      for (let attempt = 1; ; attempt++) {
        try {
          await scorer.handleBatch({ topic: Topics.messageSubmitted, partition: 0, records, lag: 0 });
          break;
        } catch (error) {
          const waiting = isRelayguardError(error) && error.code === 'DIRECTORY_BEHIND';
          if (!waiting || attempt >= UNKNOWN_TENANT_ATTEMPTS) throw error;
        }
      }
      const accounted = (await consumed()) - before;
      // Every record is accounted for exactly once: scored (counted, late, duplicate...) or dead-lettered.
      violation(accounted === records.length, `${records.length} records, ${accounted} accounted for`);
      const dlq = log.published.filter(({ topic }) => topic === Topics.messageSubmittedDlq);
      for (const { record } of dlq) {
        const offsetHeader = record.headers?.[DlqHeaders.sourceOffset];
        const source = records.find((r) => r.offset === offsetHeader);
        violation(source !== undefined, `a dead letter names offset ${offsetHeader}, not in the batch`);
        violation(
          record.value?.equals(source.value ?? Buffer.alloc(0)) === true,
          'a dead letter lost its original bytes',
        );
        const code = record.headers?.[DlqHeaders.errorCode] ?? '';
        violation(
          code in ErrorCodes && !ErrorCodes[code as keyof typeof ErrorCodes].retryable,
          `DLQ code ${code}`,
        );
      }
      if (dlq.length === 0) return 'all scored';
      return dlq.length === records.length ? 'all dead-lettered' : 'scored and dead-lettered';
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// The Postfix policy protocol

const REQUEST_LINES = [
  'request=smtpd_access_policy',
  'protocol_state=RCPT',
  'client_address=192.0.2.10',
  'sender=alice@acme.example',
  'recipient=bob@elsewhere.example',
];

const policyPart = fc.oneof(
  fc.constant(`${REQUEST_LINES.join('\n')}\n\n`),
  fc.constant(`${REQUEST_LINES.join('\r\n')}\r\n\r\n`),
  fc
    .tuple(fc.stringMatching(/^[a-z_]{1,20}$/), fc.string({ unit: 'binary', maxLength: 60 }))
    .map(([name, value]) => `${name}=${value.replaceAll('\n', ' ')}\n`),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.constantFrom('\n', '\n\n', '=\n', 'no equals sign\n', 'Name=Upper\n'),
  fc.integer({ min: 3_000, max: 20_000 }).map((n) => `sender=${'a'.repeat(n)}`),
  fc.integer({ min: 90, max: 120 }).map((n) => Array.from({ length: n }, (_, i) => `a${i}=x\n`).join('')),
);

const parserTarget: FuzzTarget<{ parts: string[]; cuts: number[] }> = {
  name: 'policy protocol parser',
  cases: 10_000,
  arbitrary: fc.record({
    parts: fc.array(policyPart, { minLength: 1, maxLength: 10 }),
    cuts: fc.uniqueArray(fc.nat(), { maxLength: 12 }),
  }),
  check({ parts, cuts }) {
    const stream = Buffer.from(parts.join(''));
    const limits = DEFAULT_POLICY_LIMITS;
    const bound = limits.maxRequestBytes + limits.maxAttributeBytes;
    const chunked = new PolicyRequestParser();
    const results: ParseResult[] = [];
    let at = 0;
    for (const cut of [...cuts.map((c) => c % (stream.length + 1)), stream.length].sort((a, b) => a - b)) {
      results.push(...chunked.push(stream.subarray(at, cut)));
      at = cut;
      violation(chunked.bufferedBytes <= bound, `${chunked.bufferedBytes} bytes held, bound ${bound}`);
    }
    const whole = new PolicyRequestParser().push(stream);
    const plain = (list: ParseResult[]) =>
      list.map((r) => (r.kind === 'request' ? Object.fromEntries(r.attributes) : r));
    violation(
      isDeepStrictEqual(plain(results), plain(whole)),
      'the result depends on how TCP cut the stream',
    );
    const errorAt = results.findIndex((r) => r.kind === 'error');
    violation(errorAt === -1 || errorAt === results.length - 1, 'results after an error');
    for (const result of results) {
      if (result.kind === 'request')
        violation(result.attributes.size <= limits.maxAttributes, 'too many attributes');
    }
    const error = results[errorAt];
    return error?.kind === 'error' ? `dropped: ${error.reason}` : 'requests';
  },
};

/** Discards what it is given: the handler target's END-OF-MESSAGE events. */
const discardingLog: EventLog = {
  publish: async () => {},
  subscribe: () => {
    throw new Error('not consumed');
  },
  settled: async () => {},
  close: async () => {},
};

function handlerTarget(): FuzzTarget<Record<string, string>> {
  const metrics = new Metrics({ processMetrics: false });
  const enforcer = readyEnforcer(knownTenantDirectory(), metrics, {
    log: discardingLog,
    clock: new ManualClock(START),
  });
  const handler = new PolicyHandler(enforcer, metrics);
  const text = fc.string({ unit: 'binary', maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, ' '));
  return {
    name: 'policy request handler',
    cases: 5_000,
    arbitrary: fc.record(
      {
        request: fc.oneof(fc.constant('smtpd_access_policy'), text),
        protocol_state: fc.oneof(fc.constantFrom('RCPT', 'END-OF-MESSAGE', 'CONNECT', 'DATA'), text),
        client_address: fc.oneof(
          fc.constantFrom('192.0.2.10', '2001:db8::5', '198.51.100.1'),
          fc.ipV4(),
          text,
        ),
        sender: fc.oneof(fc.emailAddress(), fc.constantFrom('', '<>', 'x@acme.example'), text),
        ccert_subject: fc.oneof(fc.constantFrom('relay.acme.example', 'b+C3+BCcher.example', '+ZZ+'), text),
        queue_id: fc.stringMatching(/^[0-9A-Za-z]{0,12}$/),
        size: fc.oneof(fc.nat().map(String), text),
        recipient_count: fc.oneof(fc.integer({ min: 0, max: 9_999_999_999 }).map(String), text),
        policy_context: text,
      },
      { requiredKeys: ['request', 'protocol_state'] },
    ),
    async check(attributes) {
      let action: string;
      try {
        const answer = handler.handle(new Map(Object.entries(attributes)), '127.0.0.1');
        action = await answer.action;
      } catch (error) {
        if (error instanceof InvalidPolicyRequest) return 'invalid request (dropped)';
        throw error;
      }
      formatPolicyReply(action);
      violation(/^(DUNNO|OK|REJECT|DEFER|[45]\d\d )/.test(action), `unexpected action "${action}"`);
      return action.split(' ')[0]!;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// HTTP decision API bodies

const fieldValue = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.emailAddress(),
  fc.ipV4(),
  fc.ipV6(),
  fc.domain(),
  fc.constantFrom('', 'acme', '192.0.2.10', 'x@acme.example', 'spam@unregistered.example'),
  fc.string({ minLength: 500, maxLength: 600 }),
  fc.integer(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 2 }),
);

async function decisionApiTarget(): Promise<FuzzTarget<{ payload: string }>> {
  const metrics = new Metrics({ processMetrics: false });
  const enforcer = readyEnforcer(knownTenantDirectory(), metrics, {
    log: discardingLog,
    clock: new ManualClock(START),
  });
  const app = createHttpServer({ logger: silentLogger, metrics, isReady: () => true });
  const token = 'fuzz-relay-token-0123456789abcdef';
  await app.register(decisionApi, {
    enforcer,
    metrics,
    tokens: [{ token, role: 'relay', tenantId: null }],
    // The relay token's budget is not what is fuzzed: far more cases than a minute's budget.
    rateLimitPerMinute: Number.MAX_SAFE_INTEGER,
  });
  await app.ready();
  const body = fc.record(
    {
      tenantId: fieldValue,
      clientAddress: fieldValue,
      certificateDomain: fieldValue,
      sender: fieldValue,
      headerFrom: fieldValue,
      extra: fieldValue,
    },
    { requiredKeys: [] },
  );
  // Questions a relay would ask, about the known tenant's connector and others: these reach the decision.
  const plausible = fc.record(
    {
      tenantId: fc.constantFrom(TENANT, 'unknown-tenant'),
      clientAddress: fc.oneof(fc.constantFrom('192.0.2.10', '2001:db8::7'), fc.ipV4()),
      certificateDomain: fc.constantFrom('relay.acme.example', 'other.example'),
      sender: fc.oneof(fc.emailAddress(), fc.constantFrom('', 'x@acme.example', 'promo@spam.example')),
      headerFrom: fc.emailAddress(),
    },
    { requiredKeys: ['sender'] },
  );
  return {
    name: 'decision API bodies',
    cases: 3_000,
    arbitrary: fc.oneof(
      { weight: 4, arbitrary: plausible.map((b) => ({ payload: JSON.stringify(b) })) },
      { weight: 6, arbitrary: body.map((b) => ({ payload: JSON.stringify(b) })) },
      { weight: 2, arbitrary: fc.jsonValue().map((v) => ({ payload: JSON.stringify(v) })) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 100 }).map((payload) => ({ payload })) },
      { weight: 1, arbitrary: fc.constant({ payload: JSON.stringify({ sender: 'a'.repeat(70_000) }) }) },
    ),
    async check({ payload }) {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/decisions',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        payload,
      });
      violation(
        response.statusCode < 500,
        `${response.statusCode} for ${payload.slice(0, 200)}: ${response.body}`,
      );
      const json = response.json() as Record<string, unknown>;
      if (response.statusCode === 200) {
        violation(['ACCEPT', 'REJECT', 'TEMPFAIL'].includes(json.action as string), `action ${json.action}`);
        return '200';
      }
      violation(
        typeof json.error === 'string' && typeof json.message === 'string' && json.message.length > 0,
        `${response.statusCode} without an error and a message: ${response.body}`,
      );
      return String(response.statusCode);
    },
    close: () => app.close(),
  };
}

/** Every target that needs nothing but this process. */
export async function localTargets(): Promise<FuzzTarget<unknown>[]> {
  return [
    domainTarget,
    addressTarget,
    cidrTarget,
    addressParseTarget,
    indexTarget,
    ...decoderTargets('embedded', new EmbeddedCodec()),
    scorerTarget(),
    parserTarget,
    handlerTarget(),
    await decisionApiTarget(),
    await adminApiTarget(),
    await claimsTarget(),
  ] as FuzzTarget<unknown>[];
}
