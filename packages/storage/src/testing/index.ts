/**
 * @tributary/storage/testing: the storage interfaces' contract suites, for tests outside this
 * package that run them against other implementations (PostgreSQL, S3). Test code only: it
 * imports node:test, so nothing that ships may import this entry.
 */
export { metadataStoreContract, type MetadataHarness } from '../metadata-store.contract.ts';
export { objectStoreContract, type ObjectStoreHarness } from '../object-store.contract.ts';
