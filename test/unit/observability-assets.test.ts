// The Grafana dashboard and the alert rules against what relayguard really exports: every query parses, and
// every metric it names is one a live Metrics registry has (or a recording rule of alerts.yml). Every alert is
// documented in the runbook and unit-tested by promtool, firing and not firing.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  alertRules,
  dashboardPanels,
  exportedSeriesNames,
  GRAFANA_DIR,
  metricNamesIn,
  PROMETHEUS_DIR,
  readYaml,
  withoutGrafanaVariables,
} from '../support/observability.js';

const recorded = new Set(alertRules().flatMap((rule) => (rule.record ? [rule.record] : [])));

describe('Grafana dashboard', () => {
  const exported = exportedSeriesNames();
  const panels = dashboardPanels();

  it('has a query on every panel, each naming only metrics relayguard exports', () => {
    assert.ok(panels.length >= 10, `${panels.length} panels`);
    for (const panel of panels) {
      assert.ok(panel.targets && panel.targets.length > 0, `panel "${panel.title}" has no query`);
      for (const target of panel.targets) {
        assert.ok(target.expr, `panel "${panel.title}" has a target without expr`);
        const names = metricNamesIn(withoutGrafanaVariables(target.expr));
        assert.ok(names.length > 0, `panel "${panel.title}": "${target.expr}" selects no metric`);
        for (const name of names) {
          assert.ok(
            exported.has(name) || recorded.has(name),
            `panel "${panel.title}" queries ${name}, which relayguard does not export`,
          );
        }
      }
    }
  });

  it('shows throughput, lag, classification mix, decisions, blocks and latency percentiles', () => {
    const queried = new Set(
      panels.flatMap((panel) =>
        (panel.targets ?? []).flatMap((target) => metricNamesIn(withoutGrafanaVariables(target.expr ?? ''))),
      ),
    );
    for (const name of [
      'relayguard_events_consumed_total',
      'relayguard_consumer_lag_events',
      'relayguard_messages_classified_total',
      'relayguard_decisions_total',
      'relayguard_blocks_issued_total',
      'relayguard_tenants_blocked',
      'relayguard_tenants_monitor_blocked',
      'relayguard_policy_request_duration_seconds_bucket',
    ]) {
      assert.ok(queried.has(name), `no panel shows ${name}`);
    }
    const quantiles = panels.flatMap((panel) =>
      (panel.targets ?? []).filter((target) =>
        /histogram_quantile\(0\.99, .*relayguard_policy_request_duration_seconds_bucket/.test(
          target.expr ?? '',
        ),
      ),
    );
    assert.ok(quantiles.length > 0, 'no p99 policy latency panel');
  });

  it('uses the provisioned datasource on every panel and query', () => {
    const provisioned = readYaml<{ datasources: { uid: string; type: string }[] }>(
      join(GRAFANA_DIR, 'provisioning', 'datasources', 'prometheus.yml'),
    );
    const uids = new Set(provisioned.datasources.map((source) => source.uid));
    for (const panel of panels) {
      assert.ok(uids.has(panel.datasource?.uid ?? ''), `panel "${panel.title}" names another datasource`);
      for (const target of panel.targets ?? [])
        assert.ok(
          uids.has(target.datasource?.uid ?? ''),
          `a query of "${panel.title}" names another datasource`,
        );
    }
  });

  it('rejects a query that does not parse and finds the metrics of one that does', () => {
    assert.throws(() => metricNamesIn('rate(relayguard_decisions_total[5m]'), /syntax error/);
    assert.deepEqual(
      metricNamesIn('sum by (le) (rate(a_bucket{le="1"}[5m])) / ignoring (x) group_left () b'),
      ['a_bucket', 'b'],
    );
  });
});

describe('alert rules', () => {
  const alerts = alertRules().filter((rule) => rule.alert);
  const runbook = readFileSync(join(PROMETHEUS_DIR, '..', 'RUNBOOK.md'), 'utf8');
  // GitHub's heading anchors: lower case, spaces to hyphens, punctuation dropped.
  const anchors = new Set(
    [...runbook.matchAll(/^#{2,3} (.+)$/gm)].map((match) =>
      match[1]!
        .trim()
        .toLowerCase()
        .replace(/[^a-z0-9 -]/g, '')
        .replace(/ /g, '-'),
    ),
  );

  it('covers what SREs asked for', () => {
    const names = new Set(alerts.map((rule) => rule.alert));
    for (const name of [
      'RelayguardConsumerLagGrowing',
      'RelayguardScorerStalled',
      'RelayguardDeadLetterRate',
      'RelayguardBlockBurst',
      'RelayguardEnforcerNotReady',
      'RelayguardPolicyLatencyBudgetBurn',
      'RelayguardFallbackAnswers',
      'RelayguardPolicyRequestsDropped',
    ]) {
      assert.ok(names.has(name), `no alert ${name}`);
    }
  });

  it('name only metrics relayguard exports, its recording rules, or up', () => {
    const exported = exportedSeriesNames();
    for (const rule of alertRules()) {
      for (const name of metricNamesIn(rule.expr)) {
        assert.ok(
          exported.has(name) || recorded.has(name) || name === 'up',
          `${rule.alert ?? rule.record} uses ${name}, which relayguard does not export`,
        );
      }
    }
  });

  it('each have a summary, a severity and a runbook link to a section of deploy/RUNBOOK.md', () => {
    for (const rule of alerts) {
      assert.ok(rule.annotations?.summary, `${rule.alert} has no summary`);
      assert.ok(rule.annotations?.description, `${rule.alert} has no description`);
      assert.match(rule.labels?.severity ?? '', /^(critical|warning)$/, `${rule.alert} severity`);
      const url = rule.annotations?.runbook_url ?? '';
      const anchor = /^deploy\/RUNBOOK\.md#([a-z0-9-]+)$/.exec(url)?.[1];
      assert.ok(anchor, `${rule.alert}: runbook_url "${url}" is not deploy/RUNBOOK.md#<section>`);
      assert.ok(anchors.has(anchor), `${rule.alert}: RUNBOOK.md has no section #${anchor}`);
    }
  });

  it('each have a promtool unit test where they fire and one where they do not', () => {
    interface RuleTest {
      alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[];
    }
    const cases = readdirSync(join(PROMETHEUS_DIR, 'tests'))
      .filter((file) => file.endsWith('.yml'))
      .flatMap((file) => readYaml<{ tests: RuleTest[] }>(join(PROMETHEUS_DIR, 'tests', file)).tests)
      .flatMap((test) => test.alert_rule_test ?? []);
    for (const name of new Set(alerts.map((rule) => rule.alert!))) {
      const mine = cases.filter((c) => c.alertname === name);
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `no promtool test where ${name} fires`,
      );
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `no promtool test where ${name} stays silent`,
      );
    }
  });
});
