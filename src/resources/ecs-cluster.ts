/**
 * The ECS cluster the scheduled task runs in (Fargate only: no capacity to manage). With a job on Fargate
 * Spot it has the FARGATE and FARGATE_SPOT capacity providers: a capacity provider strategy may name only
 * providers associated with the cluster (they need no creating: every account has both).
 */
import {
  CreateClusterCommand,
  DeleteClusterCommand,
  DescribeClustersCommand,
  PutClusterCapacityProvidersCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateClusterSettingsCommand,
  type CapacityProviderStrategyItem,
  type Cluster,
} from '@aws-sdk/client-ecs';
import type { Ctx, FieldChange, ResourceKind } from '../engine/types.js';
import { K } from '../model/keys.js';
import {
  ecsTagList,
  ecsTagRecord,
  hasTagChange,
  managedTags,
  ownershipOf,
  resourceTags,
  tagChanges,
} from './lib/tags.js';
import { convergeTags, ifExists } from './lib/aws-calls.js';

export interface ClusterDesired {
  name: string;
  containerInsights: 'enabled' | 'disabled' | 'enhanced';
  tags: Record<string, string>;
  /**
   * The capacity providers, sorted: FARGATE and FARGATE_SPOT when a job runs on Spot. Undefined: not
   * managed, whatever the cluster has (a stack without Spot, or that used it once: a provider left
   * associated costs nothing, and ECS refuses to remove one a task still uses).
   */
  capacityProviders?: string[];
  /** Observed only: the cluster's default strategy, kept as it is when the providers change. */
  defaultStrategy?: CapacityProviderStrategyItem[];
}

/** The providers a cluster needs for its jobs; undefined when no job runs on Spot. */
export const SPOT_PROVIDERS = ['FARGATE', 'FARGATE_SPOT'];
const providersFor = (ctx: Ctx): string[] | undefined =>
  ctx.config.jobs.some((j) => j.task.capacity === 'spot') ? [...SPOT_PROVIDERS] : undefined;

/**
 * Wait while the cluster's capacity providers are being associated (`attachmentsStatus`
 * UPDATE_IN_PROGRESS): a strategy naming one is refused until it is done.
 */
async function providersSettled(ctx: Ctx, ref: string, name: string): Promise<Cluster> {
  return ctx.waitFor(
    `ECS cluster ${name} capacity providers`,
    async () => {
      const c = await describe(ctx, ref);
      if (!c) return undefined;
      if (c.attachmentsStatus === 'UPDATE_FAILED')
        throw new Error(
          `ECS could not associate the capacity providers of cluster ${name} (attachmentsStatus UPDATE_FAILED)`,
        );
      return c.attachmentsStatus === 'UPDATE_IN_PROGRESS' ? undefined : c;
    },
    { budgetMs: 120_000, intervalMs: 2000 },
  );
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

  desired: (ctx, node) => {
    const capacityProviders = providersFor(ctx);
    return {
      name: ctx.config.cluster.name,
      containerInsights: ctx.config.cluster.containerInsights ? 'enabled' : 'disabled',
      tags: resourceTags(ctx, node.key),
      ...(capacityProviders ? { capacityProviders } : {}),
    };
  },

  async find(ctx, _node, recorded) {
    let c = recorded ? await describe(ctx, recorded.arn ?? recorded.id) : undefined;
    if (!c && recorded?.id !== ctx.config.cluster.name) c = await describe(ctx, ctx.config.cluster.name);
    if (!c?.clusterName || !c.clusterArn) return undefined;
    const tags = ecsTagRecord(c.tags);
    const insights = c.settings?.find((s) => s.name === 'containerInsights')?.value ?? 'disabled';
    return {
      record: { kind: 'ecs.cluster', id: c.clusterName, arn: c.clusterArn },
      ...ownershipOf(ctx, tags),
      observed: {
        name: c.clusterName,
        containerInsights: insights as ClusterDesired['containerInsights'],
        tags: managedTags(ctx, tags),
        capacityProviders: [...(c.capacityProviders ?? [])].sort(),
        defaultStrategy: c.defaultCapacityProviderStrategy ?? [],
      },
    };
  },

  async create(ctx, _node, d) {
    // On a name that is INACTIVE (deleted recently), CreateCluster reactivates it: fine, same result.
    const { cluster } = await ctx.aws.ecs.send(
      new CreateClusterCommand({
        clusterName: d.name,
        settings: [{ name: 'containerInsights', value: d.containerInsights }],
        tags: ecsTagList(d.tags),
        // Associated as the cluster is created (one call); no default strategy: every run names its own.
        ...(d.capacityProviders ? { capacityProviders: d.capacityProviders } : {}),
      }),
    );
    // CreateCluster answers with the cluster, its status and its providers' attachment: only what is not done
    // yet is polled (a new cluster is usually ACTIVE at once; providers take a moment to attach).
    const c =
      cluster?.status === 'ACTIVE' && cluster.clusterArn
        ? cluster
        : await ctx.waitFor(
            `ECS cluster ${d.name}`,
            async () => {
              const got = await describe(ctx, d.name);
              return got?.status === 'ACTIVE' ? got : undefined;
            },
            { budgetMs: 120_000, intervalMs: 2000 },
          );
    if (d.capacityProviders && cluster?.attachmentsStatus !== 'UPDATE_COMPLETE')
      await providersSettled(ctx, d.name, d.name);
    return { kind: 'ecs.cluster', id: d.name, arn: c.clusterArn };
  },

  diff(d, o) {
    const changes: FieldChange[] = [];
    if (d.name !== o.name) changes.push({ field: 'name', from: o.name, to: d.name, replace: true });
    if (d.containerInsights !== o.containerInsights)
      changes.push({ field: 'containerInsights', from: o.containerInsights, to: d.containerInsights });
    // Only added: providers the cluster has besides are left (see ClusterDesired.capacityProviders).
    const missing = (d.capacityProviders ?? []).filter((p) => !(o.capacityProviders ?? []).includes(p));
    if (missing.length)
      changes.push({
        field: 'capacityProviders',
        from: o.capacityProviders ?? [],
        to: [...new Set([...(o.capacityProviders ?? []), ...missing])].sort(),
      });
    changes.push(...tagChanges(d.tags, o.tags));
    return changes;
  },

  async update(ctx, _node, found, d, changes) {
    const cluster = found.record.arn ?? found.record.id;
    const arn = found.record.arn;
    // The tags are independent of the cluster's configuration: sent alongside it. The setting and the
    // capacity providers both change the cluster's configuration: one after the other.
    await Promise.all([
      hasTagChange(changes) &&
        arn &&
        convergeTags(d.tags, found.observed.tags, {
          tag: (tags) => ctx.aws.ecs.send(new TagResourceCommand({ resourceArn: arn, tags: ecsTagList(tags) })),
          untag: (tagKeys) => ctx.aws.ecs.send(new UntagResourceCommand({ resourceArn: arn, tagKeys })),
        }),
      (async () => {
        if (changes.some((c) => c.field === 'containerInsights')) {
          await ctx.aws.ecs.send(
            new UpdateClusterSettingsCommand({
              cluster,
              settings: [{ name: 'containerInsights', value: d.containerInsights }],
            }),
          );
        }
        const providers = changes.find((c) => c.field === 'capacityProviders');
        if (!providers) return;
        // PutClusterCapacityProviders sets the whole list (idempotent: a resend after a lost answer sets the
        // same), and takes the default strategy too: the cluster's own is passed back unchanged.
        await ctx.aws.ecs.send(
          new PutClusterCapacityProvidersCommand({
            cluster,
            capacityProviders: providers.to as string[],
            defaultCapacityProviderStrategy: found.observed.defaultStrategy ?? [],
          }),
        );
        await providersSettled(ctx, cluster, d.name);
      })(),
    ]);
  },

  async ownerOf(ctx, record) {
    const c = await describe(ctx, record.arn ?? record.id);
    return c && ownershipOf(ctx, ecsTagRecord(c.tags));
  },

  async delete(ctx, record) {
    // Fails with ClusterContainsTasksException while a task runs: `down` reports it rather than
    // killing a job mid-run. Gone already: nothing to wait for.
    if (!(await ifExists(ctx.aws.ecs.send(new DeleteClusterCommand({ cluster: record.arn ?? record.id }))))) return;
    await ctx.waitFor(
      `ECS cluster ${record.id} to be deleted`,
      async () => ((await describe(ctx, record.arn ?? record.id)) ? undefined : true),
      {
        budgetMs: 120_000,
        intervalMs: 2000,
      },
    );
  },
};
