// The Node.js that ships is the one tested: the image's major (deploy/Dockerfile) is one package.json's engines
// allows, every installed dependency runs on the oldest version engines allows, and scripts/test.sh finds both
// majors (from the npm registry when this machine's node is another).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { projectPath, projectRoot } from '../../../services/platform/project-files.js';

type Version = readonly [number, number, number];

const engines = (
  JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { engines: { node: string } }
).engines.node;
const shippedMajor = Number(
  /^ARG NODE_VERSION=(\d+)$/m.exec(readFileSync(projectPath('deploy/Dockerfile'), 'utf8'))?.[1],
);

function parse(text: string): Version {
  const [major = 0, minor = 0, patch = 0] = text
    .replace(/^[\s>=^~v]+/, '')
    .split('.')
    .map((part) => (/^\d+$/.test(part) ? Number(part) : 0));
  return [major, minor, patch];
}

const compare = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** Whether `version` satisfies an engines range of the forms npm packages use: `>=x.y`, `^x`, `x.x`, `a || b`. */
function satisfies(version: Version, range: string): boolean {
  return range.split('||').some((alternative) =>
    alternative
      .trim()
      .replace(/([<>=^~]+)\s+/g, '$1')
      .replace(/^\*$/, '>=0')
      .split(/\s+(?=[>^<=~\d])/)
      .every((part) => {
        const bound = parse(part);
        if (part.startsWith('>=')) return compare(version, bound) >= 0;
        if (part.startsWith('^')) return version[0] === bound[0] && compare(version, bound) >= 0;
        if (part.startsWith('<')) return compare(version, bound) < 0;
        return version[0] === bound[0];
      }),
  );
}

describe('the Node.js that ships is the one tested', () => {
  const oldest = parse(engines);

  it("the image's major is one package.json's engines allows", () => {
    assert.ok(Number.isInteger(shippedMajor), 'deploy/Dockerfile names ARG NODE_VERSION=<major>');
    assert.ok(satisfies([shippedMajor, 99, 0], engines), `Node.js ${shippedMajor} vs engines ${engines}`);
    assert.ok(engines.startsWith('>='), 'engines names the oldest version, which the tests run on');
  });

  it('every installed dependency runs on the oldest version engines allows', () => {
    const lock = JSON.parse(readFileSync(projectPath('package-lock.json'), 'utf8')) as {
      packages: Record<string, { engines?: { node?: string } | string[] }>;
    };
    const needMore = Object.entries(lock.packages)
      .filter(([path]) => path !== '')
      .flatMap(([path, entry]) => {
        const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
        return range && !satisfies(oldest, range) ? [`${path} needs node ${range}`] : [];
      });
    assert.deepEqual(needMore, [], `engines says ${engines}`);
  });

  it('scripts/test-env/node.sh finds the shipped and the oldest majors', () => {
    for (const [which, major] of [
      ['shipped', shippedMajor],
      ['oldest', oldest[0]],
    ] as const) {
      const node = execFileSync('bash', ['scripts/test-env/node.sh', which], {
        cwd: projectRoot,
        encoding: 'utf8',
        timeout: 300_000,
      }).trim();
      const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
      assert.match(version, new RegExp(`^v${major}\\.`), `${which}: ${node}`);
    }
  });
});
