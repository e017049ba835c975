// `relayguard backtest` end to end on files: a simulation recorded with `simulate --record` backtests to what the
// simulation's live pipeline decided, and the HTML report carries a plot per blocked tenant.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { decodeEventLine, encodeEventLine } from '../../../services/backtest/event-lines.js';
import { type BacktestOptions, runBacktest } from '../../../services/cli/commands/backtest.js';
import { runSimulation } from '../../../services/cli/simulation/run.js';
import type { MessageSubmitted } from '../../../services/core/contracts.generated.js';
import { loadConfig } from '../../../services/platform/config.js';
import { silentLogger } from '../../../services/platform/logger.js';

const dir = mkdtempSync(join(tmpdir(), 'relayguard-backtest-'));
const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
const config = loadConfig({});

function options(overrides: Partial<BacktestOptions>): BacktestOptions {
  return {
    events: [],
    postfix: [],
    kafka: false,
    tenants: undefined,
    clients: undefined,
    year: 2026,
    syslogUtc: true,
    policy: [],
    policies: undefined,
    range: { from: null, to: null },
    json: false,
    html: undefined,
    ...overrides,
  };
}

describe('relayguard backtest on files', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reports on a recorded simulation what the simulated pipeline decided', async () => {
    const eventsPath = join(dir, 'events.jsonl');
    const tenantsPath = join(dir, 'tenants.json');
    const lines: string[] = [];
    const start = Date.UTC(2026, 10, 28, 9);
    const summary = await runSimulation(
      config,
      {
        tenants: 6,
        forwarders: 2,
        minutes: 45,
        ratePerMinute: 20,
        spamPerMinute: 60,
        compromiseMinute: 30,
        seed: 3,
        start,
        recorder: {
          tenants: (file) => writeFileSync(tenantsPath, JSON.stringify(file)),
          events: (messages) =>
            lines.push(...messages.map(({ event, spam }) => encodeEventLine({ ...event, spam }))),
        },
      },
      silentLogger,
    );
    writeFileSync(eventsPath, `${lines.join('\n')}\n{"not": "an event"}\n`);
    const htmlPath = join(dir, 'report.html');
    const result = await runBacktest(
      config,
      options({
        events: [eventsPath],
        tenants: tenantsPath,
        policy: ['strict:minUnregistered=250'],
        html: htmlPath,
      }),
      quiet,
    );

    const inForce = result.policies[0]!;
    assert.ok(summary.blocked.length > 0);
    assert.deepEqual(
      inForce.blocked.map((b) => [b.tenantId, b.blockId, b.blockedAt]),
      summary.blocked.map((b) => [b.tenantId, b.block.blockId, b.blockedAt]),
    );
    const compromised = inForce.blocked.find((b) => b.tenantId === 'tenant-compromised')!;
    assert.equal(compromised.volumeBeganAt, summary.compromiseStartedAt);
    // The record holds what the relays offered: what they relayed and what the enforcer refused.
    assert.equal(result.events.scored, summary.messages + summary.refused.spam + summary.refused.legitimate);
    assert.deepEqual(result.source.problems, { malformed: { count: 1, firstLine: lines.length + 1 } });
    assert.equal(result.policies[1]!.name, 'strict');

    const html = readFileSync(htmlPath, 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /<figcaption>tenant-compromised \(blocked\)<\/figcaption><svg/);
    assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'self-contained');
  });

  it('backtests a Postfix log with a client mapping file', async () => {
    const log = join(dir, 'maillog');
    const clients = join(dir, 'clients.txt');
    writeFileSync(clients, '192.0.2.0/24 acme\n');
    const at = (second: number) =>
      `Nov 28 09:${String(Math.floor(second / 60)).padStart(2, '0')}:${String(second % 60).padStart(2, '0')}`;
    const text = Array.from({ length: 600 }, (_, i) => {
      const id = `A${i.toString(16).toUpperCase().padStart(9, '0')}`;
      return [
        `${at(i)} relay1 postfix/smtpd[10]: ${id}: client=unknown[192.0.2.7]`,
        `${at(i)} relay1 postfix/cleanup[11]: ${id}: message-id=<${i}@spam.example>`,
        `${at(i)} relay1 postfix/qmgr[12]: ${id}: from=<x@spam${i % 60}.example>, size=900, nrcpt=1 (queue active)`,
      ].join('\n');
    }).join('\n');
    writeFileSync(log, `${text}\nthis line is not from syslog\n`);
    const result = await runBacktest(config, options({ postfix: [log], clients }), quiet);
    assert.equal(result.events.scored, 600);
    assert.equal(result.events.tenantsWithoutAcceptedDomains, 1);
    assert.deepEqual(
      result.policies[0]!.blocked.map((b) => [b.tenantId, b.reason, b.evidence.unregistered]),
      [['acme', 'DISTINCT_DOMAINS', 100]],
    );
    assert.equal(result.source.problems.malformed!.count, 1);
  });

  it('refuses a bad tenants file naming the field', async () => {
    const tenantsPath = join(dir, 'bad-tenants.json');
    writeFileSync(
      tenantsPath,
      JSON.stringify({
        tenants: [
          {
            tenantId: 'a',
            connectors: [{ connectorId: 'c', relayPath: 'ONPREM', senderIpRanges: ['10.0.0.0/40'] }],
          },
        ],
      }),
    );
    const eventsPath = join(dir, 'one.jsonl');
    const event: MessageSubmitted = decodeEventLine(
      '{"eventId":"e","tenantId":"a","occurredAt":1,"relayPath":"ONPREM","recipientCount":1,"sizeBytes":1}',
    )!;
    writeFileSync(eventsPath, encodeEventLine(event));
    await assert.rejects(
      runBacktest(config, options({ events: [eventsPath], tenants: tenantsPath }), quiet),
      /bad-tenants\.json: tenants\[0\]\.connectors\[0\]\.senderIpRanges\[0\]: /,
    );
  });
});
