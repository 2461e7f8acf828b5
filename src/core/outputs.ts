/**
 * `batchctl outputs`: the identifiers other tools need (a CI pushing images, a dashboard, another
 * stack's config), from the state by default (one STS call), or checked live with `live` (the same
 * read-only walk as `plan`: what does not exist right now is null).
 */
import { K } from '../resources/lib/keys.js';
import { taskSubnetKeys } from '../resources/lib/network.js';
import type { NetworkMode } from '../config/schema.js';
import { usesDeadLetterQueue, usesScheduler } from '../resources/lib/scheduler.js';
import { alertsOn, ownsTopic } from '../resources/lib/notify.js';
import type { StackOptions } from './stack.js';
import type { ResourceRecord } from './types.js';

/** One job's identifiers (one job per stack today). */
export interface JobOutputs {
  name: string;
  taskDefinitionArn: string | null;
  scheduleEngine: 'rule' | 'scheduler';
  /** The EventBridge rule's ARN, or the EventBridge Scheduler schedule's. */
  scheduleArn: string | null;
  logGroup: string | null;
}

/** Every output; null when the resource does not exist (yet, or any more). Keys are stable: scripts read them. */
export interface Outputs {
  repositoryUri: string | null;
  repositoryArn: string | null;
  bucket: string | null;
  bucketArn: string | null;
  logGroups: string[];
  cluster: string | null;
  clusterArn: string | null;
  taskDefinitionArn: string | null;
  scheduleEngine: 'rule' | 'scheduler';
  scheduleArn: string | null;
  alertTopicArn: string | null;
  deadLetterQueueUrl: string | null;
  deadLetterQueueArn: string | null;
  secretArn: string | null;
  vpcId: string | null;
  /** network.mode; in `existing` the VPC and the subnets are yours. */
  networkMode: NetworkMode;
  /** The subnets tasks run in (yours in mode existing). */
  batchSubnetIds: string[];
  endpointSubnetIds: string[];
  taskSecurityGroupId: string | null;
  executionRoleArn: string | null;
  taskRoleArn: string | null;
  /** The role EventBridge or Scheduler uses to start the task. */
  triggerRoleArn: string | null;
  jobs: JobOutputs[];
}

export interface OutputsReport {
  stack: string;
  region: string;
  account: string;
  /** Where the values came from: the state's location, or `live`. */
  source: string;
  outputs: Outputs;
}

export async function runOutputs(opts: StackOptions & { live?: boolean }): Promise<OutputsReport> {
  const [{ openStack }, { ALL_SERVICES }] = await Promise.all([import('./stack.js'), import('../aws/clients.js')]);
  const stack = await openStack(opts, opts.live ? ALL_SERVICES : ['sts']);
  try {
    let records = stack.state.records();
    if (opts.live) {
      const [{ planStack }, { RESOURCE_KINDS }] = await Promise.all([import('./plan.js'), import('../resources/index.js')]);
      const plan = await planStack({
        config: stack.config, aws: stack.aws, account: stack.account, partition: stack.partition,
        reporter: opts.reporter, state: stack.state, clock: opts.clock, kinds: RESOURCE_KINDS,
      });
      records = new Map(plan.entries.filter((e) => e.record && e.action !== 'delete').map((e) => [e.key, e.record!]));
    }
    const c = stack.config;
    return {
      stack: c.stack, region: c.region, account: stack.account, source: opts.live ? 'live' : stack.state.path,
      outputs: outputsOf(c, records),
    };
  } finally {
    await stack.close();
  }
}

/** The outputs of a config, from records by node key. */
export function outputsOf(config: import('../config/schema.js').StackConfig, records: Map<string, ResourceRecord>): Outputs {
  const rec = (key: string) => records.get(key);
  const id = (key: string) => rec(key)?.id ?? null;
  const arn = (key: string) => rec(key)?.arn ?? null;
  const scheduler = usesScheduler(config);
  const scheduleArn = arn(scheduler ? K.schedule : K.rule);
  const logGroup = id(K.logGroup);
  const taskDefinitionArn = arn(K.taskDefinition);
  const ids = (keys: string[]) => keys.map(id).filter((x): x is string => !!x);
  const topic = !alertsOn(config) ? null : ownsTopic(config) ? arn(K.alertTopic) : config.notify?.topicArn ?? null;
  return {
    repositoryUri: rec(K.repository)?.attrs?.uri ?? null,
    repositoryArn: arn(K.repository),
    bucket: id(K.bucket),
    bucketArn: arn(K.bucket),
    logGroups: logGroup ? [logGroup] : [],
    cluster: id(K.cluster),
    clusterArn: arn(K.cluster),
    taskDefinitionArn,
    scheduleEngine: config.schedule.engine,
    scheduleArn,
    alertTopicArn: topic,
    deadLetterQueueUrl: usesDeadLetterQueue(config) ? id(K.deadLetterQueue) : null,
    deadLetterQueueArn: usesDeadLetterQueue(config) ? arn(K.deadLetterQueue) : null,
    secretArn: arn(K.secret),
    vpcId: id(K.vpc),
    networkMode: config.network.mode,
    batchSubnetIds: ids(taskSubnetKeys(config)),
    endpointSubnetIds: ids(config.network.endpointSubnets.map((s) => K.subnet('endpoint', s.az))),
    taskSecurityGroupId: id(K.securityGroup('task')) ?? config.network.securityGroupIds[0] ?? null,
    executionRoleArn: arn(K.role('execution')),
    taskRoleArn: arn(K.role('task')),
    triggerRoleArn: arn(K.role(scheduler ? 'scheduler' : 'events')),
    jobs: [{ name: config.task.family, taskDefinitionArn, scheduleEngine: config.schedule.engine, scheduleArn, logGroup }],
  };
}
