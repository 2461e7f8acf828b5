import type { Command } from 'commander';
import { EXIT_CANCELLED } from '../lib/errors.js';
import { askYesNo } from '../lib/confirm.js';
import { runCommand, stackOptions } from '../lib/common.js';

/**
 * `batchctl stop [job]`: stop the runs of a job (or every job): its state machine's executions, then its
 * tasks; asks first on a terminal.
 */
export function registerStop(program: Command): void {
  program
    .command('stop')
    .argument('[job]', 'one job (default: every job of the stack)')
    .description(
      'stop the runs of a job (or every job): executions of its state machine first (no retry starts), ' +
        'then its tasks, naming batchctl and you (asks first on a terminal)',
    )
    .option('--run <id>', 'only this run: an execution name or ARN, or a task id (8 characters or more) or ARN')
    .option('-y, --yes', 'do not ask for confirmation (required when not on a terminal)')
    .action(async (job: string | undefined, opts: { yes?: boolean; run?: string }, cmd: Command) =>
      runCommand(cmd, async (flags) => {
        const [{ runStop }, { WarningsReporter }] = await Promise.all([
          import('../../runs/stop.js'),
          import('../lib/output.js'),
        ]);
        const reporter = new WarningsReporter();
        const report = await runStop({
          ...stackOptions(flags),
          reporter,
          job,
          run: opts.run,
          yes: opts.yes,
          interactive: !!process.stdin.isTTY && !!process.stderr.isTTY,
          confirm: (lines) => {
            const n = lines.length - 1;
            return askYesNo(lines, `Stop ${n === 1 ? 'this run' : `these ${n}`}?`, 'nothing was stopped');
          },
        });
        if (flags.json) {
          process.stdout.write(
            JSON.stringify(
              { ok: !report.declined, ...(report.declined ? { exitCode: EXIT_CANCELLED } : {}), ...report },
              null,
              2,
            ) + '\n',
          );
        } else if (!report.tasks.length && !report.executions.length) {
          process.stdout.write(`Nothing of ${job ? `job ${job}` : `stack ${report.stack}`} is running.\n`);
        } else if (!report.declined) {
          process.stdout.write(
            [
              ...report.executions.map((x) => `Stopping ${x.job} execution ${x.name} (first: its retries never start)`),
              ...report.tasks.map((t) => `Stopping ${t.job} task ${t.taskId} (${t.lastStatus}, ${t.trigger})`),
              ...(report.executions.length ? [`Cause given to Step Functions: "${report.reason}"`] : []),
              ...(report.tasks.length
                ? [
                    `Reason given to ECS: "${report.reason}" ` +
                      '(the container gets SIGTERM, then SIGKILL after its stop timeout, 30 s by default)',
                  ]
                : []),
            ].join('\n') + '\n',
          );
        }
        return report.declined ? EXIT_CANCELLED : 0;
      }),
    );
}
