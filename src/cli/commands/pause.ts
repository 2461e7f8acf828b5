import type { Command } from 'commander';
import { runCommand, stackOptions } from '../lib/common.js';
import type { PauseReport, PauseResult } from '../../runs/pause.js';
import type { PauseMark } from '../../model/pause.js';

/** "by arn:aws:iam::123456789012:user/alice at 2026-03-01T10:00:00Z (batchctl pause)". */
export function markLine(m: PauseMark): string {
  return `by ${m.by || 'an unknown caller'} at ${m.at} (${m.reason === 'user' ? 'batchctl pause' : 'down --endpoints'})`;
}

/** One line per job, for `pause` and `resume`. */
export function renderPause(r: PauseReport, command: 'pause' | 'resume'): string[] {
  const line = (x: PauseResult): string => {
    switch (x.outcome) {
      case 'paused':
        return `Paused ${x.job} (${x.schedule}) ${markLine(x.mark!)}: up keeps it disabled; \`batchctl resume ${x.job}\` re-enables it`;
      case 'already paused':
        return `${x.job}: already paused (${x.schedule}) ${markLine(x.mark!)}`;
      case 'resumed':
        return `Resumed ${x.job} (${x.schedule}): ${x.enabled ? 'enabled' : 'stays disabled: schedule.enabled is false in the config'}${x.mark ? ` (it was paused ${markLine(x.mark)})` : ''}`;
      case 'not paused':
        return `${x.job}: not paused (${x.schedule}, ${x.enabled ? 'enabled' : 'disabled by the config'})`;
    }
  };
  return [
    ...r.results.map(line),
    ...r.missing.map((j) => `${j}: its schedule does not exist yet (batchctl up creates it): not ${command}d`),
  ];
}

/** `pause` or `resume`: the same flags and output, another core call. */
export function registerScheduleCommand(program: Command, name: 'pause' | 'resume', description: string): void {
  program
    .command(name)
    .argument('[job]', 'one job (default: every job of the stack)')
    .description(description)
    .option(
      '--force-unlock <lock-id>',
      'first remove the lock with this id (a run that died holding it; the lock error names it)',
    )
    .action(async (job: string | undefined, opts: { forceUnlock?: string }, cmd: Command) =>
      runCommand(cmd, async (flags) => {
        const [core, { WarningsReporter }] = await Promise.all([
          import('../../runs/pause.js'),
          import('../lib/output.js'),
        ]);
        const reporter = new WarningsReporter();
        const report = await (name === 'pause' ? core.runPause : core.runResume)({
          ...stackOptions(flags),
          forceUnlock: opts.forceUnlock,
          reporter,
          job,
        });
        process.stdout.write(
          flags.json
            ? JSON.stringify({ ok: true, ...report, warnings: reporter.warnings }, null, 2) + '\n'
            : renderPause(report, name).join('\n') + '\n',
        );
        return 0;
      }),
    );
}

/** `batchctl pause [job]`: disable the schedule(s), recording who paused them and when, until `resume`. */
export function registerPause(program: Command): void {
  registerScheduleCommand(
    program,
    'pause',
    'disable the schedule of a job (or every job) until `batchctl resume`: `up` keeps it disabled, status says who paused it',
  );
}
