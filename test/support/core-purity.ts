// What keeps services/core pure beyond its imports (architecture.ts's layer rule and biome ban those): no clock, timer, process or Buffer, no
// Math.random, and no module-level mutable state, so that a fold gives the same result however often, in whatever
// process and in whatever order it runs. Checked with the TypeScript type checker, so that a shadowing local, a
// property named `Date` or a readonly-typed constant is told apart from the real thing.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { projectRoot } from '../../services/platform/project-files.js';
import type { SourceFile, SourceRule, Violation } from './architecture.js';

/** Globals the core may not touch: a clock, timers, the process, Node's buffers. */
const FORBIDDEN_GLOBALS = new Set([
  'Date',
  'performance',
  'process',
  'Buffer',
  'setTimeout',
  'setInterval',
  'setImmediate',
  'clearTimeout',
  'clearInterval',
  'clearImmediate',
  'queueMicrotask',
  'globalThis',
]);

/** Built-in types whose values can be changed in place, whatever the declaration says. */
const MUTABLE_BUILTINS = new Set([
  'Array',
  'Map',
  'Set',
  'WeakMap',
  'WeakSet',
  'Date',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
  'ArrayBuffer',
  'DataView',
]);

/** TypeScript's CheckFlags.Readonly (internal): set on properties of `as const` literals and readonly mapped types. */
const CHECK_FLAGS_READONLY = 1 << 3;

/** A property symbol's check flags, which TypeScript keeps on the links of the symbols it makes (transient). */
const checkFlags = (symbol: ts.Symbol) =>
  (symbol as { links?: { checkFlags?: number } }).links?.checkFlags ?? 0;

const COMPILER_OPTIONS: ts.CompilerOptions = {
  strict: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  noEmit: true,
  skipLibCheck: true,
  types: ['node'],
};

/**
 * Checks each file of services/core against its types. The core as it is on disk is one program, built once; a file
 * given with other text (a fixture, which need not be on disk at all) gets a program of its own.
 */
export const corePurityRule: SourceRule = (() => {
  const host = ts.createCompilerHost(COMPILER_OPTIONS, true);
  const parsed = new Map<string, ts.SourceFile | undefined>();
  const cachingHost: ts.CompilerHost = {
    ...host,
    getSourceFile: (name, ...rest) => {
      if (!parsed.has(name)) parsed.set(name, host.getSourceFile(name, ...rest));
      return parsed.get(name);
    },
  };
  let core: ts.Program | undefined;
  const programFor = (fileName: string, text: string): ts.Program => {
    if (existsSync(fileName) && readFileSync(fileName, 'utf8') === text) {
      core ??= ts.createProgram(coreFiles(), COMPILER_OPTIONS, cachingHost);
      return core;
    }
    const own = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
    return ts.createProgram([fileName], COMPILER_OPTIONS, {
      ...cachingHost,
      getSourceFile: (name, ...rest) => (name === fileName ? own : cachingHost.getSourceFile(name, ...rest)),
      fileExists: (name) => name === fileName || host.fileExists(name),
    });
  };
  return {
    name: 'core purity',
    check(file: SourceFile): Violation[] {
      if (!file.path.startsWith('services/core/')) return [];
      const fileName = join(projectRoot, file.path);
      const program = programFor(fileName, file.ast.text);
      const source = program.getSourceFile(fileName)!;
      const checker = program.getTypeChecker();
      const violations: Violation[] = [];
      const report: Report = (node, problem) =>
        violations.push({
          rule: 'core purity',
          at: `${file.path}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`,
          problem,
        });
      for (const statement of source.statements) checkModuleLevel(statement, checker, report);
      const visit = (node: ts.Node): void => {
        checkGlobalUse(node, checker, report);
        ts.forEachChild(node, visit);
      };
      visit(source);
      return violations;
    },
  };
})();

function coreFiles(): string[] {
  const core = join(projectRoot, 'services', 'core');
  return readdirSync(core, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(core, name));
}

type Report = (node: ts.Node, what: string) => void;

function isGlobal(symbol: ts.Symbol | undefined): boolean {
  const declarations = symbol?.declarations ?? [];
  return declarations.length > 0 && declarations.every((d) => d.getSourceFile().isDeclarationFile);
}

function checkGlobalUse(node: ts.Node, checker: ts.TypeChecker, report: Report): void {
  if (ts.isIdentifier(node) && FORBIDDEN_GLOBALS.has(node.text)) {
    const parent = node.parent;
    // A property's own name (`x.Date`, `{ Date: 1 }`) is not the global.
    if (ts.isPropertyAccessExpression(parent) && parent.name === node) return;
    if ((ts.isPropertyAssignment(parent) || ts.isPropertySignature(parent)) && parent.name === node) return;
    if (isGlobal(checker.getSymbolAtLocation(node))) report(node, `uses the global ${node.text}`);
  }
  if (
    ts.isPropertyAccessExpression(node) &&
    node.name.text === 'random' &&
    ts.isIdentifier(node.expression) &&
    node.expression.text === 'Math' &&
    isGlobal(checker.getSymbolAtLocation(node.expression))
  ) {
    report(node, 'uses Math.random');
  }
}

function checkModuleLevel(statement: ts.Statement, checker: ts.TypeChecker, report: Report): void {
  if (ts.isVariableStatement(statement)) {
    const flags = statement.declarationList.flags;
    const keyword = flags & ts.NodeFlags.Let ? 'let' : flags & ts.NodeFlags.Const ? null : 'var';
    for (const declaration of statement.declarationList.declarations) {
      const name = declaration.name.getText();
      if (keyword !== null) {
        report(declaration, `module-level ${keyword} ${name}`);
        continue;
      }
      const initializer = declaration.initializer;
      if (
        initializer &&
        ts.isRegularExpressionLiteral(initializer) &&
        /\/[a-z]*[gy][a-z]*$/.test(initializer.text)
      ) {
        report(declaration, `module-level ${name}: a global or sticky regular expression keeps lastIndex`);
        continue;
      }
      const how = mutability(checker.getTypeAtLocation(declaration.name), checker, new Set());
      if (how !== null) report(declaration, `module-level ${name} can be changed (${how})`);
    }
  } else if (ts.isClassDeclaration(statement)) {
    for (const member of statement.members) {
      if (ts.isClassStaticBlockDeclaration(member)) report(member, 'a static block runs at module load');
      const modifiers = ts.canHaveModifiers(member) ? (ts.getModifiers(member) ?? []) : [];
      const isStatic = modifiers.some((m) => m.kind === ts.SyntaxKind.StaticKeyword);
      const isReadonly = modifiers.some((m) => m.kind === ts.SyntaxKind.ReadonlyKeyword);
      if (ts.isPropertyDeclaration(member) && isStatic && !isReadonly)
        report(member, `static ${member.name.getText()} is module-level state`);
    }
  } else if (ts.isExpressionStatement(statement)) {
    report(statement, 'code run at module load');
  }
}

/** Why a value of this type can be changed in place, or null when it cannot (readonly all the way down). */
function mutability(type: ts.Type, checker: ts.TypeChecker, seen: Set<ts.Type>): string | null {
  if (seen.has(type)) return null;
  seen.add(type);
  if (type.isUnionOrIntersection()) {
    for (const member of type.types) {
      const how = mutability(member, checker, seen);
      if (how !== null) return how;
    }
    return null;
  }
  if (!(type.flags & ts.TypeFlags.Object)) return null;
  const name = type.getSymbol()?.getName();
  if (name !== undefined && MUTABLE_BUILTINS.has(name)) return `a ${name}`;
  // Its one writable property, lastIndex, matters only with the g or y flag, checked where it is declared.
  if (name === 'RegExp') return null;
  if (type.getCallSignatures().length > 0 || type.getConstructSignatures().length > 0) return null;
  const typeArguments = (type as ts.TypeReference).target
    ? checker.getTypeArguments(type as ts.TypeReference)
    : [];
  for (const argument of typeArguments) {
    const how = mutability(argument, checker, seen);
    if (how !== null) return how;
  }
  for (const index of checker.getIndexInfosOfType(type)) {
    if (!index.isReadonly) return 'a writable index signature';
    const how = mutability(index.type, checker, seen);
    if (how !== null) return how;
  }
  for (const property of type.getProperties()) {
    const declaration = property.valueDeclaration ?? property.declarations?.[0];
    if (declaration && (ts.isMethodDeclaration(declaration) || ts.isMethodSignature(declaration))) continue;
    const readonly =
      checkFlags(property) & CHECK_FLAGS_READONLY ||
      (declaration !== undefined && ts.getCombinedModifierFlags(declaration) & ts.ModifierFlags.Readonly);
    if (!readonly) return `its property ${property.name} is writable`;
    const how = mutability(checker.getTypeOfSymbol(property), checker, seen);
    if (how !== null) return `${property.name}: ${how}`;
  }
  return null;
}
