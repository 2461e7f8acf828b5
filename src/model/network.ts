/**
 * What each network mode is made of, in one place: which nodes hold the tasks' subnets and security
 * groups, and where interface endpoints put their network interfaces. The kinds' `nodes(config)` read
 * these to decide whether they exist at all; no kind branches on the mode in its calls to AWS.
 */
import type { StackConfig } from '../config/schema.js';
import type { Ctx } from '../engine/types.js';
import { K } from './keys.js';

/** batchctl creates the VPC (and its subnets, route table...): every mode but `existing`. */
export function ownsVpc(config: StackConfig): boolean {
  return config.network.mode !== 'existing';
}

/** The nodes of the subnets tasks run in: ours (batch subnets) or yours (`existing`). */
export function taskSubnetKeys(config: StackConfig): string[] {
  return ownsVpc(config)
    ? config.network.batchSubnets.map((s) => K.subnet('batch', s.az))
    : config.network.subnetIds.map((id) => K.existingSubnet(id));
}

/** The nodes of the subnets interface endpoints may use: the endpoint subnets, or in `existing` your task subnets. */
export function endpointSubnetKeys(config: StackConfig): string[] {
  return ownsVpc(config)
    ? config.network.endpointSubnets.map((s) => K.subnet('endpoint', s.az))
    : taskSubnetKeys(config);
}

/**
 * The subnets an interface endpoint uses: one per AZ (AWS takes no more), the first listed in each. In
 * `existing` the AZs come from your subnets as found (their records carry the AZ).
 */
export function endpointSubnetIds(ctx: Ctx): string[] {
  const byAz = new Map<string, string>();
  for (const key of endpointSubnetKeys(ctx.config)) {
    const rec = ctx.record(key);
    const az = rec.attrs?.az ?? rec.id;
    if (!byAz.has(az)) byAz.set(az, rec.id);
  }
  return [...byAz.values()].sort();
}

/** batchctl creates the task security group, unless `existing` names groups of yours. */
export function ownsTaskGroup(config: StackConfig): boolean {
  return !config.network.securityGroupIds.length;
}

/** The nodes of the tasks' security groups (none when they are all yours). */
export function taskGroupKeys(config: StackConfig): string[] {
  return ownsTaskGroup(config) ? [K.securityGroup('task')] : [];
}

/** The tasks' security group ids: ours, or yours as configured. */
export function taskGroupIds(ctx: Ctx): string[] {
  return ownsTaskGroup(ctx.config)
    ? [ctx.record(K.securityGroup('task')).id]
    : [...ctx.config.network.securityGroupIds].sort();
}

/** The interface endpoint nodes of this mode. */
export function interfaceEndpointKeys(config: StackConfig): string[] {
  return config.network.interfaceEndpoints.map((s) => K.interfaceEndpoint(s));
}

/** What a task needs to reach AWS's services without a NAT: the interface endpoints and the HTTPS rule into them. */
export function privateServiceKeys(config: StackConfig): string[] {
  return config.network.interfaceEndpoints.length ? [...interfaceEndpointKeys(config), K.endpointIngress] : [];
}

/**
 * The AZs the interface endpoints are billed in: the endpoint subnets' (or, in `existing`, one per
 * subnet of yours: their AZs are not known without asking AWS, so distinct AZs are assumed).
 */
export function endpointAzCount(config: StackConfig): number {
  return ownsVpc(config)
    ? new Set(config.network.endpointSubnets.map((s) => s.az)).size
    : config.network.subnetIds.length;
}

/** Mode `public`: tasks leave the VPC through an internet gateway of ours. */
export function needsInternetGateway(config: StackConfig): boolean {
  return config.network.mode === 'public';
}

/** The default route to the internet; the only route batchctl adds beyond the endpoints'. */
export const DEFAULT_ROUTE = '0.0.0.0/0';

/** The routes of our route table that route nodes own (so the route table leaves them to those nodes). */
export function routeNodes(config: StackConfig): { key: string; destination: string }[] {
  return needsInternetGateway(config) ? [{ key: K.internetRoute, destination: DEFAULT_ROUTE }] : [];
}
