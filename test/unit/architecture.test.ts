// The layers of services/ hold (test/support/architecture.ts), the rule catches an import that crosses them the
// wrong way, and README.md's architecture tables say what the folders and the rule are.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { projectRoot } from '../../services/platform/project-files.js';
import {
  checkSources,
  importsOf,
  LAYERS,
  layerRule,
  loadSources,
  SEAMS,
  SOURCE_RULES,
  sourceFile,
} from '../support/architecture.js';
import { corePurityRule } from '../support/core-purity.js';

const readme = readFileSync(`${projectRoot}/README.md`, 'utf8');

const IMPURE = `
let counter = 0;
const memo = new Map<string, string>();
const table: Record<string, number> = { a: 1 };
const list: number[] = [1, 2];
const nested: { readonly inner: { count: number } } = { inner: { count: 0 } };
const scan = /a/g;
export class Registry {
  static instances = 0;
}
memo.set('a', 'b');
export function now(): number {
  return Date.now() + performance.now() + Math.random();
}
export function later(run: () => void): void {
  setTimeout(run, 1);
  queueMicrotask(run);
}
export const exitCode = () => process.exitCode;
export const bytes = (text: string) => Buffer.from(text).length;
`;

const PURE = `
const LABEL = /^[a-z]+$/;
export const DEFAULTS = { window: 60, thresholds: { volume: 500 } } as const;
interface Shape { readonly window: number; readonly names: readonly string[] }
export const SHAPE: Shape = { window: 60, names: ['a'] };
export const NONE: readonly never[] = Object.freeze([]);
export const LOOKUP: Readonly<Record<string, number>> = Object.freeze({});
export class Counter {
  static readonly START = 0;
  #count = Counter.START;
  add(): number {
    const seen = new Map<string, number>();
    seen.set('a', 1);
    return ++this.#count + seen.size;
  }
}
export function format(Date: number, value: { Date: number }): string {
  return LABEL.test(String(Date)) ? 'x' : String(value.Date);
}
`;

describe('architecture', () => {
  it('services/ keeps every rule', () => {
    const files = loadSources(projectRoot);
    assert.ok(files.length > 100, `only ${files.length} files found under services/`);
    assert.deepEqual(checkSources(files, SOURCE_RULES), []);
  });

  it('finds static, type-only, re-exported and dynamic imports', () => {
    const file = sourceFile(
      'services/cli/main.ts',
      [
        "import { z } from 'zod';",
        "import type { Config } from '../platform/config.js';",
        "export { ExitCode } from './exit-codes.js';",
        "const serve = await import('./commands/serve.js');",
      ].join('\n'),
    );
    assert.deepEqual(importsOf(file), [
      { specifier: 'zod', target: undefined, line: 1 },
      { specifier: '../platform/config.js', target: 'services/platform/config.ts', line: 2 },
      { specifier: './exit-codes.js', target: 'services/cli/exit-codes.ts', line: 3 },
      { specifier: './commands/serve.js', target: 'services/cli/commands/serve.ts', line: 4 },
    ]);
  });

  it('fails an adapter that imports a service, and the core that imports an adapter', () => {
    const platform = sourceFile(
      'services/platform/kafka/bad.ts',
      "import type { Scorer } from '../../scorer/scorer.js';\nimport { Topics } from '../../core/topics.js';",
    );
    const core = sourceFile('services/core/bad.ts', "import { systemClock } from '../platform/clock.js';");
    assert.deepEqual(
      checkSources([platform, core], [layerRule]).map(({ at, problem }) => `${at} ${problem}`),
      [
        'services/platform/kafka/bad.ts:1 services/platform/ may not import ../../scorer/scorer.js (services/scorer/): platform may import core, and a sibling only through SEAMS',
        'services/core/bad.ts:1 services/core/ may not import ../platform/clock.js (services/platform/): core may import only itself, and a sibling only through SEAMS',
      ],
    );
  });

  it('fails a service that imports a sibling outside the seams, and lets the seams through', () => {
    const files = [
      sourceFile('services/scorer/bad.ts', "import { Enforcer } from '../enforcer/enforcer.js';"),
      sourceFile(
        'services/enforcer/bad.ts',
        "import { BlockSubscriber } from '../sdk/subscriber/block-subscriber.js';",
      ),
      sourceFile('services/enforcer/good.ts', "import { MessagePublisher } from '../sdk/publisher.js';"),
      sourceFile(
        'services/webhooks/good.ts',
        "import type { BlockChange } from '../sdk/subscriber/block-view.js';",
      ),
      sourceFile('services/app/good.ts', "import { Scorer } from '../scorer/scorer.js';"),
      sourceFile('services/admin/bad.ts', "const app = await import('../app/runtime.js');"),
    ];
    assert.deepEqual(
      checkSources(files, [layerRule]).map((violation) => violation.at),
      ['services/scorer/bad.ts:1', 'services/enforcer/bad.ts:1', 'services/admin/bad.ts:1'],
    );
  });

  it('fails services/core touching a clock, timers, the process, Buffer or module-level mutable state', () => {
    const found = checkSources([sourceFile('services/core/impure.ts', IMPURE)], [corePurityRule]);
    assert.deepEqual(
      found.map(({ at, problem }) => `${at.replace('services/core/impure.ts:', '')}: ${problem}`),
      [
        '2: module-level let counter',
        '3: module-level memo can be changed (a Map)',
        '4: module-level table can be changed (a writable index signature)',
        '5: module-level list can be changed (a Array)',
        '6: module-level nested can be changed (inner: its property count is writable)',
        '7: module-level scan: a global or sticky regular expression keeps lastIndex',
        '9: static instances is module-level state',
        '11: code run at module load',
        '13: uses the global Date',
        '13: uses the global performance',
        '13: uses Math.random',
        '16: uses the global setTimeout',
        '17: uses the global queueMicrotask',
        '19: uses the global process',
        '20: uses the global Buffer',
      ],
    );
    // The same module outside services/core is none of this rule's business.
    assert.deepEqual(checkSources([sourceFile('services/scorer/impure.ts', IMPURE)], [corePurityRule]), []);
  });

  it('lets services/core keep constants that cannot change, class state, locals and properties named like globals', () => {
    assert.deepEqual(checkSources([sourceFile('services/core/pure.ts', PURE)], [corePurityRule]), []);
  });

  it('fails a folder of services/ that is no layer', () => {
    const [violation] = checkSources([sourceFile('services/extra/thing.ts', '')], [layerRule]);
    assert.match(violation?.problem ?? '', /services\/extra\/ is no layer/);
  });

  it("README.md's architecture table lists the folders of services/, and LAYERS knows each", () => {
    const folders = readdirSync(`${projectRoot}/services`, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
    const listed = [...readme.matchAll(/^\| `services\/([a-z-]+)\/` \|/gm)].map((match) => match[1]).sort();
    assert.deepEqual(listed, folders);
    assert.deepEqual(Object.keys(LAYERS).sort(), folders);
  });

  it('test/unit/ mirrors services/: each of its folders tests a folder of services/ or of the repository', () => {
    const folders = (path: string) =>
      readdirSync(`${projectRoot}/${path}`, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name);
    const mirrored = new Set([...folders('services'), 'deploy', 'examples', 'scripts']);
    assert.deepEqual(
      folders('test/unit').filter((folder) => !mirrored.has(folder)),
      [],
    );
  });

  it("README.md's seams table is SEAMS", () => {
    const rows = [...readme.matchAll(/^\| `([a-z]+)` imports \| (.+?) \| .+ \|$/gm)].map((match) => ({
      from: match[1],
      to: [...(match[2] ?? '').matchAll(/`([^`]+)`/g)].map((path) => path[1]),
    }));
    assert.deepEqual(
      rows,
      SEAMS.map(({ from, to }) => ({ from, to: [...to] })),
    );
  });
});
