// Runs the *.test.ts files under the given folders with node's test runner: `tsx scripts/run-tests.ts test/unit
// test/contract [-- runner options]`. The files are listed here rather than by a quoted glob, which node's test
// runner expands only from Node.js 21 on, and rather than by the shell, whose ** needs bash's globstar.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The *.test.ts files under each folder (or the file itself), sorted, with forward slashes. */
export function testFiles(paths: readonly string[]): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    if (!statSync(path).isDirectory()) {
      if (path.endsWith('.test.ts')) found.push(path.split('\\').join('/'));
      return;
    }
    for (const entry of readdirSync(path)) walk(join(path, entry));
  };
  for (const path of paths) walk(path);
  return found.sort();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const separator = process.argv.indexOf('--');
  const paths = process.argv.slice(2, separator === -1 ? undefined : separator);
  const options = separator === -1 ? ['--test-reporter=spec'] : process.argv.slice(separator + 1);
  const files = testFiles(paths);
  if (files.length === 0) {
    process.stderr.write(`run-tests: no *.test.ts file under ${paths.join(', ') || '(no folder given)'}\n`);
    process.exit(2);
  }
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...options, ...files], {
    stdio: 'inherit',
  });
  process.exit(run.status ?? 1);
}
