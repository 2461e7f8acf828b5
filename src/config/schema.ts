/**
 * The shape of `batch.config.yaml`. Field-level rules live here (zod); rules that compare fields with
 * each other (CIDR containment, Fargate CPU/memory pairs, cron syntax...) live in `validate.ts` so every
 * problem is reported at once with its line number.
 */
import { z } from 'zod';

const cidr = z
  .string()
  .regex(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/, 'an IPv4 CIDR block such as 10.0.0.0/16');

/** One subnet: its availability zone and CIDR block. */
export const subnetSchema = z.strictObject({
  az: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, 'an availability zone name such as ap-northeast-1a'),
  cidr,
});

/** Interface endpoint service short names (com.amazonaws.<region>.<name>). */
export const INTERFACE_SERVICES = ['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager', 'sts', 'ssm', 'kms', 'monitoring'] as const;

export const networkSchema = z.strictObject({
  /**
   * How tasks reach AWS services. Only `private-endpoints` (private subnets + VPC endpoints, the article's
   * design) exists today; the field is here so NAT or public-subnet modes can be added without a break.
   */
  mode: z.enum(['private-endpoints']).default('private-endpoints'),
  vpcCidr: cidr.default('192.168.0.0/16'),
  batchSubnets: z.array(subnetSchema).min(1, 'at least one batch subnet'),
  endpointSubnets: z.array(subnetSchema).min(1, 'at least one endpoint subnet'),
  interfaceEndpoints: z
    .array(z.enum(INTERFACE_SERVICES))
    .default(['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager']),
  /** The free S3 gateway endpoint; needed for ECR image layers when there is no NAT. */
  s3Gateway: z.boolean().default(true),
});

export const repositorySchema = z.strictObject({
  name: z.string().optional(),
  scanOnPush: z.boolean().default(true),
  encryption: z.enum(['KMS', 'AES256']).default('KMS'),
  tagMutability: z.enum(['MUTABLE', 'IMMUTABLE']).default('MUTABLE'),
});

export const bucketSchema = z.strictObject({
  /** Globally unique. Default: `<stack>-<account id>-<region>`. */
  name: z.string().optional(),
  expireAfterDays: z.number().int().min(1, 'at least 1 (days after creation when objects expire)').default(365),
  versioning: z.boolean().default(false),
});

export const secretSchema = z.strictObject({
  name: z.string().optional(),
});

export const logsSchema = z.strictObject({
  group: z.string().optional(),
  retentionDays: z.number().int().default(365),
  streamPrefix: z.string().min(1).default('ecs'),
});

export const clusterSchema = z.strictObject({
  name: z.string().optional(),
  containerInsights: z.boolean().default(true),
});

export const taskSchema = z.strictObject({
  family: z.string().optional(),
  /** Fargate CPU units (256 = 0.25 vCPU). */
  cpu: z.number().int().default(2048),
  /** Fargate memory in MiB. */
  memory: z.number().int().default(8192),
  containerName: z.string().min(1).default('batch'),
  /** Image tag in the stack's repository, or a full image URI with `image`. */
  imageTag: z.string().min(1).default('latest'),
  image: z.string().optional(),
  command: z.array(z.string()).default(['node', 'dist/main.js']),
  /** Plain environment variables. Never put secrets here: they are visible in the task definition. */
  environment: z.record(z.string(), z.string()).default({}),
  cpuArchitecture: z.enum(['X86_64', 'ARM64']).default('X86_64'),
});

export const retrySchema = z.strictObject({
  maximumEventAgeSeconds: z.number().int().default(1800),
  maximumRetryAttempts: z.number().int().default(10),
});

export const scheduleSchema = z.strictObject({
  name: z.string().optional(),
  /** `cron(...)` with six fields or `rate(n unit)`; EventBridge syntax. */
  expression: z.string().default('cron(30 * * * ? *)'),
  /**
   * IANA time zone. EventBridge rules only run in UTC; a zone other than UTC needs EventBridge
   * Scheduler, which a later engine adds. Reserved so configs do not need to change shape.
   */
  timezone: z.string().optional(),
  enabled: z.boolean().default(true),
  description: z.string().optional(),
  retry: retrySchema.default({ maximumEventAgeSeconds: 1800, maximumRetryAttempts: 10 }),
});

export const iamSchema = z.strictObject({
  executionRoleName: z.string().optional(),
  taskRoleName: z.string().optional(),
  eventsRoleName: z.string().optional(),
  /** What the job may do in the bucket. `read`: list and get objects. `read-write`: also put and delete. */
  bucketAccess: z.enum(['read', 'read-write']).default('read'),
  permissionsBoundary: z.string().optional(),
});

export const configSchema = z.strictObject({
  /** Stack name: prefixes every name and is the value of the `batchctl:stack` tag. */
  stack: z.string().regex(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/, 'lowercase letters, digits and hyphens, 2-32 characters, starting with a letter'),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as ap-northeast-1').optional(),
  /** Extra tags on every resource. */
  tags: z.record(z.string(), z.string()).default({}),
  network: networkSchema,
  repository: repositorySchema.default({ scanOnPush: true, encryption: 'KMS', tagMutability: 'MUTABLE' }),
  bucket: bucketSchema.default({ expireAfterDays: 365, versioning: false }),
  secret: secretSchema.default({}),
  logs: logsSchema.default({ retentionDays: 365, streamPrefix: 'ecs' }),
  cluster: clusterSchema.default({ containerInsights: true }),
  task: taskSchema.default({
    cpu: 2048, memory: 8192, containerName: 'batch', imageTag: 'latest',
    command: ['node', 'dist/main.js'], environment: {}, cpuArchitecture: 'X86_64',
  }),
  schedule: scheduleSchema.default({
    expression: 'cron(30 * * * ? *)', enabled: true,
    retry: { maximumEventAgeSeconds: 1800, maximumRetryAttempts: 10 },
  }),
  iam: iamSchema.default({ bucketAccess: 'read' }),
});

/** The config as written (before defaults). */
export type RawConfig = z.input<typeof configSchema>;
/** The config after validation, with defaults filled (names still optional). */
export type ParsedConfig = z.output<typeof configSchema>;

/**
 * The config with every name resolved. Names that need the account id (the bucket) are resolved by
 * `resolveNames` once the account is known; before that `bucket.name` may be undefined.
 */
export interface StackConfig extends ParsedConfig {
  region: string;
  repository: ParsedConfig['repository'] & { name: string };
  bucket: ParsedConfig['bucket'] & { name?: string };
  secret: { name: string };
  logs: ParsedConfig['logs'] & { group: string };
  cluster: ParsedConfig['cluster'] & { name: string };
  task: ParsedConfig['task'] & { family: string };
  schedule: ParsedConfig['schedule'] & { name: string };
  iam: ParsedConfig['iam'] & { executionRoleName: string; taskRoleName: string; eventsRoleName: string };
}

/** Fill every name the user left out from the stack name. Pure: no AWS call. */
export function fillNames(c: ParsedConfig, region: string): StackConfig {
  const s = c.stack;
  return {
    ...c,
    region,
    repository: { ...c.repository, name: c.repository.name ?? s },
    bucket: { ...c.bucket },
    secret: { name: c.secret.name ?? s },
    logs: { ...c.logs, group: c.logs.group ?? `/ecs/${s}` },
    cluster: { ...c.cluster, name: c.cluster.name ?? s },
    task: { ...c.task, family: c.task.family ?? s },
    schedule: { ...c.schedule, name: c.schedule.name ?? s },
    iam: {
      ...c.iam,
      executionRoleName: c.iam.executionRoleName ?? `${s}-execution`,
      taskRoleName: c.iam.taskRoleName ?? `${s}-task`,
      eventsRoleName: c.iam.eventsRoleName ?? `${s}-events`,
    },
  };
}

/** The default bucket name: globally unique per account and region. */
export function defaultBucketName(stack: string, account: string, region: string): string {
  return `${stack}-${account}-${region}`;
}
