import {
  CreateRouteCommand,
  DeleteRouteCommand,
  DescribeRouteTablesCommand,
  ReplaceRouteCommand,
  type Route,
  type RouteTable,
} from '@aws-sdk/client-ec2';
import { awsErrorCode } from '../base/errors.js';
import type { Ctx, ResourceKind, ResourceRecord } from '../engine/types.js';
import { K } from '../model/keys.js';
import { change, prefetchStack, retryWhileNotFound, routeTarget, stackItems } from './lib/ec2.js';
import { ownershipOf, tagRecord } from './lib/tags.js';
import { routeNodes } from '../model/network.js';
import { describeRouteTables } from './route-table.js';
import { ifExists, unlessGone } from './lib/aws-calls.js';

/** One route of our route table: where it goes and through what. */
export interface RouteDesired {
  routeTableId: string;
  destination: string;
  /** The gateway (igw-...) or other target id. */
  target: string;
}

const KIND = 'ec2.route';

const routeIn = (rt: RouteTable | undefined, destination: string) =>
  rt?.Routes?.find((r) => r.DestinationCidrBlock === destination);

const recordOf = (d: RouteDesired): ResourceRecord => ({
  kind: KIND,
  id: `${d.routeTableId}:${d.destination}`,
  attrs: { routeTableId: d.routeTableId, destination: d.destination, target: d.target },
});

/** The route as it is now, read from the table directly (after a create whose answer was lost). */
async function liveRoute(ctx: Ctx, routeTableId: string, destination: string): Promise<Route | undefined> {
  const out = await ifExists(ctx.aws.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [routeTableId] })));
  return routeIn(out?.RouteTables?.[0], destination);
}

/**
 * A route of our route table that a mode needs (mode `public`: 0.0.0.0/0 to the internet gateway).
 * Routes cannot be tagged: one is ours because its table is. Kept out of the route table's own settings,
 * so switching modes adds it before anything else changes and removes it only after everything
 * converged (the engine's prune), never in between.
 */
export const route: ResourceKind<RouteDesired, { destination: string }> = {
  kind: KIND,
  label: 'Route',
  dependsOn: ['ec2.route-table', 'ec2.internet-gateway'],
  costly: false,

  nodes: (config) =>
    routeNodes(config).map((r) => ({
      key: r.key,
      deps: [K.routeTable, K.internetGateway],
      partOf: [K.routeTable],
      params: { destination: r.destination },
    })),

  prefetch: prefetchStack('RouteTable', describeRouteTables),

  desired: (ctx, node) => ({
    routeTableId: ctx.record(K.routeTable).id,
    destination: node.params.destination,
    target: ctx.record(K.internetGateway).id,
  }),

  /** In the walk's shared listing of our route tables: no call of its own. */
  async find(ctx, node) {
    const routeTableId = ctx.record(K.routeTable).id;
    const rt = (await stackItems(ctx, 'RouteTable', describeRouteTables(ctx))).find(
      (t) => t.RouteTableId === routeTableId,
    );
    const r = routeIn(rt, node.params.destination);
    if (!rt || !r) return undefined;
    const observed = { routeTableId, destination: node.params.destination, target: routeTarget(r) };
    return { record: recordOf(observed), ...ownershipOf(ctx, tagRecord(rt.Tags)), observed };
  },

  async create(ctx, node, d) {
    // CreateRoute takes no token; the destination is unique in a table, so a resend of a call whose
    // answer was lost is refused with RouteAlreadyExists: the route is then ours when it goes where we
    // asked. The gateway attached a moment ago may not be visible yet (NotFound).
    try {
      await retryWhileNotFound(ctx, `${node.key}: route table ${d.routeTableId} and gateway ${d.target}`, () =>
        ctx.aws.ec2.send(
          new CreateRouteCommand({
            RouteTableId: d.routeTableId,
            DestinationCidrBlock: d.destination,
            GatewayId: d.target,
          }),
        ),
      );
    } catch (err) {
      if (awsErrorCode(err) !== 'RouteAlreadyExists') throw err;
      const live = await liveRoute(ctx, d.routeTableId, d.destination);
      if (!live || routeTarget(live) !== d.target) throw err;
    }
    return recordOf(d);
  },

  diff: (d, o) => [
    ...change('routeTableId', o.routeTableId, d.routeTableId, true),
    ...change('target', o.target, d.target),
  ],

  /** Points the route back at our gateway (someone sent it elsewhere). */
  async update(ctx, _node, found, d) {
    await ctx.aws.ec2.send(
      new ReplaceRouteCommand({
        RouteTableId: d.routeTableId,
        DestinationCidrBlock: d.destination,
        GatewayId: d.target,
      }),
    );
    return recordOf(d);
  },

  async delete(ctx, record) {
    const { routeTableId, destination } = record.attrs ?? {};
    if (!routeTableId || !destination) return;
    const remove = new DeleteRouteCommand({ RouteTableId: routeTableId, DestinationCidrBlock: destination });
    await unlessGone(ctx.aws.ec2.send(remove));
  },

  /**
   * Ours when its table is, and only while it still goes where we sent it: a route someone pointed
   * elsewhere since is theirs now, and is not deleted.
   */
  async ownerOf(ctx, record) {
    const { routeTableId, destination, target } = record.attrs ?? {};
    if (!routeTableId || !destination) return undefined;
    const out = await ifExists(ctx.aws.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [routeTableId] })));
    const rt = out?.RouteTables?.[0];
    const r = routeIn(rt, destination);
    if (!rt || !r || (target && routeTarget(r) !== target)) return undefined;
    return ownershipOf(ctx, tagRecord(rt.Tags));
  },
};
