// `npm run test:unit` lists its test files itself (scripts/run-tests.ts): node's test runner expands a quoted glob
// only from Node.js 21 on.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { testFiles } from '../../../scripts/run-tests.js';
import { projectPath } from '../../../services/platform/project-files.js';

describe('scripts/run-tests.ts', () => {
  const root = mkdtempSync(join(tmpdir(), 'relayguard-run-tests-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'unit/core'), { recursive: true });
  const passing = "import { it } from 'node:test';\nit('passes here', () => {});\n";
  writeFileSync(join(root, 'unit/core/a.test.ts'), passing);
  writeFileSync(join(root, 'unit/b.test.ts'), passing);
  writeFileSync(join(root, 'unit/core/window-store.contract.ts'), 'export {};\n');
  writeFileSync(join(root, 'unit/notes.md'), '');

  it('lists the *.test.ts files of every folder below, sorted, and nothing else', () => {
    assert.deepEqual(testFiles([join(root, 'unit')]), [
      join(root, 'unit/b.test.ts'),
      join(root, 'unit/core/a.test.ts'),
    ]);
    assert.ok(testFiles(['test/unit']).includes('test/unit/scripts/run-tests.test.ts'));
  });

  // Without NODE_TEST_CONTEXT, which this test's own runner sets: the child reports as a runner of its own.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', projectPath('scripts/run-tests.ts'), ...args], {
      encoding: 'utf8',
      env,
    });

  it('runs them, and fails when one fails or none is found', () => {
    const ok = run(join(root, 'unit'), '--', '--test-reporter=tap');
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /# pass 2\n/);
    writeFileSync(
      join(root, 'unit/c.test.ts'),
      "import { it } from 'node:test';\nit('fails', () => { throw new Error('no'); });\n",
    );
    const failed = run(join(root, 'unit'), '--', '--test-reporter=tap');
    assert.equal(failed.status, 1);
    assert.match(failed.stdout, /# fail 1\n/);
    mkdirSync(join(root, 'empty'));
    const none = run(join(root, 'empty'));
    assert.equal(none.status, 2);
    assert.match(none.stderr, /no \*\.test\.ts file under/);
  });
});
