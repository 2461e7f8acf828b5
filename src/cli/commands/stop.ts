import type { Command } from 'commander';
import { EXIT_CANCELLED } from '../lib/errors.js';
import { askYesNo } from '../lib/confirm.js';
import { runCommand, stackOptions } from '../lib/common.js';

/** `batchctl stop [job]`: stop the running tasks of a job (or every job), asking first on a terminal. */
export function registerStop(program: Command): void {
  program
    .command('stop')
    .argument('[job]', 'one job (default: every job of the stack)')
    .description('stop the running tasks of a job (or every job), with a reason naming batchctl and you (asks first on a terminal)')
    .option('-y, --yes', 'do not ask for confirmation (required when not on a terminal)')
    .action(async (job: string | undefined, opts: { yes?: boolean }, cmd: Command) =>
      runCommand(cmd, async (flags) => {
        const [{ runStop }, { WarningsReporter }] = await Promise.all([import('../../runs/stop.js'), import('../lib/output.js')]);
        const reporter = new WarningsReporter();
        const report = await runStop({
          ...stackOptions(flags),
          reporter, job, yes: opts.yes,
          interactive: !!process.stdin.isTTY && !!process.stderr.isTTY,
          confirm: (lines) => {
            const n = lines.length - 1;
            return askYesNo(lines, `Stop ${n === 1 ? 'this task' : `these ${n} tasks`}?`, 'no task was stopped');
          },
        });
        if (flags.json) {
          process.stdout.write(JSON.stringify({ ok: !report.declined, ...(report.declined ? { exitCode: EXIT_CANCELLED } : {}), ...report }, null, 2) + '\n');
        } else if (!report.tasks.length) {
          process.stdout.write(`No task of ${job ? `job ${job}` : `stack ${report.stack}`} is running.\n`);
        } else if (!report.declined) {
          process.stdout.write([
            ...report.tasks.map((t) => `Stopping ${t.job} task ${t.taskId} (${t.lastStatus}, ${t.trigger})`),
            `Reason given to ECS: "${report.reason}" (the container gets SIGTERM, then SIGKILL after its stop timeout, 30 s by default)`,
          ].join('\n') + '\n');
        }
        return report.declined ? EXIT_CANCELLED : 0;
      }),
    );
}
