/**
 * What every command shares: the global flags and the wrapper that renders errors and sets the exit
 * code. Kept free of AWS imports so `--help` stays fast.
 */
import type { Command } from 'commander';
import { CONFIG_FILE, findConfig } from '../../config/discover.js';
import { UserError } from '../../base/errors.js';
import { printable } from '../../base/format.js';
import { describeError, errorCodes, exitCodeFor } from './errors.js';
import { installInterrupt, type Interrupt } from './interrupt.js';
import { checkFlags } from './flags.js';

/** Flags defined on the program and readable from every command. */
export interface GlobalFlags {
  /** `-c`: left out, the config is found like git finds its repository (`stackOptions`). */
  config?: string;
  region?: string;
  profile?: string;
  endpointUrl?: string;
  state?: string;
  /** `--json`, or `--output json`. */
  json?: boolean;
  /** Every resource, not only what changed or needs attention. */
  verbose?: boolean;
  debug?: boolean;
}

/** What `--output` takes: the AWS CLI's flag, for its users' habit (yaml and table are not offered). */
export const OUTPUT_FORMATS = ['text', 'json'];

export function globals(cmd: Command): GlobalFlags {
  const all = cmd.optsWithGlobals() as GlobalFlags & { output?: string };
  const { output, ...flags } = all;
  return { ...flags, json: flags.json || output === 'json' };
}

/**
 * What every stack command passes its operation from the global flags: where the config and state are, and how AWS is
 * reached.
 */
export interface StackFlags {
  configPath: string;
  region?: string;
  profile?: string;
  endpointUrl?: string;
  statePath?: string;
}

/**
 * The one mapping of the global flags to an operation's stack options. The config is `-c`, else
 * `batch.config.yaml` in the current directory or the nearest one above it.
 */
export function stackOptions(flags: GlobalFlags): StackFlags {
  return {
    configPath: configPath(flags),
    region: flags.region,
    profile: flags.profile,
    endpointUrl: flags.endpointUrl,
    statePath: flags.state,
  };
}

/** The config a command reads: `-c`, else the nearest `batch.config.yaml` (a UserError when there is none). */
export function configPath(flags: Pick<GlobalFlags, 'config'>, cwd: string = process.cwd()): string {
  if (flags.config !== undefined) return flags.config;
  const found = findConfig(cwd);
  if (!found) {
    throw new UserError(
      `no ${CONFIG_FILE} in ${printable(cwd)} or any directory above it`,
      'create one with `batchctl init` (in the directory the stack is for), or pass -c <file>',
    );
  }
  return found.path;
}

/** Commands that change the account or the state: they say which config they use when it is not the one here. */
const CHANGES = new Set(['up', 'down', 'push', 'deploy', 'rollback', 'pause', 'resume', 'stop', 'run-now', 'migrate']);

/** `using ../batch.config.yaml`, for a command that changes things with a config found above the current directory. */
export function configNotice(
  command: string,
  flags: Pick<GlobalFlags, 'config'>,
  cwd: string = process.cwd(),
): string | undefined {
  if (!CHANGES.has(command) || flags.config !== undefined) return undefined;
  const found = findConfig(cwd);
  return found && !found.here
    ? `using ${printable(found.path)} (the stack config of ${printable(found.dir)})`
    : undefined;
}

/** `--json --output text` asks for two things: a usage error (exit 2), like an unknown value. */
export function checkOutputFlags(cmd: Command): void {
  const { json } = cmd.optsWithGlobals() as { json?: boolean };
  if (json && cmd.getOptionValueSourceWithGlobals('output') === 'cli' && cmd.optsWithGlobals().output === 'text') {
    process.stderr.write('error: --json and --output text contradict each other: pass one of them\n');
    process.exit(2);
  }
}

/** What to run after Ctrl-C stopped a command, by command (read-only ones changed nothing). */
const NEXT_STEPS: Record<string, string[]> = {
  up: [
    'hint: nothing more is sent to AWS; run `batchctl up` again to finish: it finds what this run created by its tags and the state file',
  ],
  down: ['hint: nothing more is sent to AWS; run `batchctl down` again to finish removing the stack'],
  push: ['hint: run `batchctl push` again'],
  'run-now': ['hint: a task may have started: see `batchctl status`'],
  stop: ['hint: some tasks may have been stopped: see `batchctl status`, and run `batchctl stop` again for the rest'],
  pause: ['hint: run `batchctl pause` again: a schedule paused already is left as it is'],
  resume: ['hint: run `batchctl resume` again'],
  deploy: ['hint: run `batchctl deploy` again: a job that runs the image already gets no second revision'],
  rollback: [
    'hint: see `batchctl status` before running rollback again: if this one went through, a second rollback returns to the image before it',
  ],
};

/**
 * Run a command body; print errors (JSON on --json) and set process.exitCode. Ctrl-C is handled for
 * every command (see interrupt.ts); a body that ends itself on Ctrl-C uses `interrupt`.
 */
export async function runCommand(
  cmd: Command,
  body: (flags: GlobalFlags, interrupt: Interrupt) => Promise<number | void>,
): Promise<void> {
  const flags = globals(cmd);
  const interrupt = installInterrupt({ json: flags.json });
  interrupt.nextSteps(() => NEXT_STEPS[cmd.name()] ?? ['hint: nothing was changed']);
  try {
    checkFlags(cmd.optsWithGlobals());
    const notice = configNotice(cmd.name(), flags);
    if (notice) process.stderr.write(notice + '\n');
    const code = await body(flags, interrupt);
    process.exitCode = code ?? 0;
  } catch (err) {
    const code = exitCodeFor(err);
    if (flags.json) {
      process.stdout.write(
        JSON.stringify(
          { ok: false, exitCode: code, errors: describeError(err, false), codes: errorCodes(err) },
          null,
          2,
        ) + '\n',
      );
    }
    for (const line of describeError(err, flags.debug)) process.stderr.write(line + '\n');
    process.exitCode = code;
  } finally {
    interrupt.dispose();
  }
}
