/**
 * Client-side pacing of mutating calls, one token bucket per AWS throttling bucket, at the rates AWS
 * documents (or, where it documents none, rates commonly observed). At 50 jobs `up` sends some 200 IAM
 * writes and 50 RegisterTaskDefinition calls: sent as fast as the engine can, most would come back
 * throttled, and the SDK's jittered backoff (up to 20 s a retry, from a retry quota shared by the
 * client) would waste the refills and could give up. Paced, they go out as the buckets refill.
 * AWS's buckets are the account's: another caller can still empty them, and the SDK's retries (standard
 * mode, which classifies every service's throttling code) remain the safety net.
 * Reads are not paced: AWS allows far more of them, and `up` makes few.
 */

/** One throttling bucket: how many calls at once (burst), and how many a second after that. */
export interface BucketRate {
  capacity: number;
  perSecond: number;
}

/** A service's buckets for mutating calls: the first whose `ops` matches applies, else `default`. */
export interface ServiceRates {
  buckets?: { name: string; ops: RegExp; rate: BucketRate }[];
  default: BucketRate;
}

/**
 * The rates, per service (the AwsClients names). Sources:
 * - ec2: "mutating actions" bucket, 50 calls, refill 5 a second (EC2 API request throttling, documented).
 * - ecs: RegisterTaskDefinition and DeregisterTaskDefinition share a bucket of 20 refilled at 1 a second
 *   (commonly reported, and what ECS's throttling table lists for task definition changes); RunTask 100 /
 *   40 (documented); other changes (CreateCluster, TagResource...) 20 / 5 (assumed, a handful a stack).
 * - iam: AWS publishes no rates (token buckets per account, "several per API"); 10 / 5 a second is the
 *   low end of what is commonly reported for role writes.
 * - eventBridge: every API but PutEvents is limited to 50 a second (documented default).
 * - scheduler: schedule changes 50 a second (documented default quota).
 * - logs: CreateLogGroup, PutRetentionPolicy and tagging, 5 a second (documented quotas).
 * - secretsManager: 50 a second for the write APIs combined (documented).
 * - ecr, s3 (bucket settings), sns, sqs: 10-20 a second (not documented; a stack makes a few calls).
 * - cloudwatch: PutMetricAlarm and DeleteAlarms, 3 a second (documented quotas).
 * - sfn: the state machine APIs share a bucket of 100 refilled at 1 a second; StartExecution 800 / 150
 *   (documented defaults outside the largest regions, which allow more).
 */
export const AWS_RATES: Record<string, ServiceRates> = {
  ec2: { default: { capacity: 50, perSecond: 5 } },
  ecs: {
    buckets: [
      {
        name: 'task-definitions',
        ops: /^(Register|Deregister|Delete)TaskDefinition/,
        rate: { capacity: 20, perSecond: 1 },
      },
      { name: 'run-task', ops: /^RunTask$/, rate: { capacity: 100, perSecond: 40 } },
    ],
    default: { capacity: 20, perSecond: 5 },
  },
  iam: { default: { capacity: 10, perSecond: 5 } },
  eventBridge: { default: { capacity: 50, perSecond: 50 } },
  scheduler: { default: { capacity: 50, perSecond: 50 } },
  logs: { default: { capacity: 5, perSecond: 5 } },
  secretsManager: { default: { capacity: 50, perSecond: 50 } },
  ecr: { default: { capacity: 10, perSecond: 10 } },
  s3: { default: { capacity: 20, perSecond: 20 } },
  sns: { default: { capacity: 20, perSecond: 20 } },
  sqs: { default: { capacity: 20, perSecond: 20 } },
  cloudwatch: { default: { capacity: 3, perSecond: 3 } },
  sfn: {
    buckets: [{ name: 'start-execution', ops: /^StartExecution$/, rate: { capacity: 800, perSecond: 150 } }],
    default: { capacity: 100, perSecond: 1 },
  },
};

/** Operations that change nothing (the same rule the AWS fake and the policy test use). */
const READ = /^(Describe|Get|List|Head|Lookup|Filter|Search|Batch(Get|Check)|Validate|Test|StartLiveTail)/;

/**
 * A token bucket that queues: a call that finds no token reserves the next one and waits for it, so
 * callers go out in order, exactly as fast as the bucket refills. It holds one token less than AWS's:
 * a call reaches AWS a little after it leaves here, and AWS's full bucket stops filling from then, so a
 * bucket matched token for token would now and then let a call through a moment early.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly capacity: number;

  constructor(
    readonly rate: BucketRate,
    private readonly now: () => number = Date.now,
  ) {
    this.capacity = Math.max(1, rate.capacity - 1);
    this.tokens = this.capacity;
    this.last = now();
  }

  /** Milliseconds until the token just taken is there (0: at once). */
  take(): number {
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.rate.perSecond) * 1000);
  }

  private waiting: (() => void)[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Resolves when the caller may send, in arrival order. The token is taken when the call goes, not when
   * it queues: a process that stalls (a long garbage collection, a busy machine) wakes to as many tokens
   * as the time that passed refilled, as AWS's bucket does, instead of sending every call whose turn came
   * during the stall at once.
   */
  acquire(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.release();
    });
  }

  private release(unseenMs = 0): void {
    if (this.timer) return;
    this.refill(unseenMs);
    while (this.waiting.length && this.tokens >= 1) {
      this.tokens -= 1;
      this.waiting.shift()!();
    }
    if (!this.waiting.length) return;
    const delay = Math.max(1, Math.ceil(((1 - this.tokens) / this.rate.perSecond) * 1000));
    const set = this.now();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // The clock may stand still or jump back while timers run (a time sync, a test's frozen Date): the
      // part of the timer's wait it did not show is refilled too, or the queue would wait forever.
      this.release(Math.max(0, delay - (this.now() - set)));
    }, delay);
  }

  /** Refill for the time since the last refill (plus `unseenMs` the clock did not show). */
  private refill(unseenMs = 0): void {
    const t = this.now();
    const elapsed = Math.max(0, t - this.last) + unseenMs;
    this.tokens = Math.min(this.capacity, this.tokens + (elapsed / 1000) * this.rate.perSecond);
    this.last = t;
  }
}

/** Every bucket of one process, by service and bucket name. */
export class Pacer {
  private buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly rates: Record<string, ServiceRates> = AWS_RATES,
    private readonly now: () => number = Date.now,
  ) {}

  /** The wait (ms) before `op` of `service` may be sent; reads and unknown services never wait. */
  delayFor(service: string, op: string): number {
    return this.bucketFor(service, op)?.take() ?? 0;
  }

  /** Resolves when `op` of `service` may be sent (TokenBucket.acquire); reads and unknown services go at once. */
  async acquire(service: string, op: string): Promise<void> {
    await this.bucketFor(service, op)?.acquire();
  }

  private bucketFor(service: string, op: string): TokenBucket | undefined {
    const rates = this.rates[service];
    if (!rates || READ.test(op)) return undefined;
    const b = rates.buckets?.find((x) => x.ops.test(op));
    const key = `${service}/${b?.name ?? 'default'}`;
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = new TokenBucket(b?.rate ?? rates.default, this.now)));
    return bucket;
  }
}

/**
 * The client with its `send` paced: mutating commands wait for their bucket's token first. Everything
 * else is the client's own (its config, middleware, destroy).
 */
export function paced<C extends { send: (...args: any[]) => Promise<unknown> }>(
  client: C,
  service: string,
  pacer: Pacer,
): C {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== 'send') {
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      }
      return async (command: { constructor: { name: string } }, ...rest: unknown[]) => {
        await pacer.acquire(service, command.constructor.name.replace(/Command$/, ''));
        return target.send(command, ...rest);
      };
    },
  });
}
