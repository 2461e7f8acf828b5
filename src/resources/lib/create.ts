/**
 * Creating without duplicates when AWS's answer is lost. A create call can be applied by AWS and its
 * response never reach us (a reset connection, a proxy's 5xx). What makes a second attempt safe depends
 * on what the call offers:
 * - an idempotency token (CreateVpcEndpoint, CreateRouteTable, CreateSchedule...): the SDK's retry, and
 *   ours, resend the same token (one per node and run, `clientToken`), so AWS returns the first result;
 * - a unique name (roles, secrets, log groups, repositories, buckets, security groups in a VPC): the
 *   retry is refused as "already exists", which right after our own attempt means that attempt
 *   succeeded: `createUnique` finds it, checks our tag and adopts it;
 * - neither (CreateVpc, CreateSubnet, AssociateRouteTable, RegisterTaskDefinition): `createOnce` sends it
 *   through a client that never resends (`ctx.aws.once`), and after a lost response looks the resource
 *   up, waiting a bounded time for eventual consistency, before creating again.
 */
import { UserError, WaitTimeout, awsErrorCode } from '../../base/errors.js';
import type { Ctx, Ownership } from '../../engine/types.js';
import { describeOwner } from './tags.js';

/** Transport failures after which the request may have reached AWS and been applied. */
const TRANSPORT = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'NetworkingError',
]);

/** Refusals AWS gives before doing anything: always safe to resend after a pause. */
const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'SlowDown',
  'EC2ThrottledException',
  'PriorRequestNotComplete',
  'BandwidthLimitExceeded',
]);

/** True when a failed call may nevertheless have been applied: a lost response or a 5xx. */
export function maybeApplied(err: unknown): boolean {
  if (!err || typeof err !== 'object' || isThrottling(err)) return false;
  const e = err as { $metadata?: { httpStatusCode?: number }; code?: string; name?: string };
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number') return status >= 500;
  // awsErrorCode: an EndpointUnreachable (the client's name for a connection-level failure) answers with
  // the network's reason, where its own `code` is batchctl's error code.
  return [awsErrorCode(err), e.code, e.name].some((c) => TRANSPORT.has(c ?? ''));
}

export function isThrottling(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return status === 429 || THROTTLING.has(awsErrorCode(err));
}

/** Attempts of a create sent through a single-attempt client before giving up (throttled ones not counted). */
const ONCE_ATTEMPTS = 5;
/**
 * How long a create refused by throttling is sent again. A throttled call was not applied, so sending it
 * again is always safe; what ends it is time, not a count: at 50 jobs, 50 RegisterTaskDefinition calls
 * share a bucket refilled at one a second, and another caller in the account may be draining it too.
 */
export const THROTTLE_BUDGET_MS = 300_000;
/** How long a resource created by a call whose response was lost may take to show up in a Describe. */
export const LOOKUP_BUDGET_MS = 30_000;

/**
 * A create AWS offers no idempotency for, sent once per attempt (`send` must use `ctx.aws.once`). When
 * the answer is lost or a 5xx, `lookup` (by tags, or by what the call set) is polled for up to
 * `lookupBudgetMs` before the create is sent again; a throttled call (never applied) is resent after a
 * pause (exponential, with full jitter so racing callers spread out, up to 20 s), for up to
 * THROTTLE_BUDGET_MS, without using an attempt. What `lookup` finds is adopted as the result.
 */
export async function createOnce<T>(
  ctx: Ctx,
  what: string,
  send: () => Promise<T>,
  lookup: () => Promise<T | undefined>,
  opts: { lookupBudgetMs?: number; throttleBudgetMs?: number } = {},
): Promise<T> {
  const budgetMs = opts.lookupBudgetMs ?? LOOKUP_BUDGET_MS;
  const throttledSince = { at: undefined as number | undefined, n: 0 };
  for (let attempt = 1; ;) {
    try {
      return await send();
    } catch (err) {
      if (isThrottling(err)) {
        throttledSince.at ??= ctx.clock.now();
        if (ctx.clock.now() - throttledSince.at > (opts.throttleBudgetMs ?? THROTTLE_BUDGET_MS)) throw err;
        // The SDK's own schedule for throttling: 500 ms doubling, capped at 20 s, with full jitter.
        await ctx.clock.sleep(Math.floor(Math.random() * Math.min(500 * 2 ** throttledSince.n++, 20_000)) + 1);
        continue;
      }
      throttledSince.at = undefined;
      throttledSince.n = 0;
      if (attempt++ >= ONCE_ATTEMPTS) throw err;
      if (!maybeApplied(err)) throw err;
      try {
        return await ctx.waitFor(
          `${what} created by a call whose answer was lost (${awsErrorCode(err)}) to show up`,
          lookup,
          { budgetMs, intervalMs: 2000 },
        );
      } catch (waitErr) {
        if (!(waitErr instanceof WaitTimeout)) throw waitErr;
        // Not there after the budget: the call was not applied. Sending it again is safe.
      }
    }
  }
}

/**
 * A create of a uniquely named resource. "Already exists" right after our own attempt means an attempt
 * of ours succeeded (the SDK resent a call whose answer was lost, or a concurrent run of this stack
 * created it): `adopt` finds it, and it is adopted when it carries our tag. A resource that is not ours
 * is never adopted: the error names its owner.
 */
export async function createUnique<T>(
  label: string,
  name: string,
  send: () => Promise<T>,
  exists: (err: unknown) => boolean,
  adopt: () => Promise<(Ownership & { value: T }) | undefined>,
): Promise<T> {
  try {
    return await send();
  } catch (err) {
    if (!exists(err)) throw err;
    const found = await adopt();
    if (!found) throw err;
    if (!found.owned) {
      throw new UserError(
        `${label} ${name} was created by someone else while this run created it: it ${describeOwner(found)}`,
        'nothing of it was changed; check who else manages this name, or set another name in the config',
      );
    }
    return found.value;
  }
}

/**
 * Call `fn` again while AWS gives a refusal that `transient` recognises (a name still held by a resource
 * deleted a moment ago, an id not visible yet), within `budgetMs`. The last refusal is rethrown when the
 * budget runs out.
 */
export async function retryWhile<T>(
  ctx: Ctx,
  what: string,
  fn: () => Promise<T>,
  transient: (err: unknown) => boolean | Promise<boolean>,
  opts: { budgetMs?: number; intervalMs?: number } = {},
): Promise<T> {
  let last: unknown;
  try {
    return await ctx
      .waitFor(
        what,
        async () => {
          try {
            return { v: await fn() };
          } catch (err) {
            if (!(await transient(err))) throw err;
            last = err;
            return undefined;
          }
        },
        { budgetMs: opts.budgetMs ?? 60_000, intervalMs: opts.intervalMs ?? 2000 },
      )
      .then((r) => r.v);
  } catch (err) {
    throw err instanceof WaitTimeout && last ? last : err;
  }
}
