// Test kit of @tributary/schema-registry: the SchemaStore contract suite, run by every store.
export {
  registerIn,
  schemaStoreContract,
  type SchemaStoreFixture,
} from './schema-store-contract.ts';
