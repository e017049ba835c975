// README.md's install of the `relayguard` command, as written: `npm run build && npm link` in a copy of the
// repository (a clone's tracked files; the repository's own dist/ is left alone), with npm's global prefix in a
// scratch folder instead of the machine's. The command must then run from any folder on PATH, print the package's
// version, and resolve relative paths against the folder the user runs it in.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ExitCode } from '../../services/cli/exit-codes.js';
import { projectPath, projectRoot } from '../../services/platform/project-files.js';
import { cleanEnv, SMALL_SIMULATION } from '../support/cli.js';

const run = promisify(execFile);
const version = (JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { version: string })
  .version;

describe('the relayguard command after `npm run build && npm link`', () => {
  let scratch: string;
  let env: NodeJS.ProcessEnv;
  let userFolder: string;

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'relayguard-link-'));
    const clone = join(scratch, 'relayguard');
    const prefix = join(scratch, 'npm-prefix');
    userFolder = join(scratch, 'work');
    mkdirSync(userFolder);
    const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: projectRoot, encoding: 'utf8' })
      .split('\0')
      .filter((file) => file !== '' && existsSync(join(projectRoot, file)));
    for (const file of tracked) cpSync(join(projectRoot, file), join(clone, file));
    symlinkSync(join(projectRoot, 'node_modules'), join(clone, 'node_modules'));
    // The node running the tests is the one the command's `#!/usr/bin/env node` finds.
    env = {
      ...cleanEnv({ NPM_CONFIG_PREFIX: prefix, NPM_CONFIG_UPDATE_NOTIFIER: 'false' }),
      PATH: [join(prefix, 'bin'), dirname(process.execPath), process.env.PATH].join(delimiter),
    };
    await run('npm', ['run', '--silent', 'build'], { cwd: clone, env, timeout: 240_000 });
    await run('npm', ['link', '--no-audit', '--no-fund'], { cwd: clone, env, timeout: 120_000 });
  });

  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('is on PATH and prints the package version', async () => {
    const { stdout } = await run('relayguard', ['--version'], { cwd: userFolder, env });
    assert.equal(stdout, `${version}\n`);
  });

  it('writes a relative --record path into the folder it runs in', async () => {
    const code = await run('relayguard', [...SMALL_SIMULATION, '--record', 'recorded.jsonl'], {
      cwd: userFolder,
      env,
      timeout: 60_000,
    }).then(
      () => ExitCode.OK,
      (error: { code?: number }) => error.code,
    );
    assert.ok(code === ExitCode.OK || code === ExitCode.UNEXPECTED_RESULT, `exit ${code}`);
    assert.ok(existsSync(join(userFolder, 'recorded.jsonl')), 'written where the user typed the command');
  });
});
