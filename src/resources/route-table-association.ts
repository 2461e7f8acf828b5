import {
  AssociateRouteTableCommand,
  DescribeRouteTablesCommand,
  DisassociateRouteTableCommand,
  ReplaceRouteTableAssociationCommand,
} from '@aws-sdk/client-ec2';
import type { ResourceKind } from '../core/types.js';
import { K } from './lib/keys.js';
import { change, unlessNotFound } from './lib/ec2.js';
import { isOurs, tagRecord } from './lib/tags.js';

/** Which route table a batch subnet uses. */
export interface RouteTableAssociationDesired {
  routeTableId: string;
  subnetId: string;
}

/** The batch subnet's explicit association with the stack's route table. */
export const routeTableAssociation: ResourceKind<RouteTableAssociationDesired, { az: string }> = {
  kind: 'ec2.route-table-association',
  label: 'Route table association',
  dependsOn: ['ec2.route-table', 'ec2.subnet'],
  costly: false,

  nodes: (config) =>
    config.network.batchSubnets.map((s) => ({
      key: K.routeTableAssociation(s.az),
      deps: [K.routeTable, K.subnet('batch', s.az)],
      params: { az: s.az },
    })),

  desired: (ctx, node) => ({ routeTableId: ctx.record(K.routeTable).id, subnetId: ctx.record(K.subnet('batch', node.params.az)).id }),

  /**
   * Associations cannot carry tags, so they are found through the subnet (a subnet has at most one
   * explicit association) and their ownership follows the route table's tags. A subnet without an
   * explicit association uses the VPC's main route table, which this filter does not match.
   */
  async find(ctx, node, recorded) {
    const subnetId = ctx.record(K.subnet('batch', node.params.az)).id;
    const out = await ctx.aws.ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'association.subnet-id', Values: [subnetId] }] }));
    for (const rt of out.RouteTables ?? []) {
      const assoc = rt.Associations?.find((a) => a.SubnetId === subnetId && !/^disassociat/.test(a.AssociationState?.State ?? ''));
      if (!assoc?.RouteTableAssociationId) continue;
      return {
        record: { kind: 'ec2.route-table-association', id: assoc.RouteTableAssociationId, attrs: { subnetId, routeTableId: rt.RouteTableId! } },
        owned: assoc.RouteTableAssociationId === recorded?.id || isOurs(ctx, tagRecord(rt.Tags)),
        observed: { routeTableId: rt.RouteTableId!, subnetId },
      };
    }
    return undefined;
  },

  async create(ctx, _node, d) {
    const out = await ctx.aws.ec2.send(new AssociateRouteTableCommand({ RouteTableId: d.routeTableId, SubnetId: d.subnetId }));
    return { kind: 'ec2.route-table-association', id: out.AssociationId!, attrs: { subnetId: d.subnetId, routeTableId: d.routeTableId } };
  },

  diff: (d, o) => [...change('subnetId', o.subnetId, d.subnetId, true), ...change('routeTableId', o.routeTableId, d.routeTableId)],

  /** Moves the subnet from another of our route tables in one call; the association gets a new id. */
  async update(ctx, _node, found, d) {
    const out = await ctx.aws.ec2.send(new ReplaceRouteTableAssociationCommand({ AssociationId: found.record.id, RouteTableId: d.routeTableId }));
    return { kind: 'ec2.route-table-association', id: out.NewAssociationId!, attrs: { subnetId: d.subnetId, routeTableId: d.routeTableId } };
  },

  async delete(ctx, record) {
    await unlessNotFound(ctx.aws.ec2.send(new DisassociateRouteTableCommand({ AssociationId: record.id })));
  },
};
