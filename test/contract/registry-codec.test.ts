// The SchemaCodec contract against the Schema Registry codec, talking HTTP to the registry double (real
// compatibility checks with avsc).
import { after, before } from 'node:test';
import { RegistryCodec } from '../../services/platform/codec/registry-codec.js';
import { type SchemaRegistryDouble, startSchemaRegistry } from '../support/schema-registry.js';
import { schemaCodecContract } from './schema-codec.contract.js';

let registry: SchemaRegistryDouble;
before(async () => {
  registry = await startSchemaRegistry();
});
after(() => registry.stop());

schemaCodecContract('schema registry', async () => ({
  codec: new RegistryCodec({ url: registry.url, auth: undefined }),
  cleanup: async () => {},
}));
