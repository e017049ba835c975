// The Prometheus configuration and alert rules through Debian's promtool: the same checks Prometheus applies when
// it loads them, and the rules' unit tests (deploy/prometheus/tests/), where every alert fires and stays silent.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { PROMETHEUS_DIR } from '../support/observability.js';

const run = promisify(execFile);

async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd: PROMETHEUS_DIR, timeout: 60_000 });
    return `${stdout}${stderr}`;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    assert.fail(
      `promtool ${args.join(' ')} failed:\n${failed.stdout ?? ''}${failed.stderr ?? failed.message}`,
    );
  }
}

describe('promtool', () => {
  it('accepts the scrape configuration', async () => {
    assert.match(await promtool('check', 'config', 'prometheus.yml'), /SUCCESS: prometheus\.yml is valid/);
  });

  it('accepts the alert rules', async () => {
    assert.match(await promtool('check', 'rules', 'alerts.yml'), /SUCCESS: \d+ rules found/);
  });

  it('passes the alert rules unit tests', async () => {
    const files = readdirSync(join(PROMETHEUS_DIR, 'tests'))
      .filter((file) => file.endsWith('.yml'))
      .map((file) => join('tests', file));
    assert.ok(files.length > 0, 'no rule tests in deploy/prometheus/tests');
    const output = await promtool('test', 'rules', ...files);
    assert.doesNotMatch(output, /FAILED/);
    assert.match(output, /SUCCESS/);
  });
});
