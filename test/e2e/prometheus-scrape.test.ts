// relayguard as SREs run it: a real Prometheus (Debian's) scrapes a running relayguard's /metrics every second
// and evaluates deploy/prometheus/alerts.yml. Traffic comes in as a Postfix relay sends it (policy requests at
// END-OF-MESSAGE and RCPT) and through the HTTP decision API; the test reads the expected values back through
// Prometheus' HTTP API, waiting for each condition.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Runtime, startRuntime } from '../../services/app/runtime.js';
import { type PolicyAttributes, PolicyClient } from '../../services/cli/simulation/policy-client.js';
import { decisionApi } from '../../services/enforcer/decision-api.js';
import { type PolicyServer, startPolicyServer } from '../../services/enforcer/postfix/server.js';
import { loadConfig } from '../../services/platform/config.js';
import { createHttpServer, type HttpServer } from '../../services/platform/http-server.js';
import { createLogger } from '../../services/platform/logger.js';
import { onpremConnector } from '../support/builders.js';
import { endOfMessage, rcpt } from '../support/enforcement.js';
import {
  alertRules,
  dashboardPanels,
  PROMETHEUS_DIR,
  withoutGrafanaVariables,
} from '../support/observability.js';
import { OPERATOR } from '../support/pipeline-driver.js';
import { type PrometheusServer, startPrometheus } from '../support/prometheus-server.js';
import { waitFor } from '../support/tether.js';

const WAIT = { timeoutMs: 30_000, intervalMs: 250 };
const RELAY_TOKEN = 'scrape-relay-token-0123456789abcdef';
// Tenants whose ids must never appear as a label value: labels take no value that grows with tenants.
const TENANT_PREFIX = 'scrape-tenant-';
const UNREGISTERED_PER_TENANT = 120;
const REGISTERED = 30;

interface LogLine {
  readonly msg: string;
  readonly [field: string]: unknown;
}

describe('a real Prometheus scraping relayguard', () => {
  let runtime: Runtime;
  let http: HttpServer;
  let policyServer: PolicyServer;
  let httpUrl: string;
  let prometheus: PrometheusServer;
  const logs: LogLine[] = [];

  before(async () => {
    const logger = createLogger('debug', { write: (line: string) => void logs.push(JSON.parse(line)) });
    runtime = await startRuntime(loadConfig({}), { services: ['scorer', 'enforcer', 'admin'], logger });
    await runtime.ready;
    const { enforcer, metrics } = runtime;
    http = createHttpServer({ logger, metrics, isReady: () => enforcer?.ready ?? false });
    await http.register(decisionApi, {
      enforcer: enforcer!,
      metrics,
      tokens: [{ token: RELAY_TOKEN, role: 'relay', tenantId: null }],
      rateLimitPerMinute: 600,
    });
    await http.listen({ host: '127.0.0.1', port: 0 });
    const address = http.server.address();
    assert.ok(address && typeof address === 'object');
    httpUrl = `http://127.0.0.1:${address.port}`;
    policyServer = await startPolicyServer({
      enforcer: enforcer!,
      metrics,
      logger,
      host: '127.0.0.1',
      port: 0,
      ...loadConfig({}).postfixService,
    });
    prometheus = await startPrometheus({
      targets: [`127.0.0.1:${address.port}`],
      ruleFiles: [join(PROMETHEUS_DIR, 'alerts.yml')],
    });
  });

  after(async () => {
    await prometheus?.stop();
    await policyServer?.close();
    await http?.close();
    await runtime?.stop();
  });

  const tenant = (n: number) => `${TENANT_PREFIX}${n}`;

  async function onboard(n: number): Promise<void> {
    const admin = runtime.admin!;
    await admin.putAcceptedDomain(OPERATOR, tenant(n), `${tenant(n)}.example`, false);
    await admin.putConnector(
      OPERATOR,
      tenant(n),
      `${tenant(n)}-onprem`,
      onpremConnector(`198.51.100.${n}/32`),
    );
  }

  /** Sends Postfix policy requests on one connection, pipelined as smtpd may, and returns the actions. */
  async function postfix(requests: readonly PolicyAttributes[]): Promise<string[]> {
    const client = await PolicyClient.connect(policyServer.host, policyServer.port);
    try {
      return await Promise.all(requests.map((request) => client.request(request)));
    } finally {
      client.close();
    }
  }

  /** Relays mail as Postfix does: an END-OF-MESSAGE policy request (one MessageSubmitted) per accepted message. */
  async function relay(n: number, senders: readonly string[]): Promise<void> {
    const actions = await postfix(
      senders.map((sender, i) => ({
        ...endOfMessage(`198.51.100.${n}`, sender, `Q${n}X${i}`),
        policy_context: 'relay-1',
      })),
    );
    assert.ok(actions.every((action) => action === 'DUNNO'));
    await runtime.adapters.log.settled();
  }

  const spam = (n: number) =>
    Array.from({ length: UNREGISTERED_PER_TENANT }, (_, i) => `promo@spam${i % 60}-${n}.example`);

  async function expectValue(promql: string, expected: number): Promise<void> {
    let last: number | null = null;
    try {
      await waitFor(async () => {
        last = await prometheus.value(promql);
        return last === expected;
      }, WAIT);
    } catch (error) {
      assert.fail(`${promql}: expected ${expected}, Prometheus last answered ${last} (${String(error)})`);
    }
  }

  it('reads throughput, classification, blocks and decisions back through the Prometheus API', async () => {
    await expectValue('up{job="relayguard"}', 1);
    await expectValue('relayguard_ready{service="enforcer"}', 1);

    await onboard(0);
    await relay(0, [
      ...Array.from({ length: REGISTERED }, (_, i) => `user${i}@${tenant(0)}.example`),
      ...spam(0),
    ]);
    assert.deepEqual(
      await postfix([
        rcpt('198.51.100.0', 'x@spam1-0.example'),
        rcpt('198.51.100.0', `it@${tenant(0)}.example`),
      ]),
      ['550 5.7.750 Service unavailable. Client blocked from sending from unregistered domains', 'DUNNO'],
    );
    const response = await fetch(`${httpUrl}/v1/decisions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${RELAY_TOKEN}` },
      body: JSON.stringify({ clientAddress: '198.51.100.0', sender: 'y@spam2-0.example' }),
    });
    assert.equal(((await response.json()) as { action: string }).action, 'REJECT');

    const submitted = REGISTERED + UNREGISTERED_PER_TENANT;
    const expected: [query: string, value: number][] = [
      [
        'sum(relayguard_events_produced_total{topic="relayguard.message-submitted.v1",outcome="ok"})',
        submitted,
      ],
      [
        'sum(relayguard_events_consumed_total{topic="relayguard.message-submitted.v1",outcome="counted"})',
        submitted,
      ],
      ['sum(relayguard_messages_classified_total{class="registered"})', REGISTERED],
      ['sum(relayguard_messages_classified_total{class="unregistered"})', UNREGISTERED_PER_TENANT],
      ['sum(relayguard_blocks_issued_total{source="policy",mode="ENFORCE"})', 1],
      ['relayguard_tenants_blocked', 1],
      ['relayguard_tenants_monitor_blocked', 0],
      ['sum(relayguard_policy_requests_total{stage="END-OF-MESSAGE",action="DUNNO"})', submitted],
      ['sum(relayguard_policy_requests_total{stage="RCPT",action="REJECT"})', 1],
      ['sum(relayguard_decisions_total{stage="RCPT",action="REJECT"})', 1],
      ['sum(relayguard_decisions_total{stage="RCPT",action="ACCEPT"})', 1],
      ['sum(relayguard_decisions_total{stage="http",action="REJECT"})', 1],
      ['sum(relayguard_policy_request_duration_seconds_count{stage="RCPT"})', 2],
      ['sum(relayguard_policy_request_duration_seconds_count{stage="http"})', 1],
      ['sum(relayguard_batch_size_events_sum)', submitted],
      ['max(relayguard_consumer_lag_events{topic="relayguard.message-submitted.v1"})', 0],
    ];
    for (const [query, value] of expected) await expectValue(query, value);
    assert.ok(
      ((await prometheus.value('sum(relayguard_window_store_duration_seconds_count{operation="save"})')) ??
        0) > 0,
      'the window store round trips are timed',
    );
  });

  it('fires RelayguardBlockBurst when many tenants are blocked at once', async () => {
    // The alert counts increases: Prometheus must have seen the counter before the burst.
    const burst = Array.from({ length: 10 }, (_, i) => i + 1);
    for (const n of burst) await onboard(n);
    for (const n of burst) await relay(n, spam(n));
    await expectValue('relayguard_tenants_blocked', 1 + burst.length);

    const firing = await waitFor(
      async () => {
        const { alerts } = await prometheus.api<{
          alerts: { labels: Record<string, string>; state: string; annotations: Record<string, string> }[];
        }>('/api/v1/alerts');
        return alerts.find(
          (alert) => alert.labels.alertname === 'RelayguardBlockBurst' && alert.state === 'firing',
        );
      },
      { ...WAIT, description: 'RelayguardBlockBurst to fire' },
    );
    assert.equal(firing.labels.mode, 'ENFORCE');
    assert.equal(firing.labels.severity, 'critical');
    assert.equal(firing.annotations.runbook_url, 'deploy/RUNBOOK.md#block-burst');
  });

  it('loads every alert rule, healthy, and runs every dashboard query', async () => {
    const { groups } = await prometheus.api<{
      groups: { rules: { name: string; health: string; lastError?: string }[] }[];
    }>('/api/v1/rules');
    const loaded = groups.flatMap((group) => group.rules);
    assert.equal(loaded.length, alertRules().length);
    await waitFor(
      async () => {
        const { groups: now } = await prometheus.api<{ groups: { rules: { health: string }[] }[] }>(
          '/api/v1/rules',
        );
        return now.flatMap((group) => group.rules).every((rule) => rule.health === 'ok');
      },
      { ...WAIT, description: 'every rule evaluated with health ok' },
    );

    let withData = 0;
    for (const panel of dashboardPanels()) {
      for (const target of panel.targets ?? []) {
        const samples = await prometheus.query(withoutGrafanaVariables(target.expr ?? ''));
        if (samples.length > 0) withData++;
      }
    }
    assert.ok(withData >= 10, `${withData} dashboard queries returned data`);
  });

  it('exports no label whose values grow with tenants, domains or addresses', async () => {
    const series = await prometheus.query('{__name__=~"relayguard_.+"}');
    assert.ok(series.length > 0);
    for (const { metric } of series) {
      for (const [label, value] of Object.entries(metric)) {
        assert.ok(
          !value.includes(TENANT_PREFIX) && !value.includes('.example') && !value.includes('198.51.100.'),
          `${metric.__name__}{${label}="${value}"} names a tenant, domain or address`,
        );
      }
    }
  });

  it('logs a block with the event that triggered it: relay queue id -> event id -> block id', async () => {
    const blockLine = logs.find(
      (line) =>
        line.msg === 'tenant blocked from sending from unregistered domains' && line.tenantId === tenant(0),
    );
    assert.ok(blockLine, 'a block line for the first tenant');
    assert.equal(blockLine.blockId, runtime.directory.tenant(tenant(0))?.block?.blockId);
    assert.equal(blockLine.topic, 'relayguard.message-submitted.v1');
    assert.equal(typeof blockLine.partition, 'number');
    assert.match(String(blockLine.offset), /^\d+$/);
    assert.match(String(blockLine.queueId), /^Q0X\d+$/);
    // The relay is named by policy_context and identified by the address of its policy connection.
    assert.equal(blockLine.eventId, `relay-1[127.0.0.1]/${blockLine.queueId}`);
    const submittedLine = logs.find(
      (line) => line.msg === 'message submitted' && line.queueId === blockLine.queueId,
    );
    assert.ok(submittedLine, 'the enforcer logged the submission of the triggering message');
    assert.equal(submittedLine.eventId, blockLine.eventId);
    assert.equal(submittedLine.tenantId, tenant(0));
  });
});
