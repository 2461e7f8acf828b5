/**
 * Two kinds of failure, rendered differently by the CLI:
 * - UserError: the user can fix it (bad config, missing credentials, lock held). One message, a hint,
 *   exit 2, no stack trace.
 * - AwsStepError: an AWS call failed while converging a resource. Names the resource, the step and the
 *   AWS error code; exit 1.
 */
export class UserError extends Error {
  override name = 'UserError';
  constructor(message: string, readonly hint?: string, readonly details: string[] = []) {
    super(message);
  }
}

/** The steps the engine runs against a resource. */
export type Step = 'find' | 'create' | 'update' | 'delete' | 'wait';

export class AwsStepError extends Error {
  override name = 'AwsStepError';
  constructor(
    readonly resource: string,
    readonly step: Step,
    readonly code: string,
    readonly awsMessage: string,
    override readonly cause?: unknown,
  ) {
    super(`${resource}: ${step} failed: ${code}: ${awsMessage}`);
  }
}

/**
 * An AWS call failed outside a resource's step (checking who you are, the stack's lock, reading the
 * state, the preflight): names that step, then what failed (the service, operation and HTTP status,
 * when the client named them). Exit 1, like any AWS failure.
 */
export class AwsCallFailed extends Error {
  override name = 'AwsCallFailed';
  constructor(readonly step: string, override readonly cause: unknown, readonly hint?: string) {
    const message = cause instanceof Error ? cause.message : String(cause);
    const code = awsErrorCode(cause);
    // The AWS error code, unless the message already says it (or there is none).
    const named = code === 'UnknownError' || message.includes(code) || (cause as { batchctlAnswer?: unknown } | null)?.batchctlAnswer;
    super(`${step}: ${named ? message : `${code}: ${message}`}`);
  }
}

/**
 * Run one step of a command that calls AWS; a failure that is not already explained (a user error, a
 * resource's step) is named after the step. `hint` says what to do about a failure of AWS itself.
 */
export async function awsStep<T>(step: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof UserError || err instanceof AwsStepError || err instanceof AwsCallFailed || err instanceof RunFailed) throw err;
    const status = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
    throw new AwsCallFailed(step, err, status !== undefined && status >= 500
      ? 'AWS, or a proxy between you and AWS, failed to answer: run the command again in a while; https://health.aws.amazon.com shows AWS outages'
      : undefined);
  }
}

/** A wait ran out of its budget. */
export class WaitTimeout extends Error {
  override name = 'WaitTimeout';
  constructor(readonly what: string, readonly budgetMs: number) {
    super(`timed out after ${Math.round(budgetMs / 1000)} s waiting for ${what}`);
  }
}

/** Several steps failed in one run; each is reported. */
export class RunFailed extends Error {
  override name = 'RunFailed';
  constructor(readonly failures: Error[]) {
    super(failures.map((f) => f.message).join('\n'));
  }
}

/** The AWS error code of an SDK error (`name` in SDK v3, `Code`/`code` in some protocols). */
export function awsErrorCode(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { name?: string; Code?: string; code?: string; __type?: string };
    return e.Code ?? e.code ?? (e.name && e.name !== 'Error' ? e.name : undefined) ?? e.__type ?? 'UnknownError';
  }
  return 'UnknownError';
}

/** True when the error is AWS saying the thing is not there (any service's flavour of NotFound). */
export function isNotFound(err: unknown, ...codes: string[]): boolean {
  const code = awsErrorCode(err);
  if (codes.includes(code)) return true;
  return /NotFound|NoSuch|\.NotFound$|ResourceNotFoundException/.test(code);
}

/**
 * A step read the record of a dependency that does not exist yet. In `up` that is a programming error
 * (the graph runs deps first); `plan` and `down` meet it when a dependency is missing and handle it.
 */
export class MissingRecord extends Error {
  override name = 'MissingRecord';
  constructor(readonly step: string, readonly dependency: string) {
    super(`internal: ${step || 'step'} needs ${dependency}, which has no record yet`);
  }
}
