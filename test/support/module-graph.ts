// The modules a fresh Node.js process loads to import one specifier, as the package's users would import it:
// through package.json "exports" (its `relayguard-source` condition runs the TypeScript sources with tsx).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HOOKS = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), 'module-graph-hooks.mjs')).href;

/** Every module URL loaded to import `specifier` (and read `exportName` from it), in load order. */
export async function modulesLoadedBy(specifier: string, exportName: string): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'module-graph-'));
  const out = join(dir, 'modules.txt');
  try {
    const register = `data:text/javascript,import{register}from'node:module';register(${JSON.stringify(HOOKS)})`;
    const script = `const m = await import(${JSON.stringify(specifier)}); if (typeof m[${JSON.stringify(exportName)}] !== 'function') process.exit(3);`;
    await promisify(execFile)(
      process.execPath,
      [
        '--conditions=relayguard-source',
        '--import',
        'tsx',
        '--import',
        register,
        '--input-type=module',
        '-e',
        script,
      ],
      { cwd: REPO_ROOT, env: { ...process.env, RELAYGUARD_MODULE_GRAPH_OUT: out }, timeout: 60_000 },
    );
    return (await readFile(out, 'utf8')).split('\n').filter(Boolean);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A loaded module URL relative to the repository root (`services/...`, `node_modules/<package>/...`). */
export function repoRelative(url: string): string | undefined {
  if (!url.startsWith('file:')) return undefined;
  const path = fileURLToPath(url.split('?')[0]!);
  // node_modules may be a symlink to another checkout's: packages are named from their last node_modules/.
  const packaged = path.lastIndexOf('/node_modules/');
  if (packaged >= 0) return path.slice(packaged + 1);
  return path.startsWith(`${REPO_ROOT}/`) ? path.slice(REPO_ROOT.length + 1) : undefined;
}
