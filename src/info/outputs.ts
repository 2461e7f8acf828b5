/**
 * `batchctl outputs`: the identifiers other tools need (a CI pushing images, a dashboard, another
 * stack's config), from the state by default (one STS call), or checked live with `live` (the same
 * read-only walk as `plan`: what does not exist right now is null).
 */
import { K, jobKey } from '../model/keys.js';
import { taskSubnetKeys } from '../model/network.js';
import type { NetworkMode } from '../config/schema.js';
import { usesDeadLetterQueue } from '../model/scheduler.js';
import { deadLetterAlarmOn } from '../model/notify.js';
import { alertsOn, ownsTopic } from '../model/notify.js';
import { UserError } from '../base/errors.js';
import type { StackOptions } from '../engine/stack.js';
import type { ResourceRecord } from '../engine/types.js';

/** One job's identifiers. */
export interface JobOutputs {
  /** The job's name (its key in `jobs:`; the stack's name for a stack without `jobs:`). */
  name: string;
  family: string;
  taskDefinitionArn: string | null;
  scheduleEngine: 'rule' | 'scheduler';
  /** The EventBridge rule's ARN, or the EventBridge Scheduler schedule's. */
  scheduleArn: string | null;
  /** The stack's log group; the job's streams are `<logStreamPrefix>/<container>/<task id>` in it. */
  logGroup: string | null;
  logStreamPrefix: string;
  taskRoleArn: string | null;
  triggerRoleArn: string | null;
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
  /** The stack's only job's (null when the stack has several jobs: read `jobs`). */
  taskDefinitionArn: string | null;
  /** The stack's only job's (null when the stack has several jobs). */
  scheduleEngine: 'rule' | 'scheduler' | null;
  /** The stack's only job's (null when the stack has several jobs). */
  scheduleArn: string | null;
  alertTopicArn: string | null;
  deadLetterQueueUrl: string | null;
  deadLetterQueueArn: string | null;
  /** The CloudWatch alarm on the dead-letter queue (with notify): what to silence or inspect in the console. */
  deadLetterAlarmName: string | null;
  deadLetterAlarmArn: string | null;
  secretArn: string | null;
  vpcId: string | null;
  /** network.mode; in `existing` the VPC and the subnets are yours. */
  networkMode: NetworkMode;
  /** The subnets tasks run in (yours in mode existing). */
  batchSubnetIds: string[];
  endpointSubnetIds: string[];
  taskSecurityGroupId: string | null;
  executionRoleArn: string | null;
  /** The stack's only job's task role (null when the stack has several jobs). */
  taskRoleArn: string | null;
  /** The role EventBridge or Scheduler uses to start the only job's task (null with several jobs). */
  triggerRoleArn: string | null;
  /** Every job, in the config's order. */
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
  const [{ openStack }, { ALL_SERVICES }] = await Promise.all([
    import('../engine/stack.js'),
    import('../aws/clients.js'),
  ]);
  const stack = await openStack(opts, opts.live ? ALL_SERVICES : ['sts']);
  try {
    let records = stack.state.records();
    if (opts.live) {
      const [{ planStack }, { RESOURCE_KINDS }] = await Promise.all([
        import('../engine/plan.js'),
        import('../resources/index.js'),
      ]);
      const plan = await planStack({
        config: stack.config,
        aws: stack.aws,
        account: stack.account,
        partition: stack.partition,
        reporter: opts.reporter,
        state: stack.state,
        clock: opts.clock,
        kinds: RESOURCE_KINDS,
      });
      records = new Map(plan.entries.filter((e) => e.record && e.action !== 'delete').map((e) => [e.key, e.record!]));
    }
    const c = stack.config;
    // Before `up`, a table of dashes would look like an answer: there is no stack to describe yet.
    if (!records.size) {
      throw new UserError(
        opts.live
          ? `no stack ${c.stack} yet: nothing of it exists in ${c.region} (account ${stack.account})`
          : `no stack ${c.stack} yet: its state ${stack.state.path} records no resource`,
        opts.live
          ? 'create it with `batchctl up`'
          : 'create it with `batchctl up` (or, if it was made from another machine, pass its --state, or `batchctl outputs --live` to look it up in AWS)',
      );
    }
    return {
      stack: c.stack,
      region: c.region,
      account: stack.account,
      source: opts.live ? 'live' : stack.state.path,
      outputs: outputsOf(c, records),
    };
  } finally {
    await stack.close();
  }
}

/** The outputs of a config, from records by node key. */
export function outputsOf(
  config: import('../config/schema.js').StackConfig,
  records: Map<string, ResourceRecord>,
): Outputs {
  const rec = (key: string) => records.get(key);
  const id = (key: string) => rec(key)?.id ?? null;
  const arn = (key: string) => rec(key)?.arn ?? null;
  const logGroup = id(K.logGroup);
  const ids = (keys: string[]) => keys.map(id).filter((x): x is string => !!x);
  const jobs = config.jobs.map((job): JobOutputs => {
    const trigger = job.schedule.engine === 'scheduler' ? 'scheduler' : 'events';
    return {
      name: job.name,
      family: job.task.family,
      taskDefinitionArn: arn(jobKey(job, K.taskDefinition)),
      scheduleEngine: job.schedule.engine,
      scheduleArn: arn(jobKey(job, trigger === 'scheduler' ? K.schedule : K.rule)),
      logGroup,
      logStreamPrefix: job.streamPrefix,
      taskRoleArn: arn(jobKey(job, K.role('task'))),
      triggerRoleArn: arn(jobKey(job, K.role(trigger))),
    };
  });
  // The single-job keys predate jobs: a stack of one job keeps them; with several they would name one job at random.
  const only = jobs.length === 1 ? jobs[0]! : undefined;
  const topic = !alertsOn(config) ? null : ownsTopic(config) ? arn(K.alertTopic) : (config.notify?.topicArn ?? null);
  return {
    repositoryUri: rec(K.repository)?.attrs?.uri ?? null,
    repositoryArn: arn(K.repository),
    bucket: id(K.bucket),
    bucketArn: arn(K.bucket),
    logGroups: logGroup ? [logGroup] : [],
    cluster: id(K.cluster),
    clusterArn: arn(K.cluster),
    taskDefinitionArn: only?.taskDefinitionArn ?? null,
    scheduleEngine: only?.scheduleEngine ?? null,
    scheduleArn: only?.scheduleArn ?? null,
    alertTopicArn: topic,
    deadLetterQueueUrl: usesDeadLetterQueue(config) ? id(K.deadLetterQueue) : null,
    deadLetterQueueArn: usesDeadLetterQueue(config) ? arn(K.deadLetterQueue) : null,
    deadLetterAlarmName: deadLetterAlarmOn(config) ? id(K.deadLetterAlarm) : null,
    deadLetterAlarmArn: deadLetterAlarmOn(config) ? arn(K.deadLetterAlarm) : null,
    secretArn: arn(K.secret),
    vpcId: id(K.vpc),
    networkMode: config.network.mode,
    batchSubnetIds: ids(taskSubnetKeys(config)),
    endpointSubnetIds: ids(config.network.endpointSubnets.map((s) => K.subnet('endpoint', s.az))),
    taskSecurityGroupId: id(K.securityGroup('task')) ?? config.network.securityGroupIds[0] ?? null,
    executionRoleArn: arn(K.role('execution')),
    taskRoleArn: only?.taskRoleArn ?? null,
    triggerRoleArn: only?.triggerRoleArn ?? null,
    jobs,
  };
}
