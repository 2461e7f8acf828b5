/**
 * The AWS-call helpers every kind uses: a read that answers undefined when the thing is gone, a call that
 * is done when the thing is gone already (a delete resent after a lost answer, a policy removed from a
 * queue deleted meanwhile), and converging a resource's tags. "Gone" is decided by the error's code only:
 * `isNotFound` (any service's usual NotFound spelling) plus the codes a service uses instead
 * (model/aws-errors.ts). A message is never parsed here.
 */
import { isNotFound } from '../../base/errors.js';
import { tagDelta } from './tags.js';

/**
 * The answer of `read` (a call, or a function making calls), or undefined when AWS says the thing is gone
 * (by `gone` codes or any NotFound).
 */
export async function ifExists<T>(
  read: Promise<T> | (() => Promise<T>),
  gone: readonly string[] = [],
): Promise<T | undefined> {
  try {
    return await (typeof read === 'function' ? read() : read);
  } catch (err) {
    if (isNotFound(err, ...gone)) return undefined;
    throw err;
  }
}

/** Make `call`; the thing being gone already (by `gone` codes or any NotFound) counts as done. */
export async function unlessGone(call: Promise<unknown>, gone: readonly string[] = []): Promise<void> {
  try {
    await call;
  } catch (err) {
    if (!isNotFound(err, ...gone)) throw err;
  }
}

/**
 * An AWS error that came in a response body rather than as the call's failure (DeleteObjects' `Errors`,
 * PutTargets' `FailedEntries`, a DependencyViolation still there after its budget): named after its AWS
 * code, as the SDK names the errors it throws, so `awsErrorCode` (and every check built on it) reads it
 * the same way.
 */
export function reportedAwsError(code: string, message: string, cause?: unknown): Error {
  const err = new Error(message, cause === undefined ? undefined : { cause });
  err.name = code;
  return err;
}

/**
 * Converge a resource's tags from `observed` (the managed ones: resources/lib/tags.ts managedTags) to
 * `desired`: `tag` sets what is added or changed, then `untag` removes the keys the config dropped. Each
 * call only when it has something to do.
 */
export async function convergeTags(
  desired: Record<string, string> | undefined,
  observed: Record<string, string> | undefined,
  calls: { tag: (set: Record<string, string>) => Promise<unknown>; untag: (keys: string[]) => Promise<unknown> },
): Promise<void> {
  const delta = tagDelta(desired, observed);
  // Tagging and untagging touch different keys: the two calls go together.
  await Promise.all([
    Object.keys(delta.set).length ? calls.tag(delta.set) : undefined,
    delta.remove.length ? calls.untag(delta.remove) : undefined,
  ]);
}
