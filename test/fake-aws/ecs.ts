import {
  ECSClient,
  CreateClusterCommand,
  DescribeClustersCommand,
  UpdateClusterSettingsCommand,
  DeleteClusterCommand,
  PutClusterCapacityProvidersCommand,
  TagResourceCommand,
  UntagResourceCommand,
  ListTagsForResourceCommand,
  RegisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  ListTaskDefinitionsCommand,
  DeregisterTaskDefinitionCommand,
  DeleteTaskDefinitionsCommand,
  RunTaskCommand,
  DescribeTasksCommand,
  ListTasksCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { awsError, type FakeAwsCore } from './core.js';
import type { InventoryEntry } from './index.js';
import type { FakeEc2 } from './ec2.js';
import type { FakeIam } from './iam.js';
import type { FakeLogs } from './logs.js';
import type { FakeEventBridge } from './eventbridge.js';
import type { FakeEcr } from './ecr.js';
import type { FakeSecretsManager } from './secrets-manager.js';
import type { FakeSsm } from './ssm.js';
import type { FakeKms } from './kms.js';

type Tags = Record<string, string>;

interface Cluster {
  name: string;
  arn: string;
  status: 'ACTIVE' | 'INACTIVE';
  settings: { name: string; value: string }[];
  tags: Tags;
  capacityProviders: string[];
  defaultCapacityProviderStrategy: { capacityProvider: string; weight?: number; base?: number }[];
  /** Until then the providers are being associated (attachmentsStatus UPDATE_IN_PROGRESS): not usable yet. */
  attachingUntil?: number;
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
  /** The capacity provider the task runs on, when RunTask named a strategy. */
  capacityProviderName?: string;
  /** Fargate Spot reclaims the task at this time (stop code SpotInterruption). */
  interruptAt?: number;
  /** The container's exit code when Spot reclaims it (SIGTERM: 143; 0 for a job that exits cleanly on it). */
  spotExitCode?: number;
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
  /**
   * The variables ECS set from the container secrets as the task started (what the job reads; batchctl
   * itself never sees them), when every secret could be read.
   */
  secretEnv?: Record<string, string>;
  /** Per container: its image reference, and the digest it resolved to at RunTask (when the fake ECR knows it). */
  images?: Record<string, string>;
  imageDigests?: Record<string, string>;
}

const ecsTags = (t: { key?: string; value?: string }[] | undefined): Tags =>
  Object.fromEntries((t ?? []).map((x) => [x.key ?? '', x.value ?? '']));
const ecsTagList = (t: Tags) => Object.entries(t).map(([key, value]) => ({ key, value }));

/**
 * ECS: clusters, task definition revisions, and just enough of tasks for run-now (RunTask, DescribeTasks,
 * ListTasks, StopTask). A task walks PROVISIONING -> PENDING -> RUNNING -> STOPPED on core.now().
 */
/** What an ECS target of a rule or a schedule (its EcsParameters, the same fields in both) asks RunTask. */
export interface EcsTargetParameters {
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
 * The RunTask request EventBridge and Scheduler send for an ECS target: its parameters, the overrides the
 * trigger rendered (`input`), and who started it.
 */
export function ecsTargetRequest(
  cluster: string | undefined,
  e: EcsTargetParameters,
  input: string,
  startedBy: string,
): Record<string, any> {
  const vpc = e.NetworkConfiguration?.awsvpcConfiguration;
  return {
    cluster,
    taskDefinition: e.TaskDefinitionArn,
    count: e.TaskCount ?? 1,
    launchType: e.LaunchType,
    platformVersion: e.PlatformVersion,
    networkConfiguration: vpc && {
      awsvpcConfiguration: {
        subnets: vpc.Subnets,
        securityGroups: vpc.SecurityGroups,
        assignPublicIp: vpc.AssignPublicIp,
      },
    },
    propagateTags: e.PropagateTags,
    enableECSManagedTags: e.EnableECSManagedTags,
    overrides: JSON.parse(input),
    startedBy,
  };
}

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
  taskProgram:
    | ((run: { taskArn: string; env: Record<string, string> }) => Promise<{ lines: string[]; exitCode: number }>)
    | undefined = undefined;
  /** While set, RunTask starts nothing and reports this in `failures[]` (e.g. `RESOURCE:ENI`). */
  runTaskFailure: { reason: string; detail?: string } | undefined = undefined;
  /**
   * Whether Fargate Spot has capacity. Without, RunTask on FARGATE_SPOT starts nothing and reports
   * "Capacity is unavailable at this time..." in `failures[]` (on-demand Fargate is unaffected).
   */
  spotCapacity = true;
  /** Spot tasks started from now on are reclaimed this long after their container starts (undefined: never). */
  spotInterruptAfterMs: number | undefined = undefined;
  /** The container's exit code when Spot reclaims it (143: killed by SIGTERM; 0: a job that exits 0 on it). */
  spotInterruptExitCode = 143;
  /** How long associating capacity providers with a cluster takes (attachmentsStatus UPDATE_IN_PROGRESS). */
  attachProvidersMs = 0;
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
    const clusterName = (ref: string | undefined) =>
      (ref ?? 'default').replace(/^arn:[^:]+:ecs:[^:]+:\d+:cluster\//, '');
    const activeCluster = (ref: string | undefined) => {
      const c = this.clusters.get(clusterName(ref));
      return c && c.status === 'ACTIVE' ? c : awsError('ClusterNotFoundException', 'Cluster not found.', 400);
    };
    const clusterOut = (c: Cluster, include: string[] = []) => {
      const running = [...this.tasks.values()].filter(
        (t) => t.clusterArn === c.arn && this.status(t).last !== 'STOPPED',
      ).length;
      return {
        clusterName: c.name,
        clusterArn: c.arn,
        status: c.status,
        runningTasksCount: running,
        pendingTasksCount: 0,
        activeServicesCount: 0,
        registeredContainerInstancesCount: 0,
        capacityProviders: [...c.capacityProviders],
        defaultCapacityProviderStrategy: c.defaultCapacityProviderStrategy.map((x) => ({ ...x })),
        ...(c.capacityProviders.length
          ? { attachmentsStatus: core.now() < (c.attachingUntil ?? 0) ? 'UPDATE_IN_PROGRESS' : 'UPDATE_COMPLETE' }
          : {}),
        settings: include.includes('SETTINGS') ? c.settings : undefined,
        tags: include.includes('TAGS') ? ecsTagList(c.tags) : undefined,
      };
    };
    const tdOut = (td: TaskDef) => {
      const i = td.input;
      return {
        taskDefinitionArn: td.arn,
        family: td.family,
        revision: td.revision,
        status: td.status,
        ...i,
        // What ECS adds on read: defaults for every container and top-level field left out.
        containerDefinitions: (i.containerDefinitions ?? []).map((c: Record<string, unknown>) => ({
          cpu: 0,
          portMappings: [],
          essential: true,
          environment: [],
          mountPoints: [],
          volumesFrom: [],
          systemControls: [],
          ...c,
        })),
        volumes: i.volumes ?? [],
        placementConstraints: i.placementConstraints ?? [],
        compatibilities: ['EC2', 'FARGATE'],
        requiresAttributes: [
          { name: 'com.amazonaws.ecs.capability.logging-driver.awslogs' },
          { name: 'ecs.capability.execution-role-awslogs' },
        ],
        registeredAt: new Date(td.registeredAt),
        registeredBy: `arn:aws:iam::${core.account}:user/tester`,
        deregisteredAt: td.deregisteredAt ? new Date(td.deregisteredAt) : undefined,
        enableFaultInjection: i.enableFaultInjection ?? false,
      };
    };
    // family, family:revision or ARN; a bare family means its latest ACTIVE revision.
    const findTd = (ref: string | undefined): TaskDef | undefined => {
      const s = (ref ?? '').replace(/^arn:[^:]+:ecs:[^:]+:\d+:task-definition\//, '');
      const m = /^(.+):(\d+)$/.exec(s);
      if (m)
        return this.taskDefs.find(
          (t) => t.family === m[1] && t.revision === Number(m[2]) && t.status !== 'DELETE_IN_PROGRESS',
        );
      return this.taskDefs
        .filter((t) => t.family === s && t.status === 'ACTIVE')
        .sort((a, b) => b.revision - a.revision)[0];
    };
    const byArn = (arn: string | undefined): { tags: Tags } => {
      const c = [...this.clusters.values()].find((x) => x.arn === arn && x.status === 'ACTIVE');
      const r = c ?? this.taskDefs.find((t) => t.arn === arn) ?? this.tasks.get(arn ?? '');
      return r ?? awsError('ResourceNotFoundException', "The specified resource wasn't found.", 400);
    };
    const iam = () => core.peers.get('iam') as FakeIam | undefined;

    // Fargate's two providers exist in every account; no other is modelled (no Auto Scaling group providers).
    const checkProviders = (providers: string[] | undefined, strategy: { capacityProvider?: string }[] | undefined) => {
      for (const p of providers ?? [])
        if (!['FARGATE', 'FARGATE_SPOT'].includes(p))
          awsError(
            'InvalidParameterException',
            `The specified capacity provider '${p}' does not exist. Specify a valid name or ARN and try again.`,
            400,
          );
      for (const x of strategy ?? []) {
        if (!(providers ?? []).includes(x.capacityProvider ?? ''))
          awsError(
            'InvalidParameterException',
            'The specified default capacity provider strategy cannot contain a capacity provider that is not associated with the cluster.',
            400,
          );
      }
    };
    const usable = (c: Cluster) => (core.now() < (c.attachingUntil ?? 0) ? [] : c.capacityProviders);

    // RunTask, for the operation and for Step Functions' `.sync` integration (which starts tasks as the
    // state machine's role, without a call of batchctl's).
    this.runTask = (i) => {
      if (i.clientToken && this.tokens.has(i.clientToken)) {
        return { tasks: this.tokens.get(i.clientToken)!.map((a) => this.taskOut(this.tasks.get(a)!)), failures: [] };
      }
      const c = activeCluster(i.cluster);
      const td = findTd(i.taskDefinition) ?? awsError('ClientException', 'Unable to find task definition.', 400);
      if (td.status !== 'ACTIVE' && !/:\d+$/.test(i.taskDefinition))
        awsError('ClientException', 'TaskDefinition is inactive', 400);
      if (td.input.networkMode === 'awsvpc' && !i.networkConfiguration?.awsvpcConfiguration?.subnets?.length) {
        awsError(
          'InvalidParameterException',
          "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
          400,
        );
      }
      const count = i.count ?? 1;
      if (count < 1 || count > 10) awsError('InvalidParameterException', 'Count must be between 1 and 10.', 400);
      const strategy: { capacityProvider?: string; weight?: number; base?: number }[] =
        i.capacityProviderStrategy ?? [];
      if (strategy.length && i.launchType)
        awsError(
          'InvalidParameterException',
          'Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.',
          400,
        );
      for (const x of strategy) {
        if (!usable(c).includes(x.capacityProvider ?? '')) {
          awsError(
            'InvalidParameterException',
            'The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.',
            400,
          );
        }
      }
      // The provider the task lands on: the strategy's base first, else by weight (one task: the heaviest).
      const provider = strategy.length
        ? [...strategy].sort((a, b) => (b.base ?? 0) - (a.base ?? 0) || (b.weight ?? 0) - (a.weight ?? 0))[0]!
            .capacityProvider
        : undefined;
      const spot = provider === 'FARGATE_SPOT';
      if (spot && td.input.runtimePlatform?.cpuArchitecture === 'ARM64') {
        awsError(
          'InvalidParameterException',
          'The FARGATE_SPOT capacity provider does not support tasks with the ARM64 CPU architecture.',
          400,
        );
      }
      if (this.runTaskFailure) {
        // Capacity and ENI problems are not exceptions: RunTask succeeds with an empty tasks[].
        return { tasks: [], failures: [{ arn: `${prefix}:container-instance/${c.name}`, ...this.runTaskFailure }] };
      }
      if (spot && !this.spotCapacity) {
        return {
          tasks: [],
          failures: [
            {
              arn: `${prefix}:container-instance/${c.name}`,
              reason:
                'Capacity is unavailable at this time. Please try again later or in a different availability zone',
            },
          ],
        };
      }
      const tags = { ...ecsTags(i.tags), ...(i.propagateTags === 'TASK_DEFINITION' ? td.tags : {}) };
      const readsParameters = (td.input.containerDefinitions ?? []).some((c: { secrets?: { valueFrom: string }[] }) =>
        (c.secrets ?? []).some((x) => !/:secretsmanager:/.test(x.valueFrom)),
      );
      const secrets = this.resolveSecrets(td.input);
      const pullError =
        this.networkError(i.networkConfiguration?.awsvpcConfiguration, readsParameters ? ['ssm'] : []) ??
        this.pullError(td.input) ??
        secrets.error;
      const publicIpVpc =
        i.networkConfiguration?.awsvpcConfiguration?.assignPublicIp === 'ENABLED'
          ? this.ec2()?.subnets.get(i.networkConfiguration.awsvpcConfiguration.subnets?.[0])?.vpcId
          : undefined;
      const arns: string[] = [];
      for (let n = 0; n < count; n++) {
        const id = core.newId('task', 32).slice(5);
        const t: Task = {
          arn: `${prefix}:task/${c.name}/${id}`,
          clusterArn: c.arn,
          taskDefinitionArn: td.arn,
          family: td.family,
          containers: (td.input.containerDefinitions ?? []).map((x: { name: string }) => x.name),
          launchType: i.launchType ?? (provider ? 'FARGATE' : undefined),
          startedBy: i.startedBy,
          overrides: i.overrides ?? {},
          tags,
          createdAt: core.now(),
          ...(provider ? { capacityProviderName: provider } : {}),
          ...(spot && this.spotInterruptAfterMs !== undefined
            ? {
                interruptAt:
                  core.now() + this.taskTimings.provisioningMs + this.taskTimings.pendingMs + this.spotInterruptAfterMs,
                spotExitCode: this.spotInterruptExitCode,
              }
            : {}),
          timings: { ...this.taskTimings },
          exitCode: pullError ? null : this.taskExitCode,
          stopCode: pullError ? 'TaskFailedToStart' : this.taskStopCode,
          stoppedReason: pullError ?? this.taskStoppedReason,
          containerReason: this.taskContainerReason,
          stopExitCode: this.taskStopExitCode,
          ...(publicIpVpc ? { publicIpVpc } : {}),
          ...this.resolveImages(td.input.containerDefinitions ?? []),
          ...(secrets.error ? {} : { secretEnv: secrets.env }),
        };
        this.tasks.set(t.arn, t);
        this.pendingStopEvents.add(t.arn);
        if (this.taskProgram && !pullError)
          this.runProgram(this.taskProgram, t, td.input.containerDefinitions ?? [], i.overrides);
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
            if (!/^[A-Za-z0-9_-]{1,255}$/.test(name))
              awsError(
                'InvalidParameterException',
                'Cluster name must be 1-255 letters, numbers, hyphens and underscores.',
                400,
              );
            const existing = this.clusters.get(name);
            // CreateCluster is idempotent on an ACTIVE cluster (returns it unchanged) and reactivates an INACTIVE one.
            if (existing?.status === 'ACTIVE') return { cluster: clusterOut(existing, ['SETTINGS', 'TAGS']) };
            checkProviders(i.capacityProviders, i.defaultCapacityProviderStrategy);
            const c: Cluster = {
              name,
              arn: `${prefix}:cluster/${name}`,
              status: 'ACTIVE',
              settings: i.settings ?? [{ name: 'containerInsights', value: 'disabled' }],
              tags: ecsTags(i.tags),
              capacityProviders: [...(i.capacityProviders ?? [])],
              defaultCapacityProviderStrategy: [...(i.defaultCapacityProviderStrategy ?? [])],
              ...(i.capacityProviders?.length ? { attachingUntil: core.now() + this.attachProvidersMs } : {}),
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
        PutClusterCapacityProviders: {
          command: PutClusterCapacityProvidersCommand,
          handle: (i) => {
            const c = activeCluster(i.cluster);
            if (!Array.isArray(i.capacityProviders) || !Array.isArray(i.defaultCapacityProviderStrategy)) {
              awsError(
                'InvalidParameterException',
                'capacityProviders and defaultCapacityProviderStrategy are required.',
                400,
              );
            }
            checkProviders(i.capacityProviders, i.defaultCapacityProviderStrategy);
            for (const p of c.capacityProviders.filter((x) => !i.capacityProviders.includes(x))) {
              if (
                [...this.tasks.values()].some(
                  (t) => t.clusterArn === c.arn && t.capacityProviderName === p && this.status(t).last !== 'STOPPED',
                )
              ) {
                awsError(
                  'ResourceInUseException',
                  `The specified capacity provider ${p} is in use and cannot be removed.`,
                  400,
                );
              }
            }
            const changed =
              JSON.stringify([...c.capacityProviders].sort()) !== JSON.stringify([...i.capacityProviders].sort());
            c.capacityProviders = [...i.capacityProviders];
            c.defaultCapacityProviderStrategy = [...i.defaultCapacityProviderStrategy];
            if (changed) c.attachingUntil = core.now() + this.attachProvidersMs;
            return { cluster: clusterOut(c, ['SETTINGS', 'TAGS']) };
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
        ListTagsForResource: {
          command: ListTagsForResourceCommand,
          handle: (i) => ({ tags: ecsTagList(byArn(i.resourceArn).tags) }),
        },
        RegisterTaskDefinition: {
          command: RegisterTaskDefinitionCommand,
          handle: (i) => {
            const { family, tags, ...input } = i;
            if (!/^[A-Za-z0-9_-]{1,255}$/.test(family ?? ''))
              awsError('ClientException', 'Family contains invalid characters.', 400);
            if (!input.containerDefinitions?.length)
              awsError('ClientException', 'Container list cannot be empty.', 400);
            if (input.requiresCompatibilities?.includes('FARGATE')) {
              if (input.networkMode !== 'awsvpc')
                awsError('ClientException', "Fargate only supports network mode 'awsvpc'.", 400);
              if (!input.cpu)
                awsError('ClientException', "Fargate requires that 'cpu' be defined at the task level.", 400);
              if (!input.memory)
                awsError('ClientException', "Fargate requires that 'memory' be defined at the task level.", 400);
            }
            const gib = input.ephemeralStorage?.sizeInGiB;
            if (gib !== undefined && (!Number.isInteger(gib) || gib < 21 || gib > 200)) {
              awsError(
                'ClientException',
                'The ephemeral storage size must be a whole number of GiB between 21 and 200.',
                400,
              );
            }
            for (const roleArn of [input.executionRoleArn, input.taskRoleArn]) {
              // ECS checks the roles it is given; a role IAM has not propagated yet looks invalid.
              if (roleArn && iam() && !iam()!.isRolePropagated(roleArn))
                awsError('ClientException', 'Role is not valid', 400);
            }
            const revision =
              Math.max(0, ...this.taskDefs.filter((t) => t.family === family).map((t) => t.revision)) + 1;
            const td: TaskDef = {
              family,
              revision,
              arn: `${prefix}:task-definition/${family}:${revision}`,
              status: 'ACTIVE',
              input: structuredClone(input),
              tags: ecsTags(tags),
              registeredAt: core.now(),
            };
            this.taskDefs.push(td);
            core.label(`${prefix}:task-definition/${family}`, td.tags['batchctl:logical'] ?? family);
            return { taskDefinition: tdOut(td), tags: ecsTagList(td.tags) };
          },
        },
        DescribeTaskDefinition: {
          command: DescribeTaskDefinitionCommand,
          handle: (i) => {
            const td =
              findTd(i.taskDefinition) ?? awsError('ClientException', 'Unable to describe task definition.', 400);
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
            const td =
              findTd(i.taskDefinition) ??
              awsError('ClientException', 'The specified task definition does not exist.', 400);
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
              else if (td.status === 'ACTIVE')
                failures.push({
                  arn: td.arn,
                  reason:
                    'The specified task definition is still in ACTIVE status. Please deregister the target and try again.',
                });
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
              const t = [...this.tasks.values()].find(
                (x) => x.clusterArn === c.arn && (x.arn === ref || x.arn.endsWith(`/${ref}`)) && !this.forgotten(x),
              );
              if (t)
                tasks.push({ ...this.taskOut(t), tags: i.include?.includes('TAGS') ? ecsTagList(t.tags) : undefined });
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
            return {
              taskArns: taskArns.slice(start, start + max),
              nextToken: start + max < taskArns.length ? String(start + max) : undefined,
            };
          },
        },
        StopTask: {
          command: StopTaskCommand,
          handle: (i) => {
            const c = activeCluster(i.cluster);
            const t = [...this.tasks.values()].find(
              (x) => x.clusterArn === c.arn && (x.arn === i.task || x.arn.endsWith(`/${i.task}`)),
            );
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
      version: '0',
      id: `event-${arn.split('/').at(-1)}`,
      'detail-type': 'ECS Task State Change',
      source: 'aws.ecs',
      account: this.core.account,
      time: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.core.region,
      resources: [arn],
      detail: json,
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

  /** Test helper: Fargate Spot reclaims a task of FARGATE_SPOT now (it stops with SpotInterruption). */
  interruptSpotTask(arn: string): void {
    const t = this.tasks.get(arn);
    if (t?.capacityProviderName !== 'FARGATE_SPOT') throw new Error(`fake ECS: ${arn} does not run on FARGATE_SPOT`);
    if (this.status(t).last === 'STOPPED') return;
    t.interruptAt = this.core.now();
    t.spotExitCode ??= this.spotInterruptExitCode;
    for (const l of this.stopListeners) l(t.arn);
  }

  /** When the task stops (ms): on its own, or when StopTask stopped it. */
  stopTimeOf(arn: string): number | undefined {
    const t = this.tasks.get(arn);
    if (!t) return undefined;
    const startAt = t.createdAt + t.timings.provisioningMs + t.timings.pendingMs;
    const natural = t.exitCode === null ? startAt : startAt + t.timings.runningMs;
    return Math.min(natural, t.stopRequestedAt ?? Infinity, t.interruptAt ?? Infinity);
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

  /**
   * What IAM asks of whoever sends this RunTask (a trigger's role, a state machine's role): ecs:RunTask on
   * the revision in that cluster, iam:PassRole of its roles to ECS tasks, and, when the task is tagged as
   * it is created (explicit tags, tags propagated from a revision that has some, or ECS managed tags),
   * ecs:TagResource on the new task with `ecs:CreateAction` RunTask: ECS developer guide, "Grant
   * permission to tag resources on creation"; Service Authorization Reference, ecs:RunTask.
   */
  runTaskAuthorization(i: {
    cluster?: string;
    taskDefinition?: string;
    tags?: unknown[];
    propagateTags?: string;
    enableECSManagedTags?: boolean;
  }): { action: string; resource: string; context: Record<string, string> }[] {
    const prefix = `arn:${this.core.partition}:ecs:${this.core.region}:${this.core.account}`;
    const clusterName = (i.cluster ?? 'default').replace(/^arn:[^:]+:ecs:[^:]+:\d+:cluster\//, '');
    const clusterArn = `${prefix}:cluster/${clusterName}`;
    const tdArn = this.revisionArn(i.taskDefinition ?? '') ?? i.taskDefinition ?? '';
    const td = this.taskDefs.find((t) => t.arn === tdArn);
    const tagged =
      (i.tags?.length ?? 0) > 0 ||
      i.enableECSManagedTags === true ||
      (i.propagateTags === 'TASK_DEFINITION' && Object.keys(td?.tags ?? {}).length > 0);
    return [
      { action: 'ecs:RunTask', resource: tdArn, context: { 'ecs:cluster': clusterArn } },
      ...this.rolesOf(tdArn).map((r) => ({
        action: 'iam:PassRole',
        resource: r,
        context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
      })),
      ...(tagged
        ? [
            {
              action: 'ecs:TagResource',
              resource: `${prefix}:task/${clusterName}/*`,
              context: { 'ecs:cluster': clusterArn, 'ecs:CreateAction': 'RunTask' },
            },
          ]
        : []),
    ];
  }

  /** A task's state now. StopTask stops it at once (SIGTERM: exit `stopExitCode` if its container had started). */
  private status(t: Task): {
    last: string;
    desired: string;
    startedAt?: number;
    stoppedAt?: number;
    exitCode?: number;
    stopCode?: string;
  } {
    const { provisioningMs, pendingMs, runningMs } = t.timings;
    const startAt = t.createdAt + provisioningMs + pendingMs;
    const naturalStop = startAt + runningMs;
    const now = this.core.now();
    // Fargate Spot reclaims the task (before anyone stopped it, and before it stopped on its own).
    const end = t.exitCode === null ? startAt : naturalStop;
    if (
      t.interruptAt !== undefined &&
      now >= t.interruptAt &&
      t.interruptAt < end &&
      (t.stopRequestedAt === undefined || t.interruptAt < t.stopRequestedAt)
    ) {
      const started = t.interruptAt >= startAt;
      return {
        last: 'STOPPED',
        desired: 'STOPPED',
        startedAt: started ? startAt : undefined,
        stoppedAt: t.interruptAt,
        exitCode: started ? t.spotExitCode : undefined,
        stopCode: 'SpotInterruption',
      };
    }
    if (t.exitCode === null && (t.stopRequestedAt === undefined || t.stopRequestedAt >= startAt)) {
      if (now >= startAt) return { last: 'STOPPED', desired: 'STOPPED', stoppedAt: startAt, stopCode: t.stopCode };
      return { last: now >= t.createdAt + provisioningMs ? 'PENDING' : 'PROVISIONING', desired: 'RUNNING' };
    }
    if (t.stopRequestedAt !== undefined && t.stopRequestedAt < naturalStop) {
      const started = t.stopRequestedAt >= startAt;
      return {
        last: 'STOPPED',
        desired: 'STOPPED',
        startedAt: started ? startAt : undefined,
        stoppedAt: t.stopRequestedAt,
        exitCode: started ? t.stopExitCode : undefined,
        stopCode: 'UserInitiated',
      };
    }
    if (now >= naturalStop)
      return {
        last: 'STOPPED',
        desired: 'STOPPED',
        startedAt: startAt,
        stoppedAt: naturalStop,
        exitCode: t.exitCode ?? undefined,
        stopCode: t.stopCode,
      };
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
  private networkError(
    net: { subnets?: string[]; securityGroups?: string[]; assignPublicIp?: string } | undefined,
    extra: string[] = [],
  ): string | undefined {
    const ec2 = this.ec2();
    if (!ec2 || !net?.subnets?.length || !net.subnets.every((id) => ec2.subnets.has(id))) return undefined;
    const problem = ec2.taskNetworkProblem(net, extra);
    return (
      problem &&
      `ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve ecr registry auth: service call has been retried 3 time(s): RequestError: send request failed: dial tcp: i/o timeout (${problem})`
    );
  }

  /**
   * Each container's image and the digest it resolves to now: the `@sha256:` it names, else its tag's image in the fake
   * ECR.
   */
  private resolveImages(containers: { name: string; image?: string }[]): {
    images?: Record<string, string>;
    imageDigests?: Record<string, string>;
  } {
    const ecr = this.core.peers.get('ecr') as FakeEcr | undefined;
    const images: Record<string, string> = {};
    const imageDigests: Record<string, string> = {};
    for (const c of containers) {
      if (!c.image) continue;
      images[c.name] = c.image;
      const pinned = /@(sha256:[0-9a-f]{64})$/.exec(c.image);
      const m = /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?\/([^:@]+):([^:@]+)$/.exec(c.image);
      const digest =
        pinned?.[1] ??
        (m ? ecr?.repositories.get(m[1]!)?.images.find((i) => i.tags.includes(m[2]!))?.digest : undefined);
      if (digest) imageDigests[c.name] = digest;
    }
    return Object.keys(images).length ? { images, imageDigests } : {};
  }

  /** Public IPv4 addresses tasks hold in a VPC now (started, not yet stopped, with a public IP). */
  publicAddressesIn(vpcId: string): number {
    return [...this.tasks.values()].filter((t) => t.publicIpVpc === vpcId && this.status(t).last !== 'STOPPED').length;
  }

  /**
   * The container secrets as ECS reads them before the container starts, as the execution role: each
   * secret or parameter must exist, the role's policy must allow GetSecretValue / GetParameters on it
   * (and, another account's, the secret's own policy), and kms:Decrypt through the service on a customer
   * managed key. The first failure is the task's stop reason, in ECS's words. Only roles the IAM fake knows
   * are checked (tests that register task definitions by hand run them as before).
   */
  private resolveSecrets(td: {
    executionRoleArn?: string;
    containerDefinitions?: { secrets?: { name: string; valueFrom: string }[] }[];
  }): { error?: string; env: Record<string, string> } {
    const iam = this.core.peers.get('iam') as FakeIam | undefined;
    const role = td.executionRoleArn;
    const env: Record<string, string> = {};
    if (!iam || !iam.roleByArn(role)) return { env };
    const sm = this.core.peers.get('secretsManager') as FakeSecretsManager;
    const ssm = this.core.peers.get('ssm') as FakeSsm | undefined;
    const kms = this.core.peers.get('kms') as FakeKms | undefined;
    const fail = (what: string, why: string) => ({
      env,
      error: `ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve ${what}: service call has been retried 1 time(s): ${why}`,
    });
    const denied = (action: string, res: string) =>
      `AccessDeniedException: User: ${role} is not authorized to perform: ${action} on resource: ${res}`;
    const decrypts = (keyId: string, account: string, service: string): boolean => {
      const key = kms?.resolve(keyId, account, this.core.region);
      if (!key) return false;
      if (key.manager === 'AWS') return key.account === this.core.account;
      return iam.allows(role, 'kms:Decrypt', key.arn, {
        'kms:ViaService': `${service}.${this.core.region}.amazonaws.com`,
        'kms:ResourceAliases': key.aliases,
      });
    };
    for (const c of td.containerDefinitions ?? []) {
      for (const x of c.secrets ?? []) {
        const m = /^(arn:[^:]+:secretsmanager:[^:]+:(\d{12}):secret:[^:]+)(?::([^:]*):([^:]*):([^:]*))?$/.exec(
          x.valueFrom,
        );
        if (m) {
          const [, arn, account, key] = m;
          const s = sm.secretOf(arn!);
          const what = `secret from asm: failed to fetch secret ${arn}`;
          if (!s) return fail(what, "ResourceNotFoundException: Secrets Manager can't find the specified secret.");
          if (
            !iam.allows(role, 'secretsmanager:GetSecretValue', s.arn) ||
            (s.foreign && !s.foreign.readers.includes(role!))
          )
            return fail(what, denied('secretsmanager:GetSecretValue', s.arn));
          if (!decrypts(s.kmsKeyId ?? 'alias/aws/secretsmanager', account!, 'secretsmanager'))
            return fail(
              what,
              `AccessDeniedException: Access to KMS is not allowed (${s.kmsKeyId ?? 'aws/secretsmanager'})`,
            );
          const value = sm.currentValue(s.arn) ?? '';
          if (key) {
            let parsed: Record<string, unknown> = {};
            try {
              parsed = JSON.parse(value) as Record<string, unknown>;
            } catch {
              /* not JSON: no key */
            }
            if (typeof parsed[key] !== 'string')
              return fail(what, `retrieved secret from Secrets Manager did not contain json key ${key}`);
            env[x.name] = parsed[key] as string;
          } else env[x.name] = value;
          continue;
        }
        const p = ssm?.byNameOrArn(x.valueFrom);
        const what = `secrets from ssm: failed to fetch ${x.valueFrom}`;
        if (!p || (p.account !== this.core.account && !p.shared))
          return fail(what, `invalid parameters: ${x.valueFrom}`);
        if (!iam.allows(role, 'ssm:GetParameters', p.arn)) return fail(what, denied('ssm:GetParameters', p.arn));
        if (p.type === 'SecureString' && !decrypts(p.keyId ?? 'alias/aws/ssm', p.account, 'ssm'))
          return fail(what, `AccessDeniedException: Access to KMS is not allowed (${p.keyId})`);
        env[x.name] = p.value;
      }
    }
    return { env };
  }

  private pullError(td: {
    executionRoleArn?: string;
    containerDefinitions?: { image?: string; essential?: boolean }[];
  }): string | undefined {
    const iam = this.core.peers.get('iam') as FakeIam | undefined;
    const image =
      (td.containerDefinitions?.find((c) => c.essential !== false) ?? td.containerDefinitions?.[0])?.image ?? '';
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
      taskArn: t.arn,
      clusterArn: t.clusterArn,
      taskDefinitionArn: t.taskDefinitionArn,
      group: `family:${t.family}`,
      lastStatus: s.last,
      desiredStatus: s.desired,
      launchType: t.launchType,
      startedBy: t.startedBy,
      overrides: t.overrides,
      createdAt: date(t.createdAt),
      startedAt: date(s.startedAt),
      stoppedAt: date(s.stoppedAt),
      stopCode: s.stopCode,
      stoppedReason:
        s.stopCode === 'UserInitiated'
          ? t.stopReason
          : s.stopCode === 'SpotInterruption'
            ? 'Your Spot Task was interrupted.'
            : s.stopCode
              ? (t.stoppedReason ?? 'Essential container in task exited')
              : undefined,
      ...(t.capacityProviderName ? { capacityProviderName: t.capacityProviderName } : {}),
      containers: t.containers.map((name) => ({
        name,
        lastStatus: s.last === 'PROVISIONING' ? 'PENDING' : s.last,
        exitCode: s.exitCode,
        taskArn: t.arn,
        // ECS reports the digest it pulled once the container has started (not for a failed pull).
        ...(s.startedAt !== undefined && t.imageDigests?.[name]
          ? { image: t.images?.[name], imageDigest: t.imageDigests[name] }
          : {}),
        // A container that never started carries the cause (CannotPullContainerError: ...) in its own reason.
        reason:
          s.last !== 'STOPPED'
            ? undefined
            : s.exitCode === undefined && s.stopCode !== 'UserInitiated'
              ? t.stoppedReason
              : s.stopCode === 'UserInitiated' || s.stopCode === 'SpotInterruption'
                ? undefined
                : t.containerReason,
      })),
    };
  }

  /**
   * Run `program` as the task's essential container: its environment as ECS builds it, its output to the
   * awslogs stream from the container's start, its exit code the container's. Until it ends, the task
   * stays RUNNING (its running time is stretched if the program outlasts it).
   */
  private runProgram(
    program: NonNullable<FakeEcs['taskProgram']>,
    t: Task,
    containers: {
      name: string;
      essential?: boolean;
      environment?: { name?: string; value?: string }[];
      secrets?: { name: string; valueFrom: string }[];
      logConfiguration?: { logDriver?: string; options?: Record<string, string> };
    }[],
    overrides:
      { containerOverrides?: { name?: string; environment?: { name?: string; value?: string }[] }[] } | undefined,
  ): void {
    const c = containers.find((x) => x.essential !== false) ?? containers[0];
    if (!c) return;
    const env: Record<string, string> = { AWS_REGION: this.core.region, AWS_DEFAULT_REGION: this.core.region };
    for (const v of c.environment ?? []) if (v.name) env[v.name] = v.value ?? '';
    for (const v of overrides?.containerOverrides?.find((o) => o.name === c.name)?.environment ?? [])
      if (v.name) env[v.name] = v.value ?? '';
    const sm = this.core.peers.get('secretsManager') as
      { secrets: Map<string, { versions: Map<string, { stages: string[]; string?: string }> }> } | undefined;
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
    program({ taskArn: t.arn, env })
      .then(
        (r) => ({ lines: r.lines, code: r.exitCode }),
        (err: unknown) => ({ lines: [`${(err as Error).stack ?? String(err)}`], code: 1 }),
      )
      .then(({ lines, code }) => {
        t.exitCode = exitCode === null ? null : code;
        const ran = Math.max(100 * (lines.length + 1), this.core.now() - started);
        t.timings.runningMs = Math.max(this.taskTimings.runningMs, ran);
        const o = c.logConfiguration?.options;
        const logs = this.core.peers.get('logs') as FakeLogs | undefined;
        if (
          !logs ||
          c.logConfiguration?.logDriver !== 'awslogs' ||
          !o?.['awslogs-group'] ||
          !o['awslogs-stream-prefix']
        )
          return;
        const stream = `${o['awslogs-stream-prefix']}/${c.name}/${t.arn.split('/').at(-1)}`;
        logs.schedule(
          o['awslogs-group'],
          stream,
          lines.map((message, i) => ({ timestamp: started + 100 * (i + 1), message })),
        );
      });
  }

  /** Hand the task's log lines to the logs fake, as the awslogs driver would write them once it runs. */
  private scheduleLogs(
    t: Task,
    containers: { name: string; logConfiguration?: { logDriver?: string; options?: Record<string, string> } }[],
  ): void {
    const logs = this.core.peers.get('logs') as FakeLogs | undefined;
    if (!logs || t.exitCode === null || !this.taskLogLines.length) return;
    const c = containers.find((x) => x.logConfiguration?.logDriver === 'awslogs');
    const o = c?.logConfiguration?.options;
    if (!c || !o?.['awslogs-group'] || !o['awslogs-stream-prefix']) return;
    const startAt = t.createdAt + t.timings.provisioningMs + t.timings.pendingMs;
    const stream = `${o['awslogs-stream-prefix']}/${c.name}/${t.arn.split('/').at(-1)}`;
    // A task Spot reclaims writes nothing after that.
    const until = t.interruptAt !== undefined ? t.interruptAt - startAt : t.timings.runningMs;
    const lines = this.taskLogLines.filter((l) => l.afterMs <= Math.min(until, t.timings.runningMs));
    logs.schedule(
      o['awslogs-group'],
      stream,
      lines.map((l) => ({ timestamp: startAt + l.afterMs, message: l.message })),
    );
  }

  /** Clusters (ACTIVE) and each family's latest ACTIVE revision, with references to roles and other resources. */
  inventory(): InventoryEntry[] {
    const out: InventoryEntry[] = [];
    for (const c of this.clusters.values()) {
      if (c.status !== 'ACTIVE') continue;
      out.push({
        type: 'ecs.cluster',
        key: c.tags['batchctl:logical'] ?? c.name,
        settings: {
          name: c.name,
          settings: c.settings,
          tags: c.tags,
          ...(c.capacityProviders.length ? { capacityProviders: [...c.capacityProviders].sort() } : {}),
        },
      });
    }
    const families = new Set(this.taskDefs.filter((t) => t.status === 'ACTIVE').map((t) => t.family));
    for (const family of families) {
      const td = this.taskDefs
        .filter((t) => t.family === family && t.status === 'ACTIVE')
        .sort((a, b) => b.revision - a.revision)[0]!;
      const i = td.input;
      out.push({
        type: 'ecs.task-definition',
        key: td.tags['batchctl:logical'] ?? family,
        settings: {
          family,
          ...i,
          executionRoleArn: this.core.ref(i.executionRoleArn),
          taskRoleArn: this.core.ref(i.taskRoleArn),
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
