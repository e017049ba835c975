// The CLI's error presentation: API field names become the flags the user typed, and failures are classified
// into one line and an exit code.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { inFlagTerms } from '../../../services/cli/admin-client.js';
import { describeFailure } from '../../../services/cli/errors.js';
import { ExitCode } from '../../../services/cli/exit-codes.js';

// kafkajs is CommonJS: its error classes are properties of the default export.
const { KafkaJSConnectionError, KafkaJSNonRetriableError } = kafkajs;

const UNBLOCK_FLAGS = {
  ticket: '--ticket',
  domainsRegistered: '--domains-registered',
  connectorsReviewed: '--connectors-reviewed',
  serversSecured: '--servers-secured',
};

describe('inFlagTerms', () => {
  it('names the flags of missing attestations', () => {
    assert.equal(
      inFlagTerms(
        'attestations: domainsRegistered, serversSecured must be true before the block is lifted',
        UNBLOCK_FLAGS,
      ),
      '--domains-registered, --servers-secured must be true before the block is lifted',
    );
  });

  it('replaces an indexed or nested field at the start, and leaves the prose alone', () => {
    const flags = { senderIpRanges: '--range', ticket: '--ticket' };
    assert.equal(
      inFlagTerms('senderIpRanges[1]: "x" is not a CIDR range', flags),
      '--range: "x" is not a CIDR range',
    );
    assert.equal(
      inFlagTerms('ticket: required: support ticket reference', flags),
      '--ticket: required: support ticket reference',
    );
    assert.equal(
      inFlagTerms('attestations.domainsRegistered: must be boolean', UNBLOCK_FLAGS),
      '--domains-registered: must be boolean',
    );
  });

  it('keeps messages about fields no flag fills (positional arguments, the tenant)', () => {
    const message = 'tenantId: no tenant x (it has no accepted domain, connector, policy or block yet)';
    assert.equal(inFlagTerms(message, UNBLOCK_FLAGS), message);
  });
});

describe('describeFailure', () => {
  it('reads a kafkajs give-up as one line naming KAFKA_BROKERS', () => {
    const cause = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:1');
    const failure = describeFailure(Object.assign(new KafkaJSNonRetriableError(cause), { cause }), false);
    assert.equal(failure.exitCode, ExitCode.SERVER);
    assert.match(
      failure.message!,
      /^Kafka could not be reached: Connection error: connect ECONNREFUSED 127\.0\.0\.1:1 \(check KAFKA_BROKERS/,
    );
    assert.doesNotMatch(failure.message!, /\n/);
  });

  it('names where a refused connection pointed', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), {
      code: 'ECONNREFUSED',
      address: '127.0.0.1',
      port: 9,
    });
    assert.deepEqual(describeFailure(error, false), {
      message: 'cannot connect to 127.0.0.1:9: connection refused (ECONNREFUSED)',
      exitCode: ExitCode.SERVER,
    });
  });

  it('keeps the stack of an unexpected failure for --debug', () => {
    const bug = new TypeError('x is undefined');
    const quiet = describeFailure(bug, false);
    assert.equal(quiet.exitCode, ExitCode.FAILURE);
    assert.equal(quiet.message, 'x is undefined (--debug prints the stack trace)');
    assert.match(describeFailure(bug, true).message!, /^x is undefined\nTypeError: x is undefined\n\s+at /);
  });
});
