/**
 * SQS queues (JSON protocol error codes, as SDK v3 surfaces them): CreateQueue is idempotent for the
 * same attributes, refuses other attributes (QueueNameExists) and a name deleted less than 60 s ago
 * (QueueDeletedRecently). SendMessage stores messages so tests can fill a dead-letter queue.
 */
import {
  SQSClient, CreateQueueCommand, GetQueueUrlCommand, GetQueueAttributesCommand, SetQueueAttributesCommand, ListQueueTagsCommand,
  TagQueueCommand, UntagQueueCommand, DeleteQueueCommand, SendMessageCommand, ListQueuesCommand, ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { createHash } from 'node:crypto';
import { awsError, type FakeAwsCore } from './core.js';
import type { InventoryEntry } from './index.js';

interface Queue {
  name: string;
  url: string;
  arn: string;
  attributes: Record<string, string>;
  tags: Record<string, string>;
  created: number;
  messages: { id: string; body: string; sentAt?: number; attributes?: Record<string, string> }[];
}

/** What a new queue has unless CreateQueue says otherwise. */
const DEFAULTS: Record<string, string> = {
  DelaySeconds: '0', MaximumMessageSize: '262144', MessageRetentionPeriod: '345600', ReceiveMessageWaitTimeSeconds: '0',
  VisibilityTimeout: '30', SqsManagedSseEnabled: 'true',
};
const SETTABLE = new Set([...Object.keys(DEFAULTS), 'Policy', 'RedrivePolicy', 'RedriveAllowPolicy', 'KmsMasterKeyId', 'KmsDataKeyReusePeriodSeconds', 'FifoQueue', 'ContentBasedDeduplication']);
const DELETED_NAME_HOLD_MS = 60_000;

export class FakeSqs {
  readonly queues = new Map<string, Queue>();
  /** Name -> when it was deleted. */
  private deletedAt = new Map<string, number>();

  constructor(readonly core: FakeAwsCore) {
    core.peers.set('sqs', this);
    const gone = (): never => awsError('QueueDoesNotExist', 'The specified queue does not exist.', 400);
    const byUrl = (url: string | undefined): Queue => [...this.queues.values()].find((q) => q.url === url) ?? gone();
    const checkAttributes = (attrs: Record<string, string>) => {
      for (const k of Object.keys(attrs)) if (!SETTABLE.has(k)) awsError('InvalidAttributeName', `Unknown Attribute ${k}.`, 400);
      const ret = attrs.MessageRetentionPeriod;
      if (ret !== undefined && !(Number(ret) >= 60 && Number(ret) <= 1209600)) {
        awsError('InvalidAttributeValue', `Invalid value for the parameter MessageRetentionPeriod.`, 400);
      }
    };

    core.register({
      name: 'sqs',
      client: SQSClient,
      ops: {
        CreateQueue: {
          command: CreateQueueCommand,
          handle: (i) => {
            const name: string = i.QueueName ?? '';
            if (!/^[A-Za-z0-9_-]{1,80}(\.fifo)?$/.test(name)) awsError('InvalidParameterValue', 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length', 400);
            const attrs: Record<string, string> = { ...(i.Attributes ?? {}) };
            checkAttributes(attrs);
            const existing = this.queues.get(name);
            if (existing) {
              const differing = Object.entries(attrs).filter(([k, v]) => existing.attributes[k] !== v).map(([k]) => k);
              if (differing.length) awsError('QueueNameExists', `A queue already exists with the same name and a different value for attribute ${differing[0]}`, 400);
              return { QueueUrl: existing.url };
            }
            const deleted = this.deletedAt.get(name);
            if (deleted !== undefined && core.now() - deleted < DELETED_NAME_HOLD_MS) {
              awsError('QueueDeletedRecently', 'You must wait 60 seconds after deleting a queue before you can create another with the same name.', 400);
            }
            const q: Queue = {
              name, url: `https://sqs.${core.region}.amazonaws.com/${core.account}/${name}`,
              arn: `arn:${core.partition}:sqs:${core.region}:${core.account}:${name}`,
              attributes: { ...DEFAULTS, ...attrs }, tags: { ...(i.tags ?? {}) }, created: core.now(), messages: [],
            };
            this.queues.set(name, q);
            core.label(q.arn, q.tags['batchctl:logical'] ?? name);
            core.label(q.url, q.tags['batchctl:logical'] ?? name);
            return { QueueUrl: q.url };
          },
        },
        GetQueueUrl: {
          command: GetQueueUrlCommand,
          handle: (i) => {
            if (i.QueueOwnerAWSAccountId && i.QueueOwnerAWSAccountId !== core.account) gone();
            return { QueueUrl: (this.queues.get(i.QueueName ?? '') ?? gone()).url };
          },
        },
        ListQueues: {
          command: ListQueuesCommand,
          handle: (i) => ({ QueueUrls: [...this.queues.values()].filter((q) => !i.QueueNamePrefix || q.name.startsWith(i.QueueNamePrefix)).map((q) => q.url) }),
        },
        GetQueueAttributes: {
          command: GetQueueAttributesCommand,
          handle: (i) => {
            const q = byUrl(i.QueueUrl);
            const all: Record<string, string> = {
              ...q.attributes, QueueArn: q.arn,
              ApproximateNumberOfMessages: String(q.messages.length), ApproximateNumberOfMessagesNotVisible: '0', ApproximateNumberOfMessagesDelayed: '0',
              CreatedTimestamp: String(Math.floor(q.created / 1000)), LastModifiedTimestamp: String(Math.floor(q.created / 1000)),
            };
            const names: string[] = i.AttributeNames ?? [];
            if (names.includes('All')) return { Attributes: all };
            for (const n of names) if (!(n in all) && !SETTABLE.has(n)) awsError('InvalidAttributeName', `Unknown Attribute ${n}.`, 400);
            return { Attributes: Object.fromEntries(names.filter((n) => n in all).map((n) => [n, all[n]!])) };
          },
        },
        SetQueueAttributes: {
          command: SetQueueAttributesCommand,
          handle: (i) => {
            const q = byUrl(i.QueueUrl);
            checkAttributes(i.Attributes ?? {});
            Object.assign(q.attributes, i.Attributes);
            return {};
          },
        },
        ListQueueTags: { command: ListQueueTagsCommand, handle: (i) => ({ Tags: { ...byUrl(i.QueueUrl).tags } }) },
        TagQueue: {
          command: TagQueueCommand,
          handle: (i) => {
            Object.assign(byUrl(i.QueueUrl).tags, i.Tags);
            return {};
          },
        },
        UntagQueue: {
          command: UntagQueueCommand,
          handle: (i) => {
            const q = byUrl(i.QueueUrl);
            for (const k of i.TagKeys ?? []) delete q.tags[k];
            return {};
          },
        },
        DeleteQueue: {
          command: DeleteQueueCommand,
          handle: (i) => {
            const q = byUrl(i.QueueUrl);
            this.queues.delete(q.name);
            this.deletedAt.set(q.name, core.now());
            return {};
          },
        },
        SendMessage: {
          command: SendMessageCommand,
          handle: (i) => {
            const q = byUrl(i.QueueUrl);
            const body: string = i.MessageBody ?? '';
            if (!body.length) awsError('InvalidParameterValue', 'The request must contain the parameter MessageBody.', 400);
            const id = core.newId('msg', 12);
            q.messages.push({ id, body });
            return { MessageId: id, MD5OfMessageBody: createHash('md5').update(body).digest('hex') };
          },
        },
        ReceiveMessage: {
          command: ReceiveMessageCommand,
          handle: (i) => {
            const q = byUrl(i.QueueUrl);
            const max = i.MaxNumberOfMessages ?? 1;
            if (max < 1 || max > 10) awsError('InvalidParameterValue', 'Value for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.', 400);
            // Only VisibilityTimeout 0 is modelled (nothing is hidden): what a reader that must not consume uses.
            if (i.VisibilityTimeout !== 0) throw new Error('fake SQS: ReceiveMessage models VisibilityTimeout 0 only');
            const wantAttrs = (i.MessageAttributeNames ?? []).length > 0;
            return {
              Messages: q.messages.slice(0, max).map((m) => ({
                MessageId: m.id, ReceiptHandle: `rh-${m.id}`, Body: m.body, MD5OfBody: createHash('md5').update(m.body).digest('hex'),
                Attributes: { SentTimestamp: String(m.sentAt ?? core.now()) },
                ...(wantAttrs && m.attributes ? { MessageAttributes: Object.fromEntries(Object.entries(m.attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }])) } : {}),
              })),
            };
          },
        },
      },
    });
  }

  /**
   * Test helper: what EventBridge or Scheduler puts in a dead-letter queue for an invocation it gave up
   * on (the event or target input as the body, RULE_ARN/SCHEDULE_ARN, ERROR_CODE... as attributes).
   */
  addDeadLetter(queueName: string, body: string, attributes: Record<string, string>): void {
    const q = this.queues.get(queueName);
    if (!q) throw new Error(`fake SQS: no queue ${queueName}`);
    q.messages.push({ id: this.core.newId('msg', 12), body, sentAt: this.core.now(), attributes });
  }

  /** Queues with their settings (message counts are state, not settings: left out). */
  inventory(): InventoryEntry[] {
    return [...this.queues.values()].map((q) => ({
      type: 'sqs.queue', key: q.tags['batchctl:logical'] ?? q.name,
      settings: { name: q.name, attributes: q.attributes, tags: q.tags },
    }));
  }
}
