// Public surface of @tributary/local-services: the services a local cluster runs on (a private
// PostgreSQL, an S3 server), started as child processes, for `tributary cluster up` and tests.
export { MissingToolError } from './missing-tool-error.ts';
export {
  findPostgresBin,
  startPostgresServer,
  type PostgresServer,
  type PostgresServerOptions,
} from './postgres-server.ts';
export { stablePort } from './stable-port.ts';
export { runCommand, type CommandResult, type RunCommandOptions } from './run-command.ts';
export {
  builtWeedPath,
  findWeed,
  killStaleS3Server,
  startS3Server,
  weedBuildCommand,
  weedPath,
  type S3Server,
  type S3ServerOptions,
} from './s3-server.ts';
