import type { Command } from 'commander';
import { runCommand, stackOptions } from '../lib/common.js';
import { sinceFlag } from '../lib/flags.js';
import { parseSince, SINCE_HELP, SINCE_RANGE } from '../../base/duration.js';
import type { HistoryEntry, HistoryReport } from '../../runs/history.js';
import { formatSeconds, stopReasonText, table, utcTime } from '../lib/run-text.js';

/** The digest's first 12 hex characters (as `docker images` shows it), or `-`. */
const shortDigest = (d: string | undefined) => (d ? d.replace(/^sha256:/, '').slice(0, 12) : '-');

/** What a line says about how the run ended (or why no run happened). */
function endText(e: HistoryEntry): string {
  if (e.result === 'missed') return e.reason ?? '';
  if (e.result === 'running')
    return e.attempts && e.attempts.length > 1
      ? `attempt ${e.attempts.length} ${e.stoppedAt ? 'waiting to retry' : 'running'}`
      : '';
  // A Spot job's first attempt reclaimed by Spot: the run went on on-demand, and the line says why.
  const reclaimed = (e.attempts ?? []).slice(0, -1).findIndex((a) => a.stopCode === 'SpotInterruption');
  const spot = reclaimed >= 0 ? `; attempt ${reclaimed + 1} reclaimed by Fargate Spot: SpotInterruption` : '';
  const tries = e.attempts && e.attempts.length > 1 ? ` (${e.attempts.length} attempts${spot})` : '';
  if (e.result === 'stopped') return `stopped by ${e.stoppedBy ?? 'someone'}${tries}`;
  return stopReasonText(e) + tries;
}

/** The plain-text rendering: one line per run or missed time, newest first, then the notes. */
export function renderHistory(r: HistoryReport): string[] {
  const several = r.jobs.length > 1;
  const out = [
    `History of ${several ? `stack ${r.stack}` : `job ${r.jobs[0]}`} since ${utcTime(r.since)} UTC (${r.region}): ${count(r)}`,
  ];
  if (r.entries.length) {
    out.push(
      ...table([
        [
          ...(several ? ['JOB'] : []),
          'RESULT',
          'TRIGGER',
          'SCHEDULED',
          'STARTED',
          'STOPPED',
          'DURATION',
          'EXIT',
          'TASK',
          'IMAGE',
          'STOP',
        ],
        ...r.entries.map((e) => [
          ...(several ? [e.job] : []),
          e.result,
          e.trigger,
          utcTime(e.scheduledTime),
          utcTime(e.startedAt),
          utcTime(e.stoppedAt),
          e.durationSeconds !== undefined ? formatSeconds(e.durationSeconds) : '-',
          e.exitCode !== undefined ? String(e.exitCode) : '-',
          e.shortId ?? '-',
          shortDigest(e.imageDigest),
          endText(e),
        ]),
      ]),
    );
  }
  for (const n of r.notes) out.push(`note: ${n}`);
  return out;
}

function count(r: HistoryReport): string {
  const n = (k: HistoryEntry['result']) => r.entries.filter((e) => e.result === k).length;
  const runs = r.entries.length - n('missed');
  const parts = [`${runs} run${runs === 1 ? '' : 's'}`, `${n('failed')} failed`, `${n('missed')} missed`];
  if (n('stopped')) parts.push(`${n('stopped')} stopped`);
  if (n('running')) parts.push(`${n('running')} running`);
  return parts.join(', ');
}

/** `batchctl history [job] [--since 7d]`: runs newest first, with missed scheduled times. */
export function registerHistory(program: Command): void {
  program
    .command('history')
    .argument('[job]', 'one job (default: every job of the stack)')
    .description(
      'list runs newest first (trigger, scheduled time, start, stop, exit code, image) and scheduled times that produced no run, beyond the hour ECS keeps stopped tasks',
    )
    .option('--since <when>', `how far back: ${SINCE_HELP} (default: 7d)`, sinceFlag('--since', SINCE_RANGE))
    .action(async (job: string | undefined, opts: { since?: number }, cmd: Command) =>
      runCommand(cmd, async (flags) => {
        const [{ runHistory }, { WarningsReporter }] = await Promise.all([
          import('../../runs/history.js'),
          import('../lib/output.js'),
        ]);
        const since = new Date(opts.since ?? parseSince('7d', '--since', Date.now(), SINCE_RANGE));
        const report = await runHistory({
          ...stackOptions(flags),
          reporter: new WarningsReporter(),
          job,
          since,
        });
        process.stdout.write(
          flags.json
            ? JSON.stringify({ ok: true, ...report }, null, 2) + '\n'
            : renderHistory(report).join('\n') + '\n',
        );
        return 0;
      }),
    );
}
