#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerCdc } from './commands/cdc.js';
import { registerDemo } from './commands/demo.js';
import { registerDlq } from './commands/dlq.js';
import { registerInit } from './commands/init.js';
import { registerTopology } from './commands/topology.js';
import { registerOperations, registerRebuild } from './commands/operations.js';
import { registerOutbox } from './commands/outbox.js';
import { registerSchema } from './commands/schema.js';
import { registerServe } from './commands/serve.js';
import { registerStatus } from './commands/status.js';
import { reportFailure } from './errors.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command()
  .name('tidemark')
  .description('Propagate business state between services with visible, repairable consistency.')
  .version(pkg.version)
  .showHelpAfterError('(run tidemark --help for the commands and their options)')
  .exitOverride();

registerCdc(program);
registerDemo(program);
registerDlq(program);
registerInit(program);
registerTopology(program);
registerOperations(program);
registerOutbox(program);
registerRebuild(program);
registerSchema(program);
(await import('./commands/reconcile.js')).registerReconcile(program);
registerServe(program);
registerStatus(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // commander already printed its message (unknown option, bad value, --help, --version).
    process.exitCode = error.exitCode;
  } else {
    process.exitCode = reportFailure(error, process.argv.includes('--json'));
  }
}
