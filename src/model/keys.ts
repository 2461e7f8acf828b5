/**
 * Node keys: stable logical names of every resource in the graph. They are the `batchctl:logical` tag
 * values and the state file's keys, so changing one orphans live resources: never rename.
 */
export type SubnetGroup = 'batch' | 'endpoint';
export type RoleName = 'execution' | 'task' | 'events' | 'scheduler' | 'states';
export type SgName = 'task' | 'endpoint';

export const K = {
  repository: 'ecr-repository',
  vpc: 'vpc',
  /** The VPC's DNS attributes (support and hostnames): what private DNS of the interface endpoints needs. */
  vpcDns: 'vpc/dns',
  subnet: (group: SubnetGroup, az: string) => `subnet/${group}/${az}`,
  routeTable: 'route-table',
  routeTableAssociation: (az: string) => `route-table-association/${az}`,
  securityGroup: (which: SgName) => `security-group/${which}`,
  /** The endpoint group's inbound rules: HTTPS from the tasks' groups. */
  endpointIngress: 'security-group/endpoint/ingress',
  gatewayEndpoint: 'vpc-endpoint/s3',
  interfaceEndpoint: (service: string) => `vpc-endpoint/${service}`,
  bucket: 'bucket',
  bucketPublicAccessBlock: 'bucket/public-access-block',
  bucketEncryption: 'bucket/encryption',
  bucketLifecycle: 'bucket/lifecycle',
  bucketPolicy: 'bucket/policy',
  bucketVersioning: 'bucket/versioning',
  secret: 'secret',
  secretValue: 'secret/value',
  role: (r: RoleName) => `role/${r}`,
  rolePolicy: (r: RoleName) => `role-policy/${r}`,
  /** The trigger role's policy that starts the job's state machine (jobs with a timeout or retries). */
  startPolicy: (r: 'events' | 'scheduler') => `role-policy/${r}/start-execution`,
  logGroup: 'log-group',
  cluster: 'cluster',
  taskDefinition: 'task-definition',
  rule: 'schedule-rule',
  target: 'schedule-target',
  /** EventBridge Scheduler engine. */
  scheduleGroup: 'schedule-group',
  schedule: 'schedule',
  deadLetterQueue: 'dead-letter-queue',
  /** The dead-letter queue's policy: which of this stack's rules may send to it. */
  deadLetterQueuePolicy: 'dead-letter-queue/policy',
  /** The CloudWatch alarm on the dead-letter queue (with notify). */
  deadLetterAlarm: 'dead-letter-alarm',
  /** Failure alerts. */
  alertTopic: 'alert-topic',
  alertSubscription: (endpoint: string) => `alert-subscription/${endpoint}`,
  alertRule: 'alert-rule',
  alertTarget: 'alert-target',
  /**
   * Run history: the rule sending stopped tasks' events to a log group, its target, the group and its resource policy.
   */
  historyRule: 'history/rule',
  historyTarget: 'history/target',
  historyLogGroup: 'history/log-group',
  historyLogPolicy: 'history/log-policy',
  /**
   * Network modes: a subnet of yours (mode existing, read only), the internet gateway and its default route (public).
   */
  existingSubnet: (id: string) => `subnet/existing/${id}`,
  internetGateway: 'internet-gateway',
  internetRoute: 'route/internet',
  /** A job's Step Functions state machine (jobs with a timeout or retries). */
  stateMachine: 'state-machine',
} as const;

/**
 * The key of one of a job's nodes: the original job (the stack's only job before `jobs:`, or the one
 * marked `original: true`) keeps the pre-jobs key, so upgrading renames nothing; every other job's nodes
 * are `job/<name>/<key>`.
 */
export const jobKey = (job: { name: string; original: boolean }, key: string): string =>
  job.original ? key : `job/${job.name}/${key}`;
