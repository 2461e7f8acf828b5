/**
 * What the schedule starts, shared by both trigger engines (the EventBridge rule's target and the
 * EventBridge Scheduler schedule), so switching engines never changes how the job runs.
 */
import type { JobConfig, NetworkMode, StackConfig } from '../config/schema.js';
import type { Ctx, FieldChange } from '../engine/types.js';
import { K, jobKey } from './keys.js';
import { privateServiceKeys, taskGroupIds, taskGroupKeys, taskSubnetKeys } from './network.js';
import { familyArnOf } from './policies.js';

/** The ECS RunTask settings of a schedule's target, in comparable form (lists sorted). */
export interface EcsTargetParams {
  taskDefinitionArn: string;
  taskCount: number;
  launchType: string;
  platformVersion: string;
  subnets: string[];
  securityGroups: string[];
  assignPublicIp: string;
  propagateTags: string;
  enableEcsManagedTags: boolean;
}

/**
 * The kinds of the nodes a target's network depends on, in some mode (TARGET_NETWORK below): its subnets
 * and group, and its way out (the endpoints, or the internet route). A kind whose nodes depend on
 * ecsTargetDeps names these in its dependsOn.
 */
export const TARGET_NETWORK_KINDS = [
  'ec2.subnet',
  'ec2.existing-subnet',
  'ec2.security-group',
  'ec2.vpc-interface-endpoint',
  'ec2.security-group-ingress',
  'ec2.vpc-gateway-endpoint',
  'ec2.route',
] as const;

/** The nodes whose records `ecsTargetParams` reads for a job: its family, and the network of the config's mode. */
export function ecsTargetDeps(config: StackConfig, job: JobConfig): string[] {
  return [K.cluster, jobKey(job, K.taskDefinition), ...TARGET_NETWORK[config.network.mode].deps(config)];
}

/** The ECS settings of a job's target: its family in the stack's cluster, on the network of the config's mode. */
export function ecsTargetParams(ctx: Ctx, job: JobConfig): EcsTargetParams {
  const td = ctx.record(jobKey(job, K.taskDefinition));
  return {
    // The family ARN without a revision: each run uses the latest ACTIVE revision, so a new revision
    // needs no target update.
    taskDefinitionArn: td.attrs?.familyArn ?? familyArnOf(td.arn),
    taskCount: 1,
    launchType: 'FARGATE',
    platformVersion: 'LATEST',
    ...ecsTargetNetwork(ctx),
    propagateTags: 'TASK_DEFINITION',
    enableEcsManagedTags: true,
  };
}

/** The network part of a target: where tasks start and whether they get a public IP. */
export type TargetNetworkParams = Pick<EcsTargetParams, 'subnets' | 'securityGroups' | 'assignPublicIp'>;

/** The target's network settings for the config's mode. */
export function ecsTargetNetwork(ctx: Ctx): TargetNetworkParams {
  return TARGET_NETWORK[ctx.config.network.mode].params(ctx);
}

/**
 * One entry per network mode. The target depends on the nodes that make its way out work (the
 * endpoints, or the internet gateway's route), not only on its subnets: switching modes, the walk then
 * changes the target (its public IP) only once the new way out exists, and the engine removes the old
 * one only after everything converged, so a scheduled run can start at every moment of the switch.
 */
const TARGET_NETWORK: Record<
  NetworkMode,
  { deps(config: StackConfig): string[]; params(ctx: Ctx): TargetNetworkParams }
> = {
  'private-endpoints': {
    deps: (config) => [
      ...taskSubnetKeys(config),
      ...taskGroupKeys(config),
      ...privateServiceKeys(config),
      ...(config.network.s3Gateway ? [K.gatewayEndpoint] : []),
    ],
    params: (ctx) => ({ subnets: taskSubnetIds(ctx), securityGroups: taskGroupIds(ctx), assignPublicIp: 'DISABLED' }),
  },
  public: {
    deps: (config) => [...taskSubnetKeys(config), ...taskGroupKeys(config), K.internetRoute],
    // The public IP is what makes the internet gateway usable: without one, nothing leaves the VPC.
    params: (ctx) => ({ subnets: taskSubnetIds(ctx), securityGroups: taskGroupIds(ctx), assignPublicIp: 'ENABLED' }),
  },
  existing: {
    deps: (config) => [...taskSubnetKeys(config), ...taskGroupKeys(config), ...privateServiceKeys(config)],
    params: (ctx) => ({
      subnets: taskSubnetIds(ctx),
      securityGroups: taskGroupIds(ctx),
      assignPublicIp: ctx.config.network.assignPublicIp ? 'ENABLED' : 'DISABLED',
    }),
  },
};

function taskSubnetIds(ctx: Ctx): string[] {
  return taskSubnetKeys(ctx.config)
    .map((k) => ctx.record(k).id)
    .sort();
}

/** The shape EventBridge rule targets and Scheduler targets both return for their ECS parameters. */
interface LiveEcsParameters {
  TaskDefinitionArn?: string;
  TaskCount?: number;
  LaunchType?: string;
  PlatformVersion?: string;
  NetworkConfiguration?: {
    awsvpcConfiguration?: { Subnets?: string[]; SecurityGroups?: string[]; AssignPublicIp?: string };
  };
  PropagateTags?: string;
  EnableECSManagedTags?: boolean;
}

/**
 * How a target's ECS settings differ, field by field (`<prefix>.<field>`); the whole block when only one
 * side has any (a target that starts a state machine has none: its definition holds them).
 */
export function ecsChanges(
  d: EcsTargetParams | undefined,
  o: EcsTargetParams | undefined,
  prefix: string,
): FieldChange[] {
  if (!d || !o) return d === o ? [] : [{ field: prefix, from: o, to: d }];
  const changes: FieldChange[] = [];
  for (const f of Object.keys(d) as (keyof EcsTargetParams)[]) {
    const want = Array.isArray(d[f]) ? [...(d[f] as string[])].sort() : d[f];
    if (JSON.stringify(want) !== JSON.stringify(o[f])) changes.push({ field: `${prefix}.${f}`, from: o[f], to: want });
  }
  return changes;
}

/** A live target's ECS parameters in the comparable form of `ecsTargetParams`. */
export function observeEcsParams(e: LiveEcsParameters | undefined): EcsTargetParams {
  const vpc = e?.NetworkConfiguration?.awsvpcConfiguration;
  return {
    taskDefinitionArn: e?.TaskDefinitionArn ?? '',
    taskCount: e?.TaskCount ?? 1,
    launchType: e?.LaunchType ?? '',
    platformVersion: e?.PlatformVersion ?? '',
    subnets: [...(vpc?.Subnets ?? [])].sort(),
    securityGroups: [...(vpc?.SecurityGroups ?? [])].sort(),
    assignPublicIp: vpc?.AssignPublicIp ?? 'DISABLED',
    propagateTags: e?.PropagateTags ?? '',
    enableEcsManagedTags: e?.EnableECSManagedTags ?? false,
  };
}
