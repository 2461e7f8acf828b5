/**
 * Reading the stack's dead-letter queue without consuming it: the invocations EventBridge (a rule's
 * target) or EventBridge Scheduler (a schedule's target) could not deliver, mapped back to the jobs.
 *
 * What each service writes (message attributes, all of DataType String):
 * - EventBridge rule targets: RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE, RETRY_ATTEMPTS and, when a
 *   retry limit ended the delivery, EXHAUSTED_RETRY_CONDITION (MaximumRetryAttempts or
 *   MaximumEventAgeInSeconds). The body is the event itself, whose `time` is the scheduled time.
 * - EventBridge Scheduler: SCHEDULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE, EXECUTION_ID,
 *   SCHEDULED_TIME, RETRY_ATTEMPTS, IS_PAYLOAD_TRUNCATED, EXHAUSTED_RETRY_CONDITION. The body is the
 *   target's input.
 *
 * SQS has no "peek": ReceiveMessage with VisibilityTimeout 0 leaves every message visible, so nothing is
 * consumed, but a short-poll receive samples a subset of SQS's servers and may return the same messages
 * again. The total therefore comes from ApproximateNumberOfMessages; the per-job counts and the newest
 * error come from the messages sampled (all of them for a queue of a few dozen messages, usually).
 */
import type { SQSClient, Message } from '@aws-sdk/client-sqs';
import type { StackConfig } from '../config/schema.js';
import { isNotFound } from '../base/errors.js';
import { SQS_QUEUE_GONE } from '../model/aws-errors.js';

/** One invocation EventBridge or Scheduler could not deliver. */
export interface DeadLetter {
  /**
   * The job whose rule or schedule sent it (from RULE_ARN / SCHEDULE_ARN); undefined for a name no job of the config
   * has.
   */
  job: string | undefined;
  /** When SQS received it (SentTimestamp): when the delivery was given up. */
  sentAt: Date;
  /** The time the run was due: the event's `time` (rule) or SCHEDULED_TIME (scheduler), ISO. */
  scheduledTime: string | undefined;
  /** ERROR_CODE, e.g. `NO_PERMISSIONS`, `THROTTLING`, `SDK_CLIENT_ERROR`. */
  errorCode: string | undefined;
  /** ERROR_MESSAGE: AWS's text (RunTask's refusal, or the failures[] reason). */
  errorMessage: string | undefined;
  /** Which service dead-lettered it. */
  source: 'rule' | 'scheduler';
  /** RULE_ARN or SCHEDULE_ARN as sent. */
  sourceArn?: string;
  /** EXHAUSTED_RETRY_CONDITION, when a retry limit ended the delivery (absent for errors never retried). */
  exhaustedRetryCondition?: string;
  /** RETRY_ATTEMPTS. */
  retryAttempts?: number;
  /** The SQS message id (samples are de-duplicated by it). */
  messageId: string;
}

/** The dead-letter queue as read. */
export interface DeadLetterSummary {
  /** Messages in the queue (ApproximateNumberOfMessages: SQS's estimate, every job and unknown ones included). */
  count: number;
  /** Per job name, from the sample: how many, and the newest (by sentAt). */
  perJob: Map<string, { count: number; newest?: DeadLetter }>;
  /** Every message read, newest first. */
  sampled: DeadLetter[];
  /** True when the sample holds every message of the queue (sampled.length >= count). */
  complete: boolean;
}

/** Receive calls at most, whatever `max` says: a status must stay quick on a full queue. */
export const MAX_RECEIVE_CALLS = 10;
/** ReceiveMessage returns at most 10 messages a call. */
const PER_CALL = 10;

const attr = (m: Message, name: string): string | undefined => m.MessageAttributes?.[name]?.StringValue;

/** The job of a rule ARN (`...:rule/<name>`) or schedule ARN (`...:schedule/<group>/<name>`). */
export function jobOfSourceArn(config: StackConfig, sourceArn: string | undefined): string | undefined {
  if (!sourceArn) return undefined;
  const rule = /:rule\/(?:[^/]+\/)?([^/]+)$/.exec(sourceArn);
  if (rule) return config.jobs.find((j) => j.schedule.engine === 'rule' && j.schedule.name === rule[1])?.name;
  const sched = /:schedule\/([^/]+)\/([^/]+)$/.exec(sourceArn);
  if (sched) return config.jobs.find((j) => j.schedule.engine === 'scheduler' && j.schedule.name === sched[2])?.name;
  return undefined;
}

/** The scheduled time a dead-lettered message carries: SCHEDULED_TIME, else the event's `time` in the body. */
function scheduledTimeOf(m: Message): string | undefined {
  const t = attr(m, 'SCHEDULED_TIME');
  if (t) return t;
  try {
    const body = JSON.parse(m.Body ?? '') as { time?: unknown };
    return typeof body.time === 'string' ? body.time : undefined;
  } catch {
    return undefined;
  }
}

/** One SQS message as a DeadLetter. */
export function toDeadLetter(config: StackConfig, m: Message): DeadLetter {
  const ruleArn = attr(m, 'RULE_ARN');
  const scheduleArn = attr(m, 'SCHEDULE_ARN');
  const sourceArn = ruleArn ?? scheduleArn;
  const retries = attr(m, 'RETRY_ATTEMPTS');
  const exhausted = attr(m, 'EXHAUSTED_RETRY_CONDITION');
  return {
    job: jobOfSourceArn(config, sourceArn),
    sentAt: new Date(Number(m.Attributes?.SentTimestamp ?? 0)),
    scheduledTime: scheduledTimeOf(m),
    errorCode: attr(m, 'ERROR_CODE'),
    errorMessage: attr(m, 'ERROR_MESSAGE'),
    source: ruleArn ? 'rule' : 'scheduler',
    ...(sourceArn ? { sourceArn } : {}),
    ...(exhausted ? { exhaustedRetryCondition: exhausted } : {}),
    ...(retries !== undefined && retries !== '' ? { retryAttempts: Number(retries) } : {}),
    messageId: m.MessageId ?? '',
  };
}

/**
 * Read the dead-letter queue without consuming it (see the file's comment). `max`: messages to sample at
 * most (default 100; the calls are bounded by MAX_RECEIVE_CALLS too). A missing queue reads as empty.
 */
export async function readDeadLetters(
  sqs: SQSClient,
  queueUrl: string,
  config: StackConfig,
  opts: { max?: number } = {},
): Promise<DeadLetterSummary> {
  const { GetQueueAttributesCommand, ReceiveMessageCommand } = await import('../aws/sdk/sqs.js');
  const empty = (): DeadLetterSummary => ({ count: 0, perJob: new Map(), sampled: [], complete: true });
  let count: number;
  try {
    const out = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    count = Number(out.Attributes?.ApproximateNumberOfMessages ?? 0);
  } catch (err) {
    if (isNotFound(err, ...SQS_QUEUE_GONE)) return empty();
    throw err;
  }
  const max = Math.max(0, opts.max ?? 100);
  const seen = new Map<string, DeadLetter>();
  const calls = Math.min(MAX_RECEIVE_CALLS, Math.ceil(Math.min(max, count) / PER_CALL) + 1);
  for (let i = 0; count > 0 && i < calls && seen.size < Math.min(max, count); i++) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: PER_CALL,
        // 0: the messages stay visible, so reading them here takes nothing from anyone (nor from the alarm).
        VisibilityTimeout: 0,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['SentTimestamp'],
      }),
    );
    const before = seen.size;
    for (const m of out.Messages ?? [])
      if (m.MessageId && !seen.has(m.MessageId)) seen.set(m.MessageId, toDeadLetter(config, m));
    // Nothing new: this short poll reached only servers already sampled (or the queue emptied).
    if (seen.size === before) break;
  }
  const sampled = [...seen.values()].sort((a, b) => b.sentAt.getTime() - a.sentAt.getTime()).slice(0, max || undefined);
  const perJob = new Map<string, { count: number; newest?: DeadLetter }>();
  for (const d of sampled) {
    if (d.job === undefined) continue;
    const e = perJob.get(d.job) ?? { count: 0 };
    e.count += 1;
    if (!e.newest) e.newest = d;
    perJob.set(d.job, e);
  }
  return { count: Math.max(count, sampled.length), perJob, sampled, complete: sampled.length >= count };
}
