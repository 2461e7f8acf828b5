/**
 * Every error batchctl raises, by what the reader can do about it, each with a stable code (`--json`
 * prints them, so a script branches on a code, never on a message). The layer above renders them:
 * - a UserError (bad config, missing credentials, lock held) is one message and a hint: exit 2, no
 *   stack trace;
 * - an AwsStepError names the resource, the step and AWS's own error code: exit 1;
 * - a RunFailed holds one error per failed step, each reported.
 * The classes live here, except those built from another layer's own types, gathered in one file of that
 * layer: `src/state/state.ts` (the state), `src/state/lock.ts` (the stack's lock) and `src/engine/errors.ts` (the
 * engine's refusals).
 * This is the lowest layer: it imports only base/format.
 */
import { printable } from './format.js';

/** Every code, with what it means. A new error class adds its code here (test/engine/errors.test.ts checks). */
export const ERROR_CODES = {
  USER_ERROR: 'something the user can fix: the message says what, the hint how',
  CONFIG_INVALID: 'the config file has problems, each with its line and key',
  INTERRUPTED: 'Ctrl-C at a prompt: nothing more was done',
  ENDPOINT_UNREACHABLE: 'an AWS endpoint (or the emulator named by --endpoint-url) could not be reached',
  PROXY_INVALID: 'a proxy variable (HTTPS_PROXY, HTTP_PROXY) holds no usable proxy URL',
  STATE_CONFLICT: 'the state changed since this run read it: the write was refused',
  LOCK_HELD: "another run holds the stack's lock",
  STATE_MOVED: 'the state was moved elsewhere by `batchctl state migrate`',
  PLAN_MOVED: 'the stack changed since the saved plan was made: nothing was changed',
  REPLACEMENT_REFUSED: 'a change would need the resource replaced, which batchctl never does silently',
  EXTERNAL_MISSING: 'a VPC or subnet of yours named in the config does not exist',
  NOT_OURS: "a resource with our name or tags is not this stack's: never touched",
  AWS_STEP_FAILED: 'an AWS call failed while working on a resource',
  AWS_CALL_FAILED: 'an AWS call failed outside a resource (who you are, the stack lock, the state, the preflight)',
  WAIT_TIMEOUT: 'a wait for AWS ran out of its time budget',
  STEPS_FAILED: 'one or more steps of a run failed; each is reported',
  NOTHING_STARTED: 'RunTask started no task',
  DOCKER_FAILED: 'a docker step exited non-zero',
  MISSING_RECORD: 'internal: a step read the record of a dependency that does not exist yet',
  UNEXPECTED: 'a failure of no class above (an AWS error outside a step, a bug): the message says what',
} as const;

/** The code of an error batchctl raises. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The root of every error batchctl raises: it carries its code. */
export abstract class BatchctlError extends Error {
  abstract readonly code: ErrorCode;
}

/** The code of any error: ours, or undefined for anything else (an SDK error, a bug). */
export function errorCode(err: unknown): ErrorCode | undefined {
  return err instanceof BatchctlError ? err.code : undefined;
}

/** What the user can fix. One message, a hint, details (one per line); exit 2. */
export class UserError extends BatchctlError {
  override name = 'UserError';
  readonly code: ErrorCode = 'USER_ERROR';
  constructor(
    message: string,
    readonly hint?: string,
    readonly details: string[] = [],
  ) {
    super(message);
  }
}

/** The steps the engine runs against a resource. */
export type Step = 'find' | 'create' | 'update' | 'delete' | 'wait';

/** An AWS call failed while working on a resource: the resource, the step, and AWS's own error code. */
export class AwsStepError extends BatchctlError {
  override name = 'AwsStepError';
  readonly code: ErrorCode = 'AWS_STEP_FAILED';
  constructor(
    readonly resource: string,
    readonly step: Step,
    /** AWS's error code (`AccessDenied`, `ThrottlingException`...). */
    readonly awsCode: string,
    readonly awsMessage: string,
    override readonly cause?: unknown,
  ) {
    super(`${resource}: ${step} failed: ${awsCode}: ${awsMessage}`);
  }
}

/**
 * An AWS call failed outside a resource's step (checking who you are, the stack's lock, reading the
 * state, the preflight): names that step, then what failed (the service, operation and HTTP status,
 * when the client named them). Exit 1, like any AWS failure.
 */
export class AwsCallFailed extends BatchctlError {
  override name = 'AwsCallFailed';
  readonly code: ErrorCode = 'AWS_CALL_FAILED';
  constructor(
    readonly step: string,
    override readonly cause: unknown,
    readonly hint?: string,
  ) {
    const message = cause instanceof Error ? cause.message : String(cause);
    const code = awsErrorCode(cause);
    // The AWS error code, unless the message already says it (or there is none).
    const named =
      code === 'UnknownError' ||
      message.includes(code) ||
      (cause as { batchctlAnswer?: unknown } | null)?.batchctlAnswer;
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
    if (
      err instanceof UserError ||
      err instanceof AwsStepError ||
      err instanceof AwsCallFailed ||
      err instanceof RunFailed
    )
      throw err;
    const status = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
    throw new AwsCallFailed(
      step,
      err,
      status !== undefined && status >= 500
        ? 'AWS, or a proxy between you and AWS, failed to answer: run the command again in a while; https://health.aws.amazon.com shows AWS outages'
        : undefined,
    );
  }
}

/** A wait ran out of its budget. */
export class WaitTimeout extends BatchctlError {
  override name = 'WaitTimeout';
  readonly code: ErrorCode = 'WAIT_TIMEOUT';
  constructor(
    readonly what: string,
    readonly budgetMs: number,
  ) {
    super(`timed out after ${Math.round(budgetMs / 1000)} s waiting for ${what}`);
  }
}

/**
 * Several steps failed in one run; each is reported. What the run did besides is on the subclass that
 * carries it (engine/errors.ts: StepsFailed), as a typed field.
 */
export class RunFailed extends BatchctlError {
  override name = 'RunFailed';
  readonly code: ErrorCode = 'STEPS_FAILED';
  constructor(readonly failures: Error[]) {
    super(failures.map((f) => f.message).join('\n'));
  }
}

/**
 * A step read the record of a dependency that does not exist yet. In `up` that is a programming error
 * (the graph runs deps first); `plan` and `down` meet it when a dependency is missing and handle it.
 */
export class MissingRecord extends BatchctlError {
  override name = 'MissingRecord';
  readonly code: ErrorCode = 'MISSING_RECORD';
  constructor(
    readonly step: string,
    readonly dependency: string,
  ) {
    super(`internal: ${step || 'step'} needs ${dependency}, which has no record yet`);
  }
}

/** A problem of the config file with its position (1-based line and column). */
export interface LocatedProblem {
  line: number;
  col: number;
  /** Dotted key path with numeric indexes, e.g. `network.batchSubnets.1.cidr`; `(root)` for the document. */
  path: string;
  message: string;
}

/** How many problems a ConfigError shows; the rest are counted (the first ones are usually the cause). */
export const MAX_SHOWN_PROBLEMS = 20;

/**
 * The config is invalid; `details` holds one `file:line:col  key.path  message` line per problem, for the
 * first MAX_SHOWN_PROBLEMS, then a count of the rest. What came from the file (keys, values, YAML
 * tokens) is escaped and shortened: a binary file must not echo raw bytes or control codes.
 */
export class ConfigError extends UserError {
  override name = 'ConfigError';
  override readonly code: ErrorCode = 'CONFIG_INVALID';
  constructor(
    readonly file: string,
    readonly problems: LocatedProblem[],
    hint = 'fix them and run `batchctl validate`',
  ) {
    const shown = problems.slice(0, MAX_SHOWN_PROBLEMS);
    const rest = problems.length - shown.length;
    const name = printable(file);
    const count = `${problems.length} problem${problems.length === 1 ? '' : 's'}`;
    super(`${name} has ${count}${rest ? ` (the first ${shown.length} are shown)` : ''}`, hint, [
      ...shown.map((p) => `${name}:${p.line}:${p.col}  ${printable(p.path, 100)}  ${printable(p.message, 400)}`),
      ...(rest ? [`… and ${rest} more problem${rest === 1 ? '' : 's'}`] : []),
    ]);
  }
}

/** An endpoint could not be reached (after the SDK's retries): the URL, where it came from, and why. */
export class EndpointUnreachable extends UserError {
  override name = 'EndpointUnreachable';
  override readonly code: ErrorCode = 'ENDPOINT_UNREACHABLE';
  constructor(
    message: string,
    hint: string,
    /** The network's reason: `ECONNREFUSED`, `ENOTFOUND`, `TimeoutError`... */
    readonly errno: string,
    readonly url: string,
    override readonly cause: unknown,
  ) {
    super(message, hint);
  }
}

/**
 * Ctrl-C that a command saw as input rather than as a signal: a terminal prompt in raw mode turns it into
 * a keypress (readline then rejects with an AbortError). Exit 130 like a signalled Ctrl-C.
 */
export class Interrupted extends UserError {
  override name = 'Interrupted';
  override readonly code: ErrorCode = 'INTERRUPTED';
  constructor(hint: string) {
    super('interrupted', hint);
  }
}

/** A proxy variable that cannot be used: the message names the variable, never its value (it may hold a password). */
export class ProxyConfigError extends UserError {
  override name = 'ProxyConfigError';
  override readonly code: ErrorCode = 'PROXY_INVALID';
  constructor(
    message: string,
    readonly variable: string,
  ) {
    super(message, `set ${variable} to the proxy's URL, such as http://proxy.example.com:3128, or unset it`);
  }
}

/** RunTask answered with failures[] and no task: each reason in words (runs/task-run.ts explainFailure). */
export class NothingStarted extends BatchctlError {
  override name = 'NothingStarted';
  readonly code: ErrorCode = 'NOTHING_STARTED';
  constructor(readonly reasons: string[]) {
    super(`RunTask started no task: ${reasons.join('; ') || 'no reason given'}`);
  }
}

/** A docker step exited non-zero (exit 1 through the CLI: not a config problem). */
export class DockerStepError extends BatchctlError {
  override name = 'DockerStepError';
  readonly code: ErrorCode = 'DOCKER_FAILED';
  constructor(
    readonly step: string,
    readonly exitCode: number | null,
    signal: NodeJS.Signals | null,
    /** What to do about it, from what docker said (its own output is printed above the error). */
    readonly hint?: string,
  ) {
    super(`docker ${step} failed (${exitCode === null ? `killed by ${signal}` : `exit code ${exitCode}`})`);
  }
}

/**
 * The AWS error code of an SDK error (`name` in SDK v3, `Code`/`code` in some protocols); for a step
 * error, the code of the AWS error it wraps; for an unreachable endpoint, the network's reason. Our other
 * errors answer with their name, never a code AWS could have sent.
 */
export function awsErrorCode(err: unknown): string {
  if (err instanceof AwsStepError) return err.awsCode;
  // The network's reason (ECONNRESET...): a lost answer is recognised by it (resources/lib/create.ts).
  if (err instanceof EndpointUnreachable) return err.errno;
  if (err instanceof BatchctlError) return err.name;
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
