/** The ECS cluster the scheduled task runs in (Fargate only: no capacity to manage). */
import {
  CreateClusterCommand, DeleteClusterCommand, DescribeClustersCommand, TagResourceCommand, UntagResourceCommand, UpdateClusterSettingsCommand,
  type Cluster,
} from '@aws-sdk/client-ecs';
import { isNotFound } from '../base/errors.js';
import type { Ctx, FieldChange, ResourceKind } from '../engine/types.js';
import { K } from '../model/keys.js';
import { convergeTags, ecsTagList, ecsTagRecord, hasTagChange, managedTags, ownershipOf, resourceTags, tagChanges } from './lib/tags.js';

export interface ClusterDesired {
  name: string;
  containerInsights: 'enabled' | 'disabled' | 'enhanced';
  tags: Record<string, string>;
}

/**
 * Describe one cluster. A missing cluster is not an error: DescribeClusters lists it in `failures`
 * (reason MISSING). A deleted one lingers as INACTIVE for a while: absent for us.
 */
async function describe(ctx: Ctx, ref: string): Promise<Cluster | undefined> {
  const out = await ctx.aws.ecs.send(new DescribeClustersCommand({ clusters: [ref], include: ['TAGS', 'SETTINGS'] }));
  const c = out.clusters?.[0];
  return c && c.status !== 'INACTIVE' ? c : undefined;
}


/** The stack's ECS cluster. */
export const ecsCluster: ResourceKind<ClusterDesired> = {
  kind: 'ecs.cluster',
  label: 'ECS cluster',
  dependsOn: [],
  costly: false,

  nodes: () => [{ key: K.cluster, deps: [], params: {} }],

  desired: (ctx, node) => ({
    name: ctx.config.cluster.name,
    containerInsights: ctx.config.cluster.containerInsights ? 'enabled' : 'disabled',
    tags: resourceTags(ctx, node.key),
  }),

  async find(ctx, _node, recorded) {
    let c = recorded ? await describe(ctx, recorded.arn ?? recorded.id) : undefined;
    if (!c && recorded?.id !== ctx.config.cluster.name) c = await describe(ctx, ctx.config.cluster.name);
    if (!c?.clusterName || !c.clusterArn) return undefined;
    const tags = ecsTagRecord(c.tags);
    const insights = c.settings?.find((s) => s.name === 'containerInsights')?.value ?? 'disabled';
    return {
      record: { kind: 'ecs.cluster', id: c.clusterName, arn: c.clusterArn },
      ...ownershipOf(ctx, tags),
      observed: { name: c.clusterName, containerInsights: insights as ClusterDesired['containerInsights'], tags: managedTags(ctx, tags) },
    };
  },

  async create(ctx, _node, d) {
    // On a name that is INACTIVE (deleted recently), CreateCluster reactivates it: fine, same result.
    const { cluster } = await ctx.aws.ecs.send(
      new CreateClusterCommand({
        clusterName: d.name,
        settings: [{ name: 'containerInsights', value: d.containerInsights }],
        tags: ecsTagList(d.tags),
      }),
    );
    // CreateCluster answers with the cluster and its status: polled only when it is not ACTIVE yet.
    if (cluster?.status === 'ACTIVE' && cluster.clusterArn) return { kind: 'ecs.cluster', id: d.name, arn: cluster.clusterArn };
    const c = await ctx.waitFor(
      `ECS cluster ${d.name}`,
      async () => {
        const got = await describe(ctx, d.name);
        return got?.status === 'ACTIVE' ? got : undefined;
      },
      { budgetMs: 120_000, intervalMs: 2000 },
    );
    return { kind: 'ecs.cluster', id: d.name, arn: c.clusterArn };
  },

  diff(d, o) {
    const changes: FieldChange[] = [];
    if (d.name !== o.name) changes.push({ field: 'name', from: o.name, to: d.name, replace: true });
    if (d.containerInsights !== o.containerInsights) changes.push({ field: 'containerInsights', from: o.containerInsights, to: d.containerInsights });
    changes.push(...tagChanges(d.tags, o.tags));
    return changes;
  },

  async update(ctx, _node, found, d, changes) {
    const cluster = found.record.arn ?? found.record.id;
    const arn = found.record.arn;
    // The setting and the tags are independent calls: together.
    await Promise.all([
      changes.some((c) => c.field === 'containerInsights')
        && ctx.aws.ecs.send(new UpdateClusterSettingsCommand({ cluster, settings: [{ name: 'containerInsights', value: d.containerInsights }] })),
      hasTagChange(changes) && arn && convergeTags(d.tags, found.observed.tags,
        (tags) => ctx.aws.ecs.send(new TagResourceCommand({ resourceArn: arn, tags: ecsTagList(tags) })),
        (tagKeys) => ctx.aws.ecs.send(new UntagResourceCommand({ resourceArn: arn, tagKeys }))),
    ]);
  },

  async ownerOf(ctx, record) {
    const c = await describe(ctx, record.arn ?? record.id);
    return c && ownershipOf(ctx, ecsTagRecord(c.tags));
  },

  async delete(ctx, record) {
    try {
      // Fails with ClusterContainsTasksException while a task runs: `down` reports it rather than
      // killing a job mid-run.
      await ctx.aws.ecs.send(new DeleteClusterCommand({ cluster: record.arn ?? record.id }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return;
    }
    await ctx.waitFor(`ECS cluster ${record.id} to be deleted`, async () => ((await describe(ctx, record.arn ?? record.id)) ? undefined : true), {
      budgetMs: 120_000,
      intervalMs: 2000,
    });
  },
};
