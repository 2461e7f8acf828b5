/**
 * What the schedule starts, shared by both trigger engines (the EventBridge rule's target and the
 * EventBridge Scheduler schedule), so switching engines never changes how the job runs.
 */
import type { JobConfig, StackConfig } from '../../config/schema.js';
import type { Ctx } from '../../core/types.js';
import { K, jobKey } from './keys.js';

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

/** The network nodes every job's target reads: the same subnets and security group for all jobs. */
export function ecsNetworkDeps(config: StackConfig): string[] {
  return [...config.network.batchSubnets.map((s) => K.subnet('batch', s.az)), K.securityGroup('task')];
}

/** Where every job's task runs: the batch subnets, the task security group, no public IP. */
export function ecsNetworkParams(ctx: Ctx): Pick<EcsTargetParams, 'subnets' | 'securityGroups' | 'assignPublicIp'> {
  return {
    subnets: ctx.config.network.batchSubnets.map((s) => ctx.record(K.subnet('batch', s.az)).id).sort(),
    securityGroups: [ctx.record(K.securityGroup('task')).id],
    assignPublicIp: 'DISABLED',
  };
}

/** The nodes whose records `ecsTargetParams` reads for a job. */
export function ecsTargetDeps(config: StackConfig, job: JobConfig): string[] {
  return [K.cluster, jobKey(job, K.taskDefinition), ...ecsNetworkDeps(config)];
}

/** The ECS settings of a job's target: its family in the stack's cluster, on the stack's network. */
export function ecsTargetParams(ctx: Ctx, job: JobConfig): EcsTargetParams {
  const td = ctx.record(jobKey(job, K.taskDefinition));
  const { subnets, securityGroups, assignPublicIp } = ecsNetworkParams(ctx);
  return {
    // The family ARN without a revision: each run uses the latest ACTIVE revision, so a new revision
    // needs no target update.
    taskDefinitionArn: td.attrs?.familyArn ?? (td.arn ?? '').replace(/:\d+$/, ''),
    taskCount: 1,
    launchType: 'FARGATE',
    platformVersion: 'LATEST',
    subnets,
    securityGroups,
    assignPublicIp,
    propagateTags: 'TASK_DEFINITION',
    enableEcsManagedTags: true,
  };
}


/** The shape EventBridge rule targets and Scheduler targets both return for their ECS parameters. */
interface LiveEcsParameters {
  TaskDefinitionArn?: string;
  TaskCount?: number;
  LaunchType?: string;
  PlatformVersion?: string;
  NetworkConfiguration?: { awsvpcConfiguration?: { Subnets?: string[]; SecurityGroups?: string[]; AssignPublicIp?: string } };
  PropagateTags?: string;
  EnableECSManagedTags?: boolean;
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
