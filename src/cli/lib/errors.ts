/**
 * Turning failures into one clear message and an exit code: 2 for what the user can fix, 1 for AWS
 * failures. Stack traces only with --debug.
 */
import {
  AwsCallFailed,
  AwsStepError,
  BatchctlError,
  DockerStepError,
  Interrupted,
  RunFailed,
  UserError,
  type ErrorCode,
} from '../../base/errors.js';

export const EXIT_OK = 0;
export const EXIT_AWS = 1;
export const EXIT_USER = 2;
/** The user answered no at a confirmation: nothing was done, which is not success. */
export const EXIT_CANCELLED = 1;
/** Ctrl-C: 128 + SIGINT, as shells report it. */
export const EXIT_INTERRUPTED = 130;

/** The exit code an error deserves. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof Interrupted) return EXIT_INTERRUPTED;
  if (err instanceof UserError) return EXIT_USER;
  if (err instanceof RunFailed) return err.failures.every((f) => f instanceof UserError) ? EXIT_USER : EXIT_AWS;
  return EXIT_AWS;
}

/**
 * The codes of an error, for `--json`: one per failed step of a run (each once), else the error's own;
 * UNEXPECTED for a failure that is none of ours (an AWS error outside a step, a bug).
 */
export function errorCodes(err: unknown): ErrorCode[] {
  const all = err instanceof RunFailed && err.failures.length ? err.failures : [err];
  return [...new Set(all.map((e): ErrorCode => (e instanceof BatchctlError ? e.code : 'UNEXPECTED')))];
}

/** Lines describing an error for stderr. */
export function describeError(err: unknown, debug = false): string[] {
  const lines: string[] = [];
  // Several failures often share one hint (every resource of a colliding stack): say it once.
  const hints = new Set<string>();
  const one = (e: unknown) => {
    if (e instanceof UserError) {
      lines.push(`error: ${e.message}`);
      for (const d of e.details) lines.push(`  ${d}`);
      if (e.hint && !hints.has(e.hint)) lines.push(`hint: ${e.hint}`);
      if (e.hint) hints.add(e.hint);
    } else if (e instanceof AwsStepError) {
      lines.push(`error: ${e.resource}: ${e.step} failed: ${e.awsCode}: ${e.awsMessage}`);
    } else if (e instanceof DockerStepError || e instanceof AwsCallFailed) {
      lines.push(`error: ${e.message}`);
      // A failure outside a step that knows the way out says it too.
      if (e.hint && !hints.has(e.hint)) lines.push(`hint: ${e.hint}`);
      if (e.hint) hints.add(e.hint);
    } else if (e instanceof Error) {
      lines.push(`error: ${e.message}`);
    } else {
      lines.push(`error: ${String(e)}`);
    }
    if (debug && e instanceof Error && e.stack) {
      const cause = (e as { cause?: unknown }).cause;
      lines.push(e.stack);
      if (cause instanceof Error && cause.stack) lines.push(`caused by: ${cause.stack}`);
    }
  };
  if (err instanceof RunFailed) {
    // Steps in flight when the state stopped saving all fail with that one error: say it once.
    const failures = [...new Set(err.failures)];
    if (failures.length > 1) lines.push(`error: ${failures.length} steps failed`);
    failures.forEach(one);
  } else {
    one(err);
  }
  return lines;
}
