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
  CreateTopicCommand, DeleteTopicCommand, GetTopicAttributesCommand, ListTagsForResourceCommand, SetTopicAttributesCommand, TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-sns';
import { isNotFound } from '../base/errors.js';
import type { Ctx, FieldChange, ResourceKind } from '../engine/types.js';
import { K } from '../model/keys.js';
import { ownTopicArn, ownsTopic, topicName, topicPolicy } from '../model/notify.js';
import { canonicalPolicy, samePolicy, type PolicyDocument } from '../model/policies.js';
import { convergeTags, hasTagChange, managedTags, ownershipOf, resourceTags, tagChanges, tagList, tagRecord } from './lib/tags.js';

export interface TopicDesired {
  name: string;
  /** Shown as the sender of the e-mails. */
  displayName: string;
  policy: PolicyDocument | undefined;
  tags: Record<string, string>;
}

async function attributes(ctx: Ctx, topicArn: string): Promise<Record<string, string> | undefined> {
  try {
    return (await ctx.aws.sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn }))).Attributes ?? {};
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** A topic's tags, or undefined when it is gone. */
export async function topicTags(ctx: Ctx, topicArn: string): Promise<Record<string, string> | undefined> {
  try {
    return tagRecord((await ctx.aws.sns.send(new ListTagsForResourceCommand({ ResourceArn: topicArn }))).Tags);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
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
    return {
      record: { kind: 'sns.topic', id: topicArn, arn: topicArn, attrs: { name: topicArn.split(':').pop()! } },
      ...ownershipOf(ctx, tags),
      observed: { name: topicArn.split(':').pop()!, displayName: a.DisplayName ?? '', policy: parsePolicy(a.Policy), tags: managedTags(ctx, tags) },
    };
  },

  async create(ctx, _node, d) {
    // CreateTopic is idempotent by name: on an existing topic it returns that topic's ARN (or fails when
    // the tags or attributes differ). find ran first, so this does not adopt someone else's topic.
    const out = await ctx.aws.sns.send(new CreateTopicCommand({
      Name: d.name,
      Attributes: { DisplayName: d.displayName, Policy: JSON.stringify(d.policy) },
      Tags: tagList(d.tags),
    }));
    const topicArn = out.TopicArn ?? ownTopicArn(ctx);
    return { kind: 'sns.topic', id: topicArn, arn: topicArn, attrs: { name: d.name } };
  },

  diff(d, o) {
    const changes: FieldChange[] = [];
    if (d.name !== o.name) changes.push({ field: 'name', from: o.name, to: d.name, replace: true });
    if (d.displayName !== o.displayName) changes.push({ field: 'displayName', from: o.displayName, to: d.displayName });
    if (!samePolicy(d.policy, o.policy)) changes.push({ field: 'policy', from: canonicalPolicy(o.policy), to: canonicalPolicy(d.policy) });
    changes.push(...tagChanges(d.tags, o.tags));
    return changes;
  },

  async update(ctx, _node, found, d, changes) {
    const topicArn = found.record.arn ?? found.record.id;
    const fields = new Set(changes.map((c) => c.field));
    // SetTopicAttributes takes one attribute per call; the attributes and the tags are independent: together.
    await Promise.all([
      fields.has('displayName') && ctx.aws.sns.send(new SetTopicAttributesCommand({ TopicArn: topicArn, AttributeName: 'DisplayName', AttributeValue: d.displayName })),
      fields.has('policy') && ctx.aws.sns.send(new SetTopicAttributesCommand({ TopicArn: topicArn, AttributeName: 'Policy', AttributeValue: JSON.stringify(d.policy) })),
      hasTagChange(changes) && convergeTags(d.tags, found.observed.tags,
        (tags) => ctx.aws.sns.send(new TagResourceCommand({ ResourceArn: topicArn, Tags: tagList(tags) })),
        (TagKeys) => ctx.aws.sns.send(new UntagResourceCommand({ ResourceArn: topicArn, TagKeys }))),
    ]);
  },

  async ownerOf(ctx, record) {
    const tags = await topicTags(ctx, record.arn ?? record.id);
    return tags && ownershipOf(ctx, tags);
  },

  async delete(ctx, record) {
    // DeleteTopic also removes every subscription, pending ones included; it succeeds on a missing topic.
    try {
      await ctx.aws.sns.send(new DeleteTopicCommand({ TopicArn: record.arn ?? record.id }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  },
};
