import type { Command } from 'commander';
import { runCommand } from './common.js';

/** `batchctl push`: build the job image, log in to the stack's ECR repository and push it. */
export function registerPush(program: Command): void {
  program
    .command('push')
    .description("build the job image with docker and push it to the stack's ECR repository (needs `up` first)")
    .option('--context <dir>', 'build context (default: batch/ next to the config file)')
    .option('--tag <tag>', 'image tag (default: task.imageTag from the config)')
    .option('--file <path>', 'Dockerfile (default: <context>/Dockerfile)')
    .action(async (opts: { context?: string; tag?: string; file?: string }, cmd: Command) =>
      runCommand(cmd, async (flags) => {
        const [{ runPush }, { WarningsReporter }] = await Promise.all([import('../core/push.js'), import('./output.js')]);
        // docker's own output goes to stderr as it arrives, so stdout carries only the result (also with --json).
        const result = await runPush({
          configPath: flags.config, region: flags.region, profile: flags.profile, endpointUrl: flags.endpointUrl,
          statePath: flags.state, reporter: new WarningsReporter(), context: opts.context, tag: opts.tag, dockerfile: opts.file,
        });
        process.stdout.write(flags.json ? JSON.stringify({ ok: true, ...result }, null, 2) + '\n' : `pushed ${result.image}@${result.digest}\n`);
        return 0;
      }),
    );
}
