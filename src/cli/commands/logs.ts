import type { Command } from 'commander';
import type { LogsLook } from '../../runs/logs.js';
import { runCommand, stackOptions } from '../lib/common.js';
import { SINCE_HELP } from '../../base/duration.js';

/** How far back `--since` must reach to include a moment: whole hours, or days past two days. */
export function sinceToReach(at: number, now: number): string {
  const hours = Math.max(1, Math.ceil((now - at) / 3_600_000) + 1);
  return hours > 48 ? `${Math.ceil(hours / 24)}d` : `${hours}h`;
}

/** What `logs` says when it printed no event: what it looked at, and where the events are if anywhere. */
export function emptyLines(look: LogsLook, time: (ms: number) => string, now: number): string[] {
  const t = look.task;
  if (t) {
    const job = t.job ? ` (job ${t.job})` : '';
    if (t.lastStatus === 'STOPPED' && !t.started) {
      return [
        `run ${t.id}${job} stopped before its container started, so it wrote no log: ${[t.stopCode, t.stoppedReason].filter(Boolean).join(': ')}`,
      ];
    }
    if (!t.started)
      return [
        `no log events yet: run ${t.id}${job} is ${t.lastStatus}, and its log stream appears when its container starts; \`batchctl logs --task ${t.id.slice(0, 8)} --tail\` waits for it`,
      ];
    return [`no log events: run ${t.id}${job} is ${t.lastStatus} and has written nothing to ${look.group} yet`];
  }
  const since = look.since === undefined ? 'from the first event' : `since ${time(look.since)}`;
  const why =
    look.sinceFrom === 'default'
      ? ' (the last hour, the default: --since goes further back)'
      : look.sinceFrom === 'flag'
        ? ' (--since)'
        : '';
  const out = [
    `no log events in ${look.group} ${since}${why}${look.filter ? ` matching ${JSON.stringify(look.filter)}` : ''}, in ${look.streams}`,
  ];
  const l = look.latest;
  if (l?.lastEventAt !== undefined && look.since !== undefined && l.lastEventAt < look.since) {
    out.push(
      `the latest run's stream, ${l.stream}${l.job ? ` (job ${l.job})` : ''}, last wrote at ${time(l.lastEventAt)}: \`batchctl logs --since ${sinceToReach(l.lastEventAt, now)}\` reaches it`,
    );
  } else if (!l && look.sinceFrom !== 'task') {
    out.push('no run has written to this log group yet: `batchctl run-now` starts one');
  }
  return out;
}

/** `batchctl logs`: the job's log events, optionally followed (loads only the CloudWatch Logs client). */
export function registerLogs(program: Command): void {
  program
    .command('logs')
    .argument('[job]', "one job's events (default: every job's, with a job column when the stack has several)")
    .description("print the jobs' log events; --tail keeps following (Ctrl-C ends)")
    .option('--since <when>', `from when: ${SINCE_HELP} (default: 1h; a whole run with --task)`)
    .option('--filter <pattern>', 'CloudWatch Logs filter pattern, e.g. ERROR or "\\"bucket not found\\""')
    .option('--task <id>', "one run's stream: task id, its first 8 characters, or the task ARN")
    .option('-f, --tail', 'keep following: new events as they arrive')
    .option('--follow', 'same as --tail')
    .option('--utc', 'show times in UTC instead of the local zone')
    .option('--no-live-tail', 'poll every second instead of opening a CloudWatch Live Tail session')
    .action(
      async (
        job: string | undefined,
        opts: {
          since?: string;
          filter?: string;
          task?: string;
          tail?: boolean;
          follow?: boolean;
          utc?: boolean;
          liveTail: boolean;
        },
        cmd: Command,
      ) =>
        runCommand(cmd, async (flags, interrupt) => {
          const { runLogs, formatEvent, formatTime, eventJson } = await import('../../runs/logs.js');
          const ac = { signal: interrupt.signal };
          // Ctrl-C is how --tail ends: the command stops itself, cleanly.
          const endGrace = interrupt.graceful();
          let shown = 0;
          try {
            const look = await runLogs(
              {
                ...stackOptions(flags),
                job,
                since: opts.since,
                filter: opts.filter,
                task: opts.task,
                tail: opts.tail || opts.follow,
                signal: ac.signal,
                liveTail: opts.liveTail,
                warn: (m) => process.stderr.write(`warning: ${m}\n`),
                onMode: (mode, reason) => {
                  if (mode === 'polling' && reason && flags.debug) process.stderr.write(`note: ${reason}\n`);
                },
              },
              (e, jobName) => {
                shown++;
                process.stdout.write(
                  (flags.json ? JSON.stringify(eventJson(e, jobName?.trim())) : formatEvent(e, !!opts.utc, jobName)) +
                    '\n',
                );
              },
            );
            // Nothing printed is never silent: say what was looked at, on stderr (stdout stays the events).
            if (!shown && !(opts.tail || opts.follow)) {
              for (const line of emptyLines(look, (ms) => formatTime(ms, !!opts.utc), Date.now()))
                process.stderr.write(line + '\n');
            }
          } catch (err) {
            // A request cut short by Ctrl-C rejects with an AbortError: that is the user ending, not a failure.
            if (!ac.signal.aborted) throw err;
          } finally {
            endGrace();
          }
          // Ctrl-C is how --tail ends: a clean exit, not an error.
          return 0;
        }),
    );
}
