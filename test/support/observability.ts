// Reads the observability assets in deploy/ (alert rules, their promtool tests, the Grafana dashboard) and
// the metric names relayguard exports, for the tests that check one against the other.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { Histogram, Summary } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import { Metrics } from '../../services/platform/metrics.js';
import { projectPath } from '../../services/platform/project-files.js';

export const PROMETHEUS_DIR = projectPath('deploy', 'prometheus');
export const GRAFANA_DIR = projectPath('deploy', 'grafana');

export interface Rule {
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export function readYaml<T>(path: string): T {
  return parseYaml(readFileSync(path, 'utf8')) as T;
}

export function alertRules(): Rule[] {
  const file = readYaml<{ groups: { name: string; rules: Rule[] }[] }>(join(PROMETHEUS_DIR, 'alerts.yml'));
  return file.groups.flatMap((group) => group.rules);
}

/**
 * Every series name a relayguard process exports, read off a live registry: histograms and summaries add their
 * _bucket/_sum/_count series (what PromQL selects), not their family name.
 */
export function exportedSeriesNames(): Set<string> {
  const names = new Set<string>();
  for (const metric of new Metrics().registry.getMetricsAsArray()) {
    const suffixes =
      metric instanceof Histogram
        ? ['_bucket', '_sum', '_count']
        : metric instanceof Summary
          ? ['', '_sum', '_count']
          : [''];
    for (const suffix of suffixes) names.add(`${metric.name}${suffix}`);
  }
  return names;
}

export interface DashboardPanel {
  readonly type: string;
  readonly title: string;
  readonly datasource?: { readonly uid?: string };
  readonly targets?: readonly { readonly expr?: string; readonly datasource?: { readonly uid?: string } }[];
  readonly panels?: readonly DashboardPanel[];
}

/** Every panel of the provisioned dashboard, rows' nested panels included, rows themselves left out. */
export function dashboardPanels(): DashboardPanel[] {
  const dashboard = JSON.parse(readFileSync(join(GRAFANA_DIR, 'dashboards', 'relayguard.json'), 'utf8')) as {
    panels: DashboardPanel[];
  };
  const flatten = (panels: readonly DashboardPanel[]): DashboardPanel[] =>
    panels.flatMap((panel) => [panel, ...flatten(panel.panels ?? [])]);
  return flatten(dashboard.panels).filter((panel) => panel.type !== 'row');
}

/** Grafana's interval variables, replaced by a duration so the query is plain PromQL. */
export function withoutGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m');
}

/** The metric names a PromQL expression selects. Throws when the expression does not parse. */
export function metricNamesIn(expr: string): string[] {
  const tree = parser.parse(expr);
  const names: string[] = [];
  let error: number | undefined;
  tree.iterate({
    enter(node) {
      if (node.type.isError && error === undefined) error = node.from;
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector')
        names.push(expr.slice(node.from, node.to));
    },
  });
  if (error !== undefined) throw new Error(`PromQL syntax error at ${error}: ${expr}`);
  return names;
}
