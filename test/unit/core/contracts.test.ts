import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import avro from 'avsc';
import { generate } from '../../../scripts/gen-contracts.js';
import { TopicSchemas } from '../../../services/core/topics.js';

describe('event contracts', () => {
  it('the generated TypeScript types match schemas/ (run `npm run gen` after a schema change)', () => {
    // The committed file is formatted by Biome; compare ignoring layout.
    const squash = (text: string) => text.replace(/\s+/g, '').replace(/,([}\]])/g, '$1');
    assert.equal(squash(readFileSync('services/core/contracts.generated.ts', 'utf8')), squash(generate()));
  });

  it('every schema is in namespace relayguard.v1 and documents every field', () => {
    for (const file of Object.values(TopicSchemas)) {
      const schema = JSON.parse(readFileSync(`schemas/${file}`, 'utf8'));
      assert.equal(schema.namespace, 'relayguard.v1', file);
      avro.Type.forSchema(schema);
      const undocumented: string[] = [];
      const walk = (node: unknown): void => {
        if (Array.isArray(node)) {
          for (const item of node) walk(item);
          return;
        }
        if (typeof node !== 'object' || node === null) return;
        const record = node as {
          type?: unknown;
          fields?: { name: string; doc?: string; type: unknown }[];
          items?: unknown;
          values?: unknown;
        };
        for (const field of record.fields ?? []) {
          if (!field.doc) undocumented.push(field.name);
          walk(field.type);
        }
        walk(record.items);
        walk(record.values);
        if (typeof record.type === 'object') walk(record.type);
      };
      walk(schema);
      assert.deepEqual(undocumented, [], `${file}: fields without doc`);
    }
  });
});
