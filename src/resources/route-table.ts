import {
  CreateRouteTableCommand,
  DeleteRouteCommand,
  DeleteRouteTableCommand,
  DescribeRouteTablesCommand,
  DisassociateRouteTableCommand,
  type Route,
  type RouteTable,
} from '@aws-sdk/client-ec2';
import type { Ctx, ResourceKind } from '../engine/types.js';
import { K } from '../model/keys.js';
import {
  change,
  convergeEc2Tags,
  deleteEc2,
  ec2Found,
  ec2OwnerOf,
  ec2Tags,
  findInStack,
  listTagged,
  prefetchStack,
  retryWhileNotFound,
  routeTarget,
  sorted,
  stackItems,
  tagSpecs,
  type Ec2Describe,
} from './lib/ec2.js';
import { clientToken, hasTagChange, resourceTags, tagChanges } from './lib/tags.js';
import { ownsVpc, routeNodes } from '../model/network.js';
import { describeInternetGateways } from './internet-gateway.js';
import { ifExists } from './lib/aws-calls.js';

/** The stack's route tables (shared with the association nodes' lookups). */
export const describeRouteTables =
  (ctx: Ctx): Ec2Describe<RouteTable> =>
  async (q) => {
    const out = await ctx.aws.ec2.send(
      new DescribeRouteTablesCommand({ RouteTableIds: q.ids, Filters: q.filters, NextToken: q.nextToken }),
    );
    return { items: out.RouteTables, nextToken: out.NextToken };
  };

/** The route table's settings. */
export interface RouteTableDesired {
  vpcId: string;
  /**
   * Routes beyond the implicit local route, the S3 gateway endpoint's prefix-list route (which the
   * endpoint kind owns) and the routes of route nodes, as `destination -> target`. Always empty: any
   * other route (a NAT, someone's gateway) is removed.
   */
  extraRoutes: string[];
  tags: Record<string, string>;
}

function destination(r: Route): string {
  return r.DestinationCidrBlock ?? r.DestinationIpv6CidrBlock ?? r.DestinationPrefixListId ?? '?';
}

/**
 * Routes beyond the local one and the gateway endpoints', less those route nodes own: the routes of
 * this config's route nodes (mode `public`'s default route), and any route to an internet gateway of
 * ours. The latter is a route node's even when the config no longer has that node (switching to
 * `private-endpoints`): the engine removes it after everything converged, and removing it here, first,
 * would cut the tasks' way out before the endpoints replacing it are available.
 */
async function extraRoutes(ctx: Ctx, rt: RouteTable): Promise<string[]> {
  const managed = new Set(routeNodes(ctx.config).map((r) => r.destination));
  const candidates = (rt.Routes ?? []).filter(
    (r) => r.GatewayId !== 'local' && !r.GatewayId?.startsWith('vpce-') && !managed.has(destination(r)),
  );
  const toGateways = candidates.some((r) => r.GatewayId?.startsWith('igw-'));
  const ourGateways = toGateways
    ? new Set((await stackItems(ctx, 'InternetGateway', describeInternetGateways(ctx))).map((g) => g.InternetGatewayId))
    : new Set<string | undefined>();
  return sorted(
    candidates.filter((r) => !ourGateways.has(r.GatewayId)).map((r) => `${destination(r)} -> ${routeTarget(r)}`),
  );
}

/** The batch subnets' route table: the local route, the S3 gateway endpoint's, and the route nodes' (mode `public`). */
export const routeTable: ResourceKind<RouteTableDesired> = {
  kind: 'ec2.route-table',
  label: 'Route table',
  dependsOn: ['ec2.vpc'],
  costly: false,

  nodes: (config) => (ownsVpc(config) ? [{ key: K.routeTable, deps: [K.vpc], partOf: [K.vpc], params: {} }] : []),

  prefetch: prefetchStack('RouteTable', describeRouteTables),

  desired: (ctx, node) => ({ vpcId: ctx.record(K.vpc).id, extraRoutes: [], tags: resourceTags(ctx, node.key) }),

  async find(ctx, node, recorded) {
    const found = await findInStack(ctx, node.key, recorded, {
      type: 'RouteTable',
      describe: describeRouteTables(ctx),
      idOf: (r) => r.RouteTableId!,
      parent: { of: (r) => r.VpcId, id: ctx.maybeRecord(K.vpc)?.id },
      // Of two tables of ours (a race), keep the one the subnets use, then the lowest id.
      rank: (rts) =>
        [...rts].sort(
          (a, b) =>
            (b.Associations?.length ?? 0) - (a.Associations?.length ?? 0) ||
            (a.RouteTableId ?? '').localeCompare(b.RouteTableId ?? ''),
        ),
    });
    if (!found) return undefined;
    return ec2Found('ec2.route-table', found, (r) => r.RouteTableId!, {
      vpcId: found.item.VpcId ?? '',
      extraRoutes: await extraRoutes(ctx, found.item),
      tags: ec2Tags(ctx, found.item),
    });
  },

  async create(ctx, node, d) {
    // The token makes the SDK's retry after a lost answer return the same table; the VPC created a moment
    // ago may not be visible yet.
    const ClientToken = await clientToken(ctx, node.key);
    const out = await retryWhileNotFound(ctx, `${node.key}'s VPC ${d.vpcId}`, () =>
      ctx.aws.ec2.send(
        new CreateRouteTableCommand({
          VpcId: d.vpcId,
          ClientToken,
          TagSpecifications: tagSpecs(ctx, 'route-table', node.key),
        }),
      ),
    );
    return { kind: 'ec2.route-table', id: out.RouteTable!.RouteTableId! };
  },

  diff: (d, o) => [
    ...change('vpcId', o.vpcId, d.vpcId, true),
    ...change('extraRoutes', o.extraRoutes, d.extraRoutes),
    ...tagChanges(d.tags, o.tags),
  ],

  /** Removes routes someone added (an internet or NAT route would defeat the private design). */
  async update(ctx, _node, found, d, changes) {
    // The tags and each extra route (one DeleteRoute per destination) are independent calls: together.
    await Promise.all([
      hasTagChange(changes) && convergeEc2Tags(ctx, found.record.id, d.tags, found.observed.tags),
      ...found.observed.extraRoutes
        .filter((r) => !d.extraRoutes.includes(r))
        .map((route) => {
          const dest = route.split(' -> ')[0]!;
          return ifExists(
            ctx.aws.ec2.send(
              new DeleteRouteCommand({
                RouteTableId: found.record.id,
                ...(dest.startsWith('pl-')
                  ? { DestinationPrefixListId: dest }
                  : dest.includes(':')
                    ? { DestinationIpv6CidrBlock: dest }
                    : { DestinationCidrBlock: dest }),
              }),
            ),
          );
        }),
    ]);
  },

  /**
   * Explicit associations left behind (an orphaned table whose association nodes are not in the config
   * any more) make DeleteRouteTable fail with DependencyViolation forever: remove them first.
   */
  async delete(ctx, record) {
    const out = await ifExists(ctx.aws.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [record.id] })));
    const rt = out?.RouteTables?.[0];
    if (!rt) return;
    for (const a of rt.Associations ?? []) {
      if (a.Main || !a.RouteTableAssociationId || /^disassociat/.test(a.AssociationState?.State ?? '')) continue;
      await ifExists(ctx.aws.ec2.send(new DisassociateRouteTableCommand({ AssociationId: a.RouteTableAssociationId })));
    }
    await deleteEc2(ctx, record.id, () => ctx.aws.ec2.send(new DeleteRouteTableCommand({ RouteTableId: record.id })));
  },

  ownerOf: (ctx, record) => ec2OwnerOf(ctx, record.id, describeRouteTables(ctx)),

  list: (ctx) =>
    listTagged<RouteTable>(ctx, 'ec2.route-table', 'RouteTable', (r) => r.RouteTableId, describeRouteTables(ctx)),
};
