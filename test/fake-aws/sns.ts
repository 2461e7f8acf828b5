import {
  SNSClient,
  CreateTopicCommand,
  GetTopicAttributesCommand,
  SetTopicAttributesCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
  SubscribeCommand,
  ListSubscriptionsByTopicCommand,
  UnsubscribeCommand,
  DeleteTopicCommand,
  PublishCommand,
} from '@aws-sdk/client-sns';
import { awsError, recordToTags, tagsToRecord, type FakeAwsCore } from './core.js';
import type { InventoryEntry } from './index.js';

interface Sub {
  arn: string;
  topicArn: string;
  protocol: string;
  endpoint: string;
  confirmed: boolean;
}

interface Topic {
  name: string;
  arn: string;
  attributes: Record<string, string>;
  tags: Record<string, string>;
}

/** A message the topic accepted. */
export interface Published {
  topicArn: string;
  message: string;
  subject?: string;
  /** Who published: `events` for an EventBridge delivery, `cloudwatch` for an alarm's action, else `api`. */
  via: 'api' | 'events' | 'cloudwatch';
  /** The e-mail addresses it reached (confirmed subscriptions only). */
  deliveredTo: string[];
}

const SETTABLE = ['Policy', 'DisplayName', 'DeliveryPolicy', 'KmsMasterKeyId', 'TracingConfig', 'SignatureVersion'];
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/**
 * SNS topics, e-mail subscriptions (pending until a test confirms them, as a recipient clicking the
 * link would) and published messages. Errors use the codes the SDK surfaces: NotFoundException for a
 * missing topic or subscription, InvalidParameterException for bad input, ResourceNotFoundException from
 * the tagging API.
 */
export class FakeSns {
  readonly topics = new Map<string, Topic>();
  readonly subs = new Map<string, Sub>();
  readonly published: Published[] = [];
  /** ListSubscriptionsByTopic page size (AWS: 100); tests lower it to exercise paging. */
  pageSize = 100;

  constructor(readonly core: FakeAwsCore) {
    core.peers.set('sns', this);
    const topic = (arn: string | undefined): Topic =>
      this.topics.get(arn ?? '') ?? awsError('NotFoundException', 'Topic does not exist', 404);
    const invalid = (msg: string): never => awsError('InvalidParameterException', `Invalid parameter: ${msg}`, 400);

    core.register({
      name: 'sns',
      client: SNSClient,
      ops: {
        CreateTopic: {
          command: CreateTopicCommand,
          handle: (i) => {
            if (!/^[A-Za-z0-9_-]{1,256}$/.test(i.Name ?? '')) invalid('Topic Name');
            const arn = `arn:${core.partition}:sns:${core.region}:${core.account}:${i.Name}`;
            const attrs: Record<string, string> = { ...(i.Attributes ?? {}) };
            for (const k of Object.keys(attrs))
              if (!SETTABLE.includes(k)) invalid(`Attributes Reason: Unknown attribute ${k}`);
            if (attrs.Policy) this.checkPolicy(attrs.Policy);
            const existing = this.topics.get(arn);
            if (existing) {
              // Idempotent by name, but only for the same request: other tags or attributes are an error.
              const tags = tagsToRecord(i.Tags);
              if (
                i.Tags &&
                JSON.stringify(Object.entries(tags).sort()) !== JSON.stringify(Object.entries(existing.tags).sort())
              ) {
                invalid('Tags Reason: Topic already exists with different tags');
              }
              if (Object.entries(attrs).some(([k, v]) => existing.attributes[k] !== v))
                invalid('Attributes Reason: Topic already exists with different attributes');
              return { TopicArn: arn };
            }
            this.topics.set(arn, {
              name: i.Name,
              arn,
              attributes: { Policy: this.defaultPolicy(arn), ...attrs },
              tags: tagsToRecord(i.Tags),
            });
            core.label(arn, tagsToRecord(i.Tags)['batchctl:logical'] ?? i.Name);
            return { TopicArn: arn };
          },
        },
        GetTopicAttributes: {
          command: GetTopicAttributesCommand,
          handle: (i) => {
            const t = topic(i.TopicArn);
            const subs = [...this.subs.values()].filter((s) => s.topicArn === t.arn);
            return {
              Attributes: {
                TopicArn: t.arn,
                Owner: core.account,
                DisplayName: '',
                ...t.attributes,
                SubscriptionsConfirmed: String(subs.filter((s) => s.confirmed).length),
                SubscriptionsPending: String(subs.filter((s) => !s.confirmed).length),
                SubscriptionsDeleted: '0',
              },
            };
          },
        },
        SetTopicAttributes: {
          command: SetTopicAttributesCommand,
          handle: (i) => {
            const t = topic(i.TopicArn);
            if (!SETTABLE.includes(i.AttributeName ?? '')) invalid('AttributeName');
            if (i.AttributeName === 'Policy') this.checkPolicy(i.AttributeValue ?? '');
            t.attributes[i.AttributeName] = i.AttributeValue ?? '';
            return {};
          },
        },
        ListTagsForResource: {
          command: ListTagsForResourceCommand,
          handle: (i) => ({ Tags: recordToTags(this.taggable(i.ResourceArn).tags) }),
        },
        TagResource: {
          command: TagResourceCommand,
          handle: (i) => {
            Object.assign(this.taggable(i.ResourceArn).tags, tagsToRecord(i.Tags));
            return {};
          },
        },
        UntagResource: {
          command: UntagResourceCommand,
          handle: (i) => {
            const tags = this.taggable(i.ResourceArn).tags;
            for (const k of i.TagKeys ?? []) delete tags[k];
            return {};
          },
        },
        Subscribe: {
          command: SubscribeCommand,
          handle: (i) => {
            const t = topic(i.TopicArn);
            if (
              !['email', 'email-json', 'sqs', 'lambda', 'https', 'http', 'sms', 'application', 'firehose'].includes(
                i.Protocol,
              )
            )
              invalid('Invalid protocol type');
            if (i.Protocol.startsWith('email') && !EMAIL.test(i.Endpoint ?? '')) invalid('Email address');
            const same = [...this.subs.values()].find(
              (s) => s.topicArn === t.arn && s.protocol === i.Protocol && s.endpoint === i.Endpoint,
            );
            // Subscribing an address again re-sends the confirmation and returns the same subscription.
            const s = same ?? {
              arn: `${t.arn}:${core.newId('sub', 8).slice(4)}-fake`,
              topicArn: t.arn,
              protocol: i.Protocol,
              endpoint: i.Endpoint,
              confirmed: !i.Protocol.startsWith('email'),
            };
            this.subs.set(s.arn, s);
            return { SubscriptionArn: s.confirmed || i.ReturnSubscriptionArn ? s.arn : 'pending confirmation' };
          },
        },
        ListSubscriptionsByTopic: {
          command: ListSubscriptionsByTopicCommand,
          handle: (i) => {
            const t = topic(i.TopicArn);
            const all = [...this.subs.values()].filter((s) => s.topicArn === t.arn);
            const start = i.NextToken ? Number(i.NextToken) : 0;
            if (!Number.isInteger(start) || start < 0) invalid('NextToken');
            const page = all.slice(start, start + this.pageSize);
            return {
              Subscriptions: page.map((s) => ({
                SubscriptionArn: s.confirmed ? s.arn : 'PendingConfirmation',
                Owner: core.account,
                Protocol: s.protocol,
                Endpoint: s.endpoint,
                TopicArn: s.topicArn,
              })),
              NextToken: start + this.pageSize < all.length ? String(start + this.pageSize) : undefined,
            };
          },
        },
        Unsubscribe: {
          command: UnsubscribeCommand,
          handle: (i) => {
            const arn: string = i.SubscriptionArn ?? '';
            if (arn.split(':').length < 6)
              invalid(`SubscriptionArn Reason: An ARN must have at least 6 elements, not ${arn.split(':').length}`);
            const s = this.subs.get(arn) ?? awsError('NotFoundException', 'Subscription does not exist', 404);
            if (!s.confirmed)
              invalid('SubscriptionArn Reason: a subscription pending confirmation cannot be unsubscribed');
            this.subs.delete(arn);
            return {};
          },
        },
        DeleteTopic: {
          command: DeleteTopicCommand,
          handle: (i) => {
            // Idempotent: deleting a topic that does not exist succeeds. Its subscriptions go with it.
            for (const s of [...this.subs.values()]) if (s.topicArn === i.TopicArn) this.subs.delete(s.arn);
            this.topics.delete(i.TopicArn);
            return {};
          },
        },
        Publish: {
          command: PublishCommand,
          handle: (i) => {
            const t = topic(i.TopicArn);
            if (!i.Message) invalid('Message');
            return { MessageId: this.accept(t, i.Message, i.Subject, 'api') };
          },
        },
      },
    });
  }

  private taggable(arn: string | undefined): Topic {
    return this.topics.get(arn ?? '') ?? awsError('ResourceNotFoundException', 'Resource does not exist', 404);
  }

  private accept(t: Topic, message: string, subject: string | undefined, via: Published['via']): string {
    const deliveredTo = [...this.subs.values()]
      .filter((s) => s.topicArn === t.arn && s.confirmed)
      .map((s) => s.endpoint);
    this.published.push({ topicArn: t.arn, message, subject, via, deliveredTo });
    return this.core.newId('msg', 12);
  }

  private checkPolicy(text: string): void {
    try {
      const doc = JSON.parse(text);
      if (!doc || typeof doc !== 'object' || !doc.Statement) throw new Error('no Statement');
    } catch (err) {
      awsError('InvalidParameterException', `Invalid parameter: Policy Error: ${(err as Error).message}`, 400);
    }
  }

  /** The policy SNS writes when a topic is created without one. */
  private defaultPolicy(arn: string): string {
    return JSON.stringify({
      Version: '2008-10-17',
      Id: '__default_policy_ID',
      Statement: [
        {
          Sid: '__default_statement_ID',
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: [
            'SNS:GetTopicAttributes',
            'SNS:SetTopicAttributes',
            'SNS:AddPermission',
            'SNS:RemovePermission',
            'SNS:DeleteTopic',
            'SNS:Subscribe',
            'SNS:ListSubscriptionsByTopic',
            'SNS:Publish',
          ],
          Resource: arn,
          Condition: { StringEquals: { 'AWS:SourceOwner': this.core.account } },
        },
      ],
    });
  }

  /** Test helper: the recipient clicks the confirmation link. */
  confirm(topicArn: string, email: string): string {
    const s = [...this.subs.values()].find((x) => x.topicArn === topicArn && x.endpoint === email);
    if (!s) throw new Error(`fake SNS: no subscription of ${email} to ${topicArn}`);
    s.confirmed = true;
    return s.arn;
  }

  /**
   * Test helper, called by the EventBridge fake: publish on behalf of a rule, as SNS would after checking
   * the topic policy allows events.amazonaws.com for that rule. Returns false (nothing published) when
   * the topic is gone or the policy does not allow it: EventBridge then counts a failed invocation.
   */
  publishFromRule(topicArn: string, ruleArn: string, message: string): boolean {
    const t = this.topics.get(topicArn);
    if (!t || !this.allowsRule(t, ruleArn)) return false;
    this.accept(t, message, undefined, 'events');
    return true;
  }

  /**
   * Test helper, called by the CloudWatch fake: an alarm's action publishes, as SNS would after checking
   * the topic policy. A CloudWatch alarm of the same account may publish under the default policy (its
   * AWS:SourceOwner statement holds for the account's own alarms), or with a statement admitting
   * cloudwatch.amazonaws.com for that alarm (aws:SourceArn). Returns false when refused or gone.
   */
  publishFromAlarm(topicArn: string, alarmArn: string, message: string, subject: string): boolean {
    const t = this.topics.get(topicArn);
    if (!t || !this.allowsAlarm(t, alarmArn)) return false;
    this.accept(t, message, subject, 'cloudwatch');
    return true;
  }

  private allowsAlarm(t: Topic, alarmArn: string): boolean {
    const doc = JSON.parse(t.attributes.Policy ?? '{}') as { Statement?: any[] };
    const list = (v: unknown) => (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String);
    return (doc.Statement ?? []).some((s) => {
      if (s.Effect !== 'Allow') return false;
      if (!list(s.Action).some((a) => ['sns:publish', 'sns:*', '*'].includes(a.toLowerCase()))) return false;
      const cond = (s.Condition ?? {}) as Record<string, Record<string, unknown>>;
      const conds = Object.entries(cond).flatMap(([op, kv]) =>
        Object.entries(kv).map(([k, v]) => ({ op, k: k.toLowerCase(), v: list(v) })),
      );
      const anyone = s.Principal === '*' || list(s.Principal?.AWS).includes('*');
      if (anyone) return conds.every((c) => c.k === 'aws:sourceowner' && c.v.includes(this.core.account));
      if (!list(s.Principal?.Service).includes('cloudwatch.amazonaws.com')) return false;
      return conds.every(
        (c) =>
          (c.k === 'aws:sourcearn' && c.v.includes(alarmArn)) ||
          (c.k === 'aws:sourceaccount' && c.v.includes(this.core.account)),
      );
    });
  }

  private allowsRule(t: Topic, ruleArn: string): boolean {
    const doc = JSON.parse(t.attributes.Policy ?? '{}') as { Statement?: any[] };
    const list = (v: unknown) => (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String);
    return (doc.Statement ?? []).some((s) => {
      if (s.Effect !== 'Allow') return false;
      if (
        !list(s.Principal?.Service).includes('events.amazonaws.com') &&
        s.Principal !== '*' &&
        !list(s.Principal?.AWS).includes('*')
      )
        return false;
      if (!list(s.Action).some((a) => ['sns:publish', 'sns:*', '*'].includes(a.toLowerCase()))) return false;
      const cond = s.Condition as Record<string, Record<string, unknown>> | undefined;
      if (!cond) return true;
      return Object.entries(cond).every(([op, kv]) =>
        Object.entries(kv).every(([k, v]) => {
          if (
            k.toLowerCase() === 'aws:sourcearn' &&
            ['ArnEquals', 'ArnLike', 'StringEquals', 'StringLike'].includes(op)
          )
            return list(v).includes(ruleArn);
          // The default policy's AWS:SourceOwner does not hold for a service principal publishing.
          return false;
        }),
      );
    });
  }

  /** Topics and subscriptions, with the topic referenced by its stable label. */
  inventory(): InventoryEntry[] {
    const out: InventoryEntry[] = [];
    for (const t of this.topics.values()) {
      let policy: unknown = t.attributes.Policy;
      try {
        policy = JSON.parse(t.attributes.Policy ?? '');
      } catch {
        /* kept as text */
      }
      out.push({
        type: 'sns.topic',
        key: t.tags['batchctl:logical'] ?? t.name,
        settings: { name: t.name, displayName: t.attributes.DisplayName, policy, tags: t.tags },
      });
    }
    for (const s of this.subs.values()) {
      out.push({
        type: 'sns.subscription',
        key: `${this.core.ref(s.topicArn)}/${s.endpoint}`,
        settings: {
          topic: this.core.ref(s.topicArn),
          protocol: s.protocol,
          endpoint: s.endpoint,
          confirmed: s.confirmed,
        },
      });
    }
    return out;
  }
}
