/**
 * Ctrl-C (and SIGTERM) for every command: stop within a second, leave no lock and no temp file behind,
 * and say what to run next.
 *
 * Left to Node, SIGINT kills the process where it stands: the lock stays (the next run needs
 * --force-unlock), a state write in flight leaves a `*.tmp` file, and nothing is printed. With a spinner
 * on screen it was worse: ora's cursor restorer (signal-exit) re-raises SIGINT once no other listener is
 * left, so a command's own `once` handler had just run when the process died under it.
 *
 * One persistent listener per command instead. A command that ends itself on Ctrl-C (run-now detaches,
 * logs --tail stops) asks for a grace period; otherwise, or when the grace runs out, or on a second
 * Ctrl-C, the registered cleanups run (lock, temp files, spinner) and the process exits 130 (143 for
 * SIGTERM) after printing what to run next. Resources already created are safe: the state file is only
 * ever replaced whole, and the next run finds what this one created by its tags.
 */
import { registerCleanup, runCleanups, runCleanupsNow } from '../../base/cleanup.js';

/** How long a command that ends itself on Ctrl-C gets before the hard stop. */
export const GRACE_MS = 800;
/**
 * How long asynchronous cleanups may take during a hard stop: the stack's lock lives in the account, and
 * releasing it is two calls to Parameter Store (read, delete). Within the 900 ms hard deadline below.
 */
export const CLEANUP_DEADLINE_MS = 600;

const EXIT: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };

// Real timers even where a test fakes the clock: a grace period must not fire when fake time jumps.
const { setTimeout: realSetTimeout, clearTimeout: realClearTimeout } = globalThis;

/** A command's view of interruption. */
export interface Interrupt {
  /** Aborted on the first Ctrl-C or SIGTERM. */
  readonly signal: AbortSignal;
  /**
   * The command ends itself when `signal` aborts (and prints its own lines): the hard stop waits
   * GRACE_MS for it. Call the returned function when that phase is over.
   */
  graceful(): () => void;
  /** The lines that say what to run next if the command is stopped now (evaluated at that moment). */
  nextSteps(fn: () => string[]): void;
  /** Stop spinners, remove the listeners. Called when the command ends. */
  dispose(): void;
}

/** Options for one command's interrupt handling. */
export interface InterruptOptions {
  /** `--json`: the hard stop prints one JSON document on stdout, like any error. */
  json?: boolean;
  /** Where messages go (tests). */
  write?: (text: string) => void;
  /** How the process ends (tests). */
  exit?: (code: number) => void;
}

/** Install the handlers for one command. */
export function installInterrupt(opts: InterruptOptions = {}): Interrupt {
  const ac = new AbortController();
  const write = opts.write ?? ((t: string) => process.stderr.write(t));
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let graceDepth = 0;
  let next: () => string[] = () => [];
  let graceTimer: NodeJS.Timeout | undefined;
  let stopping = false;

  const hardStop = async (sig: 'SIGINT' | 'SIGTERM') => {
    if (stopping) return;
    stopping = true;
    realClearTimeout(graceTimer);
    const deadline = realSetTimeout(() => {
      runCleanupsNow();
      exit(EXIT[sig]);
    }, 900);
    deadline.unref();
    await runCleanups(CLEANUP_DEADLINE_MS, true);
    let lines: string[] = [];
    try {
      lines = next();
    } catch {
      lines = [];
    }
    const head = sig === 'SIGINT' ? 'interrupted' : 'stopped by SIGTERM';
    if (opts.json) {
      process.stdout.write(
        JSON.stringify(
          { ok: false, exitCode: EXIT[sig], errors: [`error: ${head}`, ...lines], codes: ['INTERRUPTED'] },
          null,
          2,
        ) + '\n',
      );
    }
    write(`\n${[`error: ${head}`, ...lines].join('\n')}\n`);
    realClearTimeout(deadline);
    runCleanupsNow();
    exit(EXIT[sig]);
  };

  const onSignal = (sig: 'SIGINT' | 'SIGTERM') => {
    const first = !ac.signal.aborted;
    ac.abort();
    if (first && graceDepth > 0) {
      graceTimer = realSetTimeout(() => void hardStop(sig), GRACE_MS);
      graceTimer.unref();
      return;
    }
    void hardStop(sig);
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);

  return {
    signal: ac.signal,
    graceful() {
      graceDepth++;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        graceDepth--;
      };
    },
    nextSteps(fn) {
      next = fn;
    },
    dispose() {
      realClearTimeout(graceTimer);
      process.removeListener('SIGINT', onInt);
      process.removeListener('SIGTERM', onTerm);
    },
  };
}

/** Stop a spinner (and show the cursor) if the process is interrupted while it spins. */
export function stopOnInterrupt(stop: () => void): () => void {
  return registerCleanup(stop);
}
