import type { Command } from 'commander';
import { runCommand, stackOptions } from '../lib/common.js';
import { renderDeploy } from './deploy.js';

/** `batchctl rollback [job]`: return the job to the image deployed before the current one. */
export function registerRollback(program: Command): void {
  program
    .command('rollback')
    .argument('[job]', 'the job (may be left out when the stack has one)')
    .description(
      'return a job to the image deployed before the current one (a new task definition revision with that image)',
    )
    .option(
      '--force-unlock <lock-id>',
      'first remove the lock with this id (a run that died holding it; the lock error names it)',
    )
    .action(async (job: string | undefined, opts: { forceUnlock?: string }, cmd: Command) =>
      runCommand(cmd, async (flags) => {
        const [{ runRollback }, { WarningsReporter }] = await Promise.all([
          import('../../releases/deploy.js'),
          import('../lib/output.js'),
        ]);
        const report = await runRollback({
          ...stackOptions(flags),
          forceUnlock: opts.forceUnlock,
          reporter: new WarningsReporter(),
          job,
        });
        process.stdout.write(
          flags.json
            ? JSON.stringify({ ok: true, ...report }, null, 2) + '\n'
            : renderDeploy(report.results).join('\n') + '\n',
        );
        return 0;
      }),
    );
}
