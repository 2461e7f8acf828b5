/**
 * The SNS topic failure alerts go to, when the config lists e-mail addresses (with `notify.topicArn`
 * the user's own topic is used and this node does not exist).
 *
 * Not KMS-encrypted on purpose: an encrypted topic needs a customer managed key whose key policy lets
 * events.amazonaws.com call kms:GenerateDataKey and kms:Decrypt (the AWS managed alias/aws/sns key
 * cannot be changed to allow that, so EventBridge's deliveries would fail silently). The messages carry
 * a task ARN, an exit code and a stop reason, nothing secret.
 */
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
  ListTagsForResourceCommand,
  SetTopicAttributesCommand,
  TagResourceCommand,
  UnsubscribeCommand,
  UntagResourceCommand,
  type Subscription,
} from '@aws-sdk/client-sns';
import type { Ctx, FieldChange, ResourceKind } from '../engine/types.js';
import { K } from '../model/keys.js';
import { ownTopicArn, ownsTopic, topicName, topicPolicy } from '../model/notify.js';
import { policyChange, samePolicy, type PolicyDocument } from '../model/policies.js';
import { hasTagChange, managedTags, ownershipOf, resourceTags, tagChanges, tagList, tagRecord } from './lib/tags.js';
import { convergeTags, ifExists, unlessGone } from './lib/aws-calls.js';
import { listAllPages } from './lib/list.js';

export interface TopicDesired {
  name: string;
  /** Shown as the sender of the e-mails. */
  displayName: string;
  policy: PolicyDocument | undefined;
  tags: Record<string, string>;
  /**
   * Observed: confirmed subscriptions batchctl did not make (not an address of notify.emails, nor one the
   * state still records): each receives every alert. Desired: none.
   */
  extraSubscriptions?: { protocol: string; endpoint: string; arn: string }[];
  /** Observed: such subscriptions still pending confirmation (SNS cannot unsubscribe those; they lapse). */
  pendingExtraSubscriptions?: string[];
}

/**
 * Every subscription of a topic (100 a page), or undefined when the topic is gone; read once per walk and
 * shared by the topic (which looks for subscriptions batchctl did not make) and the subscription nodes.
 * `Deleted` ones (the recipient unsubscribed through the e-mail's link) are gone and left out.
 */
export function topicSubscriptions(ctx: Ctx, topicArn: string): Promise<Subscription[] | undefined> {
  return listAllPages(ctx, `sns:subscriptions:${topicArn}`, async (NextToken) => {
    const out = await ctx.aws.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn, NextToken }));
    return { items: (out.Subscriptions ?? []).filter((x) => x.SubscriptionArn !== 'Deleted'), next: out.NextToken };
  });
}

/** The topic's subscriptions that are not batchctl's: confirmed ones (removable) and pending ones. */
async function extraSubscriptions(ctx: Ctx, topicArn: string) {
  const emails = new Set((ctx.config.notify?.emails ?? []).map((e) => e.toLowerCase()));
  const ours = (x: Subscription) =>
    x.Protocol === 'email' &&
    !!x.Endpoint &&
    (emails.has(x.Endpoint.toLowerCase()) || !!ctx.maybeRecord(K.alertSubscription(x.Endpoint)));
  const extra = ((await topicSubscriptions(ctx, topicArn)) ?? []).filter((x) => !ours(x));
  const confirmed = extra
    .filter((x) => x.SubscriptionArn && x.SubscriptionArn !== PENDING_CONFIRMATION)
    .map((x) => ({ protocol: x.Protocol ?? '', endpoint: x.Endpoint ?? '', arn: x.SubscriptionArn! }))
    .sort((a, b) => a.arn.localeCompare(b.arn));
  const pending = extra
    .filter((x) => x.SubscriptionArn === PENDING_CONFIRMATION)
    .map((x) => `${x.Protocol}:${x.Endpoint}`)
    .sort();
  return { confirmed, pending };
}

/** What ListSubscriptionsByTopic shows for a subscription nobody has confirmed yet. */
const PENDING_CONFIRMATION = 'PendingConfirmation';

async function attributes(ctx: Ctx, topicArn: string): Promise<Record<string, string> | undefined> {
  const out = await ifExists(ctx.aws.sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn })));
  return out && (out.Attributes ?? {});
}

/** A topic's tags, or undefined when it is gone. */
export async function topicTags(ctx: Ctx, topicArn: string): Promise<Record<string, string> | undefined> {
  const out = await ifExists(ctx.aws.sns.send(new ListTagsForResourceCommand({ ResourceArn: topicArn })));
  return out && tagRecord(out.Tags);
}

function parsePolicy(text: string | undefined): PolicyDocument | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as PolicyDocument;
  } catch {
    return undefined;
  }
}

/** The alert topic. */
export const snsTopic: ResourceKind<TopicDesired> = {
  kind: 'sns.topic',
  label: 'SNS topic',
  dependsOn: [],
  costly: false,

  nodes: (config) => (ownsTopic(config) ? [{ key: K.alertTopic, deps: [], params: {} }] : []),

  desired: (ctx, node) => ({
    tags: resourceTags(ctx, node.key),
    name: topicName(ctx),
    displayName: `batchctl ${ctx.stack}`,
    policy: topicPolicy(ctx, ownTopicArn(ctx)),
  }),

  async find(ctx, _node, recorded) {
    // The ARN follows from the name, so both paths are one GetTopicAttributes (which has the policy).
    const topicArn = recorded?.arn ?? ownTopicArn(ctx);
    const a = await attributes(ctx, topicArn);
    if (!a) return undefined;
    // GetTopicAttributes carries no tags: one more read, which the tag diff needs anyway.
    const tags = (await topicTags(ctx, topicArn)) ?? {};
    const own = ownershipOf(ctx, tags);
    // Another stack's topic is never compared: its subscriptions need not be read.
    const extra = own.owned ? await extraSubscriptions(ctx, topicArn) : { confirmed: [], pending: [] };
    return {
      record: { kind: 'sns.topic', id: topicArn, arn: topicArn, attrs: { name: topicArn.split(':').pop()! } },
      ...own,
      observed: {
        name: topicArn.split(':').pop()!,
        displayName: a.DisplayName ?? '',
        policy: parsePolicy(a.Policy),
        tags: managedTags(ctx, tags),
        ...(extra.confirmed.length ? { extraSubscriptions: extra.confirmed } : {}),
        ...(extra.pending.length ? { pendingExtraSubscriptions: extra.pending } : {}),
      },
    };
  },

  async create(ctx, _node, d) {
    // CreateTopic is idempotent by name: on an existing topic it returns that topic's ARN (or fails when
    // the tags or attributes differ). find ran first, so this does not adopt someone else's topic.
    const out = await ctx.aws.sns.send(
      new CreateTopicCommand({
        Name: d.name,
        Attributes: { DisplayName: d.displayName, Policy: JSON.stringify(d.policy) },
        Tags: tagList(d.tags),
      }),
    );
    const topicArn = out.TopicArn ?? ownTopicArn(ctx);
    return { kind: 'sns.topic', id: topicArn, arn: topicArn, attrs: { name: d.name } };
  },

  notes: (_d, found) =>
    (found?.observed.pendingExtraSubscriptions ?? []).map(
      (x) =>
        `${x} is subscribed to the alert topic but is not in notify.emails; it is pending confirmation, which SNS cannot unsubscribe (it receives nothing until confirmed, and lapses after 3 days): up removes it if it is confirmed`,
    ),

  diff(d, o) {
    const changes: FieldChange[] = [];
    if (d.name !== o.name) changes.push({ field: 'name', from: o.name, to: d.name, replace: true });
    if (d.displayName !== o.displayName) changes.push({ field: 'displayName', from: o.displayName, to: d.displayName });
    if (!samePolicy(d.policy, o.policy)) changes.push(policyChange('policy', d.policy, o.policy));
    changes.push(...tagChanges(d.tags, o.tags));
    const extra = o.extraSubscriptions ?? [];
    if (extra.length) {
      changes.push({
        field: 'extraSubscriptions',
        from: extra.map((x) => `${x.protocol}:${x.endpoint}`),
        to: [],
        removes: extra.map((x) => `subscription ${x.protocol}:${x.endpoint} to the alert topic (not in notify.emails)`),
      });
    }
    return changes;
  },

  async update(ctx, _node, found, d, changes) {
    const topicArn = found.record.arn ?? found.record.id;
    const fields = new Set(changes.map((c) => c.field));
    // SetTopicAttributes takes one attribute per call; the attributes, the removals of subscriptions not
    // ours and the tags are independent: together.
    await Promise.all([
      fields.has('displayName') &&
        ctx.aws.sns.send(
          new SetTopicAttributesCommand({
            TopicArn: topicArn,
            AttributeName: 'DisplayName',
            AttributeValue: d.displayName,
          }),
        ),
      fields.has('policy') &&
        ctx.aws.sns.send(
          new SetTopicAttributesCommand({
            TopicArn: topicArn,
            AttributeName: 'Policy',
            AttributeValue: JSON.stringify(d.policy),
          }),
        ),
      ...(fields.has('extraSubscriptions') ? (found.observed.extraSubscriptions ?? []) : []).map((x) =>
        unlessGone(ctx.aws.sns.send(new UnsubscribeCommand({ SubscriptionArn: x.arn }))),
      ),
      hasTagChange(changes) &&
        convergeTags(d.tags, found.observed.tags, {
          tag: (set) => ctx.aws.sns.send(new TagResourceCommand({ ResourceArn: topicArn, Tags: tagList(set) })),
          untag: (keys) => ctx.aws.sns.send(new UntagResourceCommand({ ResourceArn: topicArn, TagKeys: keys })),
        }),
    ]);
  },

  async ownerOf(ctx, record) {
    const tags = await topicTags(ctx, record.arn ?? record.id);
    return tags && ownershipOf(ctx, tags);
  },

  async delete(ctx, record) {
    // DeleteTopic also removes every subscription, pending ones included; it succeeds on a missing topic.
    await unlessGone(ctx.aws.sns.send(new DeleteTopicCommand({ TopicArn: record.arn ?? record.id })));
  },
};
