/**
 * AWS's control-plane throttling, as each service answers it: a token bucket per throttling bucket for
 * mutating calls, and when it is empty the service's own throttling error (code and HTTP status as AWS
 * returns them). Reads are not throttled here: AWS allows far more of them than batchctl makes.
 *
 * Errors, per service (what the SDK sees as the error's name; every one is in the SDK's list of
 * throttling codes, @smithy/service-error-classification, which a test checks):
 *   EC2 RequestLimitExceeded (503), IAM and STS Throttling (400), ECS, EventBridge, CloudWatch Logs, ECR
 *   and Secrets Manager ThrottlingException (400), EventBridge Scheduler ThrottlingException (429), SQS
 *   RequestThrottled (400), SNS Throttled (400, the SDK's ThrottledException), S3 SlowDown (503).
 *
 * Rates (bucket size / refill per second), from AWS's documentation where it gives them:
 *   EC2 mutating actions 50 / 5 (documented). ECS task definition changes 20 / 1 (RegisterTaskDefinition
 *   and DeregisterTaskDefinition share it; widely reported), RunTask 100 / 40 (documented), other changes
 *   20 / 5. IAM publishes none: 10 / 5 for writes, the low end of what is reported. EventBridge 50 / 50
 *   (every API but PutEvents, documented), Scheduler 50 / 50 (documented), CloudWatch Logs 5 / 5 for
 *   CreateLogGroup, PutRetentionPolicy and tagging (documented), Secrets Manager 50 / 50 (documented),
 *   ECR, S3 bucket settings, SNS, SQS 10-20 / s (not documented; a stack sends a few).
 */
import type { FakeAwsError } from './core.js';

/** One bucket: burst size and refill per second. */
export interface Bucket {
  capacity: number;
  perSecond: number;
}

/** How one service throttles mutating calls. */
export interface ServiceThrottling {
  error: { code: string; status: number; message: string };
  /** Operations with a bucket of their own (matched in order), then the service's bucket. */
  special?: [RegExp, string, Bucket][];
  bucket: Bucket;
}

const rate = (capacity: number, perSecond: number): Bucket => ({ capacity, perSecond });
const throttling = (code: string, status = 400, message = 'Rate exceeded') => ({ code, status, message });

/** By the fake's service names. */
export const AWS_THROTTLING: Record<string, ServiceThrottling> = {
  ec2: { error: throttling('RequestLimitExceeded', 503, 'Request limit exceeded.'), bucket: rate(50, 5) },
  ecs: {
    error: throttling('ThrottlingException'),
    special: [
      [/^(Register|Deregister|Delete)TaskDefinition/, 'task-definitions', rate(20, 1)],
      [/^RunTask$/, 'run-task', rate(100, 40)],
    ],
    bucket: rate(20, 5),
  },
  iam: { error: throttling('Throttling'), bucket: rate(10, 5) },
  eventbridge: { error: throttling('ThrottlingException'), bucket: rate(50, 50) },
  scheduler: { error: throttling('ThrottlingException', 429), bucket: rate(50, 50) },
  logs: { error: throttling('ThrottlingException'), bucket: rate(5, 5) },
  ecr: { error: throttling('ThrottlingException'), bucket: rate(10, 10) },
  secretsManager: { error: throttling('ThrottlingException'), bucket: rate(50, 50) },
  sqs: { error: throttling('RequestThrottled', 400, 'Request is throttled.'), bucket: rate(20, 20) },
  sns: { error: throttling('ThrottledException'), bucket: rate(20, 20) },
  s3: { error: throttling('SlowDown', 503, 'Please reduce your request rate.'), bucket: rate(20, 20) },
  sts: { error: throttling('Throttling'), bucket: rate(20, 20) },
  cloudwatch: { error: throttling('Throttling', 400, 'Rate exceeded'), bucket: rate(3, 3) },
  // Parameter Store's standard throughput is shared by GetParameter(s) and PutParameter (SSM user guide,
  // "Changing Parameter Store throughput"); the rate per action is not published: a low one.
  ssm: { error: throttling('ThrottlingException'), bucket: rate(10, 3) },
  sfn: {
    error: throttling('ThrottlingException'),
    special: [[/^StartExecution$/, 'start-execution', rate(800, 150)]],
    bucket: rate(100, 1),
  },
};

/** The buckets of one fake account and region, refilled continuously by the (possibly faked) clock. */
export class Throttler {
  private state = new Map<string, { tokens: number; last: number }>();
  /** Throttled calls, per bucket (`service/bucket`). */
  readonly throttled = new Map<string, number>();
  /** Calls let through, per bucket. */
  readonly passed = new Map<string, number>();

  constructor(
    readonly model: Record<string, ServiceThrottling> = AWS_THROTTLING,
    private readonly now: () => number = Date.now,
  ) {}

  /** The bucket a mutating call draws from, or undefined when the service is not modelled. */
  bucketOf(service: string, op: string): { key: string; rate: Bucket; error: ServiceThrottling['error'] } | undefined {
    const m = this.model[service];
    if (!m) return undefined;
    const special = m.special?.find(([re]) => re.test(op));
    return special
      ? { key: `${service}/${special[1]}`, rate: special[2], error: m.error }
      : { key: `${service}/default`, rate: m.bucket, error: m.error };
  }

  /** A bucket's rate, by its key (`service/bucket`). */
  rateOf(key: string): Bucket | undefined {
    const [service, name] = key.split('/');
    const m = this.model[service!];
    return name === 'default' ? m?.bucket : m?.special?.find(([, n]) => n === name)?.[2];
  }

  /** Take a token for the call; the service's error when there is none. */
  check(service: string, op: string): ServiceThrottling['error'] | undefined {
    const b = this.bucketOf(service, op);
    if (!b) return undefined;
    const t = this.now();
    const s = this.state.get(b.key) ?? { tokens: b.rate.capacity, last: t };
    s.tokens = Math.min(b.rate.capacity, s.tokens + ((t - s.last) / 1000) * b.rate.perSecond);
    s.last = t;
    this.state.set(b.key, s);
    if (s.tokens < 1) {
      this.throttled.set(b.key, (this.throttled.get(b.key) ?? 0) + 1);
      return b.error;
    }
    s.tokens -= 1;
    this.passed.set(b.key, (this.passed.get(b.key) ?? 0) + 1);
    return undefined;
  }
}

/** Marks an error the SDK's retry strategy handles (the fake emulates it: mocked clients skip the middleware). */
export function retriedBySdk(err: FakeAwsError): FakeAwsError {
  return Object.assign(err, { sdkRetries: true });
}
