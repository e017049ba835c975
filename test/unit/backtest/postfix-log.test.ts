// The Postfix log parser on lines in the formats real Postfix daemons write: syslog and maillog_file framing,
// short and long queue ids, IPv6 clients, the null sender, header_checks' header From, multiple instances, and
// the malformed and partial input every real log has.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { directoryResolver, parseClientMap } from '../../../services/backtest/client-map.js';
import { PostfixLogParser, type PostfixLogStats } from '../../../services/backtest/postfix-log.js';
import { loadTenants } from '../../../services/backtest/tenants-file.js';
import type { MessageSubmitted } from '../../../services/core/contracts.generated.js';

const CLIENTS = `
# address or CIDR   tenant   relay path    connector
192.0.2.0/24        acme     ONPREM        acme-hq
2001:db8:5::/48     globex   APPLICATION
`;

function parse(text: string, year = 2026): { events: MessageSubmitted[]; stats: PostfixLogStats } {
  const parser = new PostfixLogParser({
    resolve: parseClientMap(CLIENTS, 'clients.txt'),
    year,
    syslogZone: 'utc',
  });
  const events: MessageSubmitted[] = [];
  for (const line of text.split('\n')) {
    const event = parser.line(line);
    if (event) events.push(event);
  }
  return { events, stats: parser.finish() };
}

function problems(stats: PostfixLogStats): Record<string, number> {
  return Object.fromEntries(Object.entries(stats.problems).map(([kind, p]) => [kind, p.count]));
}

const NO_PROBLEMS = {
  malformed: 0,
  'no-client': 0,
  'no-qmgr': 0,
  'unresolved-client': 0,
  'invalid-sender': 0,
};

describe('Postfix log parser', () => {
  it('joins smtpd, cleanup and qmgr lines of syslog by queue id into one event at the qmgr line', () => {
    const { events, stats } =
      parse(`Nov 28 09:00:01 relay1 postfix/smtpd[2101]: connect from mail.acme.example[192.0.2.10]
Nov 28 09:00:01 relay1 postfix/smtpd[2101]: 3F1A21C0042: client=mail.acme.example[192.0.2.10], sasl_method=PLAIN, sasl_username=relay
Nov 28 09:00:01 relay1 postfix/cleanup[2105]: 3F1A21C0042: message-id=<20261128090001.1@acme.example>
Nov 28 09:00:02 relay1 postfix/qmgr[1900]: 3F1A21C0042: from=<alice@Acme.Example>, size=2048, nrcpt=2 (queue active)
Nov 28 09:00:03 relay1 postfix/smtp[2110]: 3F1A21C0042: to=<bob@elsewhere.example>, relay=mx.elsewhere.example[198.51.100.7]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 9A8B7C)
Nov 28 09:00:03 relay1 postfix/qmgr[1900]: 3F1A21C0042: removed
Nov 28 09:00:03 relay1 postfix/smtpd[2101]: disconnect from mail.acme.example[192.0.2.10] ehlo=1 mail=1 rcpt=2 data=1 quit=1 commands=6`);
    assert.deepEqual(events, [
      {
        eventId: 'relay1/3F1A21C0042',
        tenantId: 'acme',
        occurredAt: Date.UTC(2026, 10, 28, 9, 0, 2),
        envelopeSenderDomain: 'acme.example',
        headerFromDomain: null,
        relayPath: 'ONPREM',
        connectorId: 'acme-hq',
        clientAddress: '192.0.2.10',
        queueId: '3F1A21C0042',
        relayHost: 'relay1',
        recipientCount: 2,
        sizeBytes: 2048,
      },
    ]);
    assert.deepEqual(problems(stats), NO_PROBLEMS);
    assert.equal(stats.lines, 7);
    assert.equal(stats.messages, 1);
  });

  it("reads maillog_file's RFC 3339 times, long queue ids, IPv6 clients and the null sender with a logged header From", () => {
    const { events, stats } =
      parse(`2026-11-28T10:00:03.123456+01:00 relay2 postfix/smtpd[2102]: 4bLpGv0QHFz9sZ9: client=unknown[2001:db8:5::25]
2026-11-28T10:00:03.200000+01:00 relay2 postfix/cleanup[2105]: 4bLpGv0QHFz9sZ9: info: header From: Mailer Daemon <MAILER-DAEMON@globex.example> from unknown[2001:db8:5::25]; from=<> to=<x@elsewhere.example> proto=ESMTP helo=<gw.globex.example>
2026-11-28T10:00:03.250000+01:00 relay2 postfix/qmgr[1900]: 4bLpGv0QHFz9sZ9: from=<>, size=1500, nrcpt=1 (queue active)
2026-11-28T09:00:04Z relay2 postfix/smtpd[2102]: 4bLpGv0QHFz9sZA: client=unknown[2001:db8:5::26]:41234
2026-11-28T09:00:04Z relay2 postfix/qmgr[1900]: 4bLpGv0QHFz9sZA: from=<>, size=900, nrcpt=3 (queue active)`);
    assert.equal(events.length, 2);
    assert.deepEqual(
      events.map((e) => [e.occurredAt, e.tenantId, e.relayPath, e.connectorId, e.clientAddress, e.queueId]),
      [
        [
          Date.UTC(2026, 10, 28, 9, 0, 3, 250),
          'globex',
          'APPLICATION',
          '2001:db8:5::/48',
          '2001:db8:5::25',
          '4bLpGv0QHFz9sZ9',
        ],
        [
          Date.UTC(2026, 10, 28, 9, 0, 4),
          'globex',
          'APPLICATION',
          '2001:db8:5::/48',
          '2001:db8:5::26',
          '4bLpGv0QHFz9sZA',
        ],
      ],
    );
    assert.deepEqual(
      events.map((e) => [e.envelopeSenderDomain, e.headerFromDomain, e.recipientCount, e.sizeBytes]),
      [
        [null, 'globex.example', 1, 1500],
        [null, null, 3, 900],
      ],
    );
    assert.deepEqual(problems(stats), NO_PROBLEMS);
  });

  it('counts malformed and partial input and goes on', () => {
    const { events, stats } = parse(`garbage that is no log line
Nov 28 09:00:0 relay1 postfix/smtpd[2101]: 8F5E61C0046: client=mail.acme.example[192.0.2.10]
Nov 28 09:00:08 relay1 postfix/smtpd[2101]: 8F5E61C0047: client=mail.acme.example
Nov 28 09:00:05 relay1 postfix/smtpd[2101]: NOQUEUE: reject: RCPT from unknown[203.0.113.9]: 554 5.7.1 <x@y.example>: Relay access denied; from=<spam@bad.example> to=<x@y.example> proto=ESMTP helo=<bad>
Nov 28 09:00:06 relay1 postfix/pickup[2200]: 6D3C41C0044: uid=0 from=<root>
Nov 28 09:00:06 relay1 postfix/cleanup[2105]: 6D3C41C0044: message-id=<20261128090006.1@relay1.example>
Nov 28 09:00:06 relay1 postfix/qmgr[1900]: 6D3C41C0044: from=<root@relay1.example>, size=400, nrcpt=1 (queue active)
Nov 28 09:00:07 relay1 postfix/smtpd[2101]: 7E4D51C0045: client=mail.acme.example[192.0.2.10]
Nov 28 09:00:07 relay1 postfix/cleanup[2105]: 7E4D51C0045: milter-reject: END-OF-MESSAGE from mail.acme.example[192.0.2.10]: 5.7.1 rejected; from=<a@acme.example> to=<b@x.example> proto=ESMTP helo=<mail.acme.example>
Nov 28 09:00:09 relay1 postfix/smtpd[2101]: 9A6F71C0048: client=unknown[203.0.113.50]
Nov 28 09:00:09 relay1 postfix/qmgr[1900]: 9A6F71C0048: from=<x@spam.example>, size=100, nrcpt=1 (queue active)
Nov 28 09:00:10 relay1 postfix/smtpd[2101]: AB7081C0049: client=mail.acme.example[192.0.2.10]
Nov 28 09:00:10 relay1 postfix/qmgr[1900]: AB7081C0049: from=<root>, size=100, nrcpt=1 (queue active)
Nov 28 09:00:11 relay1 postfix/smtpd[2101]: BC8191C0050: client=mail.acme.example[192.0.2.11]
Nov 28 09:00:11 relay1 postfix/qmgr[1900]: BC8191C0050: from=<a@acme.example>, size=100, nrcpt=1 (queue active)`);
    // A sender without a usable domain travels as the null sender, as the policy server publishes it.
    assert.deepEqual(
      events.map((e) => [e.queueId, e.envelopeSenderDomain]),
      [
        ['AB7081C0049', 'unparsable-sender.invalid'],
        ['BC8191C0050', 'acme.example'],
      ],
    );
    assert.deepEqual(problems(stats), {
      malformed: 3,
      'no-client': 1,
      'no-qmgr': 1,
      'unresolved-client': 1,
      'invalid-sender': 1,
    });
    assert.equal(stats.problems.malformed.firstLine, 1);
    assert.equal(stats.problems['no-client'].firstLine, 7);
    assert.deepEqual(stats.unresolvedClients, [{ address: '203.0.113.50', messages: 1 }]);
  });

  it('counts a deferred message once, skips content-filter re-injections, and tells instances and hosts apart', () => {
    const { events, stats } =
      parse(`Nov 28 09:00:01 relay1 postfix/smtpd[2101]: C1A2B3C4D5: client=mail.acme.example[192.0.2.10]
Nov 28 09:00:01 relay1 postfix/qmgr[1900]: C1A2B3C4D5: from=<a@acme.example>, size=100, nrcpt=1 (queue active)
Nov 28 09:00:02 relay1 postfix/smtp[2110]: C1A2B3C4D5: to=<b@x.example>, relay=none, delay=1, status=deferred (connect timed out)
Nov 28 09:05:02 relay1 postfix/qmgr[1900]: C1A2B3C4D5: from=<a@acme.example>, size=100, nrcpt=1 (queue active)
Nov 28 09:00:03 relay1 postfix/smtpd[2300]: D2B3C4D5E6: client=localhost[127.0.0.1], orig_queue_id=C1A2B3C4D5, orig_client=mail.acme.example[192.0.2.10]
Nov 28 09:00:03 relay1 postfix/qmgr[1900]: D2B3C4D5E6: from=<a@acme.example>, size=300, nrcpt=1 (queue active)
Nov 28 09:00:04 relay2 postfix-out/smtpd[77]: C1A2B3C4D5: client=mail.acme.example[192.0.2.12]
Nov 28 09:00:04 relay2 postfix-out/qmgr[78]: C1A2B3C4D5: from=<c@acme.example>, size=200, nrcpt=4 (queue active)`);
    assert.deepEqual(
      events.map((e) => [e.relayHost, e.queueId, e.sizeBytes]),
      [
        ['relay1', 'C1A2B3C4D5', 100],
        ['relay2', 'C1A2B3C4D5', 200],
      ],
    );
    assert.equal(stats.reinjected, 1);
    assert.deepEqual(problems(stats), NO_PROBLEMS);
  });

  it('takes the year from the caller and rolls it over at New Year', () => {
    const { events } = parse(
      `Dec 31 23:59:59 relay1 postfix/smtpd[1]: AA1: client=x[192.0.2.1]
Dec 31 23:59:59 relay1 postfix/qmgr[2]: AA1: from=<a@acme.example>, size=1, nrcpt=1 (queue active)
Jan  1 00:00:01 relay1 postfix/smtpd[1]: AA2: client=x[192.0.2.1]
Jan  1 00:00:01 relay1 postfix/qmgr[2]: AA2: from=<a@acme.example>, size=1, nrcpt=1 (queue active)`,
      2025,
    );
    assert.deepEqual(
      events.map((e) => new Date(e.occurredAt).toISOString()),
      ['2025-12-31T23:59:59.000Z', '2026-01-01T00:00:01.000Z'],
    );
  });

  it("resolves clients through the tenants file's connectors as the enforcer does", () => {
    const directory = loadTenants(
      {
        tenants: [
          {
            tenantId: 'acme',
            acceptedDomains: ['acme.example'],
            connectors: [{ connectorId: 'acme-hq', relayPath: 'ONPREM', senderIpRanges: ['192.0.2.0/25'] }],
          },
        ],
      },
      'tenants.json',
    );
    const parser = new PostfixLogParser({
      resolve: directoryResolver(directory),
      year: 2026,
      syslogZone: 'utc',
    });
    parser.line('Nov 28 09:00:01 relay1 postfix/smtpd[1]: AA1: client=x[192.0.2.200]');
    assert.equal(
      parser.line('Nov 28 09:00:01 relay1 postfix/qmgr[2]: AA1: from=<a@x.example>, size=1, nrcpt=1'),
      null,
    );
    parser.line('Nov 28 09:00:02 relay1 postfix/smtpd[1]: AA2: client=x[192.0.2.20]');
    const event = parser.line(
      'Nov 28 09:00:02 relay1 postfix/qmgr[2]: AA2: from=<a@x.example>, size=1, nrcpt=1',
    );
    assert.deepEqual([event?.tenantId, event?.connectorId, event?.relayPath], ['acme', 'acme-hq', 'ONPREM']);
    assert.equal(parser.finish().problems['unresolved-client'].count, 1);
  });

  it('names the line and what to fix in a bad mapping file', () => {
    assert.throws(
      () => parseClientMap('192.0.2.0/24 acme\n192.0.2.300/24 globex', 'clients.txt'),
      /clients\.txt:2: .*CIDR/,
    );
    assert.throws(
      () => parseClientMap('192.0.2.0/24 acme SIDEWAYS', 'clients.txt'),
      /clients\.txt:1: relay path "SIDEWAYS"/,
    );
    assert.throws(() => parseClientMap('192.0.2.0/24', 'clients.txt'), /clients\.txt:1: expected/);
  });
});
