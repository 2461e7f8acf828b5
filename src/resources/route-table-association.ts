import {
  AssociateRouteTableCommand,
  DescribeRouteTablesCommand,
  DisassociateRouteTableCommand,
  ReplaceRouteTableAssociationCommand,
  type RouteTable,
} from '@aws-sdk/client-ec2';
import { awsErrorCode } from '../base/errors.js';
import type { Ctx, ResourceKind, ResourceRecord } from '../engine/types.js';
import { K } from '../model/keys.js';
import { change, prefetchStack, retryWhileNotFound, stackItems } from './lib/ec2.js';
import { createOnce } from './lib/create.js';
import { ownershipOf, tagRecord } from './lib/tags.js';
import { describeRouteTables } from './route-table.js';
import { ifExists } from './lib/aws-calls.js';

/** Which route table a batch subnet uses. */
export interface RouteTableAssociationDesired {
  routeTableId: string;
  subnetId: string;
}

const KIND = 'ec2.route-table-association';
const live = (a: { AssociationState?: { State?: string } }) => !/^disassociat/.test(a.AssociationState?.State ?? '');

/** The explicit association of a subnet among these route tables. */
function associationIn(rts: RouteTable[], subnetId: string): { rt: RouteTable; id: string } | undefined {
  for (const rt of rts) {
    const a = rt.Associations?.find((x) => x.SubnetId === subnetId && live(x));
    if (a?.RouteTableAssociationId) return { rt, id: a.RouteTableAssociationId };
  }
  return undefined;
}

const recordOf = (id: string, subnetId: string, routeTableId: string): ResourceRecord => ({
  kind: KIND,
  id,
  attrs: { subnetId, routeTableId },
});

/** The subnet's association with one route table, read live (after a create whose answer was lost). */
async function lookup(ctx: Ctx, d: RouteTableAssociationDesired): Promise<ResourceRecord | undefined> {
  const out = await ifExists(ctx.aws.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [d.routeTableId] })));
  const hit = associationIn(out?.RouteTables ?? [], d.subnetId);
  return hit && recordOf(hit.id, d.subnetId, d.routeTableId);
}

/** The batch subnet's explicit association with the stack's route table. */
export const routeTableAssociation: ResourceKind<RouteTableAssociationDesired, { az: string }> = {
  kind: KIND,
  label: 'Route table association',
  dependsOn: ['ec2.route-table', 'ec2.subnet'],
  costly: false,

  nodes: (config) =>
    config.network.batchSubnets.map((s) => ({
      key: K.routeTableAssociation(s.az),
      deps: [K.routeTable, K.subnet('batch', s.az)],
      // A subnet's association is the subnet's (it has at most one): a new subnet has none.
      partOf: [K.subnet('batch', s.az)],
      params: { az: s.az },
    })),

  prefetch: prefetchStack('RouteTable', describeRouteTables),

  desired: (ctx, node) => ({
    routeTableId: ctx.record(K.routeTable).id,
    subnetId: ctx.record(K.subnet('batch', node.params.az)).id,
  }),

  /**
   * Associations cannot carry tags: one is found among the stack's route tables (the walk's shared
   * listing) by its subnet, and is ours because its table is. A subnet associated with another table of
   * our VPC is ours too (drift: `update` moves it back); a subnet without an explicit association uses
   * the VPC's main route table, which neither lookup matches.
   */
  async find(ctx, node) {
    const subnetId = ctx.record(K.subnet('batch', node.params.az)).id;
    const ours = associationIn(await stackItems(ctx, 'RouteTable', describeRouteTables(ctx)), subnetId);
    if (ours) {
      return {
        record: recordOf(ours.id, subnetId, ours.rt.RouteTableId!),
        owned: true,
        observed: { routeTableId: ours.rt.RouteTableId!, subnetId },
      };
    }
    const out = await ctx.aws.ec2.send(
      new DescribeRouteTablesCommand({ Filters: [{ Name: 'association.subnet-id', Values: [subnetId] }] }),
    );
    const other = associationIn(out.RouteTables ?? [], subnetId);
    if (!other) return undefined;
    // The association belongs to the subnet (a subnet has at most one): our subnet moved to another table
    // of our VPC (its main table, one added by hand) is drift to repair, and moving it back changes only
    // our subnet, never that table. A table outside our VPC cannot hold our subnet; its owner is named.
    const own =
      other.rt.VpcId !== undefined && other.rt.VpcId === ctx.maybeRecord(K.vpc)?.id
        ? { owned: true }
        : ownershipOf(ctx, tagRecord(other.rt.Tags));
    return {
      record: recordOf(other.id, subnetId, other.rt.RouteTableId!),
      ...own,
      observed: { routeTableId: other.rt.RouteTableId!, subnetId },
    };
  },

  async create(ctx, node, d) {
    // AssociateRouteTable takes no token: sent once, and looked up if the answer is lost. The subnet and
    // table created a moment ago may not be visible yet (NotFound).
    return createOnce(
      ctx,
      `${node.key} (AssociateRouteTable)`,
      async () => {
        try {
          const out = await retryWhileNotFound(
            ctx,
            `${node.key}: subnet ${d.subnetId} and route table ${d.routeTableId}`,
            () =>
              ctx.aws.once.ec2.send(
                new AssociateRouteTableCommand({ RouteTableId: d.routeTableId, SubnetId: d.subnetId }),
              ),
          );
          return recordOf(out.AssociationId!, d.subnetId, d.routeTableId);
        } catch (err) {
          // Already associated with this very table: an earlier attempt of ours did it.
          const done = awsErrorCode(err) === 'Resource.AlreadyAssociated' ? await lookup(ctx, d) : undefined;
          if (done) return done;
          throw err;
        }
      },
      () => lookup(ctx, d),
    );
  },

  diff: (d, o) => [
    ...change('subnetId', o.subnetId, d.subnetId, true),
    ...change('routeTableId', o.routeTableId, d.routeTableId),
  ],

  /** Moves the subnet from another of our route tables in one call; the association gets a new id. */
  async update(ctx, _node, found, d) {
    const out = await ctx.aws.ec2.send(
      new ReplaceRouteTableAssociationCommand({ AssociationId: found.record.id, RouteTableId: d.routeTableId }),
    );
    return recordOf(out.NewAssociationId!, d.subnetId, d.routeTableId);
  },

  async delete(ctx, record) {
    await ifExists(ctx.aws.ec2.send(new DisassociateRouteTableCommand({ AssociationId: record.id })));
  },

  /** Ours when its route table is (the association's own tags do not exist). */
  async ownerOf(ctx, record) {
    const out = await ctx.aws.ec2.send(
      new DescribeRouteTablesCommand({
        Filters: [{ Name: 'association.route-table-association-id', Values: [record.id] }],
      }),
    );
    const rt = (out.RouteTables ?? []).find((r) =>
      r.Associations?.some((a) => a.RouteTableAssociationId === record.id && live(a)),
    );
    return rt ? ownershipOf(ctx, tagRecord(rt.Tags)) : undefined;
  },
};
