/**
 * The CLI entry. Only commander is loaded up front; each command imports its core (and the AWS SDK
 * clients it needs) when it runs, so `--help`, `init` and `validate` never load an AWS client.
 */
import { Command, Option } from 'commander';
import { VERSION } from '../base/version.js';
import { OUTPUT_FORMATS, checkOutputFlags } from './lib/common.js';
import { installHelp } from './lib/help.js';
import { installUsageErrors } from './lib/unknown.js';
import { registerUp } from './commands/up.js';
import { registerDown } from './commands/down.js';
import { registerPlan } from './commands/plan.js';
import { registerValidate } from './commands/validate.js';
import { registerPush } from './commands/push.js';
import { registerStatus } from './commands/status.js';
import { registerCost } from './commands/cost.js';
import { registerRunNow } from './commands/run-now.js';
import { registerLogs } from './commands/logs.js';
import { registerState } from './commands/state.js';
import { registerOutputs } from './commands/outputs.js';
import { registerPolicy } from './commands/policy.js';
import { registerInit } from './commands/init.js';
import { registerPause } from './commands/pause.js';
import { registerResume } from './commands/resume.js';
import { registerStop } from './commands/stop.js';
import { registerDeploy } from './commands/deploy.js';
import { registerRollback } from './commands/rollback.js';
import { registerHistory } from './commands/history.js';
import { registerCompletion } from './commands/completion.js';

export function buildProgram(): Command {
  const program = new Command('batchctl')
    .description('Provision and operate a scheduled batch job on AWS Fargate, straight from the AWS APIs')
    .version(VERSION)
    .option(
      '-c, --config <file>',
      'stack config (default: batch.config.yaml here, else in the nearest directory above)',
    )
    .option('--region <region>', 'AWS region (default: config, then AWS_REGION)')
    .option('--profile <name>', 'AWS named profile')
    .option(
      '--endpoint-url <url>',
      'send every AWS call to this endpoint (local emulators; AWS_ENDPOINT_URL works too)',
    )
    .option(
      '--state <file|s3://bucket/key>',
      "where the state lives (default: the config's state.s3, else .batchctl/<stack>.state.json beside the config)",
    )
    .option('--json', 'machine-readable output')
    .addOption(
      new Option('--output <format>', 'text or json (json is the same as --json, as in the AWS CLI)')
        .choices(OUTPUT_FORMATS)
        .default('text'),
    )
    .option('-v, --verbose', 'list every resource (up, down, plan, status), not only what changed or needs attention')
    .option('--debug', 'show stack traces on errors')
    // commander exits 1 on a usage error; a bad flag is the user's to fix, which we report as 2.
    .exitOverride((err) => {
      process.exit(
        err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help'
          ? 0
          : 2,
      );
    })
    .hook('preAction', (_program, action) => checkOutputFlags(action));
  registerInit(program);
  registerUp(program);
  registerDown(program);
  registerPlan(program);
  registerValidate(program);
  registerPush(program);
  registerStatus(program);
  registerCost(program);
  registerRunNow(program);
  registerStop(program);
  registerPause(program);
  registerResume(program);
  registerDeploy(program);
  registerRollback(program);
  registerHistory(program);
  registerLogs(program);
  registerState(program);
  registerOutputs(program);
  registerPolicy(program);
  registerCompletion(program);
  installUsageErrors(program, (code) => process.exit(code));
  installHelp(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  await buildProgram().parseAsync(argv);
}
