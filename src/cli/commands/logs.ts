import type { Command } from 'commander';
import { runCommand } from '../lib/common.js';
import { SINCE_HELP } from '../../base/duration.js';

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
    .action(async (job: string | undefined, opts: { since?: string; filter?: string; task?: string; tail?: boolean; follow?: boolean; utc?: boolean; liveTail: boolean }, cmd: Command) =>
      runCommand(cmd, async (flags, interrupt) => {
        const { runLogs, formatEvent, eventJson } = await import('../../runs/logs.js');
        const ac = { signal: interrupt.signal };
        // Ctrl-C is how --tail ends: the command stops itself, cleanly.
        const endGrace = interrupt.graceful();
        try {
          await runLogs(
            {
              configPath: flags.config, region: flags.region, profile: flags.profile, endpointUrl: flags.endpointUrl, job,
              since: opts.since, filter: opts.filter, task: opts.task, tail: opts.tail || opts.follow, signal: ac.signal,
              liveTail: opts.liveTail, warn: (m) => process.stderr.write(`warning: ${m}\n`),
              onMode: (mode, reason) => { if (mode === 'polling' && reason && flags.debug) process.stderr.write(`note: ${reason}\n`); },
            },
            (e, jobName) => process.stdout.write((flags.json ? JSON.stringify(eventJson(e, jobName?.trim())) : formatEvent(e, !!opts.utc, jobName)) + '\n'),
          );
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
