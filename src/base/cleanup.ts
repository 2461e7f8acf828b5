/**
 * What must be undone if the process is stopped mid-command (Ctrl-C, SIGTERM): our lock file, a state
 * file being written, a spinner hiding the cursor. Each owner registers a cleanup while it holds the
 * thing and unregisters it when done; the CLI's interrupt handler runs what is registered, then exits.
 * No imports: the core registers here without knowing about the CLI.
 */

/** A cleanup: synchronous where possible (it runs just before exit); an async one gets a deadline. */
export type Cleanup = () => void | Promise<void>;

const cleanups = new Set<Cleanup>();
let exiting = false;

/**
 * True once the process is stopping for good (the final runCleanups): what would leave something behind
 * from now on (a temp file, a lock) must not be started, since no cleanup would run for it.
 */
export function isExiting(): boolean {
  return exiting;
}

/** Never settles: where a step must not start because the process is exiting, it waits for the exit. */
export function untilExit(): Promise<never> {
  return new Promise<never>(() => {});
}

/** Register a cleanup; call the returned function once it is no longer needed. */
export function registerCleanup(fn: Cleanup): () => void {
  cleanups.add(fn);
  return () => {
    cleanups.delete(fn);
  };
}

/** Run what is registered now, once each (newest first); the asynchronous ones' promises are returned. */
function runRegistered(): Promise<unknown>[] {
  const all = [...cleanups].reverse();
  cleanups.clear();
  const pending: Promise<unknown>[] = [];
  for (const fn of all) {
    try {
      const r = fn();
      if (r && typeof (r as Promise<void>).then === 'function') pending.push((r as Promise<void>).catch(() => {}));
    } catch {
      // A cleanup that fails (the file is already gone) must not stop the others.
    }
  }
  return pending;
}

/**
 * Run every registered cleanup once (newest first: a state write before the lock that guards it),
 * waiting at most `deadlineMs` for the asynchronous ones. Never throws. The command goes on meanwhile
 * (releasing the stack's lock is two calls to AWS): call `runCleanupsNow` just before exiting too.
 * `final`: the process exits next (isExiting() is true from now on).
 */
export async function runCleanups(deadlineMs: number, final = false): Promise<void> {
  if (final) exiting = true;
  const pending = runRegistered();
  if (pending.length) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(pending),
      new Promise((r) => {
        timer = setTimeout(r, deadlineMs);
      }),
    ]);
    clearTimeout(timer);
  }
}

/**
 * Run, without waiting, what registered itself since `runCleanups` began (a state write the command
 * started while the lock was being released): the last thing before the process exits.
 */
export function runCleanupsNow(): void {
  void runRegistered();
}

/** How many cleanups are registered (tests). */
export function pendingCleanups(): number {
  return cleanups.size;
}
