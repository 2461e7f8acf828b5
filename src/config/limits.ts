/**
 * Every config value batchctl hands to an AWS field, the field, and the limit `validate` holds it to
 * (validate.ts checks them, at the value's line; a job's own value where the job sets it). The limits are
 * the services' API models' (length, pattern, range, count), as their API references print them, plus
 * the few AWS states as service quotas (a task definition's size). A value that fails them would pass
 * `plan` and fail `up` half-way, after other resources were made.
 *
 * The table is what the docs print and what test/config/limits.test.ts covers case by case; a key the
 * config gains must be added here or to NOT_FED, or that test fails.
 */

/** One config key and the AWS fields it feeds. */
export interface FieldLimit {
  /** The key's path in the config (`schedule.description`); a job's section has the same keys. */
  key: string;
  /** The AWS fields it is sent as, and their limit. */
  feeds: string;
  /** Where AWS says so. */
  source: string;
}

/** The limits of fields batchctl fills from the config. */
export const FIELD_LIMITS: readonly FieldLimit[] = [
  {
    key: 'stack',
    feeds:
      'the batchctl:stack tag value, and every name derived from it ' +
      '(the longest: `<stack>-<job>-scheduler`, an IAM role name of 64)',
    source: 'IAM CreateRole RoleName 1-64 [\\w+=,.@-]; S3 bucket naming',
  },
  { key: 'region', feeds: "every client's region", source: 'AWS regions: `xx-name-n`' },
  {
    key: 'tags',
    feeds: 'Tags of every resource: keys 1-128, values 0-256 characters, at most 50 a resource (batchctl adds 3)',
    source: 'Tagging AWS resources: tag naming limits; aws: reserved',
  },
  {
    key: 'network.vpcCidr',
    feeds: 'EC2 CreateVpc CidrBlock: /16 to /28',
    source: 'Amazon VPC user guide, VPC CIDR blocks',
  },
  {
    key: 'network.batchSubnets.az',
    feeds: 'EC2 CreateSubnet AvailabilityZone (of the region)',
    source: 'EC2 API reference, CreateSubnet',
  },
  {
    key: 'network.batchSubnets.cidr',
    feeds: 'EC2 CreateSubnet CidrBlock: /16 to /28, inside the VPC, not overlapping',
    source: 'Amazon VPC user guide, subnet CIDR blocks',
  },
  {
    key: 'network.endpointSubnets.az',
    feeds: 'EC2 CreateSubnet AvailabilityZone (of the region)',
    source: 'EC2 API reference, CreateSubnet',
  },
  {
    key: 'network.endpointSubnets.cidr',
    feeds: 'EC2 CreateSubnet CidrBlock: /16 to /28, inside the VPC, not overlapping',
    source: 'Amazon VPC user guide, subnet CIDR blocks',
  },
  {
    key: 'network.interfaceEndpoints',
    feeds: 'EC2 CreateVpcEndpoint ServiceName, each once',
    source: 'EC2 API reference, CreateVpcEndpoint',
  },
  {
    key: 'network.vpcId',
    feeds: 'EC2 CreateSecurityGroup / CreateVpcEndpoint VpcId: vpc-<8 or 17 hex>',
    source: 'EC2 API reference',
  },
  {
    key: 'network.subnetIds',
    feeds: 'ECS RunTask awsvpcConfiguration.subnets: at most 16',
    source: 'ECS API reference, AwsVpcConfiguration',
  },
  {
    key: 'network.securityGroupIds',
    feeds: 'ECS RunTask awsvpcConfiguration.securityGroups: at most 5',
    source: 'ECS API reference, AwsVpcConfiguration',
  },
  {
    key: 'repository.name',
    feeds: 'ECR CreateRepository repositoryName: 2-256, lowercase parts',
    source: 'ECR API reference, CreateRepository',
  },
  {
    key: 'bucket.name',
    feeds: 'S3 CreateBucket Bucket: 3-63, lowercase, no reserved prefix or suffix',
    source: 'S3 user guide, general purpose bucket naming rules',
  },
  {
    key: 'bucket.expireAfterDays',
    feeds: 'S3 PutBucketLifecycleConfiguration Expiration Days: a positive integer',
    source: 'S3 API reference, LifecycleExpiration',
  },
  {
    key: 'secret.name',
    feeds: 'Secrets Manager CreateSecret Name: 1-512 of [A-Za-z0-9/_+=.@-]',
    source: 'Secrets Manager API reference, CreateSecret',
  },
  {
    key: 'logs.group',
    feeds: 'CloudWatch Logs CreateLogGroup logGroupName: 1-512 of [.-_/#A-Za-z0-9], not aws/',
    source: 'CloudWatch Logs API reference, CreateLogGroup',
  },
  {
    key: 'logs.retentionDays',
    feeds: 'CloudWatch Logs PutRetentionPolicy retentionInDays: one of 22 values',
    source: 'CloudWatch Logs API reference, PutRetentionPolicy',
  },
  {
    key: 'logs.streamPrefix',
    feeds: 'the awslogs-stream-prefix: `<prefix>/<container>/<task id>` is a log stream name of at most 512, no : or *',
    source: 'CloudWatch Logs API reference, CreateLogStream; ECS awslogs driver',
  },
  {
    key: 'cluster.name',
    feeds: 'ECS CreateCluster clusterName: 1-255 of [A-Za-z0-9_-]',
    source: 'ECS API reference, CreateCluster',
  },
  {
    key: 'task.family',
    feeds:
      'ECS RegisterTaskDefinition family: 1-255; ' +
      'Step Functions CreateStateMachine name 1-80 (a job with a timeout or retries)',
    source: 'ECS API reference, RegisterTaskDefinition; Step Functions API reference, CreateStateMachine',
  },
  {
    key: 'task.cpu',
    feeds: 'ECS RegisterTaskDefinition cpu: a Fargate size',
    source: 'ECS developer guide, Fargate task CPU and memory',
  },
  {
    key: 'task.memory',
    feeds: 'ECS RegisterTaskDefinition memory: allowed with the cpu',
    source: 'ECS developer guide, Fargate task CPU and memory',
  },
  {
    key: 'task.containerName',
    feeds: 'ECS ContainerDefinition name: 1-255 of [A-Za-z0-9_-]',
    source: 'ECS API reference, ContainerDefinition',
  },
  {
    key: 'task.imageTag',
    feeds:
      "the image reference's tag: 1-128 of [A-Za-z0-9_.-], not starting with . or -; " +
      'the whole reference (also pinned to a digest) at most 255',
    source: 'ECR image tag rules; ECS ContainerDefinition image',
  },
  {
    key: 'task.image',
    feeds: 'ECS ContainerDefinition image: an ECR image in this region, at most 255 (also pinned to a digest)',
    source: 'ECS API reference, ContainerDefinition image',
  },
  {
    key: 'task.command',
    feeds:
      "RunTask overrides (the targets' Input, the state machine's input): the overrides at most 8,192 characters; " +
      'in the task definition (64 KiB)',
    source:
      'ECS API reference, RunTask overrides ("A total of 8192 characters"); ' +
      'EventBridge PutTargets Input/InputTemplate 8,192',
  },
  {
    key: 'task.environment',
    feeds:
      'ECS ContainerDefinition environment: names [A-Za-z_][A-Za-z0-9_]*; ' +
      'with the command, the task definition at most 64 KiB',
    source: 'ECS service quotas, task definition size',
  },
  {
    key: 'task.timeout',
    feeds: "Step Functions Task TimeoutSeconds: at most an execution's year",
    source: 'Step Functions quotas, execution history and duration',
  },
  {
    key: 'task.retries',
    feeds: "Step Functions Retry MaxAttempts (0-10 batchctl's bound; the run within a year)",
    source: 'Amazon States Language, Retry',
  },
  {
    key: 'task.secrets',
    feeds:
      'ECS ContainerDefinition secrets (name: an environment variable name; valueFrom: a Secrets Manager or SSM ARN); ' +
      "each named in the execution role's inline policy, whose documents IAM caps at 10,240 characters: at most 50 a job",
    source: 'ECS API reference, Secret; IAM quotas, role policy size',
  },
  {
    key: 'task.ephemeralStorageGiB',
    feeds: 'ECS RegisterTaskDefinition ephemeralStorage.sizeInGiB: 21-200',
    source: 'ECS API reference, EphemeralStorage',
  },
  {
    key: 'schedule.name',
    feeds: 'EventBridge PutRule Name and Scheduler CreateSchedule Name: 1-64 of [.-_A-Za-z0-9]',
    source: 'EventBridge and Scheduler API references',
  },
  {
    key: 'schedule.expression',
    feeds:
      'EventBridge PutRule ScheduleExpression and Scheduler ScheduleExpression: at most 256, a cron or rate that fires',
    source: 'EventBridge and Scheduler API references',
  },
  {
    key: 'schedule.timezone',
    feeds: 'Scheduler ScheduleExpressionTimezone: 1-50, an IANA zone',
    source: 'Scheduler API reference, CreateSchedule',
  },
  {
    key: 'schedule.flexibleWindowMinutes',
    feeds: 'Scheduler FlexibleTimeWindow MaximumWindowInMinutes: 1-1440 (0: OFF)',
    source: 'Scheduler API reference, FlexibleTimeWindow',
  },
  {
    key: 'schedule.description',
    feeds: 'EventBridge PutRule Description and Scheduler CreateSchedule Description: at most 512',
    source: 'EventBridge API reference, PutRule; Scheduler API reference, CreateSchedule',
  },
  {
    key: 'schedule.retry.maximumEventAgeSeconds',
    feeds: 'RetryPolicy MaximumEventAgeInSeconds: 60-86400',
    source: 'EventBridge and Scheduler API references, RetryPolicy',
  },
  {
    key: 'schedule.retry.maximumRetryAttempts',
    feeds: 'RetryPolicy MaximumRetryAttempts: 0-185',
    source: 'EventBridge and Scheduler API references, RetryPolicy',
  },
  {
    key: 'iam.executionRoleName',
    feeds: 'IAM CreateRole RoleName: 1-64 of [\\w+=,.@-]',
    source: 'IAM API reference, CreateRole',
  },
  {
    key: 'iam.taskRoleName',
    feeds: 'IAM CreateRole RoleName: 1-64 of [\\w+=,.@-]',
    source: 'IAM API reference, CreateRole',
  },
  {
    key: 'iam.eventsRoleName',
    feeds: 'IAM CreateRole RoleName: 1-64 of [\\w+=,.@-]',
    source: 'IAM API reference, CreateRole',
  },
  {
    key: 'iam.schedulerRoleName',
    feeds: 'IAM CreateRole RoleName: 1-64 of [\\w+=,.@-]',
    source: 'IAM API reference, CreateRole',
  },
  {
    key: 'iam.stateMachineRoleName',
    feeds: 'IAM CreateRole RoleName: 1-64 of [\\w+=,.@-]',
    source: 'IAM API reference, CreateRole',
  },
  {
    key: 'iam.permissionsBoundary',
    feeds: 'IAM CreateRole PermissionsBoundary: a policy ARN, 20-2048',
    source: 'IAM API reference, CreateRole',
  },
  {
    key: 'jobs',
    feeds: "each job's derived names (`<stack>-<job>...`: rule, schedule, family, roles) and its log stream prefix",
    source: 'as the names above',
  },
  {
    key: 'notify.emails',
    feeds: 'SNS Subscribe Endpoint (protocol email): an address',
    source: 'SNS API reference, Subscribe',
  },
  {
    key: 'notify.topicArn',
    feeds: "the alert rule's target Arn: a topic of the stack's region",
    source: "EventBridge user guide: targets in the rule's region",
  },
  {
    key: 'state.s3.bucket',
    feeds: 'S3 GetObject/PutObject Bucket: bucket naming rules',
    source: 'S3 user guide, general purpose bucket naming rules',
  },
  {
    key: 'state.s3.key',
    feeds: 'S3 GetObject/PutObject Key: at most 1,024 bytes (UTF-8)',
    source: 'S3 user guide, naming objects',
  },
  { key: 'state.s3.region', feeds: "the state client's region", source: 'AWS regions' },
];

/** Config keys fed to no AWS field with limits of its own, and why. */
export const NOT_FED: Readonly<Record<string, string>> = {
  'network.mode': 'chooses what batchctl builds (an enum)',
  'network.s3Gateway': 'whether batchctl creates the gateway endpoint (a boolean)',
  'network.assignPublicIp': 'ENABLED or DISABLED from a boolean',
  'repository.scanOnPush': 'a boolean',
  'repository.encryption': 'an enum the API takes as is',
  'repository.tagMutability': 'an enum the API takes as is',
  'bucket.versioning': 'a boolean',
  'cluster.containerInsights': 'enabled or disabled from a boolean',
  'task.imagePin': 'how batchctl names the image (an enum)',
  'task.crossAccountImage': 'a confirmation, sent nowhere',
  'task.cpuArchitecture': 'an enum the API takes as is',
  'task.build.context': 'a local path for docker build',
  'task.build.dockerfile': 'a local path for docker build',
  'schedule.engine': 'chooses the trigger (an enum)',
  'schedule.deadLetterQueue': 'whether the queue exists (a boolean)',
  'schedule.enabled': 'ENABLED or DISABLED from a boolean',
  'schedule.duplicateGuard': 'an environment variable `off`, or none',
  'iam.bucketAccess': "chooses the task role's actions (an enum)",
  'pricing.interfaceEndpointAzHour': 'used by `cost` only',
  'pricing.fargateVcpuHour': 'used by `cost` only',
  'pricing.fargateGbHour': 'used by `cost` only',
  'pricing.secretMonth': 'used by `cost` only',
  'pricing.publicIpv4Hour': 'used by `cost` only',
  'pricing.stepFunctionsTransition1k': 'used by `cost` only',
  'pricing.alarmMonth': 'used by `cost` only',
  'pricing.fargateSpotVcpuHour': 'used by `cost` only',
  'pricing.fargateSpotGbHour': 'used by `cost` only',
  'pricing.ephemeralStorageGbHour': 'used by `cost` only',
  'task.capacity': 'an enum: the capacity provider strategy batchctl builds (FARGATE_SPOT needs X86_64, checked)',
};

/** EventBridge's and Scheduler's Description. */
export const DESCRIPTION_MAX = 512;
/** EventBridge's and Scheduler's ScheduleExpression. */
export const EXPRESSION_MAX = 256;
/** Scheduler's ScheduleExpressionTimezone. */
export const TIMEZONE_MAX = 50;
/** ECS ContainerDefinition image. */
export const IMAGE_MAX = 255;
/** RunTask's overrides, JSON formatting included. */
export const OVERRIDES_MAX = 8192;
/** A task definition (ECS quota); what batchctl writes besides the command and environment stays under 4 KiB. */
export const TASK_DEFINITION_MAX = 65_536;
export const TASK_DEFINITION_REST = 4096;
/** A log stream name. */
export const STREAM_NAME_MAX = 512;
/** IAM's PermissionsBoundary ARN. */
export const BOUNDARY_MAX = 2048;
/** An S3 object key, in UTF-8 bytes. */
export const S3_KEY_MAX_BYTES = 1024;
