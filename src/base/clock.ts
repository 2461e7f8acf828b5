/** Time source for waits and retries. Real time in the CLI; tests use vitest's fake timers over it. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** Wall-clock time. Uses the global timers so vitest's fake timers can drive it in tests. */
export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
