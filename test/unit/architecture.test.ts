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

const readme = readFileSync(`${projectRoot}/README.md`, 'utf8');

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
