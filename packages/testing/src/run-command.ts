// runCommand lives in @tributary/local-services (the service starters use it too); the test
// kit's drivers keep importing it from here.
export { runCommand, type CommandResult, type RunCommandOptions } from '@tributary/local-services';
