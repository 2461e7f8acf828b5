import type { Command } from 'commander';
import { askYesNo } from '../lib/confirm.js';
import { EXIT_CANCELLED } from '../lib/errors.js';
import { runCommand, stackOptions } from '../lib/common.js';
import { countFlag, PARALLEL_MAX } from '../lib/flags.js';
import { createReporter, formatDuration, notStartedLines, outputMode, JsonReporter } from '../lib/output.js';
import type { ResourceAction } from '../../engine/reporter.js';
import type { DownReport, EndpointSaving } from '../../stack/down.js';
import { StepsFailed } from '../../engine/errors.js';

/** `batchctl down`: delete the stack (or, with --endpoints, only its billed interface endpoints). */
export function registerDown(program: Command): void {
  program
    .command('down')
    .description('delete every resource of the stack in reverse dependency order (asks first on a terminal)')
    .option('--endpoints', 'delete only the interface VPC endpoints (billed by the hour); `up` recreates them')
    .option('-y, --yes', 'do not ask for confirmation (required when not on a terminal)')
    .option(
      '--force',
      'also delete data: bucket objects (every version), repository images; delete the secret without a recovery window',
    )
    .option('--keep-logs', 'keep the log group and its events (a later `down` without it deletes the group)')
    .option(
      '--recovery-window <days>',
      'days the secret stays recoverable, 7 to 30',
      countFlag('--recovery-window', 7, 30, 'the days Secrets Manager allows'),
      7,
    )
    .option(
      '--parallel <n>',
      'deletions in flight at once, 1 to 256 (mutating calls are paced per AWS throttling bucket whatever the number)',
      countFlag('--parallel', 1, PARALLEL_MAX),
      64,
    )
    .option(
      '--force-unlock <lock-id>',
      'first remove the lock with this id (a run that died holding it; the lock error names it)',
    )
    .action(
      async (
        opts: {
          endpoints?: boolean;
          yes?: boolean;
          force?: boolean;
          keepLogs?: boolean;
          recoveryWindow: number;
          parallel: number;
          forceUnlock?: string;
        },
        cmd: Command,
      ) =>
        runCommand(cmd, async (flags) => {
          const mode = outputMode(flags.json);
          const reporter = await createReporter(mode, { verbose: flags.verbose });
          const { runDown, isDownReport } = await import('../../stack/down.js');
          let report: DownReport;
          try {
            report = await runDown({
              ...stackOptions(flags),
              forceUnlock: opts.forceUnlock,
              reporter,
              parallel: opts.parallel,
              endpointsOnly: opts.endpoints,
              force: opts.force,
              yes: opts.yes,
              recoveryWindowDays: opts.recoveryWindow,
              keepLogs: opts.keepLogs,
              interactive: !!process.stdin.isTTY && !!process.stderr.isTTY,
              confirm: (lines) => {
                reporter.stop?.();
                return ask(lines);
              },
            });
          } catch (err) {
            reporter.stop?.();
            const partial = err instanceof StepsFailed && isDownReport(err.report) ? err.report : undefined;
            if (partial && mode !== 'json')
              process.stdout.write(
                [...(flags.verbose ? [] : notStartedLines(partial.events, DELETIONS)), ...summary(partial, true)].join(
                  '\n',
                ) + '\n',
              );
            throw err;
          }
          reporter.stop?.();
          if (mode === 'json') {
            const events = (reporter as JsonReporter).events;
            process.stdout.write(
              JSON.stringify(
                {
                  ok: !report.declined,
                  ...(report.declined ? { exitCode: EXIT_CANCELLED } : {}),
                  stack: report.stack,
                  region: report.region,
                  account: report.account,
                  statePath: report.statePath,
                  endpointsOnly: !!opts.endpoints,
                  declined: report.declined,
                  resources: events.map((e) => ({ key: e.key, kind: e.kind, action: e.action, id: e.id, arn: e.arn })),
                  targets: report.targets,
                  ...(report.kept ? { kept: report.kept } : {}),
                  counts: report.counts,
                  wallMs: report.wallMs,
                  ...(report.saving ? { saving: report.saving } : {}),
                  ...(report.paused ? { paused: report.paused } : {}),
                },
                null,
                2,
              ) + '\n',
            );
          } else if (!report.declined) {
            process.stdout.write(summary(report, false).join('\n') + '\n');
          }
          // Answering no is not success: a script that goes on after `down` must not think the stack is gone.
          return report.declined ? EXIT_CANCELLED : 0;
        }),
    );
}

/** "Delete these 35 resources? [y/N]" on the terminal: the lines, then the question. */
function ask(lines: string[]): Promise<boolean> {
  const n = lines.length - 1;
  return askYesNo(lines, `Delete ${n === 1 ? 'this resource' : `these ${n} resources`}?`, 'nothing was deleted');
}

/** How `down` words the deletions never started after a failure. */
const DELETIONS = { noun: ['deletion', 'deletions'], need: ['waits for', 'wait for'] } as {
  noun: [string, string];
  need: [string, string];
};

function summary(r: DownReport, failed: boolean): string[] {
  const c: Record<ResourceAction, number> = r.counts;
  const parts = [`${c.deleted} deleted`];
  if (c.absent) parts.push(`${c.absent} already gone`);
  if (c.failed) parts.push(`${c.failed} failed`);
  if (c.skipped) parts.push(`${c.skipped} kept`);
  const out = [`${failed ? 'Failed' : 'Done'}: ${parts.join(', ')} in ${formatDuration(r.wallMs)}`];
  if (r.saving) out.push(savingLine(r.saving));
  return out;
}

/** "Saved: 8 endpoint ENIs, $0.112/hour, $81.76/month". */
export function savingLine(s: EndpointSaving): string {
  if ('unknownPrices' in s)
    return `Saved: ${s.enis} endpoint ENIs (no prices known for this region: set pricing.interfaceEndpointAzHour in the config)`;
  return `Saved: ${s.enis} endpoint ENIs, $${s.hourly.toFixed(3)}/hour, $${s.monthly.toFixed(2)}/month (prices as of ${s.asOf})`;
}
