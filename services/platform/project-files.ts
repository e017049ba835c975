import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root, found from this file whether it runs from services/ (tsx) or dist/services/ (built). */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'schemas'))) {
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('relayguard: cannot find the schemas/ directory above the installed code');
    dir = parent;
  }
  return dir;
}

export const projectRoot = findRoot();

export function projectPath(...segments: string[]): string {
  return join(projectRoot, ...segments);
}
