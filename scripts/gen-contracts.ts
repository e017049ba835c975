// Generates services/core/contracts.generated.ts from schemas/*.avsc, so the TypeScript event types cannot
// drift from the Avro contracts. `--check` exits 1 when the committed file is stale (run by the tests).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

type AvroSchema = string | AvroSchema[] | { type: string; [key: string]: unknown };

const schemasDir = new URL('../schemas/', import.meta.url).pathname;
const outFile = new URL('../services/core/contracts.generated.ts', import.meta.url).pathname;

const declarations = new Map<string, string>();

function shortName(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1);
}

function docComment(doc: unknown, indent: string): string {
  return typeof doc === 'string' ? `${indent}/** ${doc.replaceAll('*/', '* /')} */\n` : '';
}

function tsType(schema: AvroSchema): string {
  if (typeof schema === 'string') {
    const primitives: Record<string, string> = {
      null: 'null',
      boolean: 'boolean',
      int: 'number',
      long: 'number',
      float: 'number',
      double: 'number',
      bytes: 'Buffer',
      string: 'string',
    };
    return primitives[schema] ?? shortName(schema);
  }
  if (Array.isArray(schema)) return schema.map(tsType).join(' | ');
  switch (schema.type) {
    case 'record': {
      const name = shortName(String(schema.name));
      const fields = schema.fields as { name: string; type: AvroSchema; doc?: string }[];
      const body = fields
        .map((f) => `${docComment(f.doc, '  ')}  readonly ${f.name}: ${tsType(f.type)};`)
        .join('\n');
      declarations.set(name, `${docComment(schema.doc, '')}export interface ${name} {\n${body}\n}`);
      return name;
    }
    case 'enum': {
      const name = shortName(String(schema.name));
      const symbols = schema.symbols as string[];
      declarations.set(
        name,
        `${docComment(schema.doc, '')}export type ${name} = ${symbols.map((s) => `'${s}'`).join(' | ')};\n` +
          `export const ${name}Values = [${symbols.map((s) => `'${s}'`).join(', ')}] as const;`,
      );
      return name;
    }
    case 'array':
      return `readonly ${wrap(tsType(schema.items as AvroSchema))}[]`;
    case 'map':
      return `Readonly<Record<string, ${tsType(schema.values as AvroSchema)}>>`;
    default:
      // A primitive with a logical type: timestamp-millis stays epoch milliseconds (a number).
      return tsType(schema.type);
  }
}

function wrap(type: string): string {
  return type.includes('|') ? `(${type})` : type;
}

export function generate(): string {
  declarations.clear();
  const files = readdirSync(schemasDir)
    .filter((f) => f.endsWith('.avsc'))
    .sort();
  for (const file of files) tsType(JSON.parse(readFileSync(join(schemasDir, file), 'utf8')) as AvroSchema);
  const body = [...declarations.values()].join('\n\n');
  return `// Generated from schemas/*.avsc by scripts/gen-contracts.ts. Do not edit: change the schema and run\n// \`npm run gen\`. Timestamps (timestamp-millis) are epoch milliseconds.\n\n${body}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const next = generate();
  if (process.argv.includes('--check')) {
    const current = readFileSync(outFile, 'utf8');
    if (current !== next) {
      console.error('services/core/contracts.generated.ts is stale: run `npm run gen`');
      process.exit(1);
    }
  } else {
    writeFileSync(outFile, next);
  }
}
