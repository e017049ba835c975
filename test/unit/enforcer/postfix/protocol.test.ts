// The policy protocol parser on its own: any cut of the byte stream parses the same; every limit holds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  DEFAULT_POLICY_LIMITS,
  formatPolicyReply,
  type ParseResult,
  PolicyRequestParser,
} from '../../../../services/enforcer/postfix/protocol.js';

const REQUEST = [
  'request=smtpd_access_policy',
  'protocol_state=RCPT',
  'client_address=192.0.2.10',
  'sender=alice@acme.example',
  'recipient=bob@elsewhere.example',
  'ccert_subject=',
  'policy_context=a=b',
  '',
  '',
].join('\n');

function requests(results: ParseResult[]) {
  return results.map((result) =>
    result.kind === 'request' ? Object.fromEntries(result.attributes) : { error: result.reason },
  );
}

function parseAll(chunks: readonly Uint8Array[], parser = new PolicyRequestParser()) {
  return requests(chunks.flatMap((chunk) => parser.push(chunk)));
}

describe('policy protocol parser', () => {
  it('parses a request into its attributes, keeping "=" inside values and empty values', () => {
    const [request] = parseAll([Buffer.from(REQUEST)]);
    assert.deepEqual(request, {
      request: 'smtpd_access_policy',
      protocol_state: 'RCPT',
      client_address: '192.0.2.10',
      sender: 'alice@acme.example',
      recipient: 'bob@elsewhere.example',
      ccert_subject: '',
      policy_context: 'a=b',
    });
  });

  it('parses pipelined requests in order, however the stream is cut', () => {
    const stream = Buffer.from(
      Array.from({ length: 5 }, (_, i) => REQUEST.replace('192.0.2.10', `192.0.2.${i}`)).join(''),
    );
    const whole = parseAll([stream]);
    assert.equal(whole.length, 5);
    assert.deepEqual(
      whole.map((r) => r.client_address),
      ['192.0.2.0', '192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'],
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 40 }),
        (cuts) => {
          const points = [0, ...cuts.sort((a, b) => a - b), stream.length];
          const chunks = points.slice(1).map((end, i) => stream.subarray(points[i], end));
          assert.deepEqual(parseAll(chunks), whole);
        },
      ),
    );
  });

  it('parses a stream fed one byte at a time', () => {
    const stream = Buffer.from(REQUEST + REQUEST);
    const bytes = Array.from(stream, (byte) => Uint8Array.of(byte));
    assert.deepEqual(parseAll(bytes), parseAll([stream]));
  });

  it('tolerates CRLF line ends and keeps the last value of a repeated attribute', () => {
    const [request] = parseAll([
      Buffer.from('request=smtpd_access_policy\r\nsender=a@x.example\r\nsender=b@y.example\r\n\r\n'),
    ]);
    assert.deepEqual(request, { request: 'smtpd_access_policy', sender: 'b@y.example' });
  });

  it('decodes UTF-8 values, even when a character is split between reads', () => {
    const bytes = Buffer.from('request=smtpd_access_policy\nsender=jürgen@bücher.example\n\n');
    const split = bytes.indexOf(0xc3);
    const [request] = parseAll([bytes.subarray(0, split + 1), bytes.subarray(split + 1)]);
    assert.equal(request?.sender, 'jürgen@bücher.example');
  });

  for (const [name, input, reason] of [
    ['a line without "="', 'request=smtpd_access_policy\nthis is garbage\n\n', 'malformed-line'],
    ['a name with capitals', 'Request=smtpd_access_policy\n\n', 'malformed-line'],
    ['an empty name', '=value\n\n', 'malformed-line'],
    ['binary garbage', '\u0000\u0001\u0002=\u00ff\n\n', 'malformed-line'],
    ['an empty request', '\n', 'empty-request'],
  ] as const) {
    it(`fails on ${name}, and accepts nothing after`, () => {
      const parser = new PolicyRequestParser();
      assert.deepEqual(parseAll([Buffer.from(input)], parser), [{ error: reason }]);
      assert.equal(parser.failed, true);
      assert.deepEqual(parseAll([Buffer.from(REQUEST)], parser), []);
    });
  }

  it('answers the requests before a failure, then the failure', () => {
    assert.deepEqual(
      parseAll([Buffer.from(`${REQUEST}garbage\n`)]).map((r) => r.error ?? r.protocol_state),
      ['RCPT', 'malformed-line'],
    );
  });

  it('fails an over-long line as soon as it is over the limit, without waiting for its newline', () => {
    const limits = { ...DEFAULT_POLICY_LIMITS, maxAttributeBytes: 64 };
    const parser = new PolicyRequestParser(limits);
    assert.deepEqual(parseAll([Buffer.from(`sender=${'a'.repeat(40)}`)], parser), []);
    assert.ok(parser.bufferedBytes <= 64);
    assert.deepEqual(parseAll([Buffer.from('a'.repeat(40))], parser), [{ error: 'attribute-too-long' }]);
    assert.equal(parser.bufferedBytes, 0);
  });

  it('fails a request over the size limit, and one with too many attributes', () => {
    const small = { maxRequestBytes: 200, maxAttributes: 3, maxAttributeBytes: 100 };
    const big = Array.from({ length: 10 }, (_, i) => `attribute_${i}=${'x'.repeat(30)}\n`).join('');
    assert.deepEqual(
      parseAll([Buffer.from(big)], new PolicyRequestParser({ ...small, maxAttributes: 100 })),
      [{ error: 'request-too-large' }],
    );
    assert.deepEqual(parseAll([Buffer.from('a=1\nb=2\nc=3\nd=4\n\n')], new PolicyRequestParser(small)), [
      { error: 'too-many-attributes' },
    ]);
  });

  it('holds at most the limits, whatever arrives', () => {
    const limits = { maxRequestBytes: 512, maxAttributes: 10, maxAttributeBytes: 64 };
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 30 }), (chunks) => {
        const parser = new PolicyRequestParser(limits);
        for (const chunk of chunks) {
          const results = parser.push(chunk);
          assert.ok(parser.bufferedBytes <= limits.maxRequestBytes + limits.maxAttributeBytes);
          assert.ok(results.filter((r) => r.kind === 'error').length <= 1);
        }
      }),
    );
  });

  it('tells whether a request is half received (the request timeout runs then)', () => {
    const parser = new PolicyRequestParser();
    assert.equal(parser.inRequest, false);
    parser.push(Buffer.from('request=smtpd'));
    assert.equal(parser.inRequest, true);
    parser.push(Buffer.from('_access_policy\n'));
    assert.equal(parser.inRequest, true);
    parser.push(Buffer.from('\n'));
    assert.equal(parser.inRequest, false);
  });

  it('stops after so many requests and says how far it read, so the rest can wait unparsed', () => {
    const parser = new PolicyRequestParser();
    const bytes = Buffer.from('a=1\n\nb=2\n\nc=3\n\nd=');
    const first = parser.pushUpTo(bytes, 2);
    assert.deepEqual(
      first.results.map((result) => result.kind === 'request' && [...result.attributes]),
      [[['a', '1']], [['b', '2']]],
    );
    assert.equal(first.consumed, 'a=1\n\nb=2\n\n'.length);
    const rest = parser.pushUpTo(bytes.subarray(first.consumed), 2);
    assert.deepEqual(
      rest.results.map((result) => result.kind === 'request' && [...result.attributes]),
      [[['c', '3']]],
    );
    assert.equal(rest.consumed, 'c=3\n\nd='.length, 'a partial line is held by the parser');
    assert.equal(parser.inRequest, true);
  });

  it('formats a reply with the empty line that ends it, and refuses a line break in an action', () => {
    assert.equal(formatPolicyReply('DUNNO'), 'action=DUNNO\n\n');
    assert.throws(() => formatPolicyReply('DUNNO\n\naction=OK'));
  });
});
