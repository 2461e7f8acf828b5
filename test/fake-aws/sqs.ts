/**
 * SQS queues (JSON protocol error codes, as SDK v3 surfaces them): CreateQueue is idempotent for the
 * same attributes, refuses other attributes (QueueNameExists) and a name deleted less than 60 s ago
 * (QueueDeletedRecently). SendMessage stores messages so tests can fill a dead-letter queue.
 *
 * ReceiveMessage models a short poll: it returns up to 10 visible messages from a sample of them (at
 * most `sampleSize` a call, in an order that varies), and with VisibilityTimeout 0 they stay visible.
 * A service (EventBridge dead-lettering a rule's invocation) sends through `sendFromService`, which
 * applies the queue's policy as SQS does for a service principal.
 */
import {
  SQSClient,
  CreateQueueCommand,
  GetQueueUrlCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  ListQueueTagsCommand,
  TagQueueCommand,
  UntagQueueCommand,
  DeleteQueueCommand,
  SendMessageCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  type MessageAttributeValue,
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
  messages: Message[];
}

interface Message {
  id: string;
  body: string;
  attributes: Record<string, MessageAttributeValue>;
  sentAt: number;
  /** Hidden until (ms), after a receive with a visibility timeout. */
  invisibleUntil: number;
  receiveCount: number;
}

/** What a new queue has unless CreateQueue says otherwise. */
const DEFAULTS: Record<string, string> = {
  DelaySeconds: '0',
  MaximumMessageSize: '262144',
  MessageRetentionPeriod: '345600',
  ReceiveMessageWaitTimeSeconds: '0',
  VisibilityTimeout: '30',
  SqsManagedSseEnabled: 'true',
};
const SETTABLE = new Set([
  ...Object.keys(DEFAULTS),
  'Policy',
  'RedrivePolicy',
  'RedriveAllowPolicy',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
  'FifoQueue',
  'ContentBasedDeduplication',
]);

export class FakeSqs {
  readonly queues = new Map<string, Queue>();
  /** Name -> when it was deleted. */
  private deletedAt = new Map<string, number>();
  /**
   * How long SQS refuses a deleted queue's name (60 s, documented). A test that runs `down` then `up` at
   * once and is not about this sets it to 0: `up` would otherwise wait out the minute in real time.
   */
  deletedNameHoldMs = 60_000;
  /**
   * For this long after CreateQueue, calls naming the new queue's URL answer QueueDoesNotExist: SQS
   * documents that a new queue can take a moment to become available.
   */
  visibilityLagMs = 0;
  /** Messages a short-poll ReceiveMessage looks at, at most (SQS samples a subset of its servers). */
  sampleSize = 10;

  constructor(readonly core: FakeAwsCore) {
    core.peers.set('sqs', this);
    const gone = (): never => awsError('QueueDoesNotExist', 'The specified queue does not exist.', 400);
    const byUrl = (url: string | undefined): Queue => {
      const q = [...this.queues.values()].find((x) => x.url === url) ?? gone();
      return this.visibilityLagMs > 0 && core.now() - q.created < this.visibilityLagMs ? gone() : q;
    };
    const checkAttributes = (attrs: Record<string, string>) => {
      for (const k of Object.keys(attrs))
        if (!SETTABLE.has(k)) awsError('InvalidAttributeName', `Unknown Attribute ${k}.`, 400);
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
            if (!/^[A-Za-z0-9_-]{1,80}(\.fifo)?$/.test(name))
              awsError(
                'InvalidParameterValue',
                'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
                400,
              );
            const attrs: Record<string, string> = { ...(i.Attributes ?? {}) };
            checkAttributes(attrs);
            const existing = this.queues.get(name);
            if (existing) {
              const differing = Object.entries(attrs)
                .filter(([k, v]) => existing.attributes[k] !== v)
                .map(([k]) => k);
              if (differing.length)
                awsError(
                  'QueueNameExists',
                  `A queue already exists with the same name and a different value for attribute ${differing[0]}`,
                  400,
                );
              return { QueueUrl: existing.url };
            }
            const deleted = this.deletedAt.get(name);
            if (deleted !== undefined && core.now() - deleted < this.deletedNameHoldMs) {
              awsError(
                'QueueDeletedRecently',
                'You must wait 60 seconds after deleting a queue before you can create another with the same name.',
                400,
              );
            }
            const q: Queue = {
              name,
              url: `https://sqs.${core.region}.amazonaws.com/${core.account}/${name}`,
              arn: `arn:${core.partition}:sqs:${core.region}:${core.account}:${name}`,
              attributes: { ...DEFAULTS, ...attrs },
              tags: { ...(i.tags ?? {}) },
              created: core.now(),
              messages: [],
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
          handle: (i) => ({
            QueueUrls: [...this.queues.values()]
              .filter((q) => !i.QueueNamePrefix || q.name.startsWith(i.QueueNamePrefix))
              .map((q) => q.url),
          }),
        },
        GetQueueAttributes: {
          command: GetQueueAttributesCommand,
          handle: (i) => {
            const q = byUrl(i.QueueUrl);
            const all: Record<string, string> = {
              ...q.attributes,
              QueueArn: q.arn,
              ApproximateNumberOfMessages: String(q.messages.filter((m) => m.invisibleUntil <= core.now()).length),
              ApproximateNumberOfMessagesNotVisible: String(
                q.messages.filter((m) => m.invisibleUntil > core.now()).length,
              ),
              ApproximateNumberOfMessagesDelayed: '0',
              CreatedTimestamp: String(Math.floor(q.created / 1000)),
              LastModifiedTimestamp: String(Math.floor(q.created / 1000)),
            };
            const names: string[] = i.AttributeNames ?? [];
            if (names.includes('All')) return { Attributes: all };
            for (const n of names)
              if (!(n in all) && !SETTABLE.has(n)) awsError('InvalidAttributeName', `Unknown Attribute ${n}.`, 400);
            return { Attributes: Object.fromEntries(names.filter((n) => n in all).map((n) => [n, all[n]!])) };
          },
        },
        SetQueueAttributes: {
          command: SetQueueAttributesCommand,
          handle: (i) => {
            const q = byUrl(i.QueueUrl);
            checkAttributes(i.Attributes ?? {});
            Object.assign(q.attributes, i.Attributes);
            // An empty Policy removes the queue's policy.
            if (q.attributes.Policy === '') delete q.attributes.Policy;
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
            if (!body.length)
              awsError('InvalidParameterValue', 'The request must contain the parameter MessageBody.', 400);
            const id = this.push(q, body, i.MessageAttributes ?? {});
            return { MessageId: id, MD5OfMessageBody: createHash('md5').update(body).digest('hex') };
          },
        },
        ReceiveMessage: {
          command: ReceiveMessageCommand,
          mutating: false,
          handle: (i) => {
            const q = byUrl(i.QueueUrl);
            const max = i.MaxNumberOfMessages ?? 1;
            if (max < 1 || max > 10)
              awsError(
                'InvalidParameterValue',
                'Value for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.',
                400,
              );
            const now = core.now();
            const visible = q.messages.filter((m) => m.invisibleUntil <= now);
            // A short poll: each call samples the next "servers" (a window of sampleSize), cycling, so a
            // reader sees a queue larger than a window only over several calls, and then the same again.
            const start = visible.length ? (this.rotation++ * this.sampleSize) % visible.length : 0;
            const sample = [...visible.slice(start), ...visible.slice(0, start)]
              .slice(0, this.sampleSize)
              .slice(0, max);
            const timeout = i.VisibilityTimeout ?? Number(q.attributes.VisibilityTimeout ?? 30);
            const names: string[] = i.MessageAttributeNames ?? [];
            const system: string[] = [...(i.MessageSystemAttributeNames ?? []), ...(i.AttributeNames ?? [])];
            return {
              Messages: sample.map((m) => {
                m.receiveCount += 1;
                m.invisibleUntil = now + timeout * 1000;
                const attrs =
                  names.includes('All') || names.includes('.*')
                    ? m.attributes
                    : Object.fromEntries(Object.entries(m.attributes).filter(([k]) => names.includes(k)));
                const sys: Record<string, string> = {
                  SentTimestamp: String(m.sentAt),
                  ApproximateReceiveCount: String(m.receiveCount),
                };
                return {
                  MessageId: m.id,
                  ReceiptHandle: `rh-${m.id}-${m.receiveCount}`,
                  Body: m.body,
                  MD5OfBody: createHash('md5').update(m.body).digest('hex'),
                  ...(Object.keys(attrs).length ? { MessageAttributes: structuredClone(attrs) } : {}),
                  ...(system.length
                    ? {
                        Attributes: Object.fromEntries(
                          Object.entries(sys).filter(([k]) => system.includes(k) || system.includes('All')),
                        ),
                      }
                    : {}),
                };
              }),
            };
          },
        },
      },
    });
  }

  private rotation = 0;

  private push(q: Queue, body: string, attributes: Record<string, MessageAttributeValue>): string {
    const id = this.core.newId('msg', 12);
    q.messages.push({
      id,
      body,
      attributes: structuredClone(attributes),
      sentAt: this.core.now(),
      invisibleUntil: 0,
      receiveCount: 0,
    });
    return id;
  }

  /** The queue of an ARN. */
  byArn(arn: string | undefined): Queue | undefined {
    return [...this.queues.values()].find((q) => q.arn === arn);
  }

  /** Visible messages of a queue by name (what ApproximateNumberOfMessagesVisible reports). */
  visibleCount(name: string): number | undefined {
    const q = this.queues.get(name);
    return q && q.messages.filter((m) => m.invisibleUntil <= this.core.now()).length;
  }

  /**
   * A service principal (`events.amazonaws.com`) sends to a queue on behalf of `sourceArn`: only when the
   * queue's policy allows that principal sqs:SendMessage with an aws:SourceArn condition the source
   * meets (ArnEquals/StringEquals, ArnLike/StringLike with `*`). No policy: refused, as SQS does for a
   * service principal. Returns whether the message was stored.
   */
  sendFromService(
    queueArn: string,
    service: string,
    sourceArn: string,
    body: string,
    attributes: Record<string, MessageAttributeValue>,
  ): boolean {
    const q = this.byArn(queueArn);
    if (!q || !this.policyAdmits(q, service, sourceArn)) return false;
    this.push(q, body, attributes);
    return true;
  }

  /**
   * A role of this account sends (Scheduler dead-letters with the schedule's role): its identity policy
   * decides (the caller checks it), the queue policy is not needed in the same account.
   */
  sendAsRole(queueArn: string, body: string, attributes: Record<string, MessageAttributeValue>): boolean {
    const q = this.byArn(queueArn);
    if (!q) return false;
    this.push(q, body, attributes);
    return true;
  }

  private policyAdmits(q: Queue, service: string, sourceArn: string): boolean {
    let doc: { Statement?: any[] };
    try {
      doc = JSON.parse(q.attributes.Policy ?? '{}');
    } catch {
      return false;
    }
    const list = (v: unknown) => (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String);
    const like = (pattern: string, value: string) =>
      new RegExp(
        `^${pattern
          .split('*')
          .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
      ).test(value);
    return (doc.Statement ?? []).some((s) => {
      if (s.Effect !== 'Allow') return false;
      if (!list(s.Principal?.Service).includes(service) && s.Principal !== '*') return false;
      if (!list(s.Action).some((a) => ['sqs:sendmessage', 'sqs:*', '*'].includes(a.toLowerCase()))) return false;
      if (!list(s.Resource).some((r) => r === q.arn || like(r, q.arn))) return false;
      const cond = s.Condition as Record<string, Record<string, unknown>> | undefined;
      if (!cond) return true;
      return Object.entries(cond).every(([op, kv]) =>
        Object.entries(kv).every(([k, v]) => {
          if (k.toLowerCase() !== 'aws:sourcearn')
            return k.toLowerCase() === 'aws:sourceaccount' && list(v).includes(this.core.account);
          if (op === 'ArnEquals' || op === 'StringEquals') return list(v).includes(sourceArn);
          if (op === 'ArnLike' || op === 'StringLike') return list(v).some((p) => like(p, sourceArn));
          return false;
        }),
      );
    });
  }

  /** Queues with their settings (message counts are state, not settings: left out). */
  inventory(): InventoryEntry[] {
    return [...this.queues.values()].map((q) => ({
      type: 'sqs.queue',
      key: q.tags['batchctl:logical'] ?? q.name,
      settings: { name: q.name, attributes: { ...q.attributes }, tags: { ...q.tags } },
    }));
  }
}
