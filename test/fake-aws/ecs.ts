import {
  ECSClient, CreateClusterCommand, DescribeClustersCommand, UpdateClusterSettingsCommand, DeleteClusterCommand,
  TagResourceCommand, UntagResourceCommand, ListTagsForResourceCommand, RegisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand, ListTaskDefinitionsCommand, DeregisterTaskDefinitionCommand,
  DeleteTaskDefinitionsCommand, RunTaskCommand, DescribeTasksCommand, ListTasksCommand, StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { awsError, type FakeAwsCore } from './core.js';
import type { InventoryEntry } from './index.js';
import type { FakeEc2 } from './ec2.js';
import type { FakeIam } from './iam.js';
import type { FakeLogs } from './logs.js';
import type { FakeEventBridge } from './eventbridge.js';
import type { FakeEcr } from './ecr.js';

type Tags = Record<string, string>;

interface Cluster {
  name: string;
  arn: string;
  status: 'ACTIVE' | 'INACTIVE';
  settings: { name: string; value: string }[];
  tags: Tags;
}

interface TaskDef {
  family: string;
  revision: number;
  arn: string;
  status: 'ACTIVE' | 'INACTIVE' | 'DELETE_IN_PROGRESS';
  /** The definition as RegisterTaskDefinition received it (minus family and tags). */
  input: Record<string, any>;
  tags: Tags;
  registeredAt: number;
  deregisteredAt?: number;
}

interface Task {
  arn: string;
  clusterArn: string;
  taskDefinitionArn: string;
  family: string;
  containers: string[];
  launchType?: string;
  startedBy?: string;
  overrides: unknown;
  tags: Tags;
  createdAt: number;
  /** When StopTask was called, if it was. */
  stopRequestedAt?: number;
  stopReason?: string;
  timings: { provisioningMs: number; pendingMs: number; runningMs: number };
  /** null: the container never started (image pull failed, secret not readable). */
  exitCode: number | null;
  stopCode: string;
  stoppedReason?: string;
  /** The essential container's own reason once stopped (e.g. `OutOfMemoryError: ...`). */
  containerReason?: string;
  /** The container's exit code when StopTask stops it while running. */
  stopExitCode: number;
  /** The VPC where the task holds a public IPv4 address (started with assignPublicIp ENABLED). */
  publicIpVpc?: string;
  /** Per container: its image reference, and the digest it resolved to at RunTask (when the fake ECR knows it). */
  images?: Record<string, string>;
  imageDigests?: Record<string, string>;
}

const ecsTags = (t: { key?: string; value?: string }[] | undefined): Tags => Object.fromEntries((t ?? []).map((x) => [x.key ?? '', x.value ?? '']));
const ecsTagList = (t: Tags) => Object.entries(t).map(([key, value]) => ({ key, value }));

/**
 * ECS: clusters, task definition revisions, and just enough of tasks for run-now (RunTask, DescribeTasks,
 * ListTasks, StopTask). A task walks PROVISIONING -> PENDING -> RUNNING -> STOPPED on core.now().
 */
export class FakeEcs {
  readonly clusters = new Map<string, Cluster>();
  readonly taskDefs: TaskDef[] = [];
  readonly tasks = new Map<string, Task>();
  /** Durations of each phase of tasks started from now on. */
  taskTimings = { provisioningMs: 5_000, pendingMs: 10_000, runningMs: 30_000 };
  /**
   * Exit code of the essential container of tasks started from now on. null: the container never
   * starts; the task goes from PENDING straight to STOPPED with `taskStopCode`/`taskStoppedReason`.
   */
  taskExitCode: number | null = 0;
  /** How tasks started from now on stop on their own. */
  taskStopCode = 'EssentialContainerExited';
  /** The stoppedReason of tasks started from now on (default: AWS's text for an essential container exit). */
  taskStoppedReason: string | undefined = undefined;
  /** The container's own reason of tasks started from now on, once they stop (e.g. an OOM kill's). */
  taskContainerReason: string | undefined = undefined;
  /** Exit code of a running container StopTask stops (143: SIGTERM; 0 for a job that exits cleanly on it). */
  taskStopExitCode = 143;
  /**
   * Lines the container of tasks started from now on writes, `afterMs` after it starts. With an awslogs
   * log configuration they appear in the task's stream `<prefix>/<container>/<task id>` at that time.
   */
  taskLogLines: { afterMs: number; message: string }[] = [];
  /**
   * What the container of tasks started from now on does, instead of `taskLogLines` and `taskExitCode`:
   * called when the task starts with the container's environment as ECS gives it (the task definition's
   * variables, the run's overrides, and each secret resolved from the fake Secrets Manager as the
   * execution role would); its lines are the container's log (100 ms apart), its code the exit code.
   * The task runs at least `taskTimings.runningMs`, longer if the program takes longer.
   */
  taskProgram: ((run: { taskArn: string; env: Record<string, string> }) => Promise<{ lines: string[]; exitCode: number }>) | undefined = undefined;
  /** While set, RunTask starts nothing and reports this in `failures[]` (e.g. `RESOURCE:ENI`). */
  runTaskFailure: { reason: string; detail?: string } | undefined = undefined;
  /**
   * Repositories of other accounts (by ARN) whose repository policy lets this account pull. Any other
   * account's repository refuses the pull, whatever the execution role's own policy says.
   */
  readonly crossAccountPullGrants = new Set<string>();
  /**
   * How long ECS keeps showing a task after it stopped (AWS: "at least an hour"; the fake: exactly this).
   * After it, ListTasks leaves it out and DescribeTasks answers MISSING.
   */
  forgetStoppedAfterMs = 3_600_000;
  /** Tasks whose STOPPED event has not been put on the bus yet. */
  private pendingStopEvents = new Set<string>();
  private tokens = new Map<string, string[]>();
  /** RunTask's handler (the RunTask operation, and tasks Step Functions starts). */
  readonly runTask: (i: any) => { tasks: any[]; failures: { arn?: string; reason?: string; detail?: string }[] };

  constructor(readonly core: FakeAwsCore) {
    core.peers.set('ecs', this);
    core.tickers.push(() => this.emitStopEvents());
    const prefix = `arn:${core.partition}:ecs:${core.region}:${core.account}`;
    const clusterName = (ref: string | undefined) => (ref ?? 'default').replace(/^arn:[^:]+:ecs:[^:]+:\d+:cluster\//, '');
    const activeCluster = (ref: string | undefined) => {
      const c = this.clusters.get(clusterName(ref));
      return c && c.status === 'ACTIVE' ? c : awsError('ClusterNotFoundException', 'Cluster not found.', 400);
    };
    const clusterOut = (c: Cluster, include: string[] = []) => {
      const running = [...this.tasks.values()].filter((t) => t.clusterArn === c.arn && this.status(t).last !== 'STOPPED').length;
      return {
        clusterName: c.name, clusterArn: c.arn, status: c.status, runningTasksCount: running, pendingTasksCount: 0,
        activeServicesCount: 0, registeredContainerInstancesCount: 0, capacityProviders: [], defaultCapacityProviderStrategy: [],
        settings: include.includes('SETTINGS') ? c.settings : undefined,
        tags: include.includes('TAGS') ? ecsTagList(c.tags) : undefined,
      };
    };
    const tdOut = (td: TaskDef) => {
      const i = td.input;
      return {
        taskDefinitionArn: td.arn, family: td.family, revision: td.revision, status: td.status,
        ...i,
        // What ECS adds on read: defaults for every container and top-level field left out.
        containerDefinitions: (i.containerDefinitions ?? []).map((c: Record<string, unknown>) => ({
          cpu: 0, portMappings: [], essential: true, environment: [], mountPoints: [], volumesFrom: [], systemControls: [], ...c,
        })),
        volumes: i.volumes ?? [], placementConstraints: i.placementConstraints ?? [],
        compatibilities: ['EC2', 'FARGATE'],
        requiresAttributes: [{ name: 'com.amazonaws.ecs.capability.logging-driver.awslogs' }, { name: 'ecs.capability.execution-role-awslogs' }],
        registeredAt: new Date(td.registeredAt), registeredBy: `arn:aws:iam::${core.account}:user/tester`,
        deregisteredAt: td.deregisteredAt ? new Date(td.deregisteredAt) : undefined,
        enableFaultInjection: i.enableFaultInjection ?? false,
      };
    };
    // family, family:revision or ARN; a bare family means its latest ACTIVE revision.
    const findTd = (ref: string | undefined): TaskDef | undefined => {
      const s = (ref ?? '').replace(/^arn:[^:]+:ecs:[^:]+:\d+:task-definition\//, '');
      const m = /^(.+):(\d+)$/.exec(s);
      if (m) return this.taskDefs.find((t) => t.family === m[1] && t.revision === Number(m[2]) && t.status !== 'DELETE_IN_PROGRESS');
      return this.taskDefs.filter((t) => t.family === s && t.status === 'ACTIVE').sort((a, b) => b.revision - a.revision)[0];
    };
    const byArn = (arn: string | undefined): { tags: Tags } => {
      const c = [...this.clusters.values()].find((x) => x.arn === arn && x.status === 'ACTIVE');
      const r = c ?? this.taskDefs.find((t) => t.arn === arn) ?? this.tasks.get(arn ?? '');
      return r ?? awsError('ResourceNotFoundException', 'The specified resource wasn\'t found.', 400);
    };
    const iam = () => core.peers.get('iam') as FakeIam | undefined;

    // RunTask, for the operation and for Step Functions' `.sync` integration (which starts tasks as the
    // state machine's role, without a call of batchctl's).
    this.runTask = (i) => {
      if (i.clientToken && this.tokens.has(i.clientToken)) {
        return { tasks: this.tokens.get(i.clientToken)!.map((a) => this.taskOut(this.tasks.get(a)!)), failures: [] };
      }
      const c = activeCluster(i.cluster);
      const td = findTd(i.taskDefinition) ?? awsError('ClientException', 'Unable to find task definition.', 400);
      if (td.status !== 'ACTIVE' && !/:\d+$/.test(i.taskDefinition)) awsError('ClientException', 'TaskDefinition is inactive', 400);
      if (td.input.networkMode === 'awsvpc' && !i.networkConfiguration?.awsvpcConfiguration?.subnets?.length) {
        awsError('InvalidParameterException', 'Network Configuration must be provided when networkMode \'awsvpc\' is specified.', 400);
      }
      const count = i.count ?? 1;
      if (count < 1 || count > 10) awsError('InvalidParameterException', 'Count must be between 1 and 10.', 400);
      if (this.runTaskFailure) {
        // Capacity and ENI problems are not exceptions: RunTask succeeds with an empty tasks[].
        return { tasks: [], failures: [{ arn: `${prefix}:container-instance/${c.name}`, ...this.runTaskFailure }] };
      }
      const tags = { ...ecsTags(i.tags), ...(i.propagateTags === 'TASK_DEFINITION' ? td.tags : {}) };
      const pullError = this.networkError(i.networkConfiguration?.awsvpcConfiguration) ?? this.pullError(td.input);
      const publicIpVpc = i.networkConfiguration?.awsvpcConfiguration?.assignPublicIp === 'ENABLED'
        ? this.ec2()?.subnets.get(i.networkConfiguration.awsvpcConfiguration.subnets?.[0])?.vpcId : undefined;
      const arns: string[] = [];
      for (let n = 0; n < count; n++) {
        const id = core.newId('task', 32).slice(5);
        const t: Task = {
          arn: `${prefix}:task/${c.name}/${id}`, clusterArn: c.arn, taskDefinitionArn: td.arn, family: td.family,
          containers: (td.input.containerDefinitions ?? []).map((x: { name: string }) => x.name),
          launchType: i.launchType, startedBy: i.startedBy, overrides: i.overrides ?? {}, tags, createdAt: core.now(),
          timings: { ...this.taskTimings }, exitCode: pullError ? null : this.taskExitCode, stopCode: pullError ? 'TaskFailedToStart' : this.taskStopCode,
          stoppedReason: pullError ?? this.taskStoppedReason, containerReason: this.taskContainerReason, stopExitCode: this.taskStopExitCode,
          ...(publicIpVpc ? { publicIpVpc } : {}),
          ...this.resolveImages(td.input.containerDefinitions ?? []),
        };
        this.tasks.set(t.arn, t);
        this.pendingStopEvents.add(t.arn);
        if (this.taskProgram && !pullError) this.runProgram(this.taskProgram, t, td.input.containerDefinitions ?? [], i.overrides);
        else this.scheduleLogs(t, td.input.containerDefinitions ?? []);
        arns.push(t.arn);
      }
      if (i.clientToken) this.tokens.set(i.clientToken, arns);
      return { tasks: arns.map((a) => this.taskOut(this.tasks.get(a)!)), failures: [] };
    };

    core.register({
      name: 'ecs',
      client: ECSClient,
      ops: {
        CreateCluster: {
          command: CreateClusterCommand,
          handle: (i) => {
            const name = i.clusterName ?? 'default';
            if (!/^[A-Za-z0-9_-]{1,255}$/.test(name)) awsError('InvalidParameterException', 'Cluster name must be 1-255 letters, numbers, hyphens and underscores.', 400);
            const existing = this.clusters.get(name);
            // CreateCluster is idempotent on an ACTIVE cluster (returns it unchanged) and reactivates an INACTIVE one.
            if (existing?.status === 'ACTIVE') return { cluster: clusterOut(existing, ['SETTINGS', 'TAGS']) };
            const c: Cluster = {
              name, arn: `${prefix}:cluster/${name}`, status: 'ACTIVE',
              settings: i.settings ?? [{ name: 'containerInsights', value: 'disabled' }], tags: ecsTags(i.tags),
            };
            this.clusters.set(name, c);
            core.label(c.arn, c.tags['batchctl:logical'] ?? name);
            return { cluster: clusterOut(c, ['SETTINGS', 'TAGS']) };
          },
        },
        DescribeClusters: {
          command: DescribeClustersCommand,
          handle: (i) => {
            const clusters = [];
            const failures = [];
            for (const ref of i.clusters ?? ['default']) {
              const c = this.clusters.get(clusterName(ref));
              // A missing cluster is a failure entry, not an error; an INACTIVE one is still described.
              if (c) clusters.push(clusterOut(c, i.include ?? []));
              else failures.push({ arn: `${prefix}:cluster/${clusterName(ref)}`, reason: 'MISSING' });
            }
            return { clusters, failures };
          },
        },
        UpdateClusterSettings: {
          command: UpdateClusterSettingsCommand,
          handle: (i) => {
            const c = activeCluster(i.cluster);
            for (const s of i.settings ?? []) {
              if (s.name !== 'containerInsights' || !['enabled', 'disabled', 'enhanced'].includes(s.value)) {
                awsError('InvalidParameterException', `Invalid setting ${s.name}=${s.value}.`, 400);
              }
              c.settings = c.settings.filter((x) => x.name !== s.name).concat([{ name: s.name, value: s.value }]);
            }
            return { cluster: clusterOut(c, ['SETTINGS']) };
          },
        },
        DeleteCluster: {
          command: DeleteClusterCommand,
          handle: (i) => {
            const c = activeCluster(i.cluster);
            if ([...this.tasks.values()].some((t) => t.clusterArn === c.arn && this.status(t).last !== 'STOPPED')) {
              awsError('ClusterContainsTasksException', 'The Cluster cannot be deleted while Tasks are active.', 400);
            }
            c.status = 'INACTIVE';
            return { cluster: clusterOut(c) };
          },
        },
        TagResource: {
          command: TagResourceCommand,
          handle: (i) => {
            Object.assign(byArn(i.resourceArn).tags, ecsTags(i.tags));
            return {};
          },
        },
        UntagResource: {
          command: UntagResourceCommand,
          handle: (i) => {
            const r = byArn(i.resourceArn);
            for (const k of i.tagKeys ?? []) delete r.tags[k];
            return {};
          },
        },
        ListTagsForResource: { command: ListTagsForResourceCommand, handle: (i) => ({ tags: ecsTagList(byArn(i.resourceArn).tags) }) },
        RegisterTaskDefinition: {
          command: RegisterTaskDefinitionCommand,
          handle: (i) => {
            const { family, tags, ...input } = i;
            if (!/^[A-Za-z0-9_-]{1,255}$/.test(family ?? '')) awsError('ClientException', 'Family contains invalid characters.', 400);
            if (!input.containerDefinitions?.length) awsError('ClientException', 'Container list cannot be empty.', 400);
            if (input.requiresCompatibilities?.includes('FARGATE')) {
              if (input.networkMode !== 'awsvpc') awsError('ClientException', 'Fargate only supports network mode \'awsvpc\'.', 400);
              if (!input.cpu) awsError('ClientException', 'Fargate requires that \'cpu\' be defined at the task level.', 400);
              if (!input.memory) awsError('ClientException', 'Fargate requires that \'memory\' be defined at the task level.', 400);
            }
            for (const roleArn of [input.executionRoleArn, input.taskRoleArn]) {
              // ECS checks the roles it is given; a role IAM has not propagated yet looks invalid.
              if (roleArn && iam() && !iam()!.isRolePropagated(roleArn)) awsError('ClientException', 'Role is not valid', 400);
            }
            const revision = Math.max(0, ...this.taskDefs.filter((t) => t.family === family).map((t) => t.revision)) + 1;
            const td: TaskDef = {
              family, revision, arn: `${prefix}:task-definition/${family}:${revision}`, status: 'ACTIVE',
              input: structuredClone(input), tags: ecsTags(tags), registeredAt: core.now(),
            };
            this.taskDefs.push(td);
            core.label(`${prefix}:task-definition/${family}`, td.tags['batchctl:logical'] ?? family);
            return { taskDefinition: tdOut(td), tags: ecsTagList(td.tags) };
          },
        },
        DescribeTaskDefinition: {
          command: DescribeTaskDefinitionCommand,
          handle: (i) => {
            const td = findTd(i.taskDefinition) ?? awsError('ClientException', 'Unable to describe task definition.', 400);
            return { taskDefinition: tdOut(td), tags: i.include?.includes('TAGS') ? ecsTagList(td.tags) : undefined };
          },
        },
        ListTaskDefinitions: {
          command: ListTaskDefinitionsCommand,
          handle: (i) => {
            const status = i.status ?? 'ACTIVE';
            const all = this.taskDefs
              .filter((t) => t.status === status && (!i.familyPrefix || t.family.startsWith(i.familyPrefix)))
              .sort((a, b) => a.family.localeCompare(b.family) || a.revision - b.revision)
              .map((t) => t.arn);
            if (i.sort === 'DESC') all.reverse();
            const start = Number(i.nextToken ?? 0);
            const max = i.maxResults ?? 100;
            const page = all.slice(start, start + max);
            return { taskDefinitionArns: page, nextToken: start + max < all.length ? String(start + max) : undefined };
          },
        },
        DeregisterTaskDefinition: {
          command: DeregisterTaskDefinitionCommand,
          handle: (i) => {
            if (!/:\d+$/.test(i.taskDefinition ?? '')) awsError('ClientException', 'Revision must be specified.', 400);
            const td = findTd(i.taskDefinition) ?? awsError('ClientException', 'The specified task definition does not exist.', 400);
            if (td.status === 'ACTIVE') {
              td.status = 'INACTIVE';
              td.deregisteredAt = core.now();
            }
            return { taskDefinition: tdOut(td) };
          },
        },
        DeleteTaskDefinitions: {
          command: DeleteTaskDefinitionsCommand,
          handle: (i) => {
            const taskDefinitions = [];
            const failures = [];
            for (const ref of i.taskDefinitions ?? []) {
              const td = findTd(ref);
              if (!td) failures.push({ arn: ref, reason: 'The specified task definition does not exist.' });
              else if (td.status === 'ACTIVE') failures.push({ arn: td.arn, reason: 'The specified task definition is still in ACTIVE status. Please deregister the target and try again.' });
              else {
                td.status = 'DELETE_IN_PROGRESS';
                taskDefinitions.push(tdOut(td));
              }
            }
            return { taskDefinitions, failures };
          },
        },
        RunTask: { command: RunTaskCommand, handle: (i) => this.runTask(i) },
        DescribeTasks: {
          command: DescribeTasksCommand,
          handle: (i) => {
            const c = activeCluster(i.cluster);
            const tasks = [];
            const failures = [];
            for (const ref of i.tasks ?? []) {
              const t = [...this.tasks.values()].find((x) => x.clusterArn === c.arn && (x.arn === ref || x.arn.endsWith(`/${ref}`)) && !this.forgotten(x));
              if (t) tasks.push({ ...this.taskOut(t), tags: i.include?.includes('TAGS') ? ecsTagList(t.tags) : undefined });
              else failures.push({ arn: ref, reason: 'MISSING' });
            }
            return { tasks, failures };
          },
        },
        ListTasks: {
          command: ListTasksCommand,
          handle: (i) => {
            const c = activeCluster(i.cluster);
            const want = i.desiredStatus ?? 'RUNNING';
            const taskArns = [...this.tasks.values()]
              .filter((t) => t.clusterArn === c.arn && this.status(t).desired === want && !this.forgotten(t))
              .filter((t) => !i.family || t.family === i.family)
              .filter((t) => !i.startedBy || t.startedBy === i.startedBy)
              .map((t) => t.arn);
            // At most 100 a page (maxResults), continued with nextToken.
            const max = Math.min(i.maxResults ?? 100, 100);
            const start = Number(i.nextToken ?? 0);
            return { taskArns: taskArns.slice(start, start + max), nextToken: start + max < taskArns.length ? String(start + max) : undefined };
          },
        },
        StopTask: {
          command: StopTaskCommand,
          handle: (i) => {
            const c = activeCluster(i.cluster);
            const t = [...this.tasks.values()].find((x) => x.clusterArn === c.arn && (x.arn === i.task || x.arn.endsWith(`/${i.task}`)));
            if (!t) awsError('InvalidParameterException', 'The referenced task was not found.', 400);
            this.requestStop(t, i.reason ?? 'Task stopped by user');
            return { task: this.taskOut(t) };
          },
        },
      },
    });
  }

  /** Told when a running task is asked to stop (Step Functions' `.sync` learns it from ECS's events). */
  readonly stopListeners: ((taskArn: string) => void)[] = [];

  private requestStop(t: Task, reason: string): void {
    if (t.stopRequestedAt !== undefined || this.status(t).last === 'STOPPED') return;
    t.stopRequestedAt = this.core.now();
    t.stopReason = reason;
    for (const l of this.stopListeners) l(t.arn);
  }

  /** A task as DescribeTasks shows it now, or undefined. */
  describeTask(arn: string): ReturnType<FakeEcs['taskOut']> | undefined {
    const t = this.tasks.get(arn);
    return t && this.taskOut(t);
  }

  /**
   * Test helper: the "ECS Task State Change" event ECS puts on the default bus for a task as it is now
   * (what the failure alert rule is matched against).
   */
  taskStateChangeEvent(arn: string, at = this.core.now()): Record<string, unknown> {
    const t = this.describeTask(arn);
    if (!t) throw new Error(`fake ECS: no task ${arn}`);
    const json = JSON.parse(JSON.stringify(t)) as Record<string, unknown>;
    return {
      version: '0', id: `event-${arn.split('/').at(-1)}`, 'detail-type': 'ECS Task State Change', source: 'aws.ecs',
      account: this.core.account, time: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'), region: this.core.region,
      resources: [arn], detail: json,
    };
  }

  /** Stopped longer ago than ECS keeps showing a task. */
  private forgotten(t: Task): boolean {
    const stoppedAt = this.status(t).stoppedAt;
    return stoppedAt !== undefined && stoppedAt + this.forgetStoppedAfterMs <= this.core.now();
  }

  /**
   * Put the STOPPED "ECS Task State Change" event of every task that has stopped since the last call on
   * the EventBridge fake's default bus, with the stop time as the event's time (as ECS does, within
   * seconds). Run before every call (core.tickers), so a rule's targets see it before anyone can look.
   */
  emitStopEvents(): void {
    if (!this.pendingStopEvents.size) return;
    const bus = this.core.peers.get('eventbridge') as FakeEventBridge | undefined;
    for (const arn of [...this.pendingStopEvents]) {
      const t = this.tasks.get(arn);
      const s = t && this.status(t);
      if (t && s?.last !== 'STOPPED') continue;
      this.pendingStopEvents.delete(arn);
      if (!t || !bus) continue;
      bus.deliver(this.taskStateChangeEvent(arn, s!.stoppedAt));
    }
  }

  /** StopTask on a task, without a call of batchctl's (Step Functions stopping a timed-out task). */
  stopTask(arn: string, reason: string): void {
    const t = this.tasks.get(arn);
    if (t) this.requestStop(t, reason);
  }

  /** When the task stops (ms): on its own, or when StopTask stopped it. */
  stopTimeOf(arn: string): number | undefined {
    const t = this.tasks.get(arn);
    if (!t) return undefined;
    const startAt = t.createdAt + t.timings.provisioningMs + t.timings.pendingMs;
    const natural = t.exitCode === null ? startAt : startAt + t.timings.runningMs;
    return t.stopRequestedAt !== undefined && t.stopRequestedAt < natural ? t.stopRequestedAt : natural;
  }

  /** The latest ACTIVE revision's ARN of a family (or the revision named), as RunTask resolves it. */
  revisionArn(ref: string): string | undefined {
    const s = ref.replace(/^arn:[^:]+:ecs:[^:]+:\d+:task-definition\//, '');
    const m = /^(.+):(\d+)$/.exec(s);
    const td = m
      ? this.taskDefs.find((t) => t.family === m[1] && t.revision === Number(m[2]))
      : this.taskDefs.filter((t) => t.family === s && t.status === 'ACTIVE').sort((a, b) => b.revision - a.revision)[0];
    return td?.arn;
  }

  /** The roles a task definition revision names (what RunTask passes). */
  rolesOf(tdArn: string): string[] {
    const td = this.taskDefs.find((t) => t.arn === tdArn);
    return [td?.input.executionRoleArn, td?.input.taskRoleArn].filter((r): r is string => !!r);
  }

  /** A task's state now. StopTask stops it at once (SIGTERM: exit `stopExitCode` if its container had started). */
  private status(t: Task): { last: string; desired: string; startedAt?: number; stoppedAt?: number; exitCode?: number; stopCode?: string } {
    const { provisioningMs, pendingMs, runningMs } = t.timings;
    const startAt = t.createdAt + provisioningMs + pendingMs;
    const naturalStop = startAt + runningMs;
    const now = this.core.now();
    if (t.exitCode === null && (t.stopRequestedAt === undefined || t.stopRequestedAt >= startAt)) {
      if (now >= startAt) return { last: 'STOPPED', desired: 'STOPPED', stoppedAt: startAt, stopCode: t.stopCode };
      return { last: now >= t.createdAt + provisioningMs ? 'PENDING' : 'PROVISIONING', desired: 'RUNNING' };
    }
    if (t.stopRequestedAt !== undefined && t.stopRequestedAt < naturalStop) {
      const started = t.stopRequestedAt >= startAt;
      return { last: 'STOPPED', desired: 'STOPPED', startedAt: started ? startAt : undefined, stoppedAt: t.stopRequestedAt, exitCode: started ? t.stopExitCode : undefined, stopCode: 'UserInitiated' };
    }
    if (now >= naturalStop) return { last: 'STOPPED', desired: 'STOPPED', startedAt: startAt, stoppedAt: naturalStop, exitCode: t.exitCode ?? undefined, stopCode: t.stopCode };
    if (now >= startAt) return { last: 'RUNNING', desired: 'RUNNING', startedAt: startAt };
    return { last: now >= t.createdAt + provisioningMs ? 'PENDING' : 'PROVISIONING', desired: 'RUNNING' };
  }

  /**
   * Why the execution role cannot pull the essential container's image, as ECS words it, or undefined.
   * Only ECR images with an execution role the IAM fake knows are checked (tests that register task
   * definitions by hand with other images run them as before).
   */
  private ec2(): FakeEc2 | undefined {
    return this.core.peers.get('ec2') as FakeEc2 | undefined;
  }

  /**
   * A task whose subnets cannot reach ECR, Logs and Secrets Manager never starts: it stops before its
   * container with ResourceInitializationError (the secret and the registry auth come first). Only
   * subnets the fake EC2 knows are judged (unit tests pass made-up ids).
   */
  private networkError(net: { subnets?: string[]; securityGroups?: string[]; assignPublicIp?: string } | undefined): string | undefined {
    const ec2 = this.ec2();
    if (!ec2 || !net?.subnets?.length || !net.subnets.every((id) => ec2.subnets.has(id))) return undefined;
    const problem = ec2.taskNetworkProblem(net);
    return problem && `ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve ecr registry auth: service call has been retried 3 time(s): RequestError: send request failed: dial tcp: i/o timeout (${problem})`;
  }

  /** Each container's image and the digest it resolves to now: the `@sha256:` it names, else its tag's image in the fake ECR. */
  private resolveImages(containers: { name: string; image?: string }[]): { images?: Record<string, string>; imageDigests?: Record<string, string> } {
    const ecr = this.core.peers.get('ecr') as FakeEcr | undefined;
    const images: Record<string, string> = {};
    const imageDigests: Record<string, string> = {};
    for (const c of containers) {
      if (!c.image) continue;
      images[c.name] = c.image;
      const pinned = /@(sha256:[0-9a-f]{64})$/.exec(c.image);
      const m = /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?\/([^:@]+):([^:@]+)$/.exec(c.image);
      const digest = pinned?.[1] ?? (m ? ecr?.repositories.get(m[1]!)?.images.find((i) => i.tags.includes(m[2]!))?.digest : undefined);
      if (digest) imageDigests[c.name] = digest;
    }
    return Object.keys(images).length ? { images, imageDigests } : {};
  }

  /** Public IPv4 addresses tasks hold in a VPC now (started, not yet stopped, with a public IP). */
  publicAddressesIn(vpcId: string): number {
    return [...this.tasks.values()].filter((t) => t.publicIpVpc === vpcId && this.status(t).last !== 'STOPPED').length;
  }

  private pullError(td: { executionRoleArn?: string; containerDefinitions?: { image?: string; essential?: boolean }[] }): string | undefined {
    const iam = this.core.peers.get('iam') as FakeIam | undefined;
    const image = (td.containerDefinitions?.find((c) => c.essential !== false) ?? td.containerDefinitions?.[0])?.image ?? '';
    const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)/.exec(image);
    if (!m || !iam || !iam.roleByArn(td.executionRoleArn)) return undefined;
    const [, account, region, repo] = m;
    const repoArn = `arn:${this.core.partition}:ecr:${region}:${account}:repository/${repo}`;
    const denied = `CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref ${image}: unexpected status from HEAD request: 403 Forbidden`;
    if (!iam.allows(td.executionRoleArn, 'ecr:BatchGetImage', repoArn)) return denied;
    if (account !== this.core.account && !this.crossAccountPullGrants.has(repoArn)) return denied;
    return undefined;
  }

  private taskOut(t: Task) {
    const s = this.status(t);
    const date = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms));
    return {
      taskArn: t.arn, clusterArn: t.clusterArn, taskDefinitionArn: t.taskDefinitionArn, group: `family:${t.family}`,
      lastStatus: s.last, desiredStatus: s.desired, launchType: t.launchType, startedBy: t.startedBy, overrides: t.overrides,
      createdAt: date(t.createdAt), startedAt: date(s.startedAt), stoppedAt: date(s.stoppedAt), stopCode: s.stopCode,
      stoppedReason: s.stopCode === 'UserInitiated' ? t.stopReason : s.stopCode ? t.stoppedReason ?? 'Essential container in task exited' : undefined,
      containers: t.containers.map((name) => ({
        name, lastStatus: s.last === 'PROVISIONING' ? 'PENDING' : s.last, exitCode: s.exitCode, taskArn: t.arn,
        // ECS reports the digest it pulled once the container has started (not for a failed pull).
        ...(s.startedAt !== undefined && t.imageDigests?.[name] ? { image: t.images?.[name], imageDigest: t.imageDigests[name] } : {}),
        // A container that never started carries the cause (CannotPullContainerError: ...) in its own reason.
        reason: s.last !== 'STOPPED' ? undefined
          : s.exitCode === undefined && s.stopCode !== 'UserInitiated' ? t.stoppedReason
            : s.stopCode === 'UserInitiated' ? undefined : t.containerReason,
      })),
    };
  }

  /**
   * Run `program` as the task's essential container: its environment as ECS builds it, its output to the
   * awslogs stream from the container's start, its exit code the container's. Until it ends, the task
   * stays RUNNING (its running time is stretched if the program outlasts it).
   */
  private runProgram(
    program: NonNullable<FakeEcs['taskProgram']>, t: Task,
    containers: { name: string; essential?: boolean; environment?: { name?: string; value?: string }[]; secrets?: { name: string; valueFrom: string }[]; logConfiguration?: { logDriver?: string; options?: Record<string, string> } }[],
    overrides: { containerOverrides?: { name?: string; environment?: { name?: string; value?: string }[] }[] } | undefined,
  ): void {
    const c = containers.find((x) => x.essential !== false) ?? containers[0];
    if (!c) return;
    const env: Record<string, string> = { AWS_REGION: this.core.region, AWS_DEFAULT_REGION: this.core.region };
    for (const v of c.environment ?? []) if (v.name) env[v.name] = v.value ?? '';
    for (const v of overrides?.containerOverrides?.find((o) => o.name === c.name)?.environment ?? []) if (v.name) env[v.name] = v.value ?? '';
    const sm = this.core.peers.get('secretsManager') as { secrets: Map<string, { versions: Map<string, { stages: string[]; string?: string }> }> } | undefined;
    for (const s of c.secrets ?? []) {
      // `<secret ARN>[:<json key>:<stage>:<version>]`, as the task definition names it.
      const m = /^(arn:[^:]+:secretsmanager:[^:]+:\d+:secret:[^:]+)(?::([^:]*))?/.exec(s.valueFrom);
      const secret = m ? sm?.secrets.get(m[1]!) : undefined;
      const text = [...(secret?.versions.values() ?? [])].find((v) => v.stages.includes('AWSCURRENT'))?.string;
      if (text === undefined) continue;
      env[s.name] = m?.[2] ? String((JSON.parse(text) as Record<string, unknown>)[m[2]] ?? '') : text;
    }
    const started = t.createdAt + t.timings.provisioningMs + t.timings.pendingMs;
    const exitCode = t.exitCode;
    // Unknown until the program ends: the task keeps running meanwhile.
    t.timings.runningMs = Number.MAX_SAFE_INTEGER / 2;
    program({ taskArn: t.arn, env }).then(
      (r) => ({ lines: r.lines, code: r.exitCode }),
      (err: unknown) => ({ lines: [`${(err as Error).stack ?? String(err)}`], code: 1 }),
    ).then(({ lines, code }) => {
      t.exitCode = exitCode === null ? null : code;
      const ran = Math.max(100 * (lines.length + 1), this.core.now() - started);
      t.timings.runningMs = Math.max(this.taskTimings.runningMs, ran);
      const o = c.logConfiguration?.options;
      const logs = this.core.peers.get('logs') as FakeLogs | undefined;
      if (!logs || c.logConfiguration?.logDriver !== 'awslogs' || !o?.['awslogs-group'] || !o['awslogs-stream-prefix']) return;
      const stream = `${o['awslogs-stream-prefix']}/${c.name}/${t.arn.split('/').at(-1)}`;
      logs.schedule(o['awslogs-group'], stream, lines.map((message, i) => ({ timestamp: started + 100 * (i + 1), message })));
    });
  }

  /** Hand the task's log lines to the logs fake, as the awslogs driver would write them once it runs. */
  private scheduleLogs(t: Task, containers: { name: string; logConfiguration?: { logDriver?: string; options?: Record<string, string> } }[]): void {
    const logs = this.core.peers.get('logs') as FakeLogs | undefined;
    if (!logs || t.exitCode === null || !this.taskLogLines.length) return;
    const c = containers.find((x) => x.logConfiguration?.logDriver === 'awslogs');
    const o = c?.logConfiguration?.options;
    if (!c || !o?.['awslogs-group'] || !o['awslogs-stream-prefix']) return;
    const startAt = t.createdAt + t.timings.provisioningMs + t.timings.pendingMs;
    const stream = `${o['awslogs-stream-prefix']}/${c.name}/${t.arn.split('/').at(-1)}`;
    const lines = this.taskLogLines.filter((l) => l.afterMs <= t.timings.runningMs);
    logs.schedule(o['awslogs-group'], stream, lines.map((l) => ({ timestamp: startAt + l.afterMs, message: l.message })));
  }

  /** Clusters (ACTIVE) and each family's latest ACTIVE revision, with references to roles and other resources. */
  inventory(): InventoryEntry[] {
    const out: InventoryEntry[] = [];
    for (const c of this.clusters.values()) {
      if (c.status !== 'ACTIVE') continue;
      out.push({ type: 'ecs.cluster', key: c.tags['batchctl:logical'] ?? c.name, settings: { name: c.name, settings: c.settings, tags: c.tags } });
    }
    const families = new Set(this.taskDefs.filter((t) => t.status === 'ACTIVE').map((t) => t.family));
    for (const family of families) {
      const td = this.taskDefs.filter((t) => t.family === family && t.status === 'ACTIVE').sort((a, b) => b.revision - a.revision)[0]!;
      const i = td.input;
      out.push({
        type: 'ecs.task-definition',
        key: td.tags['batchctl:logical'] ?? family,
        settings: {
          family, ...i,
          executionRoleArn: this.core.ref(i.executionRoleArn), taskRoleArn: this.core.ref(i.taskRoleArn),
          containerDefinitions: (i.containerDefinitions ?? []).map((c: any) => ({
            ...c,
            // Secret ARNs end in a random suffix: refer to the secret, keep the JSON-key selector.
            secrets: c.secrets?.map((s: { name: string; valueFrom: string }) => {
              const m = /^(arn:[^:]+:secretsmanager:[^:]+:\d+:secret:[^:]+)(.*)$/.exec(s.valueFrom);
              return { name: s.name, valueFrom: m ? `${this.core.ref(m[1])}${m[2]}` : s.valueFrom };
            }),
          })),
          tags: td.tags,
          // A duplicate registration (a lost answer retried blindly) shows as a second ACTIVE revision.
          activeRevisions: this.taskDefs.filter((t) => t.family === family && t.status === 'ACTIVE').length,
        },
      });
    }
    return out;
  }
}
