/**
 * One e-mail subscription to the alert topic per `notify.emails` address.
 *
 * SNS e-mail subscriptions need the recipient to click a link: until then ListSubscriptionsByTopic shows
 * the SubscriptionArn `PendingConfirmation`, and such a subscription cannot be unsubscribed (Unsubscribe
 * rejects it; SNS drops it after 3 days unconfirmed, and deleting the topic removes it at once).
 * Subscriptions are not taggable: one belongs to us when its topic does (the topic's step checks that).
 */
import { SubscribeCommand, UnsubscribeCommand, type Subscription } from '@aws-sdk/client-sns';
import type { Ctx, FieldChange, ResourceKind, ResourceRecord } from '../engine/types.js';
import { K } from '../model/keys.js';
import { ownTopicArn, ownsTopic } from '../model/notify.js';
import { foundWith, inheritedOwnership, ownershipOf } from './lib/tags.js';
import { topicSubscriptions, topicTags } from './sns-topic.js';
import { unlessGone } from './lib/aws-calls.js';

/** Ours when its topic is: the topic node's verdict from this walk, else the topic's tags. */
const topicOwnership = (ctx: Ctx, topicArn: string) =>
  inheritedOwnership(ctx, K.alertTopic, topicArn, async () => {
    const tags = await topicTags(ctx, topicArn);
    return tags && ownershipOf(ctx, tags);
  });

/** What ListSubscriptionsByTopic shows for a subscription nobody has confirmed yet. */
export const PENDING = 'PendingConfirmation';

export interface SubscriptionDesired {
  topicArn: string;
  protocol: 'email';
  endpoint: string;
  /** Observed only: whether the recipient confirmed (desired leaves it out; it is not a setting). */
  confirmed?: boolean;
}

export interface SubscriptionParams {
  email: string;
}

/** The topic's subscription for this address (from the topic's listing, shared within a walk). */
async function lookup(ctx: Ctx, topicArn: string, endpoint: string): Promise<Subscription | undefined> {
  // SNS keeps the address as given; mail domains are case-insensitive and so is our comparison.
  return (await topicSubscriptions(ctx, topicArn))?.find(
    (s) => s.Protocol === 'email' && s.Endpoint?.toLowerCase() === endpoint.toLowerCase(),
  );
}

const topicOf = (ctx: Ctx, recorded?: ResourceRecord) =>
  ctx.maybeRecord(K.alertTopic)?.arn ?? recorded?.attrs?.topicArn ?? ownTopicArn(ctx);

/** An e-mail subscription to the alert topic. */
export const snsSubscription: ResourceKind<SubscriptionDesired, SubscriptionParams> = {
  kind: 'sns.subscription',
  label: 'SNS subscription',
  dependsOn: ['sns.topic'],
  costly: false,

  // A subscription to the topic: a topic that does not exist has none.
  nodes: (config) =>
    ownsTopic(config)
      ? config.notify!.emails.map((email) => ({
          key: K.alertSubscription(email),
          deps: [K.alertTopic],
          partOf: [K.alertTopic],
          params: { email },
        }))
      : [],

  desired: (ctx, node) => ({
    topicArn: ctx.record(K.alertTopic).arn ?? ctx.record(K.alertTopic).id,
    protocol: 'email',
    endpoint: node.params.email,
  }),

  async find(ctx, node, recorded) {
    const topicArn = topicOf(ctx, recorded);
    const s = await lookup(ctx, topicArn, node.params.email);
    if (!s) return undefined;
    const confirmed = s.SubscriptionArn !== PENDING;
    return foundWith(await topicOwnership(ctx, topicArn), {
      // A pending subscription has no ARN in the listing: keep the one Subscribe returned, if known.
      record: {
        kind: 'sns.subscription',
        id: confirmed ? s.SubscriptionArn! : (recorded?.id ?? PENDING),
        attrs: { topicArn, endpoint: s.Endpoint ?? node.params.email },
      },
      observed: { topicArn, protocol: 'email', endpoint: s.Endpoint ?? node.params.email, confirmed },
    });
  },

  async create(ctx, _node, d) {
    // SNS e-mails the address a confirmation link; Subscribe on an address already pending re-sends it.
    const out = await ctx.aws.sns.send(
      new SubscribeCommand({
        TopicArn: d.topicArn,
        Protocol: 'email',
        Endpoint: d.endpoint,
        ReturnSubscriptionArn: true,
      }),
    );
    ctx.reporter.info(
      `${d.endpoint}: SNS sent a confirmation e-mail; alerts reach this address once the link in it is clicked`,
    );
    return {
      kind: 'sns.subscription',
      id: out.SubscriptionArn ?? PENDING,
      attrs: { topicArn: d.topicArn, endpoint: d.endpoint },
    };
  },

  diff(d, o) {
    const changes: FieldChange[] = [];
    // A subscription's topic, protocol and endpoint are its identity: none can change in place.
    for (const f of ['topicArn', 'protocol'] as const)
      if (d[f] !== o[f]) changes.push({ field: f, from: o[f], to: d[f], replace: true });
    if (d.endpoint.toLowerCase() !== o.endpoint.toLowerCase())
      changes.push({ field: 'endpoint', from: o.endpoint, to: d.endpoint, replace: true });
    return changes;
  },

  ownerOf: (ctx, record) => topicOwnership(ctx, record.attrs?.topicArn ?? ownTopicArn(ctx)),

  // Confirming (a click on the e-mailed link) changes nothing `up` does, but gives the subscription its
  // ARN: a saved plan pins the subscription by topic and address, not by that.
  pin: ({ record, observed }) => ({
    record: { ...record, id: '(topic and endpoint)' },
    observed: { ...observed, confirmed: undefined },
  }),

  async delete(ctx, record) {
    const topicArn = record.attrs?.topicArn ?? ownTopicArn(ctx);
    const endpoint = record.attrs?.endpoint;
    // The live state decides: a subscription confirmed since it was recorded has a real ARN by now.
    const live = endpoint ? await lookup(ctx, topicArn, endpoint) : undefined;
    const subArn = live ? live.SubscriptionArn : endpoint ? undefined : record.id;
    if (!subArn) return;
    if (subArn === PENDING) {
      ctx.reporter.warn(
        `${endpoint}: the subscription is still pending confirmation and SNS cannot unsubscribe it; it lapses after 3 days unless confirmed (deleting the topic removes it at once)`,
      );
      return;
    }
    await unlessGone(ctx.aws.sns.send(new UnsubscribeCommand({ SubscriptionArn: subArn })));
  },
};
