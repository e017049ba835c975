// The architecture's rules, checked on the source (test/unit/architecture.test.ts): which layer of services/ may
// import which, and the declared seams between sibling services. README.md's architecture tables say the same.
//
// To add a rule (e.g. what services/core may not touch), write a SourceRule and add it to SOURCE_RULES: each
// rule sees every file under services/ with its TypeScript syntax tree and returns what it finds wrong.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import ts from 'typescript';
import { corePurityRule } from './core-purity.js';

export interface SourceFile {
  /** Repository-relative, with forward slashes: services/platform/config.ts. */
  readonly path: string;
  readonly ast: ts.SourceFile;
}

export interface Violation {
  readonly rule: string;
  /** path:line */
  readonly at: string;
  readonly problem: string;
}

export interface SourceRule {
  readonly name: string;
  check(file: SourceFile): Violation[];
}

export function sourceFile(path: string, text: string): SourceFile {
  return { path, ast: ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true) };
}

/** Every .ts file under the folder (repository-relative), parsed. */
export function loadSources(root: string, folder = 'services'): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) {
        const path = relative(root, full).split('\\').join('/');
        files.push(sourceFile(path, readFileSync(full, 'utf8')));
      }
    }
  };
  walk(join(root, folder));
  return files;
}

export function checkSources(files: readonly SourceFile[], rules: readonly SourceRule[]): Violation[] {
  return files.flatMap((file) => rules.flatMap((rule) => rule.check(file)));
}

export interface Import {
  readonly specifier: string;
  /** The repository-relative .ts file a relative specifier names; undefined for a package or node: import. */
  readonly target: string | undefined;
  readonly line: number;
}

/** Static imports, re-exports and dynamic import() calls with a literal specifier, type-only ones included. */
export function importsOf(file: SourceFile): Import[] {
  const found: Import[] = [];
  const add = (node: ts.Node, specifier: ts.Expression | undefined) => {
    if (!specifier || !ts.isStringLiteralLike(specifier)) return;
    const text = specifier.text;
    const target = text.startsWith('.')
      ? posix.join(dirname(file.path), text).replace(/\.js$/, '.ts')
      : undefined;
    const line = file.ast.getLineAndCharacterOfPosition(node.getStart(file.ast)).line + 1;
    found.push({ specifier: text, target, line });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node, node.moduleSpecifier);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node, node.arguments[0]);
    }
    ts.forEachChild(node, visit);
  };
  visit(file.ast);
  return found;
}

/**
 * Which folders of services/ each folder may import, besides itself. The domain at the bottom, the adapters above
 * it, the services above both, the composition root (app) above the services, the executable (cli) on top.
 */
export const LAYERS: Readonly<Record<string, readonly string[]>> = {
  core: [],
  platform: ['core'],
  scorer: ['core', 'platform'],
  enforcer: ['core', 'platform'],
  admin: ['core', 'platform'],
  webhooks: ['core', 'platform'],
  backtest: ['core', 'platform'],
  sdk: ['core', 'platform'],
  app: ['core', 'platform', 'scorer', 'enforcer', 'admin', 'webhooks', 'backtest', 'sdk'],
  cli: ['core', 'platform', 'scorer', 'enforcer', 'admin', 'webhooks', 'backtest', 'sdk', 'app'],
};

/** The only imports between sibling services: a file (or a folder, ending in /) one service uses of another. */
export const SEAMS: readonly {
  readonly from: string;
  readonly to: readonly string[];
  readonly why: string;
}[] = [
  {
    from: 'enforcer',
    to: ['services/sdk/message.ts', 'services/sdk/publisher.ts'],
    why: "the enforcer publishes END-OF-MESSAGE events with the relay SDK's publisher, as relays do",
  },
  {
    from: 'webhooks',
    to: ['services/sdk/subscriber/', 'services/sdk/webhook-signature.ts'],
    why: 'the deliverer follows blocks with the subscriber SDK and signs them as receivers verify them',
  },
  {
    from: 'admin',
    to: [
      'services/webhooks/endpoints.ts',
      'services/webhooks/destination.ts',
      'services/webhooks/delivery-log.ts',
      'services/webhooks/replay-source.ts',
    ],
    why: "operators manage webhook endpoints through the admin API, with the deliverer's own endpoint registry, destination rule, delivery log and replay sources",
  },
];

/** services/<layer>/…: the layer a repository path belongs to. */
export function layerOf(path: string): string | undefined {
  return /^services\/([^/]+)\//.exec(path)?.[1];
}

export const layerRule: SourceRule = {
  name: 'layers',
  check(file) {
    const from = layerOf(file.path);
    if (from === undefined) return [];
    const at = (line: number) => `${file.path}:${line}`;
    const allowed = LAYERS[from];
    if (allowed === undefined) {
      return [
        {
          rule: 'layers',
          at: at(1),
          problem: `services/${from}/ is no layer: add it to LAYERS (test/support/architecture.ts) and to README.md's architecture table`,
        },
      ];
    }
    const violations: Violation[] = [];
    for (const { target, line, specifier } of importsOf(file)) {
      const to = target === undefined ? undefined : layerOf(target);
      if (to === undefined || to === from || allowed.includes(to)) continue;
      const seam = SEAMS.some(
        (candidate) =>
          candidate.from === from &&
          candidate.to.some((path) => (path.endsWith('/') ? target!.startsWith(path) : target === path)),
      );
      if (seam) continue;
      violations.push({
        rule: 'layers',
        at: at(line),
        problem: `services/${from}/ may not import ${specifier} (services/${to}/): ${from} may import ${allowed.length > 0 ? allowed.join(', ') : 'only itself'}, and a sibling only through SEAMS`,
      });
    }
    return violations;
  },
};

/** Every rule test/unit/architecture.test.ts checks the source against. */
export const SOURCE_RULES: readonly SourceRule[] = [layerRule, corePurityRule];
