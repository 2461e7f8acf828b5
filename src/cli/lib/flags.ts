/**
 * Flag values checked as commander parses them, reported as the command runs: a value out of its range
 * becomes an `InvalidFlag`, which `runCommand` throws before the command's body, so it is rendered like
 * every user error (one message naming the flag and the accepted range, a hint, exit 2, JSON with
 * --json). Thrown inside commander's parser, it would exit 1 or crash the process instead.
 */
import { UserError } from '../../base/errors.js';
import { parseCount, parseDuration, parseSince, type DurationRange } from '../../base/duration.js';

/** A flag value that did not pass its check. */
export class InvalidFlag {
  constructor(readonly error: UserError) {}
}

function checked<T>(parse: () => T): T | InvalidFlag {
  try {
    return parse();
  } catch (err) {
    if (err instanceof UserError) return new InvalidFlag(err);
    throw err;
  }
}

/** A whole number from `min` to `max` (`--parallel`, `--runs`). */
export function countFlag(flag: string, min: number, max: number, why?: string) {
  return (v: string): number => checked(() => parseCount(v, flag, min, max, why)) as number;
}

/** A duration in seconds (`cost --duration`). */
export function durationFlag(flag: string, range: DurationRange) {
  return (v: string): number => checked(() => parseDuration(v, flag, range)) as number;
}

/** A point in time, in milliseconds: a duration back from now or a time (`--since`). */
export function sinceFlag(flag: string, range: DurationRange, now: () => number = Date.now) {
  return (v: string): number => checked(() => parseSince(v, flag, now(), range)) as number;
}

/** Throw the first flag that did not pass its check (called by runCommand before the command runs). */
export function checkFlags(values: Record<string, unknown>): void {
  for (const v of Object.values(values)) if (v instanceof InvalidFlag) throw v.error;
}

/** `--parallel`: more than 256 in flight only queues behind the sockets and the AWS throttling buckets. */
export const PARALLEL_MAX = 256;
