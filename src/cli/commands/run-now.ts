import type { Command } from 'commander';
import { UserError } from '../../base/errors.js';
import { runCommand, stackOptions } from '../lib/common.js';
import { formatDuration, outputMode, Spinner } from '../lib/output.js';
import type { AttemptResult, ExecutionInfo, RunNowResult } from '../../runs/task-run.js';
import { formatRunDuration as formatRunDurationText } from '../../config/run-policy.js';

/** Exit code after Ctrl-C detached from a task that keeps running (128 + SIGINT, as shells do). */
export const EXIT_DETACHED = 130;

/** Exit code of a run that went past its timeout, as timeout(1) has it. */
export const EXIT_TIMED_OUT = 124;

const collect = (v: string, prev: string[]) => [...prev, v];

/** `--env KEY=VALUE` (repeatable) into a map; a malformed one is a user error. */
export function parseEnv(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const p of pairs) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(p);
    if (!m)
      throw new UserError(`--env '${p}' is not KEY=VALUE`, 'e.g. --env DRY_RUN=1 (repeat --env for more variables)');
    env[m[1]!] = m[2]!;
  }
  return env;
}

/**
 * `--command`: a JSON array (`'["node","dist/main.js","--dry-run"]'`) or words split like a shell
 * would (single and double quotes group, backslash escapes).
 */
export function parseCommand(text: string): string[] {
  const t = text.trim();
  if (t.startsWith('[')) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch {
      v = undefined;
    }
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string') || !v.length) {
      throw new UserError(
        `--command '${text}' is not a JSON array of strings`,
        'e.g. --command \'["node","dist/main.js"]\' or --command "node dist/main.js"',
      );
    }
    return v;
  }
  const words: string[] = [];
  let cur: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < t.length; i++) {
    const ch = t[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < t.length) cur += t[++i]!;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      cur ??= '';
    } else if (ch === '\\' && i + 1 < t.length) {
      cur = (cur ?? '') + t[++i];
    } else if (/\s/.test(ch)) {
      if (cur !== undefined) words.push(cur);
      cur = undefined;
    } else {
      cur = (cur ?? '') + ch;
    }
  }
  if (quote) throw new UserError(`--command '${text}' has an unclosed ${quote}`);
  if (cur !== undefined) words.push(cur);
  if (!words.length) throw new UserError('--command is empty');
  return words;
}

/** `batchctl run-now`: start the job as the schedule would, wait, stream its log, exit with its code. */
export function registerRunNow(program: Command): void {
  program
    .command('run-now')
    .argument('[job]', 'the job to run (may be left out when the stack has one job)')
    .description("start a job now with its schedule's exact settings, stream its log, and exit with its exit code")
    .option('--command <cmd>', 'override the container command ("node dist/main.js --dry-run" or a JSON array)')
    .option(
      '--env <KEY=VALUE>',
      'set an environment variable for this run (repeatable; visible in ECS: no secrets)',
      collect,
      [],
    )
    .option('--no-wait', 'print the task ARN (or the execution ARN) and exit at once')
    .option('--allow-overlap', 'start even while a task of the same family is running')
    .option(
      '--force',
      'start even when the run would fail before its container starts (its image missing, the interface endpoints down)',
    )
    .option(
      '--direct',
      "a job with a timeout or retries: run its task directly, without its state machine's timeout and retries",
    )
    .action(
      async (
        job: string | undefined,
        opts: {
          command?: string;
          env: string[];
          wait: boolean;
          allowOverlap?: boolean;
          direct?: boolean;
          force?: boolean;
        },
        cmd: Command,
      ) =>
        runCommand(cmd, async (flags, interrupt) => {
          const command = opts.command === undefined ? undefined : parseCommand(opts.command);
          const env = parseEnv(opts.env);
          const mode = outputMode(flags.json);
          const { runNow } = await import('../../runs/run-now.js');
          const { limitsText } = await import('../../runs/run-execution.js');
          const { WarningsReporter } = await import('../lib/output.js');
          const status = await statusLine(mode);
          const began = Date.now();
          // Once the task exists, Ctrl-C detaches (the wait ends on the signal and the lines below are
          // printed); should that take too long, the hard stop prints the same lines.
          let endGrace: (() => void) | undefined;
          let result;
          try {
            result = await runNow({
              ...stackOptions(flags),
              reporter: new WarningsReporter(),
              job,
              command,
              env,
              wait: opts.wait,
              allowOverlap: opts.allowOverlap,
              force: opts.force,
              direct: opts.direct,
              signal: interrupt.signal,
              onStarted: (r) => {
                interrupt.nextSteps(() => detachLines(r));
                if (opts.wait) {
                  endGrace = interrupt.graceful();
                  status.note(
                    r.execution
                      ? `started execution ${r.execution.name} of state machine ${r.execution.stateMachineArn.split(':').at(-1)} (${limitsText(r.execution)})`
                      : `started task ${r.taskId}`,
                  );
                }
              },
              onAttempt: (a, x) =>
                status.note(
                  `attempt ${a.attempt} of ${x.maxAttempts}${x.spot ? (a.attempt === 1 ? ' on Fargate Spot' : ' on on-demand Fargate') : ''}: task ${a.taskId} (log stream ${a.logStream})`,
                ),
              onAttemptEnd: (a, x, last) => {
                if (!last) status.note(`${attemptLine(a)}; ${nextAttempt(a, x)}`);
              },
              onFallback: (why) => status.note(why),
              onStatus: (s) => status.set(s),
              onLog: (e) => {
                if (mode !== 'json') status.print(e.message.replace(/\r?\n$/, ''));
              },
            });
          } finally {
            status.stop();
            endGrace?.();
          }
          const code = result.detached
            ? EXIT_DETACHED
            : !opts.wait
              ? 0
              : result.timedOut
                ? EXIT_TIMED_OUT
                : (result.exitCode ?? 1);
          if (mode === 'json') {
            process.stdout.write(JSON.stringify(runNowJson(result, code), null, 2) + '\n');
            return code;
          }
          if (!opts.wait) {
            process.stdout.write((result.execution?.arn ?? result.taskArn) + '\n');
            return 0;
          }
          const err = (s: string) => process.stderr.write(s + '\n');
          if (result.detached) {
            for (const line of detachLines(result)) err(line);
          } else if (result.execution) {
            err(executionLine(result, formatDuration(Date.now() - began)));
          } else {
            err(stoppedLine(result, formatDuration(Date.now() - began)));
          }
          return code;
        }),
    );
}

/** What run-now prints when it stops waiting for a task that keeps running. */
export function detachLines(
  r: Pick<RunNowResult, 'taskId' | 'taskArn' | 'cluster' | 'execution'> & { job?: string; lastStatus?: string },
): string[] {
  if (r.execution) {
    // The execution first, then its task: a task stopped on its own would be retried by the execution.
    return [
      `detached: execution ${r.execution.name} keeps running${r.taskId ? ` (attempt ${r.execution.attempts.length}, task ${r.taskId})` : ''}, with its timeout and retries`,
      ...(r.taskId ? [`  follow its log: batchctl logs --task ${r.taskId} --tail`] : []),
      `  stop it:        batchctl stop${r.job ? ` ${r.job}` : ''} --run ${r.execution.name} ` +
        '(the execution, then its task: no retry starts)',
    ];
  }
  const c = r.cluster.split('/').at(-1);
  return [
    `detached: task ${r.taskId} keeps running${r.lastStatus ? ` (${r.lastStatus})` : ''}`,
    `  follow its log: batchctl logs --task ${r.taskId} --tail`,
    `  stop it:        aws ecs stop-task --cluster ${c} --task ${r.taskArn} --region ${r.taskArn.split(':')[3]}`,
  ];
}

/**
 * Stop codes that mean something stopped the task from outside (StopTask, a deployment, a Spot
 * reclaim), as opposed to its essential container exiting on its own.
 */
const STOPPED_FROM_OUTSIDE = new Set([
  'UserInitiated',
  'ServiceSchedulerInitiated',
  'SpotInterruption',
  'TerminationNotice',
]);

/** The last line of a waited run: exit code, and the stop code and reason whenever ECS gave them. */
export function stoppedLine(
  r: Pick<RunNowResult, 'taskId' | 'exitCode' | 'stopCode' | 'stoppedReason'>,
  took: string,
): string {
  const why = [r.stopCode, r.stoppedReason].filter(Boolean).join(': ');
  if (r.exitCode === undefined)
    return `error: task ${r.taskId} stopped without an exit code: ${r.stopCode ?? 'unknown stop code'}: ${r.stoppedReason ?? 'no reason given'}`;
  if (r.stopCode && STOPPED_FROM_OUTSIDE.has(r.stopCode)) {
    return `task ${r.taskId} was stopped after ${took} (${why}); its container exited with code ${r.exitCode}`;
  }
  return `task ${r.taskId} exited with code ${r.exitCode} after ${took}${why ? ` (${why})` : ''}`;
}

/**
 * What follows an attempt that did not end the run: on a Spot job, the first attempt's end moves the run to
 * on-demand Fargate (at once when Spot caused it); else Step Functions retries.
 */
export function nextAttempt(a: AttemptResult, x: Pick<ExecutionInfo, 'maxAttempts' | 'spot'>): string {
  const next = `attempt ${a.attempt + 1} of ${x.maxAttempts}`;
  if (!x.spot || a.attempt !== 1) return `Step Functions retries (${next})`;
  const spotCaused = a.stopCode === 'SpotInterruption' || !a.taskId;
  return spotCaused
    ? `Fargate Spot failed it: the run continues on on-demand Fargate (${next})`
    : `Step Functions retries on on-demand Fargate (${next})`;
}

/** One attempt's end, as a person reads it. */
export function attemptLine(a: AttemptResult): string {
  const what = a.timedOut
    ? 'timed out'
    : a.exitCode !== undefined
      ? `exited with code ${a.exitCode}`
      : a.taskId
        ? 'stopped without an exit code'
        : 'started no task';
  const why = a.reason ?? [a.stopCode, a.stoppedReason].filter(Boolean).join(': ');
  return `attempt ${a.attempt}${a.taskId ? ` (task ${a.taskId})` : ''} ${what}${why ? ` (${why})` : ''}`;
}

/** The last line of a run through the job's state machine: how its final attempt ended, and how many there were. */
export function executionLine(r: RunNowResult, took: string): string {
  const x = r.execution!;
  const final = x.attempts.at(-1);
  const count = `${x.attempts.length} attempt${x.attempts.length === 1 ? '' : 's'} of ${x.maxAttempts}`;
  if (!final)
    return `error: execution ${x.name} ended ${x.status} without running a task: ${[x.error, x.cause].filter(Boolean).join(': ') || 'no reason given'}`;
  if (r.timedOut) {
    const limit = x.timeoutSeconds !== undefined ? formatRunDurationText(x.timeoutSeconds) : 'its timeout';
    return `error: run timed out after ${took}: attempt ${final.attempt} of ${x.maxAttempts} ran past ${limit} (task.timeout), so Step Functions stopped task ${final.taskId}${final.exitCode !== undefined ? ` (its container exited with code ${final.exitCode})` : ''}; a timed-out run is not retried`;
  }
  if (final.exitCode === undefined) return `error: ${attemptLine(final)}; ${count}, execution ${x.status}`;
  return `task ${final.taskId} exited with code ${final.exitCode} after ${took} (${count}${x.status === 'SUCCEEDED' ? '' : `, execution ${x.status}`})`;
}

/**
 * The `--json` document. `exitCode` is the container's: null until it has exited (always with
 * --no-wait or after a detach), never a stand-in 0; `commandExitCode` is what batchctl exits with.
 */
export function runNowJson(r: RunNowResult, commandExitCode: number) {
  return {
    ok: commandExitCode === 0,
    job: r.job,
    taskArn: r.taskArn,
    taskId: r.taskId,
    cluster: r.cluster,
    logGroup: r.logGroup,
    logStream: r.logStream,
    lastStatus: r.lastStatus,
    exitCode: r.exitCode ?? null,
    stopCode: r.stopCode ?? null,
    stoppedReason: r.stoppedReason ?? null,
    detached: r.detached,
    ...(r.capacityProviderName ? { capacityProviderName: r.capacityProviderName } : {}),
    ...(r.spotFallback ? { spotFallback: r.spotFallback } : {}),
    ...(r.execution ? { timedOut: r.timedOut === true, execution: r.execution } : {}),
    commandExitCode,
  };
}

/** Task status on a spinner (TTY) or as plain lines on stderr; log lines on stdout either way. */
async function statusLine(mode: 'tty' | 'plain' | 'json') {
  const out = (s: string) => process.stdout.write(s + '\n');
  if (mode !== 'tty') {
    const err = mode === 'json' ? () => {} : (s: string) => process.stderr.write(s + '\n');
    return { set: (s: string) => err(`status: ${s}`), note: err, print: out, stop() {} };
  }
  const spinner = await Spinner.create();
  const seen: string[] = [];
  return {
    set(s: string) {
      seen.push(s);
      // The terminal lost its width: the statuses as plain lines, like without a terminal.
      if (!spinner.usable) return void process.stderr.write(`status: ${s}\n`);
      spinner.text = seen.join(' → ');
      if (s !== 'STOPPED') spinner.start();
      else spinner.stopAndPersist('■');
    },
    note(s: string) {
      spinner.clear();
      process.stderr.write(s + '\n');
      spinner.render();
    },
    print(s: string) {
      const was = spinner.isSpinning;
      if (was) spinner.clear();
      out(s);
      if (was) spinner.render();
    },
    stop() {
      spinner.dispose();
    },
  };
}
