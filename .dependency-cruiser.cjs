/**
 * Package boundaries from docs/ARCHITECTURE.md: protocol <- broker -> storage; storage and
 * protocol depend on nothing of ours; cli, testing, bench sit on top. local-services (the
 * PostgreSQL and S3 servers a local cluster runs on) depends on nothing of ours and is used by
 * cli (`tributary cluster up`) and testing only. No deep imports across
 * packages: only '@tributary/<name>' (each package's `exports`; '<name>/testing' for test kits).
 * It parses with swc (it cannot load TypeScript 7), and its walker does not know `using`
 * declarations: write cleanup with try/finally or the test context's `after` instead.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'storage-is-independent',
      comment: 'storage knows no wire types and no other package of ours',
      severity: 'error',
      from: { path: '^packages/storage/' },
      to: { path: '^packages/(protocol|broker|cli|testing|bench|schema-registry)/' },
    },
    {
      name: 'protocol-is-independent',
      comment: 'protocol is pure codecs: no storage, no broker',
      severity: 'error',
      from: { path: '^packages/protocol/' },
      to: { path: '^packages/(storage|broker|cli|testing|bench|schema-registry)/' },
    },
    {
      name: 'broker-below-tools',
      comment: 'the broker never depends on the CLI, the test kit or the benchmarks',
      severity: 'error',
      from: { path: '^packages/broker/' },
      to: { path: '^packages/(cli|testing|bench|local-services)/' },
    },
    {
      name: 'schema-registry-below-broker',
      comment: 'the schema registry sits under the broker: it may use storage, nothing above',
      severity: 'error',
      from: { path: '^packages/schema-registry/' },
      to: { path: '^packages/(protocol|broker|cli|testing|bench|local-services)/' },
    },
    {
      name: 'console-is-independent',
      comment:
        'the console API types and build know no package of ours; the app (.tsx, which swc ' +
        'cannot parse here) is checked by build-console.ts, which refuses @tributary imports',
      severity: 'error',
      from: { path: '^packages/console/(src|scripts)/' },
      to: {
        path: '^packages/(protocol|storage|broker|cli|testing|bench|schema-registry|local-services)/',
      },
    },
    {
      name: 'local-services-is-independent',
      comment: 'the local service starters run processes; they know no package of ours',
      severity: 'error',
      from: { path: '^packages/local-services/' },
      to: { path: '^packages/(protocol|storage|broker|cli|testing|bench|schema-registry)/' },
    },
    {
      name: 'local-services-for-tools',
      comment: 'only the CLI and the test kit start local services',
      severity: 'error',
      from: { path: '^packages/(protocol|storage|broker|bench|schema-registry)/' },
      to: { path: '^packages/local-services/' },
    },
    {
      name: 'sdk-is-client-side',
      comment:
        'the SDK works against any Kafka cluster: it talks the protocol, never our internals',
      severity: 'error',
      from: { path: '^packages/sdk/src/' },
      to: {
        path: '^packages/(protocol|storage|broker|cli|testing|bench|schema-registry|local-services)/',
      },
    },
    {
      name: 'sdk-above-the-broker',
      comment: 'only the CLI (tributary dlq) and tests use the SDK; nothing under them',
      severity: 'error',
      from: { path: '^packages/(protocol|storage|broker|schema-registry|local-services)/' },
      to: { path: '^packages/sdk/' },
    },
    {
      name: 'no-deep-imports',
      comment: 'import another package only through its exports (@tributary/<name>)',
      severity: 'error',
      from: { path: '^packages/([^/]+)/' },
      to: {
        path: '^packages/([^/]+)/',
        pathNot: [
          '^packages/$1/',
          '^packages/[^/]+/src/index\\.ts$',
          '^packages/[^/]+/src/testing/index\\.ts$',
        ],
      },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/|^packages/console/(app|generated)/' },
    tsPreCompilationDeps: true,
    parser: 'swc',
    combinedDependencies: true,
    preserveSymlinks: false,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'node', 'default'],
    },
  },
};
