/**
 * The shape of `batch.config.yaml`. Field-level rules live here (zod); rules that compare fields with
 * each other (CIDR containment, Fargate CPU/memory pairs, cron syntax...) live in `validate.ts` so every
 * problem is reported at once with its line number.
 */
// zod/mini: the same validation as classic zod, but tree-shakable to a few KB. Classic zod costs ~60 ms
// to load even bundled, which alone would put `batchctl validate` past its start-up budget.
import * as z from 'zod/mini';
import { runPolicyOf, type RunPolicy } from './run-policy.js';
import { AZ_SHAPE, CIDR_SHAPE, REGION_SHAPE, STACK_NAME_DEFAULTS, STACK_SHAPE, jobName } from './names.js';

export { defaultBucketName } from './names.js';

const str = () => z.string();
const opt = <T extends z.ZodMiniType>(t: T) => z.optional(t);
const int = () => z.int();
const bool = (d: boolean) => z._default(z.boolean(), d);
/** A section that may be left out: filled from its own fields' defaults. */
const section = <T extends z.ZodMiniType>(t: T) => z.prefault(t, {} as z.input<T>);

const cidr = str().check(z.regex(CIDR_SHAPE, 'an IPv4 CIDR block such as 10.0.0.0/16'));

/** One subnet: its availability zone and CIDR block. */
export const subnetSchema = z.strictObject({
  az: str().check(z.regex(AZ_SHAPE, 'an availability zone name such as ap-northeast-1a')),
  cidr,
});

/** Interface endpoint services by short name; the full name (which differs by partition) is looked up. */
export const INTERFACE_SERVICES = [
  'ecr.api',
  'ecr.dkr',
  'logs',
  'secretsmanager',
  'sts',
  'ssm',
  'kms',
  'monitoring',
] as const;
export type InterfaceService = (typeof INTERFACE_SERVICES)[number];

/**
 * The endpoints a task needs where it has no way to the internet: image pulls (ECR API and registry),
 * the awslogs driver and the secret injected at start. The default of `private-endpoints`.
 */
export const REQUIRED_INTERFACE_ENDPOINTS: readonly InterfaceService[] = [
  'ecr.api',
  'ecr.dkr',
  'logs',
  'secretsmanager',
];

/**
 * How tasks reach ECR, CloudWatch Logs and Secrets Manager:
 * - `private-endpoints` (default, the article's design): private subnets, interface endpoints for each
 *   service and the S3 gateway endpoint; no internet at all. Billed per endpoint, AZ and hour.
 * - `public`: the same VPC and subnets with an internet gateway and a default route; tasks start with a
 *   public IPv4 address (billed per hour while they run) and a security group with no inbound rule.
 * - `existing`: a VPC of yours (`vpcId`, `subnetIds`), typically with a NAT gateway; batchctl creates only
 *   its task security group (unless `securityGroupIds` is given) and the endpoints listed, and never
 *   changes your VPC, subnets, route tables or gateways.
 */
export const NETWORK_MODES = ['private-endpoints', 'public', 'existing'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

/** The VPC block batchctl creates when none is given (modes that own their VPC). */
export const DEFAULT_VPC_CIDR = '192.168.0.0/16';

const awsId = (prefix: string, what: string) =>
  str().check(
    z.regex(new RegExp(`^${prefix}-[0-9a-f]{8}([0-9a-f]{9})?$`), `a ${what} id such as ${prefix}-0123456789abcdef0`),
  );

export const networkSchema = z.strictObject({
  mode: z._default(z.enum(NETWORK_MODES), 'private-endpoints'),
  /** Modes `private-endpoints` and `public`: the VPC batchctl creates. */
  vpcCidr: z._default(cidr, DEFAULT_VPC_CIDR),
  /** Modes `private-endpoints` and `public`: the subnets tasks run in, one per AZ. */
  batchSubnets: opt(z.array(subnetSchema).check(z.minLength(1, 'at least one batch subnet'))),
  /**
   * Mode `private-endpoints`: the subnets holding the interface endpoints' network interfaces. Kept (they
   * are free) in `public`, so switching back reuses them.
   */
  endpointSubnets: opt(z.array(subnetSchema)),
  /**
   * Interface endpoints batchctl creates. Default: the four a task needs without internet in
   * `private-endpoints`, none in `existing`; `public` has none (tasks reach the services over the internet).
   */
  interfaceEndpoints: opt(z.array(z.enum(INTERFACE_SERVICES))),
  /**
   * The free S3 gateway endpoint (ECR image layers and the bucket, off the internet). Default true; `existing`: not
   * available (it would change your route tables).
   */
  s3Gateway: opt(z.boolean()),
  /** Mode `existing`: your VPC. */
  vpcId: opt(awsId('vpc', 'VPC')),
  /** Mode `existing`: your subnets the tasks run in (at most 16, ECS's limit). */
  subnetIds: opt(z.array(awsId('subnet', 'subnet'))),
  /** Mode `existing`: your security groups for the tasks (at most 5) instead of the one batchctl creates. */
  securityGroupIds: opt(z.array(awsId('sg', 'security group'))),
  /**
   * Mode `existing`: start tasks with a public IPv4 address, for subnets whose way out is an internet
   * gateway (public subnets). Default false (subnets routed to a NAT gateway, or endpoints).
   */
  assignPublicIp: opt(z.boolean()),
});

/** One subnet of the config. */
export type SubnetConfig = z.output<typeof subnetSchema>;

/** The network section with every mode-dependent default resolved (what the resource kinds read). */
export interface NetworkConfig {
  mode: NetworkMode;
  vpcCidr: string;
  /** Task subnets batchctl creates (empty in `existing`). */
  batchSubnets: SubnetConfig[];
  /** Endpoint subnets batchctl creates (empty unless configured). */
  endpointSubnets: SubnetConfig[];
  /** The interface endpoints batchctl creates in this mode (none in `public`). */
  interfaceEndpoints: InterfaceService[];
  /** Whether batchctl creates the S3 gateway endpoint (never in `existing`). */
  s3Gateway: boolean;
  /** `existing`: your VPC, subnets and (optional) security groups. */
  vpcId?: string;
  subnetIds: string[];
  securityGroupIds: string[];
  /** `existing`: tasks start with a public IP (public mode always does; private-endpoints never). */
  assignPublicIp: boolean;
}

/**
 * The mode-dependent defaults of the network section. Pure. `extra`: endpoints the jobs need beyond the
 * four every task does (`ssm` for a job secret from Parameter Store), added to the default list only.
 */
export function resolveNetwork(
  n: z.output<typeof networkSchema>,
  extra: readonly InterfaceService[] = [],
): NetworkConfig {
  const existing = n.mode === 'existing';
  return {
    mode: n.mode,
    vpcCidr: n.vpcCidr,
    batchSubnets: existing ? [] : (n.batchSubnets ?? []),
    endpointSubnets: existing ? [] : (n.endpointSubnets ?? []),
    interfaceEndpoints:
      n.mode === 'public'
        ? []
        : (n.interfaceEndpoints ?? (existing ? [] : [...REQUIRED_INTERFACE_ENDPOINTS, ...extra])),
    s3Gateway: existing ? false : (n.s3Gateway ?? true),
    ...(existing && n.vpcId ? { vpcId: n.vpcId } : {}),
    subnetIds: existing ? (n.subnetIds ?? []) : [],
    securityGroupIds: existing ? (n.securityGroupIds ?? []) : [],
    assignPublicIp: n.mode === 'public' || (existing && (n.assignPublicIp ?? false)),
  };
}

export const repositorySchema = z.strictObject({
  name: opt(str()),
  scanOnPush: bool(true),
  encryption: z._default(z.enum(['KMS', 'AES256']), 'KMS'),
  tagMutability: z._default(z.enum(['MUTABLE', 'IMMUTABLE']), 'MUTABLE'),
});

export const bucketSchema = z.strictObject({
  /** Globally unique. Default: `<stack>-<account id>-<region>`. */
  name: opt(str()),
  expireAfterDays: z._default(int().check(z.minimum(1, 'at least 1 (days after creation when objects expire)')), 365),
  versioning: bool(false),
});

export const secretSchema = z.strictObject({
  name: opt(str()),
});

export const logsSchema = z.strictObject({
  group: opt(str()),
  retentionDays: z._default(int(), 365),
  streamPrefix: z._default(str().check(z.minLength(1)), 'ecs'),
});

export const clusterSchema = z.strictObject({
  name: opt(str()),
  containerInsights: bool(true),
});

/** Where a job's first attempt runs: on-demand Fargate, or Fargate Spot with an on-demand fallback. */
export const CAPACITIES = ['on-demand', 'spot'] as const;
export type Capacity = (typeof CAPACITIES)[number];

/** A job secret with its KMS key named: the key the execution role may decrypt with (customer managed). */
export const secretObjectSchema = z.strictObject({
  from: str(),
  kmsKeyArn: opt(str()),
});

export const taskSchema = z.strictObject({
  family: opt(str()),
  /** Fargate CPU units (256 = 0.25 vCPU). */
  cpu: z._default(int(), 2048),
  /** Fargate memory in MiB. */
  memory: z._default(int(), 8192),
  containerName: z._default(str().check(z.minLength(1)), 'batch'),
  /** Image tag in the stack's repository, or a full image URI with `image`. */
  imageTag: z._default(str().check(z.minLength(1)), 'latest'),
  /**
   * A full ECR image URI in this region instead of the stack's repository; the execution role may pull
   * that repository (and only it).
   */
  image: opt(str()),
  /**
   * What a run's image is. `digest`: the task definition names the image by its digest
   * (`<repository>@sha256:...`), set by `batchctl deploy` (or `push --deploy`) and kept by `up`, so every
   * run uses exactly the deployed image until the next deploy, and `batchctl rollback` returns to the one
   * before. `tag`: it names `<repository>:<imageTag>`, so a run uses whatever the tag points at when it
   * starts. Left out: `tag`, so that upgrading batchctl never changes the image of a running stack;
   * `batchctl init` writes `digest`.
   */
  imagePin: z._default(z.enum(['tag', 'digest']), 'tag'),
  /**
   * `task.image` is in another account's ECR, and that repository's policy lets this account (or the
   * execution role) pull it. Required for such an image: batchctl cannot see or set the other account's
   * policy, so it asks you to confirm it instead of deploying a task that can never pull.
   */
  crossAccountImage: bool(false),
  command: z._default(z.array(str()), ['node', 'dist/main.js']),
  /** Plain environment variables. Never put secrets here: they are visible in the task definition. */
  environment: z._default(z.record(str(), str()), {}),
  /**
   * Environment variables whose values ECS reads from Secrets Manager or SSM Parameter Store as the task
   * starts (model/secrets.ts): `secretsmanager:<name or ARN>[:<json key>]` or `ssm:<name or ARN>`, or
   * `{ from: <that>, kmsKeyArn: <key ARN> }`. Only names and ARNs are stored anywhere; the execution role
   * may read exactly these. A job's entries are laid over the defaults' one by one.
   */
  secrets: opt(z.record(str(), z.union([str(), secretObjectSchema]))),
  cpuArchitecture: z._default(z.enum(['X86_64', 'ARM64']), 'X86_64'),
  /**
   * `spot`: the job's first attempt runs on Fargate Spot (cheaper, interruptible); when Spot has no
   * capacity or reclaims the task, the run continues on on-demand Fargate through the job's state machine.
   */
  capacity: z._default(z.enum(CAPACITIES), 'on-demand'),
  /** The task's ephemeral storage, 21-200 GiB (left out: Fargate's 20 GiB, not billed). */
  ephemeralStorageGiB: opt(
    int().check(
      z.minimum(21, 'at least 21 (GiB): Fargate gives every task 20 GiB without it'),
      z.maximum(200, 'at most 200 (GiB), the most Fargate gives a task'),
    ),
  ),
  /**
   * How long one run of the container may take (`30m`, `2h`, `1h30m`; at most a year): then its task is
   * stopped and the run fails. Set (or `retries`), the schedule starts a Step Functions state machine that
   * runs the task, instead of the task itself.
   */
  timeout: opt(str()),
  /**
   * How many times a failed run (a non-zero exit code, or a task that did not start) is tried again,
   * 0-10, with backoff. A timed-out run is not retried.
   */
  retries: opt(int()),
  /** What `push` builds this job's image from; paths are relative to the config file. */
  build: opt(
    z.strictObject({
      /** The build context (default: `batch/` beside the config file). */
      context: opt(str().check(z.minLength(1))),
      /** The Dockerfile (default: `<context>/Dockerfile`). */
      dockerfile: opt(str().check(z.minLength(1))),
    }),
  ),
});

export const retrySchema = z.strictObject({
  maximumEventAgeSeconds: z._default(int(), 1800),
  maximumRetryAttempts: z._default(int(), 10),
});

export const scheduleSchema = z.strictObject({
  name: opt(str()),
  /** `cron(...)` with six fields or `rate(n unit)`; EventBridge syntax. */
  expression: z._default(str(), 'cron(30 * * * ? *)'),
  /**
   * What fires the job: `rule` (an EventBridge scheduled rule, the article's design; UTC only) or
   * `scheduler` (EventBridge Scheduler: time zones, retry limits, a dead-letter queue). Default: `rule`,
   * or `scheduler` when a time zone other than UTC is set.
   */
  engine: opt(z.enum(['rule', 'scheduler'])),
  /** IANA time zone the cron runs in (daylight saving included). Needs the scheduler engine unless UTC. */
  timezone: opt(str()),
  /** Scheduler only: let a run start up to this many minutes late to spread load (0: exactly on time). */
  flexibleWindowMinutes: z._default(int().check(z.minimum(0), z.maximum(1440)), 0),
  /**
   * Send invocations that could not start the task (after retries) to the stack's SQS dead-letter queue:
   * the rule's target and the schedule's target alike. With `notify:`, an alarm on the queue alerts.
   */
  deadLetterQueue: bool(true),
  enabled: bool(true),
  description: opt(str()),
  retry: section(retrySchema),
  /**
   * The duplicate-trigger guard: EventBridge delivers an event at least once, so the target passes the
   * scheduled time to the job, which claims it with a conditional S3 write and skips a second delivery.
   */
  duplicateGuard: bool(true),
});

export const iamSchema = z.strictObject({
  executionRoleName: opt(str()),
  taskRoleName: opt(str()),
  eventsRoleName: opt(str()),
  /** The EventBridge Scheduler role (scheduler engine only). Default `<stack>-scheduler`. */
  schedulerRoleName: opt(str()),
  /** The role of the job's state machine (jobs with a timeout or retries only). Default `<stack>-states`. */
  stateMachineRoleName: opt(str()),
  /** What the job may do in the bucket. `read`: list and get objects. `read-write`: also put and delete. */
  bucketAccess: z._default(z.enum(['read', 'read-write']), 'read'),
  permissionsBoundary: opt(str()),
});

/** A schema's internal definition, as far as `overridesOf` reads it. */
type Def = { type: string; innerType?: z.ZodMiniType; shape?: Record<string, z.ZodMiniType> };
const defOf = (s: z.ZodMiniType) => (s as unknown as { _zod: { def: Def } })._zod.def;

/**
 * The same section with every field optional and no defaults (nested sections too): what a job sets to
 * override the top-level section. Defaults are left out so that what a job does not set is inherited.
 */
export function overridesOf(schema: z.ZodMiniType): z.ZodMiniType {
  let s = schema;
  let d = defOf(s);
  while (['default', 'prefault', 'optional'].includes(d.type) && d.innerType) {
    s = d.innerType;
    d = defOf(s);
  }
  if (d.type !== 'object' || !d.shape) return s;
  return z.strictObject(Object.fromEntries(Object.entries(d.shape).map(([k, v]) => [k, z.optional(overridesOf(v))])));
}

/**
 * One job of `jobs:`: the top-level `task`, `schedule` and `iam` sections are its defaults; it sets only
 * what differs (deep merge: objects merge key by key, lists and values replace).
 */
export const jobSchema = z.strictObject({
  /**
   * This job is the one the stack had before it had `jobs:`: it keeps that job's resources, names and
   * keys (family, rule or schedule, roles named after the stack), so moving a stack to `jobs:` replaces
   * nothing. At most one job may say so.
   */
  original: opt(z.boolean()),
  task: opt(overridesOf(taskSchema)),
  schedule: opt(overridesOf(scheduleSchema)),
  iam: opt(overridesOf(iamSchema)),
});

/** Price overrides in USD (see `batchctl cost`); anything left out comes from the built-in table. */
export const pricingSchema = z.strictObject({
  interfaceEndpointAzHour: opt(z.number().check(z.minimum(0))),
  fargateVcpuHour: opt(z.number().check(z.minimum(0))),
  fargateGbHour: opt(z.number().check(z.minimum(0))),
  secretMonth: opt(z.number().check(z.minimum(0))),
  /** A public IPv4 address, per hour (tasks with a public IP pay it while they run). */
  publicIpv4Hour: opt(z.number().check(z.minimum(0))),
  /** Step Functions standard workflows, per 1,000 state transitions (jobs with a timeout or retries). */
  stepFunctionsTransition1k: opt(z.number().check(z.minimum(0))),
  /** A CloudWatch standard-resolution metric alarm, per month (the dead-letter alarm, with notify). */
  alarmMonth: opt(z.number().check(z.minimum(0))),
  /** Fargate Spot (X86_64), per vCPU-hour and per GB-hour: Spot prices move with supply and demand. */
  fargateSpotVcpuHour: opt(z.number().check(z.minimum(0))),
  fargateSpotGbHour: opt(z.number().check(z.minimum(0))),
  /** Ephemeral storage beyond the 20 GiB every task gets, per GB-hour. */
  ephemeralStorageGbHour: opt(z.number().check(z.minimum(0))),
});

/** Where to say that a run failed: e-mail addresses (subscribed to a topic batchctl creates) or a topic of yours. */
export const notifySchema = z.strictObject({
  emails: z._default(z.array(str()), []),
  /** An existing SNS topic to publish to instead of creating one. */
  topicArn: opt(str()),
});

/** A state shared in S3 (a team, CI): the object and, when the bucket is in another region, its region. */
export const stateS3Schema = z.strictObject({
  // Bucket and key: checked in validate.ts with the rules of `--state s3://...` (state-location.ts).
  bucket: str(),
  key: str().check(z.minLength(1, 'an object key such as batchctl/prod.state.json')),
  region: opt(str().check(z.regex(REGION_SHAPE, 'an AWS region such as ap-northeast-1'))),
});

/** Where the state lives. Left out: `.batchctl/<stack>.state.json` beside this config. */
export const stateSchema = z.strictObject({
  s3: stateS3Schema,
});

export const configSchema = z.strictObject({
  /** Stack name: prefixes every name and is the value of the `batchctl:stack` tag. */
  stack: str().check(
    z.regex(STACK_SHAPE, 'lowercase letters, digits and hyphens, 2-32 characters, starting with a letter'),
  ),
  region: opt(str().check(z.regex(REGION_SHAPE, 'an AWS region such as ap-northeast-1'))),
  /** Extra tags on every resource. */
  tags: z._default(z.record(str(), str()), {}),
  network: networkSchema,
  repository: section(repositorySchema),
  bucket: section(bucketSchema),
  secret: section(secretSchema),
  logs: section(logsSchema),
  cluster: section(clusterSchema),
  task: section(taskSchema),
  schedule: section(scheduleSchema),
  iam: section(iamSchema),
  /**
   * Several scheduled jobs in one stack, keyed by job name (lowercase letters, digits, hyphens). Each
   * inherits `task`, `schedule` and `iam` and overrides what it needs. Left out: the stack has one job.
   */
  jobs: opt(z.record(str(), jobSchema)),
  pricing: section(pricingSchema),
  /** Failure alerts; leave out for none. */
  notify: opt(notifySchema),
  /** Where the state lives; `--state` wins. */
  state: opt(stateSchema),
});

/** The config as written (before defaults). */
export type RawConfig = z.input<typeof configSchema>;
/** The config after validation, with defaults filled (names still optional). */
export type ParsedConfig = z.output<typeof configSchema>;

/** The resolved IAM settings of one job: its own roles, and what its task may do in the bucket. */
export interface JobIam {
  taskRoleName: string;
  eventsRoleName: string;
  schedulerRoleName: string;
  stateMachineRoleName: string;
  bucketAccess: ParsedConfig['iam']['bucketAccess'];
  permissionsBoundary?: string;
}

/** One job with its defaults merged in and every name resolved. */
export interface JobConfig {
  /** The key in `jobs:`; for a config without `jobs:`, the stack's name. */
  name: string;
  /**
   * The stack's job from before `jobs:` existed (always so without `jobs:`): it keeps the pre-jobs names
   * (`<stack>`, `<stack>-task`...) and node keys. Other jobs are named `<stack>-<job>` and keyed `job/<job>/...`.
   */
  original: boolean;
  task: ParsedConfig['task'] & { family: string };
  schedule: ParsedConfig['schedule'] & { name: string; engine: 'rule' | 'scheduler' };
  iam: JobIam;
  /** The awslogs stream prefix: `logs.streamPrefix` for the original job, else the job's name. */
  streamPrefix: string;
  /**
   * The job's timeout and retries; undefined when it has neither, and the schedule starts its task
   * directly. Set, the schedule starts the job's Step Functions state machine, which runs the task.
   */
  runPolicy?: RunPolicy;
}

/**
 * The config with every name resolved. Names that need the account id (the bucket) are resolved by
 * `resolveNames` once the account is known; before that `bucket.name` may be undefined. The top-level
 * `task`, `schedule` and `iam` sections live on in `jobs` (merged into each); `iam` keeps what is shared.
 */
export interface StackConfig extends Omit<ParsedConfig, 'task' | 'schedule' | 'iam' | 'jobs'> {
  region: string;
  network: NetworkConfig;
  repository: ParsedConfig['repository'] & { name: string };
  bucket: ParsedConfig['bucket'] & { name?: string };
  secret: { name: string };
  logs: ParsedConfig['logs'] & { group: string };
  cluster: ParsedConfig['cluster'] & { name: string };
  /** The shared execution role, and the boundary it carries. */
  iam: { executionRoleName: string; permissionsBoundary?: string };
  /** Every job, in the config's order; at least one. */
  jobs: JobConfig[];
}

const isPlain = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `over` laid onto `base`: objects merge key by key, anything else (lists included) replaces; undefined keeps. */
export function deepMerge<T>(base: T, over: unknown): T {
  if (!isPlain(base) || !isPlain(over)) return (over === undefined ? base : over) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) if (v !== undefined) out[k] = deepMerge(out[k], v);
  return out as T;
}

type JobOverrides = {
  original?: boolean;
  task?: Record<string, unknown>;
  schedule?: Record<string, unknown>;
  iam?: Record<string, unknown>;
};

/**
 * A job's effective settings. Names come from the job's own section; the top-level sections' names
 * (`task.family`, `schedule.name`, `iam.*RoleName`) belong to the original job only, since every other
 * job needs names of its own; left out, they are derived from the stack and job names.
 */
function jobConfig(c: ParsedConfig, name: string, j: JobOverrides): JobConfig {
  const original = j.original === true;
  const derived = (role: Parameters<typeof jobName>[3]) => jobName(c.stack, name, original, role);
  const named = <S extends 'task' | 'schedule' | 'iam'>(section: S, key: string): string | undefined =>
    (j[section]?.[key] as string | undefined) ??
    (original ? ((c[section] as Record<string, unknown>)[key] as string | undefined) : undefined);
  const merged = deepMerge(c.task, j.task);
  // A job's secret replaces the default's of the same name whole: merged key by key, a job naming another
  // source would keep the default's kmsKeyArn.
  const jobSecrets = (j.task as { secrets?: ParsedConfig['task']['secrets'] } | undefined)?.secrets;
  const task = c.task.secrets || jobSecrets ? { ...merged, secrets: { ...c.task.secrets, ...jobSecrets } } : merged;
  const schedule = deepMerge(c.schedule, j.schedule);
  const iam = deepMerge(c.iam, j.iam);
  return {
    name,
    original,
    task: { ...task, family: named('task', 'family') ?? derived('family') },
    schedule: { ...schedule, name: named('schedule', 'name') ?? derived('schedule'), engine: scheduleEngine(schedule) },
    iam: {
      taskRoleName: named('iam', 'taskRoleName') ?? derived('task'),
      eventsRoleName: named('iam', 'eventsRoleName') ?? derived('events'),
      schedulerRoleName: named('iam', 'schedulerRoleName') ?? derived('scheduler'),
      stateMachineRoleName: named('iam', 'stateMachineRoleName') ?? derived('stateMachine'),
      bucketAccess: iam.bucketAccess,
      ...(iam.permissionsBoundary !== undefined ? { permissionsBoundary: iam.permissionsBoundary } : {}),
    },
    streamPrefix: original ? c.logs.streamPrefix : name,
    ...(runPolicyOf(task) ? { runPolicy: runPolicyOf(task) } : {}),
  };
}

/** Fill every name the user left out from the stack name. Pure: no AWS call. */
export function fillNames(c: ParsedConfig, region: string): StackConfig {
  const s = c.stack;
  const { task: _t, schedule: _s, iam, jobs, ...rest } = c;
  const list: [string, JobOverrides][] = jobs
    ? Object.entries(jobs).map(([n, j]) => [n, (j ?? {}) as JobOverrides])
    : [[s, { original: true }]];
  const jobList = list.map(([name, j]) => jobConfig(c, name, j));
  return {
    ...rest,
    region,
    network: resolveNetwork(c.network, jobsReadParameters(jobList) ? ['ssm'] : []),
    repository: { ...c.repository, name: c.repository.name ?? STACK_NAME_DEFAULTS['repository.name'](s) },
    bucket: { ...c.bucket },
    secret: { name: c.secret.name ?? STACK_NAME_DEFAULTS['secret.name'](s) },
    logs: { ...c.logs, group: c.logs.group ?? STACK_NAME_DEFAULTS['logs.group'](s) },
    cluster: { ...c.cluster, name: c.cluster.name ?? STACK_NAME_DEFAULTS['cluster.name'](s) },
    iam: {
      executionRoleName: iam.executionRoleName ?? STACK_NAME_DEFAULTS['iam.executionRoleName'](s),
      ...(iam.permissionsBoundary !== undefined ? { permissionsBoundary: iam.permissionsBoundary } : {}),
    },
    jobs: jobList,
  };
}

/** True when some job has a secret from SSM Parameter Store (its tasks need SSM; `plan` checks it with SSM). */
export function jobsReadParameters(jobs: readonly Pick<JobConfig, 'task'>[]): boolean {
  return jobs.some((j) =>
    Object.values(j.task.secrets ?? {}).some((v) => (typeof v === 'string' ? v : v.from).startsWith('ssm:')),
  );
}

/** The engine in force: the configured one, else `scheduler` when a non-UTC time zone asks for it. */
export function scheduleEngine(s: { engine?: 'rule' | 'scheduler'; timezone?: string }): 'rule' | 'scheduler' {
  if (s.engine) return s.engine;
  return s.timezone && !['UTC', 'Etc/UTC'].includes(s.timezone) ? 'scheduler' : 'rule';
}
