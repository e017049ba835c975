// Self time per function of a V8 .cpuprofile (from `node --cpu-prof`), the busiest first; with two profiles, the
// second's self time per request against the first's, to show what one side of a comparison spends beyond the
// other. `npx tsx bench/cpuprofile-summary.ts A.cpuprofile [B.cpuprofile] [--top N] [--per N]`: `--per` divides
// the times by a request count so two profiles of different lengths compare (µs per request); `--under REGEX`
// keeps only the samples taken inside a function whose name matches (one hook's work, wherever it goes).
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { renderTable } from '../services/cli/table.js';

interface ProfileNode {
  readonly id: number;
  readonly children?: readonly number[];
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** A script's place, short: `fastify/lib/hooks.js`, `services/platform/bearer-auth.ts`, `node:events`. */
function place(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const dependency = path.lastIndexOf('/node_modules/');
  if (dependency >= 0) return path.slice(dependency + '/node_modules/'.length);
  return path.startsWith(`${process.cwd()}/`) ? path.slice(process.cwd().length + 1) : path;
}

/**
 * Microseconds of self time per function (name and place), over the whole profile or, with `under`, over the
 * samples whose stack holds a function whose name matches it.
 */
export function selfTimes(profile: CpuProfile, under?: RegExp): Map<string, number> {
  const names = new Map<number, string>();
  const parents = new Map<number, number>();
  for (const { id, callFrame, children = [] } of profile.nodes) {
    const where = callFrame.url === '' ? '' : ` ${place(callFrame.url)}:${callFrame.lineNumber + 1}`;
    names.set(id, `${callFrame.functionName || '(anonymous)'}${where}`);
    for (const child of children) parents.set(child, id);
  }
  const inside = (node: number | undefined): boolean =>
    node !== undefined && (under!.test(names.get(node) ?? '') || inside(parents.get(node)));
  const times = new Map<string, number>();
  // Each sample's time is the delta that follows it (the last sample has none).
  profile.samples.forEach((node, i) => {
    if (under !== undefined && !inside(node)) return;
    const name = names.get(node) ?? '(unknown)';
    times.set(name, (times.get(name) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  });
  return times;
}

const IDLE = new Set(['(idle)', '(program)', '(root)']);
const busy = (times: Map<string, number>) =>
  [...times].filter(([name]) => !IDLE.has(name)).reduce((sum, [, µs]) => sum + µs, 0);

function main(argv: readonly string[]): void {
  const program = new Command()
    .argument('<profiles...>', 'one .cpuprofile, or two to compare (the second against the first)')
    .option('--top <n>', 'rows to print', (v) => Number.parseInt(v, 10), 25)
    .option('--per <n>', 'divide times by this count (requests) to print µs per request', Number, 0)
    .option('--under <regex>', 'only samples inside a function whose name matches')
    .parse(argv);
  const [firstPath, secondPath] = program.processedArgs[0] as string[];
  const { top, per, under } = program.opts<{ top: number; per: number; under?: string }>();
  const read = (path: string) =>
    selfTimes(
      JSON.parse(readFileSync(path, 'utf8')) as CpuProfile,
      under === undefined ? undefined : new RegExp(under),
    );
  const first = read(firstPath!);
  const second = secondPath === undefined ? undefined : read(secondPath);
  const scale = (µs: number) => (per > 0 ? `${(µs / per).toFixed(2)} µs` : `${(µs / 1000).toFixed(1)} ms`);
  const share = (µs: number, total: number) => `${((100 * µs) / total).toFixed(1)}%`;
  if (second === undefined) {
    const total = busy(first);
    const rows = [...first].sort((a, b) => b[1] - a[1]).slice(0, top);
    console.log(`busy (not idle/program) ${scale(total)}`);
    console.log(
      renderTable(
        ['function', 'self', 'share of busy'],
        rows.map(([name, µs]) => [name, scale(µs), share(µs, total)]),
      ),
    );
    return;
  }
  const names = new Set([...first.keys(), ...second.keys()]);
  const rows = [...names]
    .map((name) => [name, first.get(name) ?? 0, second.get(name) ?? 0] as const)
    .sort((a, b) => Math.abs(b[2] - b[1]) - Math.abs(a[2] - a[1]))
    .slice(0, top);
  console.log(`busy: ${scale(busy(first))} → ${scale(busy(second))}`);
  console.log(
    renderTable(
      ['function', 'first', 'second', 'second − first'],
      rows.map(([name, a, b]) => [name, scale(a), scale(b), scale(b - a)]),
    ),
  );
}

main(process.argv);
