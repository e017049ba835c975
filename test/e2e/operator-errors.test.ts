// What an operator sees when something is wrong: every command ends with one line in the CLI's own terms (the
// flag or the variable to fix) and the documented exit code, within a bounded time; no half-started server and
// no stack trace for a user's mistake.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../services/cli/exit-codes.js';
import {
  type CliRun,
  closedPort,
  type RunningRelayguard,
  runCli,
  SMALL_SIMULATION,
  startRelayguardAll,
} from '../support/cli.js';

/** One message on stderr, and nothing a user has to read past: no stack frame, no JSON log line. */
function assertOneLine(run: CliRun, pattern: RegExp): void {
  assert.match(run.stderr, pattern);
  assert.doesNotMatch(run.stderr, /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(run.stderr + run.stdout, /"level":/, 'no log lines');
  assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
}

async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

describe('relayguard all with a port it cannot have', () => {
  for (const variable of ['RELAYGUARD_POSTFIX_PORT', 'RELAYGUARD_HTTP_PORT']) {
    it(`exits at once naming ${variable} and that 0 picks a free port`, async () => {
      const held = await holdPort();
      try {
        const run = await runCli(
          ['all'],
          {
            RELAYGUARD_HTTP_PORT: '0',
            RELAYGUARD_POSTFIX_PORT: '0',
            [variable]: String(held.port),
          },
          { timeoutMs: 30_000 },
        );
        assert.equal(run.code, ExitCode.CONFIG, run.stderr);
        assert.match(
          run.stderr,
          new RegExp(`${variable}: port ${held.port} on 127.0.0.1 is already in use; .*or 0 for a free one`),
        );
        assert.doesNotMatch(run.stderr, /^\s+at /m);
      } finally {
        held.server.close();
      }
    });
  }

  it('reads the Postfix port under its old name, RELAYGUARD_POLICY_PORT, with a one-line warning', async () => {
    const held = await holdPort();
    try {
      const run = await runCli(
        ['all'],
        { RELAYGUARD_HTTP_PORT: '0', RELAYGUARD_POLICY_PORT: String(held.port) },
        { timeoutMs: 60_000 },
      );
      assert.equal(run.code, ExitCode.CONFIG, run.stderr);
      const lines = run.stderr.trim().split('\n');
      assert.deepEqual(
        lines.filter((line) => line.includes('deprecated')),
        ['relayguard: warning: RELAYGUARD_POLICY_PORT is deprecated: rename it RELAYGUARD_POSTFIX_PORT'],
      );
      // The held port was the one it tried: the old name's value was read.
      assert.match(
        run.stderr,
        new RegExp(`RELAYGUARD_POSTFIX_PORT: port ${held.port} on 127.0.0.1 is already in use`),
      );
    } finally {
      held.server.close();
    }
  });

  it('refuses a blank or non-numeric port instead of binding a random one', async () => {
    for (const value of [' ', 'abc']) {
      const run = await runCli(['all'], { RELAYGUARD_HTTP_PORT: value, RELAYGUARD_POSTFIX_PORT: '0' });
      assert.equal(run.code, ExitCode.CONFIG, run.stderr);
      assert.match(
        run.stderr,
        /RELAYGUARD_HTTP_PORT: must be a whole number from 0 to 65535 \(0 picks a free port\)/,
      );
      assert.doesNotMatch(run.stderr, /NaN|http:/);
    }
  });
});

describe('Kafka commands with the brokers unreachable', () => {
  let kafka: Record<string, string>;
  before(async () => {
    kafka = {
      KAFKA_BROKERS: `127.0.0.1:${await closedPort()}`,
      SCHEMA_REGISTRY_URL: `http://127.0.0.1:${await closedPort()}`,
      REDIS_URL: `redis://127.0.0.1:${await closedPort()}`,
      RELAYGUARD_LOG_LEVEL: 'info',
    };
  });

  it('rebuild-windows exits with one line naming KAFKA_BROKERS, within a bounded time', async () => {
    const run = await runCli(['rebuild-windows'], kafka, { timeoutMs: 90_000 });
    assert.equal(run.code, ExitCode.SERVER, `exit ${run.code} after ${run.ms} ms: ${run.stderr.slice(-500)}`);
    assertOneLine(run, /^relayguard: Kafka could not be reached: .*ECONNREFUSED.*\(check KAFKA_BROKERS/);
  });

  it('a service whose dependencies are unreachable stops within a bounded time, naming what it waited for', async () => {
    const run = await runCli(
      ['all'],
      { ...kafka, RELAYGUARD_HTTP_PORT: '0', RELAYGUARD_POSTFIX_PORT: '0' },
      { timeoutMs: 120_000 },
    );
    assert.equal(run.code, ExitCode.SERVER, `exit ${run.code} after ${run.ms} ms: ${run.stderr.slice(-500)}`);
    // The service logs its retries (JSON lines); the last line says what could not be reached.
    const last = run.stderr.trim().split('\n').at(-1)!;
    assert.match(
      last,
      /^relayguard: (REDIS_URL: Redis is not usable|Kafka could not be reached): .*ECONNREFUSED/,
    );
  });

  it('backtest --kafka and schemas check print one clear line too', async () => {
    const [backtest, schemas] = await Promise.all([
      runCli(['backtest', '--kafka'], kafka, { timeoutMs: 90_000 }),
      runCli(['schemas', 'check'], kafka, { timeoutMs: 90_000 }),
    ]);
    assert.equal(backtest.code, ExitCode.SERVER, backtest.stderr.slice(-500));
    assertOneLine(backtest, /^relayguard: Kafka could not be reached: .*ECONNREFUSED.*\(check KAFKA_BROKERS/);
    assert.equal(schemas.code, ExitCode.SERVER, schemas.stderr.slice(-500));
    assertOneLine(schemas, /^relayguard: schema registry http:\/\/127\.0\.0\.1:\d+ unreachable/);
  });

  it('topics prints one clear line: no retry logs, no stack trace', async () => {
    const run = await runCli(['topics'], kafka, { timeoutMs: 90_000 });
    assert.equal(run.code, ExitCode.SERVER, run.stderr.slice(-500));
    assertOneLine(run, /^relayguard: Kafka could not be reached: .*ECONNREFUSED.*\(check KAFKA_BROKERS/);
  });
});

describe('simulate: mistakes in its options', () => {
  it('says why a --target that is not policy:// is refused', async () => {
    const run = await runCli(['simulate', '--target', 'http://127.0.0.1:10040']);
    assert.equal(run.code, ExitCode.USAGE);
    assertOneLine(run, /--target must be policy:\/\/<host>:<port>, like policy:\/\/127\.0\.0\.1:10040/);
  });

  it('names the --target it cannot reach, before registering any tenant', async () => {
    const port = await closedPort();
    const run = await runCli(['simulate', '--target', `policy://127.0.0.1:${port}`], {
      RELAYGUARD_URL: `http://127.0.0.1:${await closedPort()}`,
      RELAYGUARD_TOKEN: 'x'.repeat(24),
    });
    assert.equal(run.code, ExitCode.SERVER);
    assertOneLine(
      run,
      new RegExp(
        `--target policy://127\\.0\\.0\\.1:${port}: cannot connect \\(ECONNREFUSED\\); .*RELAYGUARD_POSTFIX_PORT`,
      ),
    );
  });

  it('refuses a compromise that would start after the simulation ends', async () => {
    const run = await runCli(['simulate', '--compromise-at', '200', '--minutes', '90']);
    assert.equal(run.code, ExitCode.USAGE);
    assertOneLine(run, /--compromise-at 200 must be below --minutes 90/);
  });
});

describe('the CLI as a command', () => {
  it('prints its version', async () => {
    const run = await runCli(['--version']);
    assert.equal(run.code, ExitCode.OK);
    assert.match(run.stdout, /^\d+\.\d+\.\d+\n$/);
  });

  it('names a file it cannot write without a stack trace; --debug shows the stack', async () => {
    const args = ['simulate', '--tenants', '1', '--minutes', '5', '--compromise-at', '1'];
    const run = await runCli([...args, '--record', '/nonexistent-dir/recorded.jsonl']);
    assert.equal(run.code, ExitCode.USAGE, run.stderr);
    assertOneLine(run, /^relayguard: \/nonexistent-dir\/recorded\.jsonl: no such file or directory$/m);
    const debug = await runCli([...args, '--record', '/nonexistent-dir/recorded.jsonl', '--debug']);
    assert.match(debug.stderr, /^\s+at /m);
  });

  it('under npm run relayguard, resolves relative paths against the folder the user is in', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'relayguard-cwd-'));
    try {
      const { execFile } = await import('node:child_process');
      const { projectRoot } = await import('../../services/platform/project-files.js');
      const code = await new Promise<number>((resolve) => {
        execFile(
          'npm',
          [
            'run',
            '--silent',
            '--prefix',
            projectRoot,
            'relayguard',
            '--',
            ...SMALL_SIMULATION,
            '--record',
            'recorded.jsonl',
          ],
          { cwd: folder, timeout: 60_000 },
          (error) => resolve(error ? Number((error as { code?: unknown }).code) : 0),
        );
      });
      assert.ok(code === ExitCode.OK || code === ExitCode.UNEXPECTED_RESULT, `exit ${code}`);
      assert.ok(existsSync(join(folder, 'recorded.jsonl')), 'written where the user typed the command');
      assert.ok(!existsSync(join(projectRoot, 'recorded.jsonl')), 'not in the repository');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('admin commands speak in flags', () => {
  let server: RunningRelayguard;
  let cli: (args: string[]) => Promise<CliRun>;

  before(async () => {
    server = await startRelayguardAll();
    cli = (args) => runCli(args, { RELAYGUARD_URL: server.url, RELAYGUARD_TOKEN: server.token });
  });

  after(() => server.stop());

  it('names --path, --range and --cert rather than the API fields', async () => {
    const [path, range, cert] = await Promise.all([
      cli(['connectors', 'put', 'acme', 'hq', '--range', '198.51.100.0/24']),
      cli(['connectors', 'put', 'acme', 'hq', '--path', 'ONPREM', '--range', '198.51.100.0/33']),
      cli(['connectors', 'put', 'acme', 'hq', '--path', 'ONPREM', '--cert', 'bad domain']),
    ]);
    for (const run of [path, range, cert]) assert.equal(run.code, ExitCode.USAGE, run.stderr);
    assertOneLine(path, /^relayguard: --path: required/);
    assertOneLine(range, /^relayguard: --range: "198\.51\.100\.0\/33" is not a CIDR range/);
    assertOneLine(cert, /^relayguard: --cert: "bad domain"/);
  });

  it('a refused token points at --token / RELAYGUARD_TOKEN, not the server operator', async () => {
    const run = await runCli(['tenants', 'blocks'], {
      RELAYGUARD_URL: server.url,
      RELAYGUARD_TOKEN: 'not-the-token-at-all-0000',
    });
    assert.equal(run.code, ExitCode.AUTH);
    assertOneLine(run, /refused the token: check --token \/ RELAYGUARD_TOKEN \[UNAUTHENTICATED\]/);
    assert.doesNotMatch(run.stderr, /RELAYGUARD_TOKENS/);
  });

  it('unblocking a tenant nobody configured says UNKNOWN_TENANT, as status does', async () => {
    const [unblock, status] = await Promise.all([
      cli(['tenants', 'unblock', 'nosuchtenant', '--ticket', 'T-1', '--domains-registered']),
      cli(['tenants', 'status', 'nosuchtenant']),
    ]);
    assert.equal(unblock.code, ExitCode.REFUSED);
    assert.match(unblock.stderr, /\[UNKNOWN_TENANT\]/);
    assert.match(status.stderr, /\[UNKNOWN_TENANT\]/);
  });

  it('refuses a D threshold above the tracking cap, naming the flag', async () => {
    const run = await cli(['policy', 'set', 'acme', '--reset', '--min-distinct-domains', '100']);
    assert.equal(run.code, ExitCode.USAGE, run.stdout);
    assertOneLine(run, /^relayguard: --min-distinct-domains: must be at most 64/);
  });
});
