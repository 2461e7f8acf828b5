/**
 * Running the CLI against the fake AWS in a child process: plainly, or on a real pseudo-terminal.
 *
 * Node has no pty of its own. `script` (util-linux; in Debian's essential bsdutils, so on every Debian or
 * Ubuntu machine) gives one with nothing to build; python3's `pty` module is the fallback. Input written
 * to the child's stdin reaches the terminal, so `\x03` is a real Ctrl-C: the line discipline turns it into
 * SIGINT for the foreground process group, as a keyboard would.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './ctx.js';

/** How to open a pty here, or undefined when the machine has neither tool. */
export function ptyLauncher(): ((shellCommand: string) => [string, string[]]) | undefined {
  if (spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0) {
    // -q no banner, -e the child's exit code, -c the command; the typescript file is discarded.
    return (cmd) => ['script', ['-qec', cmd, '/dev/null']];
  }
  if (spawnSync('python3', ['-c', 'import pty'], { encoding: 'utf8' }).status === 0) {
    return (cmd) => [
      'python3',
      ['-c', 'import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(["sh", "-c", sys.argv[1]])))', cmd],
    ];
  }
  return undefined;
}

/** The fake-AWS CLI entry and how Node loads it (TypeScript through tsx), as shell-safe words. */
export const FAKE_CLI = [process.execPath, '--import', 'tsx', join(ROOT, 'test/fake-aws/cli.ts')];

/**
 * The CLI against a fake AWS another process serves (test/fake-aws/http.ts; FAKE_AWS_URL in `env`): the
 * test keeps the fake, and can count the calls the child made.
 */
export const REMOTE_CLI = [process.execPath, '--import', 'tsx', join(ROOT, 'test/fake-aws/remote-cli.ts')];

/** An environment for a child CLI: the parent's, without CI (which forces plain output), plus `extra`. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.CI;
  return env;
}

const quote = (w: string) => `'${w.replace(/'/g, `'\\''`)}'`;

/** A running child with its output so far. */
export interface Child {
  proc: ChildProcess;
  /** stdout and stderr interleaved as they arrived (a pty merges them anyway). */
  output(): string;
  /** Resolves once `test` matches the output (or rejects after `ms`). */
  waitFor(test: RegExp, ms?: number): Promise<void>;
  /** Resolves with the exit code and the milliseconds since `since` (default: the start). */
  exited(since?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

/** Every child still running, by pid (the CLI's own pid too when a pty sits between). */
const running = new Set<number>();

/**
 * SIGKILL every child a test left running (call in afterEach). A CLI stuck in a loop on a pty would
 * otherwise outlive the test: killing `script` only hangs its terminal up, and a process that handles
 * SIGHUP in JavaScript never gets to run the handler.
 */
export function killLeftovers(): void {
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  running.clear();
}

function track(proc: ChildProcess): Child {
  let out = '';
  const pids = [proc.pid!];
  running.add(proc.pid!);
  proc.on('exit', () => {
    for (const p of pids) running.delete(p);
  });
  const started = Date.now();
  proc.stdout?.on('data', (d) => {
    out += String(d);
    // The pty's shell prints its pid, then execs the CLI under that same pid.
    const m = pids.length === 1 ? /pty-child-pid (\d+)/.exec(out) : null;
    if (m) {
      pids.push(Number(m[1]));
      running.add(Number(m[1]));
    }
  });
  proc.stderr?.on('data', (d) => {
    out += String(d);
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() }));
  });
  return {
    proc,
    output: () => out,
    async waitFor(test, ms = 30_000) {
      const until = Date.now() + ms;
      while (!test.test(out)) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${test} in:\n${out.slice(-2000)}`);
        const done = await Promise.race([exit.then(() => true), new Promise((r) => setTimeout(() => r(false), 20))]);
        if (done && !test.test(out)) throw new Error(`exited before ${test} appeared:\n${out.slice(-2000)}`);
      }
    },
    async exited(since = started) {
      const e = await exit;
      return { code: e.code, signal: e.signal, ms: e.at - since };
    },
  };
}

/** The fake-AWS CLI (`args` as for `node --import tsx test/fake-aws/cli.ts`) in a plain child process. */
export function spawnCli(args: string[], opts: { env?: Record<string, string>; nodeOptions?: string[] } = {}): Child {
  const [node, ...rest] = FAKE_CLI;
  return track(
    spawn(node!, [...(opts.nodeOptions ?? []), ...rest, ...args], {
      cwd: ROOT,
      env: childEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}

/**
 * The fake-AWS CLI on a pseudo-terminal `cols` columns wide (0 included: `stty cols 0`), after `setup`
 * shell commands. Its stdin stays open for `\x03`.
 */
export function spawnOnPty(
  args: string[],
  opts: { cols: number; env?: Record<string, string>; setup?: string; cli?: string[] },
): Child {
  const launcher = ptyLauncher();
  if (!launcher) throw new Error('no pseudo-terminal: install util-linux (script) or python3');
  const cmd = `echo pty-child-pid $$; stty cols ${opts.cols} rows 24; ${opts.setup ?? ''} exec ${[...(opts.cli ?? FAKE_CLI), ...args].map(quote).join(' ')}`;
  const [bin, argv] = launcher(cmd);
  return track(
    spawn(bin, argv, {
      cwd: ROOT,
      env: childEnv({ TERM: 'xterm-256color', ...opts.env }),
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
  );
}
