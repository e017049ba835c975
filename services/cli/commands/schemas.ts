// `relayguard schemas check`: would the schemas in schemas/ (or --schemas <dir>) break consumers of what the
// registry already holds? Exit 0 when every subject accepts its schema, 4 when one would refuse it.
import { RelayguardError } from '../../core/errors.js';
import { checkSchemas, type SchemaCheckResult } from '../../platform/codec/schema-check.js';
import type { Config } from '../../platform/config.js';
import { ExitCode } from '../exit-codes.js';
import { renderTable } from '../table.js';

export async function schemasCheck(
  config: Config,
  options: { readonly schemasDir?: string; readonly json: boolean },
): Promise<number> {
  if (!config.schemaRegistry) {
    throw new RelayguardError(
      'INVALID_CONFIG',
      'invalid configuration:\n  SCHEMA_REGISTRY_URL: is required by relayguard schemas check',
      { field: 'SCHEMA_REGISTRY_URL' },
    );
  }
  const results = await checkSchemas(config.schemaRegistry, options.schemasDir);
  process.stdout.write(
    options.json ? `${JSON.stringify(results, null, 2)}\n` : `${renderSchemaChecks(results)}\n`,
  );
  return results.every((result) => result.problems.length === 0) ? ExitCode.OK : ExitCode.UNEXPECTED_RESULT;
}

export function renderSchemaChecks(results: readonly SchemaCheckResult[]): string {
  return renderTable(
    ['subject', 'file', 'status', 'versions', 'level', 'problems'],
    results.map((result) => [
      result.subject,
      result.file,
      result.status,
      String(result.versions),
      result.level ?? '-',
      result.problems.join('; '),
    ]),
  );
}
