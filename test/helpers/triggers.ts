/**
 * What a stack's schedule would start, read from the fake: every live trigger (an enabled rule's
 * target, an enabled schedule), whether its role may start what it targets, and firing it as EventBridge
 * or Scheduler would at a scheduled time (RunTask, or StartExecution of the job's state machine).
 */
import type { FakeAws } from '../fake-aws/index.js';
import type { Execution } from '../fake-aws/sfn.js';

/** One trigger that would fire now. */
export interface LiveTrigger {
  engine: 'rule' | 'scheduler';
  /** The rule's or the schedule's name. */
  name: string;
  /** What it starts: a cluster (ECS target) or a state machine. */
  arn: string;
  kind: 'ecs' | 'state-machine';
  roleArn?: string;
  ecs?: {
    TaskDefinitionArn?: string;
    NetworkConfiguration?: {
      awsvpcConfiguration?: { Subnets?: string[]; SecurityGroups?: string[]; AssignPublicIp?: string };
    };
    LaunchType?: string;
  };
  /** The input it hands its target for a run due at `time` (ISO). */
  inputFor(time: string): string;
}

const isMachine = (arn: string | undefined) => /:states:[^:]*:\d*:stateMachine:/.test(arn ?? '');

export function liveTriggers(f: FakeAws): LiveTrigger[] {
  const rules = [...f.eventBridge.rules.values()]
    .filter((r) => r.state === 'ENABLED' && r.scheduleExpression && r.targets.get('batch'))
    .map((r): LiveTrigger => {
      const t = r.targets.get('batch')!;
      return {
        engine: 'rule',
        name: r.name,
        arn: t.Arn ?? '',
        kind: isMachine(t.Arn) ? 'state-machine' : 'ecs',
        roleArn: t.RoleArn,
        ecs: t.EcsParameters as LiveTrigger['ecs'],
        inputFor: (time) => f.eventBridge.targetInput(r.name, 'batch', { time }),
      };
    });
  const schedules = f.scheduler.activeSchedules().map((x): LiveTrigger => {
    if (/:aws-sdk:ecs:runTask$/.test(x.target.Arn ?? '')) {
      // The universal RunTask target: the request is the Input; its overrides are what the task gets.
      const request = (time: string) =>
        JSON.parse(f.scheduler.targetInput(x.group, x.name, time)) as Record<string, any>;
      const r = request('2000-01-01T00:00:00Z');
      const vpc = r.networkConfiguration?.awsvpcConfiguration;
      return {
        engine: 'scheduler',
        name: x.name,
        arn: r.cluster,
        kind: 'ecs',
        roleArn: x.target.RoleArn,
        ecs: {
          TaskDefinitionArn: r.taskDefinition,
          LaunchType: r.launchType,
          NetworkConfiguration: {
            awsvpcConfiguration: {
              Subnets: vpc?.subnets,
              SecurityGroups: vpc?.securityGroups,
              AssignPublicIp: vpc?.assignPublicIp,
            },
          },
        },
        inputFor: (time) => JSON.stringify(request(time).overrides),
      };
    }
    return {
      engine: 'scheduler',
      name: x.name,
      arn: x.target.Arn ?? '',
      kind: isMachine(x.target.Arn) ? 'state-machine' : 'ecs',
      roleArn: x.target.RoleArn,
      ecs: x.target.EcsParameters as LiveTrigger['ecs'],
      inputFor: (time) => f.scheduler.targetInput(x.group, x.name, time),
    };
  });
  return [...rules, ...schedules];
}

/**
 * Why the trigger could not start a run now (its role's inline policies, as the IAM fake reads them;
 * the state machine and its own role for a state machine target), or undefined when it could.
 */
export function cannotStart(f: FakeAws, t: LiveTrigger): string | undefined {
  if (t.kind === 'state-machine') {
    if (!f.iam.allows(t.roleArn, 'states:StartExecution', t.arn)) return `${t.roleArn} may not start ${t.arn}`;
    const m = f.sfn.machines.get(t.arn);
    if (m?.status !== 'ACTIVE') return `${t.arn} does not exist`;
    const def = JSON.parse(m.definition) as { States: Record<string, { Arguments?: { TaskDefinition?: string } }> };
    const td = f.ecs.revisionArn(
      Object.values(def.States).find((s) => s.Arguments?.TaskDefinition)?.Arguments?.TaskDefinition ?? '',
    );
    if (!td || !f.iam.allows(m.roleArn, 'ecs:RunTask', td))
      return `the state machine's role ${m.roleArn} may not run ${td}`;
    return undefined;
  }
  const td = f.ecs.revisionArn(t.ecs?.TaskDefinitionArn ?? '');
  if (!td) return `${t.ecs?.TaskDefinitionArn} does not exist`;
  // RunTask in the cluster, the task's roles passed, the task tagged as it starts (tag-on-create).
  const asks = f.ecs.runTaskAuthorization({
    cluster: t.arn,
    taskDefinition: td,
    propagateTags: 'TASK_DEFINITION',
    enableECSManagedTags: true,
  });
  for (const a of asks) {
    const allowed = f.iam.allows(t.roleArn, a.action, a.resource, a.context);
    if (!allowed) return `${t.roleArn} may not ${a.action} ${a.resource}`;
  }
  return undefined;
}

/** Fire a trigger for a run due at `time`: what EventBridge or Scheduler does with its target. */
export function fire(f: FakeAws, t: LiveTrigger, time: string): { taskArn?: string; execution?: Execution } {
  const why = cannotStart(f, t);
  if (why) throw new Error(`the trigger cannot start a run: ${why}`);
  const input = t.inputFor(time);
  if (t.kind === 'state-machine') return { execution: f.sfn.startFromTrigger(t.roleArn, t.arn, input) };
  const vpc = t.ecs?.NetworkConfiguration?.awsvpcConfiguration;
  const out = f.ecs.runTask({
    cluster: t.arn,
    taskDefinition: t.ecs?.TaskDefinitionArn,
    launchType: t.ecs?.LaunchType,
    count: 1,
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: vpc?.Subnets,
        securityGroups: vpc?.SecurityGroups,
        assignPublicIp: vpc?.AssignPublicIp,
      },
    },
    overrides: JSON.parse(input),
    propagateTags: 'TASK_DEFINITION',
    startedBy: `${t.engine === 'rule' ? 'events-rule' : 'batchctl-schedule'}/${t.name}`,
  });
  return { taskArn: out.tasks[0]?.taskArn };
}
