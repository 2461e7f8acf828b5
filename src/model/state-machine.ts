/**
 * A job's Step Functions state machine (jobs with `task.timeout` or `task.retries`): its name, its
 * definition, what the schedule passes it, and the IAM documents of its role and of the trigger's.
 *
 * Why a state machine: ECS has no task timeout and EventBridge retries only failed invocations, not
 * failed runs. `ecs:runTask.sync` runs the task and waits for it to stop; the Task state's
 * TimeoutSeconds makes Step Functions stop the task when it runs too long, and its Retry runs it again
 * after a failure.
 *
 * What `.sync` does with the task's end: it succeeds when every essential container exited 0, and fails
 * with States.TaskFailed (the Cause is the task, as DescribeTasks shows it) when one exited non-zero or
 * the task stopped before its container ran (CannotPullContainerError, ResourceInitializationError). A
 * RunTask answered with `failures[]` (no capacity, no ENI) fails with AmazonECS.Unknown. Those are what
 * the Retry retries; a timeout (States.Timeout) is not retried: a hung run usually hangs again, and a retry
 * would run into the next scheduled run. The Choice after the task re-checks the exit code so that a task
 * reported as succeeded without exit code 0 can never pass for a good run.
 */
import type { JobConfig, StackConfig } from '../config/schema.js';
import { RETRY_BACKOFF, formatRunDuration, retryDelaySeconds } from '../config/run-policy.js';
import type { Ctx } from '../engine/types.js';
import { ENV_DUPLICATE_GUARD, ENV_RUN_ID, ENV_SCHEDULED_TIME } from './guard.js';
import { ecsTargetParams } from './ecs-target.js';
import { K, jobKey } from './keys.js';
import { arn, eventsPolicy, type PolicyDocument } from './policies.js';
import { TAG_LOGICAL, TAG_STACK } from '../engine/types.js';

/** True when a job runs through its state machine (it has a timeout or retries). */
export const usesStateMachine = (job: JobConfig): boolean => job.runPolicy !== undefined;

/** The jobs that run through a state machine. */
export const stateMachineJobs = (config: StackConfig): JobConfig[] => config.jobs.filter(usesStateMachine);

/** A job's state machine is named after its family: unique in the stack, and what it runs. */
export const stateMachineName = (job: JobConfig): string => job.task.family;

/** State machine ARNs are derived from the name, so the trigger's policy can name one before it exists. */
export const stateMachineArn = (ctx: Ctx, job: JobConfig): string =>
  arn(ctx, 'states', `stateMachine:${stateMachineName(job)}`);

/** The EventBridge rule Step Functions manages in the account to learn that a `.sync` task stopped. */
export const SYNC_RULE = 'StepFunctionsGetEventsForECSTaskRule';

/**
 * The states of the definition, by name (status and run-now read the execution history by them). A Spot
 * job's adds the on-demand fallback: `spotFailure`, `waitRetry` (with retries), `onDemand`, and
 * `attemptFailed` (without retries).
 */
export const STATES = {
  run: 'Run task',
  check: 'Exit code',
  succeeded: 'Succeeded',
  failed: 'Failed',
  spotFailure: 'Spot failure?',
  waitRetry: 'Wait before retry',
  onDemand: 'Run task on-demand',
  attemptFailed: 'Attempt failed',
} as const;

/** The strategy of a Spot job's first attempt: all of it on FARGATE_SPOT (ECS takes no launch type with it). */
export const SPOT_STRATEGY = [{ CapacityProvider: 'FARGATE_SPOT', Weight: 1 }];

/**
 * True for what `.sync` reports when Spot failed an attempt (the Catch's error output): RunTask started no
 * task (no Spot capacity: failures[], or an error RunTask answered), or ECS stopped it with stop code
 * SpotInterruption (the Cause is the task, as DescribeTasks shows it).
 */
export const SPOT_FAILED =
  '{% $states.input.Error != \'States.TaskFailed\' or $contains($states.input.Cause, /"StopCode"\\s*:\\s*"SpotInterruption"/) %}';

/** The error the definition's Fail state raises for a task that stopped without exit code 0. */
export const EXIT_CODE_ERROR = 'Batch.ExitCode';

/**
 * What the Retry retries: every failure of the task except a timeout (States.TaskFailed matches any but
 * States.Timeout).
 */
export const RETRIED_ERRORS = ['States.TaskFailed', 'AmazonECS.Unknown'];

/**
 * The definition. JSONata, not JSONPath: the container's environment is the execution input's with
 * BATCH_RUN_ID (the execution's ARN) appended, which JSONPath cannot express. The duplicate guard needs
 * it: a retry carries the same BATCH_SCHEDULED_TIME as the attempt it retries, and the run id is what
 * tells the job "this claim is my own run's" from "another delivery of the same time already ran".
 */
export function stateMachineDefinition(ctx: Ctx, job: JobConfig): Record<string, unknown> {
  const policy = job.runPolicy!;
  const e = ecsTargetParams(ctx, job);
  const cluster = ctx.record(K.cluster);
  const limits = [
    policy.timeoutSeconds !== undefined
      ? `a ${formatRunDuration(policy.timeoutSeconds)} timeout per attempt`
      : 'no timeout',
    `${policy.retries} ${policy.retries === 1 ? 'retry' : 'retries'}`,
    ...(policy.spot ? ['first attempt on Fargate Spot, then on-demand'] : []),
  ].join(', ');
  /** RunTask's arguments; `input`: where the execution's command and environment are read. */
  const args = (capacity: Record<string, unknown>, input: string) => ({
    Cluster: cluster.arn ?? arn(ctx, 'ecs', `cluster/${ctx.config.cluster.name}`),
    TaskDefinition: e.taskDefinitionArn,
    ...capacity,
    PlatformVersion: e.platformVersion,
    NetworkConfiguration: {
      AwsvpcConfiguration: { Subnets: e.subnets, SecurityGroups: e.securityGroups, AssignPublicIp: e.assignPublicIp },
    },
    // PropagateTags keeps the stack's tags on the task. EnableECSManagedTags is left out: AWS's Step
    // Functions guide never showed it among the ECS integration's parameters (docs/how-it-works.md), and
    // the aws:ecs:* tags it adds are only for cost reports; a parameter Step Functions refused would make
    // every run of the job fail.
    PropagateTags: e.propagateTags,
    Overrides: {
      ContainerOverrides: [
        {
          Name: job.task.containerName,
          Command: `{% ${input}.Command %}`,
          Environment: `{% $append(${input}.Environment, [{'Name': '${ENV_RUN_ID}', 'Value': $states.context.Execution.Id}]) %}`,
        },
      ],
    },
  });
  const timeout = policy.timeoutSeconds !== undefined ? { TimeoutSeconds: policy.timeoutSeconds } : {};
  const retry = (retries: number, fromRetry: number) =>
    retries > 0
      ? {
          Retry: [
            {
              ErrorEquals: RETRIED_ERRORS,
              IntervalSeconds: retryDelaySeconds(fromRetry),
              MaxAttempts: retries,
              BackoffRate: RETRY_BACKOFF.backoffRate,
              MaxDelaySeconds: RETRY_BACKOFF.maxDelaySeconds,
            },
          ],
        }
      : {};
  const resource = `arn:${ctx.partition}:states:::ecs:runTask.sync`;
  const checkExit = { Condition: '{% $states.input.Containers[0].ExitCode = 0 %}', Next: STATES.succeeded };
  const head = {
    Comment: `batchctl stack ${ctx.stack}, job ${job.name}: runs ${job.task.family} (${limits})`,
    QueryLanguage: 'JSONata',
    StartAt: STATES.run,
  };
  const ends = {
    [STATES.succeeded]: { Type: 'Succeed' },
    [STATES.failed]: { Type: 'Fail', Error: EXIT_CODE_ERROR, Cause: 'the task stopped without exit code 0' },
  };
  if (!policy.spot) {
    return {
      ...head,
      States: {
        [STATES.run]: {
          Type: 'Task',
          Resource: resource,
          Arguments: args({ LaunchType: e.launchType }, '$states.input'),
          ...timeout,
          ...retry(policy.retries, 1),
          Next: STATES.check,
        },
        [STATES.check]: { Type: 'Choice', Choices: [checkExit], Default: STATES.failed },
        ...ends,
      },
    };
  }
  // Fargate Spot: the first attempt on FARGATE_SPOT, every later one on on-demand FARGATE (see
  // docs/timeouts.md). A failure Spot caused (no capacity, the task reclaimed) goes on on-demand at once;
  // any other is the first retry, after its wait, or ends the run when there is none. The on-demand state
  // reads the execution's own input: after a Catch the state input is the error, not the command.
  return {
    ...head,
    States: {
      [STATES.run]: {
        Type: 'Task',
        Resource: resource,
        Arguments: args({ CapacityProviderStrategy: SPOT_STRATEGY }, '$states.input'),
        ...timeout,
        Catch: [{ ErrorEquals: RETRIED_ERRORS, Next: STATES.spotFailure }],
        Next: STATES.check,
      },
      [STATES.check]: {
        Type: 'Choice',
        // A job that exits 0 on Spot's SIGTERM did not finish: it runs again on-demand.
        Choices: [{ Condition: "{% $states.input.StopCode = 'SpotInterruption' %}", Next: STATES.onDemand }, checkExit],
        Default: STATES.failed,
      },
      [STATES.spotFailure]: {
        Type: 'Choice',
        Choices: [{ Condition: SPOT_FAILED, Next: STATES.onDemand }],
        Default: policy.retries > 0 ? STATES.waitRetry : STATES.attemptFailed,
      },
      ...(policy.retries > 0
        ? { [STATES.waitRetry]: { Type: 'Wait', Seconds: RETRY_BACKOFF.intervalSeconds, Next: STATES.onDemand } }
        : {
            [STATES.attemptFailed]: {
              Type: 'Fail',
              Error: '{% $states.input.Error %}',
              Cause: '{% $states.input.Cause %}',
            },
          }),
      [STATES.onDemand]: {
        Type: 'Task',
        Resource: resource,
        Arguments: args({ LaunchType: e.launchType }, '$states.context.Execution.Input'),
        ...timeout,
        // The fallback is the first retry: the later ones wait as they would have (1 min, 2 min...).
        ...retry(policy.retries - 1, 2),
        Next: STATES.check,
      },
      ...ends,
    },
  };
}

const SENTINEL = '\u0000time\u0000';

/**
 * The execution input a trigger sends, as text: the container's command and environment (in the
 * PascalCase Step Functions' ECS integration takes), with `timePlaceholder` (`<time>` for the rule's
 * input transformer, `<aws.scheduler.scheduled-time>` for Scheduler) where BATCH_SCHEDULED_TIME's value
 * goes. The same variables the direct target passes. Every other `<` is written as `\u003c`, so no
 * command argument can be read as a placeholder.
 */
export function executionInputTemplate(command: string[], duplicateGuard: boolean, timePlaceholder: string): string {
  const environment = [{ Name: ENV_SCHEDULED_TIME, Value: SENTINEL }];
  if (!duplicateGuard) environment.push({ Name: ENV_DUPLICATE_GUARD, Value: 'off' });
  return JSON.stringify({ Command: command, Environment: environment })
    .replaceAll('<', '\\u003c')
    .replace(JSON.stringify(SENTINEL), `"${timePlaceholder}"`);
}

/** Who may assume a state machine role: Step Functions, for this account's state machines in this region. */
export function stateMachineTrustPolicy(ctx: Ctx): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: 'states.amazonaws.com' },
        Action: 'sts:AssumeRole',
        // The form Step Functions documents and writes itself: CreateStateMachine checks that it can assume
        // the role before the state machine's own ARN exists. iam:PassRole decides which one gets it.
        Condition: {
          StringEquals: { 'aws:SourceAccount': ctx.account },
          ArnLike: { 'aws:SourceArn': arn(ctx, 'states', 'stateMachine:*') },
        },
      },
    ],
  };
}

/**
 * The state machine role's permissions: run the job's family in our cluster, pass exactly its two roles,
 * tag the task it starts, watch and stop only this job's tasks, and keep the EventBridge rule `.sync`
 * relies on (Step Functions creates it in the account the first time, with the state machine's role).
 */
export function stateMachinePolicy(ctx: Ctx, job: JobConfig): PolicyDocument {
  const clusterArn = ctx.maybeRecord(K.cluster)?.arn ?? arn(ctx, 'ecs', `cluster/${ctx.config.cluster.name}`);
  const tasks = arn(ctx, 'ecs', `task/${ctx.config.cluster.name}/*`);
  // What the direct target's role may do: run the family in our cluster, pass its two roles, tag the task.
  const runs = eventsPolicy(ctx, job);
  return {
    ...runs,
    Statement: [
      ...runs.Statement,
      {
        // `.sync` reads the task until it stops.
        Sid: 'WatchTasks',
        Effect: 'Allow',
        Action: 'ecs:DescribeTasks',
        Resource: tasks,
        Condition: { ArnEquals: { 'ecs:cluster': clusterArn } },
      },
      {
        // At the timeout (or when the execution is stopped) Step Functions stops the task. Only this job's
        // tasks: they carry its task definition's tags (PropagateTags), which no other job's have.
        Sid: 'StopTasks',
        Effect: 'Allow',
        Action: 'ecs:StopTask',
        Resource: tasks,
        Condition: {
          ArnEquals: { 'ecs:cluster': clusterArn },
          StringEquals: {
            [`aws:ResourceTag/${TAG_STACK}`]: ctx.stack,
            [`aws:ResourceTag/${TAG_LOGICAL}`]: jobKey(job, K.taskDefinition),
          },
        },
      },
      {
        Sid: 'SyncRule',
        Effect: 'Allow',
        Action: ['events:DescribeRule', 'events:PutRule', 'events:PutTargets'],
        Resource: arn(ctx, 'events', `rule/${SYNC_RULE}`),
      },
    ],
  };
}

/**
 * The trigger role's policy for a job that runs through its state machine: start that state machine and
 * nothing else. It is an inline policy of its own beside the one that runs the task directly, so that
 * switching paths never leaves the live target without the permission it needs: the new policy exists
 * before the target changes, and the old one goes only after.
 */
export function startExecutionPolicy(ctx: Ctx, job: JobConfig): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'StartExecution', Effect: 'Allow', Action: 'states:StartExecution', Resource: stateMachineArn(ctx, job) },
    ],
  };
}
