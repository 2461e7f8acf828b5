/**
 * What must be undone if the process is stopped mid-command (Ctrl-C, SIGTERM): our lock file, a state
 * file being written, a spinner hiding the cursor. Each owner registers a cleanup while it holds the
 * thing and unregisters it when done; the CLI's interrupt handler runs what is registered, then exits.
 * No imports: the core registers here without knowing about the CLI.
 */

/** A cleanup: synchronous where possible (it runs just before exit); an async one gets a deadline. */
export type Cleanup = () => void | Promise<void>;

const cleanups = new Set<Cleanup>();

/** Register a cleanup; call the returned function once it is no longer needed. */
export function registerCleanup(fn: Cleanup): () => void {
  cleanups.add(fn);
  return () => { cleanups.delete(fn); };
}

/**
 * Run every registered cleanup once (newest first: a state write before the lock that guards it),
 * waiting at most `deadlineMs` for the asynchronous ones. Never throws.
 */
export async function runCleanups(deadlineMs: number): Promise<void> {
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
  if (pending.length) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(pending), new Promise((r) => { timer = setTimeout(r, deadlineMs); })]);
    clearTimeout(timer);
  }
}

/** How many cleanups are registered (tests). */
export function pendingCleanups(): number {
  return cleanups.size;
}
