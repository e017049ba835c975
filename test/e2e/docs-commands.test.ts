// Every command in the fenced shell examples of README.md, docs/admin-api.md and the Postfix guide, run as written against a
// started `relayguard all`, as a reader following the docs on their own machine would: in a folder of their own,
// with the banner's address and token where the docs hold a placeholder. The production examples run against a
// real Kafka broker, Schema Registry and Redis in place of docker-compose's hosts. The few that cannot run here
// (a long-running service, the reader's own files) are listed with the reason; a new example nobody listed
// fails here, so the docs cannot drift from the product again.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../../services/cli/exit-codes.js';
import { projectPath, projectRoot } from '../../services/platform/project-files.js';
import { cleanEnv, type RunningRelayguard, startRelayguardAll } from '../support/cli.js';
import { type ProductionStack, startProductionStack } from '../support/production-stack.js';

const DOCS = ['README.md', 'docs/admin-api.md', 'deploy/postfix/README.md'];

interface Rule {
  readonly pattern: RegExp;
  /** Not run here, and why. */
  readonly skip?: string;
  /** What the command must exit with (default 0), and what it must say. */
  readonly exitCode?: number;
  readonly says?: RegExp;
}

const RULES: readonly Rule[] = [
  { pattern: /^npm install && npm start$/, skip: 'starts the server this test starts (relayguard all)' },
  { pattern: /^npm install && npm test$/, skip: 'the test suite itself' },
  { pattern: /-- topics\b/, says: /registered|exists|created/ },
  {
    pattern: /-- scorer\b/,
    skip: 'runs until stopped; the production-stack tests start the scorer the same way',
  },
  { pattern: /--postfix \/var\/log\//, skip: "reads the relay's own mail logs" },
  {
    pattern: /^relayguard tenants unblock acme /,
    exitCode: ExitCode.REFUSED,
    says: /tenant acme is not blocked: there is nothing to lift \[NOT_BLOCKED\]/,
  },
  // The Postfix guide's check of the policy port, as a relay would send it.
  { pattern: /^exec 3<>\/dev\/tcp\//, says: /^action=DUNNO$/m },
  { pattern: /./ },
];

/** The fenced sh blocks of a markdown file, each as its commands (continuations joined, comments dropped). */
function shellExamples(markdown: string): string[][] {
  const blocks: string[][] = [];
  for (const [, body] of markdown.matchAll(/^ *```sh\n([\s\S]*?)^ *```$/gm)) {
    const commands = body!
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .map((line) => line.replace(/\s{2,}#\s.*$/, '').trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    blocks.push(commands);
  }
  return blocks;
}

interface Shell {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe('the commands of the docs, as written', () => {
  let server: RunningRelayguard;
  let stack: ProductionStack;
  let folder: string;

  before(async () => {
    [server, stack] = await Promise.all([
      startRelayguardAll(),
      startProductionStack({ createTopics: false }),
    ]);
    folder = mkdtempSync(join(tmpdir(), 'relayguard-docs-'));
  });

  after(async () => {
    await Promise.all([server?.stop(), stack?.stop()]);
    rmSync(folder, { recursive: true, force: true });
  });

  /** The docs' placeholders, as the banner fills them on the reader's machine. */
  const localize = (command: string) =>
    command
      .replaceAll('http://127.0.0.1:8080', server.url)
      .replaceAll('policy://127.0.0.1:10040', `policy://127.0.0.1:${server.postfixPort}`)
      .replaceAll('/dev/tcp/127.0.0.1/10040', `/dev/tcp/127.0.0.1/${server.postfixPort}`)
      .replaceAll('kafka:9092', stack.env.KAFKA_BROKERS!)
      .replaceAll('http://registry:8081', stack.env.SCHEMA_REGISTRY_URL!)
      .replaceAll('redis://redis:6379', stack.env.REDIS_URL!)
      .replace(/^(export .*=)<[^>]+>/, `$1${server.token}`);

  /** Runs one line in bash, in the reader's folder; `relayguard` is `npm run relayguard --` of the clone. */
  const sh = (command: string, env: Record<string, string>) =>
    new Promise<Shell>((resolve) => {
      const relayguard = `relayguard() { npm run --silent --prefix '${projectRoot}' relayguard -- "$@"; }`;
      const script = `${relayguard}\n${command.replace(/^npm run relayguard -- /, 'relayguard ')}`;
      execFile(
        'bash',
        ['-c', script],
        { cwd: folder, env: cleanEnv(env), timeout: 120_000 },
        (error, stdout, stderr) => {
          const code = error ? (error as { code?: unknown }).code : 0;
          resolve({ code: typeof code === 'number' ? code : -1, stdout, stderr });
        },
      );
    });

  for (const doc of DOCS) {
    it(`${doc}: every example runs, or is listed with the reason it cannot here`, async () => {
      const blocks = shellExamples(readFileSync(projectPath(doc), 'utf8'));
      assert.ok(blocks.length > 0, `${doc} has shell examples`);
      let ran = 0;
      for (const block of blocks) {
        // A block is one shell session: what it exports holds for the lines after it.
        const env: Record<string, string> = {};
        for (const written of block) {
          const rule = RULES.find((candidate) => candidate.pattern.test(written))!;
          if (rule.skip) continue;
          const command = localize(written);
          const exported = /^export (.*)$/.exec(command)?.[1];
          const result = await sh(exported ? `${command}; env -0` : command, env);
          const expected = rule.exitCode ?? ExitCode.OK;
          assert.equal(result.code, expected, `${written}\n${result.stderr}${result.stdout.slice(0, 500)}`);
          if (rule.says) assert.match(result.stderr + result.stdout, rule.says, written);
          assert.doesNotMatch(result.stderr, /^\s+at /m, `${written}: no stack trace`);
          if (exported) {
            for (const entry of result.stdout.split('\0')) {
              const [name = '', ...value] = entry.split('=');
              if (exported.includes(`${name}=`)) env[name] = value.join('=');
            }
          }
          ran++;
        }
      }
      assert.ok(ran > 0, `${doc}: some examples ran`);
    });
  }

  it('README: the decision example answers what it shows', async () => {
    const readme = readFileSync(projectPath('README.md'), 'utf8');
    const block = shellExamples(readme).find((commands) =>
      commands.some((c) => c.includes('/v1/decisions')),
    )!;
    const shown = /# (\{"action".*)$/m.exec(readme.slice(readme.indexOf(block[1]!.slice(0, 40))))![1]!;
    const env = { RELAY_TOKEN: server.token };
    const answer = await sh(localize(block.find((c) => c.startsWith('curl'))!), env);
    const fields = JSON.parse(answer.stdout) as Record<string, unknown>;
    for (const [, key, value] of shown.matchAll(/"(\w+)":("[^"]*"|null|\d+)/g)) {
      assert.deepEqual(fields[key!], JSON.parse(value!), `${key} as the README shows it`);
    }
  });
});
