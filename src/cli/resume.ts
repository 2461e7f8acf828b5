import type { Command } from 'commander';
import { runCommand } from './common.js';
import { renderPause } from './pause.js';

/** `batchctl resume [job]`: lift a pause and give the schedule(s) the config's state again. */
export function registerResume(program: Command): void {
  program
    .command('resume')
    .argument('[job]', 'one job (default: every job of the stack)')
    .description('lift a pause: the schedule of a job (or every job) gets the config\'s state again (schedule.enabled)')
    .option('--force-unlock <lock-id>', 'first remove the lock with this id (a run that died holding it; the lock error names it)')
    .action(async (job: string | undefined, opts: { forceUnlock?: string }, cmd: Command) =>
      runCommand(cmd, async (flags) => {
        const [{ runResume }, { WarningsReporter }] = await Promise.all([import('../core/pause.js'), import('./output.js')]);
        const reporter = new WarningsReporter();
        const report = await runResume({
          configPath: flags.config, region: flags.region, profile: flags.profile, endpointUrl: flags.endpointUrl,
          statePath: flags.state, forceUnlock: opts.forceUnlock, reporter, job,
        });
        process.stdout.write(flags.json
          ? JSON.stringify({ ok: true, ...report, warnings: reporter.warnings }, null, 2) + '\n'
          : renderPause(report, 'resume').join('\n') + '\n');
        return 0;
      }),
    );
}
