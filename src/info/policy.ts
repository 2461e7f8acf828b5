/**
 * `batchctl policy`: the least-privilege IAM policy an operator (a CI role) needs to run batchctl's
 * commands on this config. Every grant names this stack's own resources where AWS authorises by
 * resource; where it cannot, the grant says why:
 * - EC2 Describe* calls have no resource-level permissions: Resource "*".
 * - EC2 resources get random ids, so they are scoped by our tag instead of by name: a create is allowed
 *   only when the request tags the new resource `batchctl:stack=<stack>` (aws:RequestTag), and only in
 *   a VPC / with subnets, groups and route tables that already carry it (aws:ResourceTag); every change
 *   or delete needs the target to carry it. Tagging at creation needs ec2:CreateTags, allowed only as
 *   part of those creates (ec2:CreateAction). In network mode `existing` your VPC carries no tag of
 *   ours: creating our groups and endpoints is allowed in that VPC by its ARN (and in its subnets by
 *   `ec2:Vpc`), and nothing creates, changes or deletes a VPC, subnet, route or gateway.
 * - ecs:RegisterTaskDefinition, DescribeTaskDefinition, DeregisterTaskDefinition and ListTaskDefinitions,
 *   ecs:ListTasks, events:ListRules, ecr:GetAuthorizationToken and logs:DescribeLogGroups take no (or no
 *   narrower) resource.
 * - ecr:DescribeImages (plan, up, status, run-now: is each job's image pushed?) names the repository of every
 *   job's image, the stack's and each `task.image`'s, in whichever account it is.
 * - Each job's roles, rule and family are named one by one while the document fits a role's inline
 *   policies; past that (some 5 jobs), the names `up` derives as `<stack>-<job>...` become `<stack>-*`.
 * - iam:PassRole is not an API call but is checked by RegisterTaskDefinition and RunTask (the task's
 *   roles, to ecs-tasks.amazonaws.com), PutTargets (the events role), CreateSchedule/UpdateSchedule
 *   (the scheduler role) and CreateStateMachine/UpdateStateMachine (a job's state machine role): each
 *   role may be passed only to its service.
 * - Creating with tags needs the service's tagging permission too, whenever tags are applied at creation
 *   (sent, propagated or ECS-managed): s3:TagResource, ecr:TagResource, logs:TagResource,
 *   secretsmanager:TagResource, sns:TagResource, sqs:TagQueue, events:TagResource, scheduler:TagResource,
 *   states:TagResource, cloudwatch:TagResource, iam:TagRole, ec2:CreateTags (ec2:CreateAction) and
 *   ecs:TagResource (ecs:CreateAction: RunTask for run-now, RegisterTaskDefinition for deploys);
 *   CreateBucket with ObjectOwnership needs s3:PutBucketOwnershipControls. S3 action names differ from
 *   operation names (HeadBucket and ListObjectsV2 are s3:ListBucket, PutBucketEncryption is
 *   s3:PutEncryptionConfiguration...).
 * - The first ECS cluster of an account makes ECS create its service-linked role.
 * Names of both schedule engines and of the alert resources are included whatever the config uses
 * now: switching engines or removing alerts makes `up` delete the old ones, with the same policy.
 *
 * Each command has its own entry; a command added later adds its own, and a test that runs every
 * command against the fake AWS checks each call against that command's policy.
 */
import { partitionOfRegion } from '../config/regions.js';
import type { StackConfig } from '../config/schema.js';
import { defaultBucketName } from '../config/schema.js';
import { parseEcrImage } from '../config/image.js';
import { alertRuleName, deadLetterAlarmName, deadLetterAlarmOn, topicName } from '../model/notify.js';
import { deadLetterQueueName, scheduleGroupName } from '../model/scheduler.js';
import { historyGroupName, historyRuleName } from '../model/history.js';
import { LOCK_PREFIX } from '../model/guard.js';
import { stackSecretRefs } from '../model/secrets.js';
import type { PolicyDocument, PolicyStatement } from '../model/policies.js';
import { TAG_STACK } from '../engine/types.js';
import type { StateLocation } from '../state/state.js';
import { lockParameterName } from '../state/lock.js';

/** The commands a policy can be printed for: every command that calls AWS. */
export const POLICY_COMMANDS = [
  'plan',
  'up',
  'down',
  'run-now',
  'stop',
  'pause',
  'resume',
  'deploy',
  'rollback',
  'logs',
  'history',
  'push',
  'status',
  'cost',
  'outputs',
] as const;
export type PolicyCommand = (typeof POLICY_COMMANDS)[number];

/** Commands that call no AWS API needing a permission, and why. */
export const AWS_FREE_COMMANDS: Record<string, string> = {
  init: 'writes a config file; loads no AWS client',
  validate: 'reads the config only',
  policy: 'asks STS who the caller is, which needs no permission',
  completion: 'prints a shell script; reads the config for job names',
};

/** Commands that call AWS but are not for an operator role (run them with your own credentials). */
export const ADMIN_COMMANDS: Record<string, string> = {
  'state migrate': 'a one-off move of the state, whose destination the policy cannot know in advance',
};

/** Commands that read state or AWS to find the stack's resources. */
const DISCOVER: PolicyCommand[] = ['plan', 'up', 'down', 'status', 'outputs'];
/** Commands that open the state (read it). */
const STATE_READERS: PolicyCommand[] = [
  'plan',
  'up',
  'down',
  'status',
  'outputs',
  'run-now',
  'stop',
  'pause',
  'resume',
  'deploy',
  'rollback',
  'push',
  'cost',
  'history',
];
/** Commands that write the state (a deploy records the revision it registered; so does `push --deploy`). */
const STATE_WRITERS: PolicyCommand[] = ['up', 'down', 'deploy', 'rollback', 'push'];
/**
 * Commands that take the stack's lock: the writers, and `pause`/`resume` (`up` must not write the schedule
 * meanwhile). `push` takes it with --deploy only.
 */
const STATE_LOCKERS: PolicyCommand[] = [...STATE_WRITERS, 'pause', 'resume'];
/**
 * Commands whose walk computes the task definitions and the execution role's policy (plan's assessment),
 * so look the job secrets up: the discovering ones.
 */
const SECRET_READERS: PolicyCommand[] = DISCOVER;
/** Commands that pause or resume schedules (`down --endpoints` pauses them). */
const PAUSERS: PolicyCommand[] = ['pause', 'resume', 'down'];
/** Commands that register a task definition revision with another image (`push --deploy` deploys). */
const DEPLOYERS: PolicyCommand[] = ['deploy', 'rollback', 'push'];
const UP: PolicyCommand[] = ['up'];
const DOWN: PolicyCommand[] = ['down'];
/** `up` deletes what left the config (an interface endpoint, the other schedule engine, alerts). */
const REMOVERS: PolicyCommand[] = ['up', 'down'];

/** One grant: what some commands may do on some resources, under a condition. */
export interface Grant {
  sid: string;
  commands: readonly PolicyCommand[];
  actions: string[];
  resources: string[];
  condition?: PolicyStatement['Condition'];
}

/** What the policy is computed for. */
export interface PolicyTarget {
  config: StackConfig;
  account: string;
  partition: string;
  /** Where the state lives (its grants follow). */
  state: StateLocation;
  /**
   * Names the state records that the config may no longer have (a job removed, a name changed): `up`
   * deletes those resources, so the policy must name them too.
   */
  recorded?: { roles: string[]; rules: string[]; families: string[]; machines?: string[]; alarms?: string[] };
}

/**
 * The names of the stack's per-job resources, as ARN parts. Each job's own names, exactly; with
 * `patterns`, one `<stack>-*` in place of the names of the jobs named `<stack>-<job>...` by default (the
 * original job's and names set in the config stay exact): a policy naming 50 jobs' roles, rules and
 * families one by one would be far over IAM's size limits.
 */
function jobNames(c: StackConfig, patterns: boolean, recorded: PolicyTarget['recorded']) {
  const S = c.stack;
  const derived = (job: StackConfig['jobs'][number], name: string) =>
    patterns && !job.original && name.startsWith(`${S}-${job.name}`);
  const pick = (get: (j: StackConfig['jobs'][number]) => string, jobs = c.jobs) => [
    ...new Set(jobs.map((j) => (derived(j, get(j)) ? `${S}-*` : get(j)))),
  ];
  // Only the jobs with a timeout or retries have a state machine (named after the family) and its role.
  const withMachine = c.jobs.filter((j) => j.runPolicy);
  // Recorded names: exact, unless a pattern already covers them.
  const plus = (names: string[], more: string[] = []) => [
    ...new Set([...names, ...more.filter((n) => !(patterns && n.startsWith(`${S}-`)))]),
  ];
  return {
    families: plus(
      pick((j) => j.task.family),
      recorded?.families,
    ),
    rules: plus(
      pick((j) => j.schedule.name),
      recorded?.rules,
    ),
    taskRoles: pick((j) => j.iam.taskRoleName),
    eventsRoles: pick((j) => j.iam.eventsRoleName),
    schedulerRoles: pick((j) => j.iam.schedulerRoleName),
    stateMachineRoles: pick((j) => j.iam.stateMachineRoleName, withMachine),
    machines: plus(
      pick((j) => j.task.family, withMachine),
      recorded?.machines,
    ),
    recordedRoles: plus([], recorded?.roles),
  };
}

/** The repositories of the images the jobs run, as ARNs: the stack's own and each `task.image`'s. */
function imageRepositories(c: StackConfig, account: string, partition: string): string[] {
  return [
    ...new Set(
      c.jobs.map((j) => {
        const image = j.task.image ? parseEcrImage(j.task.image) : undefined;
        return image
          ? `arn:${partition}:ecr:${image.region}:${image.account}:repository/${image.repository}`
          : `arn:${partition}:ecr:${c.region}:${account}:repository/${c.repository.name}`;
      }),
    ),
  ];
}

/** Every grant, for every command. With `patterns`, default per-job names are `<stack>-*` (see jobNames). */
export function operatorGrants(t: PolicyTarget, patterns = false): Grant[] {
  const { config: c, account: A, partition: P } = t;
  const R = c.region;
  const jobs = c.jobs;
  const S = c.stack;
  const arn = (svc: string, rest: string, region = R) => `arn:${P}:${svc}:${region}:${A}:${rest}`;
  const role = (name: string) => `arn:${P}:iam::${A}:role/${name}`;
  const bucket = c.bucket.name ?? defaultBucketName(S, A, R);
  const ctx = { config: c, stack: S } as Parameters<typeof topicName>[0];
  // Mode existing: the VPC and subnets are yours (no tag of ours), and batchctl creates none of the
  // network itself: only its groups and endpoints, inside your VPC.
  const ownsNetwork = c.network.mode !== 'existing';
  // What carries the stack's tag: the tag is the scope (EC2 ids are random), so any resource type. One
  // pattern instead of one per type keeps the whole policy within a role's inline size.
  const ec2Any = [arn('ec2', '*')];
  const ours = { StringEquals: { [`aws:ResourceTag/${TAG_STACK}`]: S } };
  const jn = jobNames(c, patterns, t.recorded);
  const roles = [
    ...new Set([
      c.iam.executionRoleName,
      ...jn.taskRoles,
      ...jn.eventsRoles,
      ...jn.schedulerRoles,
      ...jn.stateMachineRoles,
      ...jn.recordedRoles,
    ]),
  ].map(role);
  // The state machines of jobs with a timeout or retries (named after their family), and those the state
  // records (a timeout removed: `up` deletes the state machine). None: no Step Functions grant at all.
  const machines = jn.machines.map((f) => arn('states', `stateMachine:${f}`));
  const executions = jn.machines.map((f) => arn('states', `execution:${f}:*`));
  const group = scheduleGroupName(c);
  const rules = [...new Set([...jn.rules, alertRuleName(ctx)])].map((n) => arn('events', `rule/${n}`));
  const secret = [
    arn('secretsmanager', `secret:${c.secret.name}-??????`),
    arn('secretsmanager', `secret:${c.secret.name}`),
  ];
  const repo = arn('ecr', `repository/${c.repository.name}`);
  const logGroup = [arn('logs', `log-group:${c.logs.group}`), arn('logs', `log-group:${c.logs.group}:*`)];
  // One pattern for the group and its streams (`<name>` and `<name>:*`): the all-commands policy must stay
  // within a role's inline size, and nothing else is named `.../history<more>` under our stack's path.
  const historyGroup = [arn('logs', `log-group:${historyGroupName(c)}*`)];
  const historyRule = [arn('events', `rule/${historyRuleName(S)}`)];
  const cluster = arn('ecs', `cluster/${c.cluster.name}`);
  // A family's ARN without a revision (what the schedule targets run) and every revision's.
  const family = jn.families.flatMap((f) =>
    f.endsWith('*')
      ? [arn('ecs', `task-definition/${f}`)]
      : [arn('ecs', `task-definition/${f}`), arn('ecs', `task-definition/${f}:*`)],
  );
  const tasks = arn('ecs', `task/${c.cluster.name}/*`);
  const inCluster = { ArnEquals: { 'ecs:cluster': cluster } };
  const queue = arn('sqs', deadLetterQueueName(c));
  const topic = arn('sns', topicName(ctx));
  const alarm = arn('cloudwatch', `alarm:${deadLetterAlarmName(ctx)}`);
  const bucketArn = `arn:${P}:s3:::${bucket}`;
  // The repositories jobs take their images from: the stack's, and those `task.image` names.
  const imageRepos = [
    ...new Set([
      repo,
      ...jobs.flatMap((j) => {
        const e = j.task.image ? parseEcrImage(j.task.image) : undefined;
        return e ? [`arn:${P}:ecr:${e.region}:${e.account}:repository/${e.repository}`] : [];
      }),
    ]),
  ];
  const pinsDigests = jobs.some((j) => j.task.imagePin === 'digest');
  // The job secrets of Secrets Manager, as DescribeSecret authorises them: a name (or partial ARN) with
  // and without the random suffix AWS adds; a full ARN as is.
  const jobSecretArns = [
    ...new Set(
      stackSecretRefs(c)
        .filter((r) => r.source === 'secretsmanager')
        .flatMap((r) => {
          const base = r.arn ?? arn('secretsmanager', `secret:${r.name}`);
          return [base, `${base}-??????`];
        }),
    ),
  ].sort();
  const readsParameters = stackSecretRefs(c).some((r) => r.source === 'ssm');
  const creates: [string, string][] = [
    ...(ownsNetwork
      ? ([
          ['CreateVpc', 'vpc'],
          ['CreateSubnet', 'subnet'],
          ['CreateRouteTable', 'route-table'],
          ['CreateInternetGateway', 'internet-gateway'],
        ] as [string, string][])
      : []),
    ['CreateSecurityGroup', 'security-group'],
    ['CreateVpcEndpoint', 'vpc-endpoint'],
  ];
  // Every boundary a role of the stack is created with: the execution role's and each job's.
  const boundaries = [
    ...new Set(
      [c.iam.permissionsBoundary, ...jobs.map((j) => j.iam.permissionsBoundary)].filter((b): b is string => !!b),
    ),
  ];
  // Only when every role has one may creating a role require one.
  const boundary =
    boundaries.length && c.iam.permissionsBoundary && jobs.every((j) => j.iam.permissionsBoundary)
      ? boundaries
      : undefined;
  const passTo = (sid: string, names: string[], service: string, commands: PolicyCommand[]): Grant => ({
    sid,
    commands,
    actions: ['iam:PassRole'],
    resources: names.map(role),
    condition: { StringEquals: { 'iam:PassedToService': service } },
  });

  const grants: Grant[] = [
    // EC2
    {
      sid: 'Ec2Describe',
      commands: DISCOVER,
      resources: ['*'],
      actions: [
        'ec2:DescribeVpcs',
        'ec2:DescribeVpcAttribute',
        'ec2:DescribeSubnets',
        'ec2:DescribeSecurityGroups',
        'ec2:DescribeRouteTables',
        'ec2:DescribeVpcEndpoints',
        'ec2:DescribeVpcEndpointServices',
        'ec2:DescribeInternetGateways',
      ],
    },
    // The preflight checks the configured zones before the first write (the subnets batchctl creates).
    ...(ownsNetwork
      ? [
          {
            sid: 'Ec2Describe',
            commands: ['plan', 'up'] as PolicyCommand[],
            resources: ['*'],
            actions: ['ec2:DescribeAvailabilityZones'],
          },
        ]
      : []),
    // Deleting an endpoint or a subnet waits for AWS to release their network interfaces.
    { sid: 'Ec2Describe', commands: REMOVERS, resources: ['*'], actions: ['ec2:DescribeNetworkInterfaces'] },
    // run-now checks that the interface endpoints its tasks need are up (down --endpoints removes them).
    ...(c.network.mode === 'private-endpoints' && c.network.interfaceEndpoints.length
      ? [
          {
            sid: 'Ec2Describe',
            commands: ['run-now'] as PolicyCommand[],
            resources: ['*'],
            actions: ['ec2:DescribeVpcEndpoints'],
          },
        ]
      : []),
    ...creates.map(([op, type]): Grant => ({
      sid: `Ec2${op}Tagged`,
      commands: UP,
      actions: [`ec2:${op}`],
      resources: [arn('ec2', `${type}/*`)],
      condition: { StringEquals: { [`aws:RequestTag/${TAG_STACK}`]: S } },
    })),
    {
      sid: 'Ec2TagOnCreate',
      commands: UP,
      actions: ['ec2:CreateTags'],
      resources: ec2Any,
      condition: { StringEquals: { 'ec2:CreateAction': creates.map(([op]) => op) } },
    },
    {
      sid: 'Ec2Ours',
      commands: UP,
      resources: ec2Any,
      condition: ours,
      actions: [
        'ec2:CreateSecurityGroup',
        'ec2:CreateVpcEndpoint',
        'ec2:AuthorizeSecurityGroupIngress',
        'ec2:AuthorizeSecurityGroupEgress',
        'ec2:RevokeSecurityGroupIngress',
        'ec2:RevokeSecurityGroupEgress',
        'ec2:ModifyVpcEndpoint',
        'ec2:CreateTags',
        'ec2:DeleteTags',
        ...(ownsNetwork
          ? [
              'ec2:CreateSubnet',
              'ec2:CreateRouteTable',
              'ec2:ModifyVpcAttribute',
              'ec2:ModifySubnetAttribute',
              'ec2:AssociateRouteTable',
              'ec2:ReplaceRouteTableAssociation',
              'ec2:DeleteRoute',
              'ec2:CreateRoute',
              'ec2:ReplaceRoute',
              'ec2:AttachInternetGateway',
              'ec2:DetachInternetGateway',
            ]
          : []),
      ],
    },
    // `up` removes an endpoint or an AZ's subnet that left the config, and switching between public and
    // private-endpoints the endpoints' group, or the internet gateway and its route.
    {
      sid: 'Ec2Ours',
      commands: REMOVERS,
      resources: ec2Any,
      condition: ours,
      // The endpoint group's rule is revoked before the task group it names can go.
      actions: [
        'ec2:DeleteVpcEndpoints',
        'ec2:DeleteSecurityGroup',
        'ec2:RevokeSecurityGroupIngress',
        ...(ownsNetwork
          ? [
              'ec2:DeleteSubnet',
              'ec2:DisassociateRouteTable',
              'ec2:DeleteRoute',
              'ec2:DetachInternetGateway',
              'ec2:DeleteInternetGateway',
            ]
          : []),
      ],
    },
    ...(ownsNetwork
      ? [
          {
            sid: 'Ec2Ours',
            commands: DOWN,
            resources: ec2Any,
            condition: ours,
            actions: ['ec2:DeleteRouteTable', 'ec2:DeleteVpc'],
          },
        ]
      : []),
    // Interface endpoints with private DNS: enabling it associates the VPC with the private hosted zone AWS
    // manages for the service, a dependent action of ec2:CreateVpcEndpoint in the Service Authorization
    // Reference. The zone is AWS's (its id unknown in advance): any hosted zone of the partition.
    ...(c.network.interfaceEndpoints.length
      ? [
          {
            sid: 'EndpointPrivateDns',
            commands: UP,
            resources: [`arn:${P}:route53:::hostedzone/*`],
            actions: ['route53:AssociateVPCWithHostedZone'],
          },
        ]
      : []),
    // Mode existing: creating inside your VPC is authorised on it (and on your subnets, for the endpoints'
    // network interfaces), which carry no tag of ours; nothing else of yours is ever named.
    ...(ownsNetwork ? [] : yourNetworkGrants(c, arn)),
    // IAM
    // The stack's roles and their policies in one read (resources/lib/iam-roles.ts); the API takes no resource.
    // Where the account refuses it (an organization's SCP), each role is read on its own; its inline
    // policies are listed too: one on our role that is not batchctl's was added behind its back.
    { sid: 'IamAccountRoles', commands: DISCOVER, resources: ['*'], actions: ['iam:GetAccountAuthorizationDetails'] },
    {
      sid: 'IamRoles',
      commands: DISCOVER,
      resources: roles,
      actions: ['iam:GetRole', 'iam:GetRolePolicy', 'iam:ListAttachedRolePolicies', 'iam:ListRolePolicies'],
    },
    {
      sid: 'IamRoles',
      commands: UP,
      resources: roles,
      actions: [
        'iam:TagRole',
        'iam:UntagRole',
        'iam:UpdateAssumeRolePolicy',
        'iam:PutRolePolicy',
        ...(boundary ? [] : ['iam:CreateRole', 'iam:DeleteRolePermissionsBoundary']),
      ],
    },
    ...(boundary
      ? [
          {
            sid: 'IamRolesWithBoundary',
            commands: UP,
            resources: roles,
            actions: ['iam:CreateRole', 'iam:PutRolePermissionsBoundary'],
            condition: { StringEquals: { 'iam:PermissionsBoundary': boundary.length === 1 ? boundary[0]! : boundary } },
          },
        ]
      : []),
    {
      sid: 'IamRoles',
      commands: REMOVERS,
      resources: roles,
      actions: ['iam:ListRolePolicies', 'iam:DeleteRolePolicy', 'iam:DetachRolePolicy', 'iam:DeleteRole'],
    },
    passTo('PassTaskRolesToEcs', [...new Set([c.iam.executionRoleName, ...jn.taskRoles])], 'ecs-tasks.amazonaws.com', [
      'up',
      'run-now',
      ...DEPLOYERS,
    ]),
    passTo('PassEventsRole', jn.eventsRoles, 'events.amazonaws.com', UP),
    // UpdateSchedule passes the schedule's role again, also when only pausing it.
    passTo('PassSchedulerRole', jn.schedulerRoles, 'scheduler.amazonaws.com', [...UP, ...PAUSERS]),
    ...(jn.stateMachineRoles.length
      ? [passTo('PassStateMachineRole', jn.stateMachineRoles, 'states.amazonaws.com', UP)]
      : []),
    {
      sid: 'EcsServiceLinkedRole',
      commands: UP,
      actions: ['iam:CreateServiceLinkedRole'],
      resources: [`arn:${P}:iam::${A}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS`],
      condition: { StringEquals: { 'iam:AWSServiceName': 'ecs.amazonaws.com' } },
    },
    // S3: the stack's bucket
    {
      sid: 'Bucket',
      commands: DISCOVER,
      resources: [bucketArn],
      actions: [
        's3:GetBucketTagging',
        's3:GetBucketPublicAccessBlock',
        's3:GetEncryptionConfiguration',
        's3:GetLifecycleConfiguration',
        's3:GetBucketPolicy',
        's3:GetBucketVersioning',
      ],
    },
    {
      sid: 'Bucket',
      commands: UP,
      resources: [bucketArn],
      actions: [
        's3:CreateBucket',
        's3:ListBucket',
        's3:TagResource',
        's3:PutBucketOwnershipControls',
        's3:PutBucketTagging',
        's3:PutBucketPublicAccessBlock',
        's3:PutEncryptionConfiguration',
        's3:PutLifecycleConfiguration',
        's3:PutBucketPolicy',
        's3:PutBucketVersioning',
      ],
    },
    // An untagged bucket (tags at creation ignored, a run stopped before tagging) is adopted when S3 created it
    // after the create intent the state recorded: only ListBuckets gives a bucket's creation date.
    { sid: 'ListBuckets', commands: DISCOVER, resources: ['*'], actions: ['s3:ListAllMyBuckets'] },
    {
      sid: 'Bucket',
      commands: DOWN,
      resources: [bucketArn],
      actions: ['s3:ListBucket', 's3:ListBucketVersions', 's3:PutLifecycleConfiguration', 's3:DeleteBucket'],
    },
    // `down --force` empties the bucket version by version (unversioned objects have version "null").
    { sid: 'BucketObjects', commands: DOWN, resources: [`${bucketArn}/*`], actions: ['s3:DeleteObjectVersion'] },
    // Secrets Manager (a name that does not exist yet is authorised without the random suffix)
    {
      sid: 'Secret',
      commands: DISCOVER,
      resources: secret,
      actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
    },
    {
      sid: 'Secret',
      commands: UP,
      resources: secret,
      actions: [
        'secretsmanager:CreateSecret',
        'secretsmanager:TagResource',
        'secretsmanager:UntagResource',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecret',
        'secretsmanager:RestoreSecret',
      ],
    },
    { sid: 'Secret', commands: DOWN, resources: secret, actions: ['secretsmanager:DeleteSecret'] },
    // The job secrets: their metadata only (never a value: no GetSecretValue, no GetParameter), looked up
    // where the task definitions and the execution role's policy are computed. DescribeParameters takes
    // no resource-level permission.
    ...(jobSecretArns.length
      ? [
          {
            sid: 'JobSecrets',
            commands: SECRET_READERS,
            resources: jobSecretArns,
            actions: ['secretsmanager:DescribeSecret'],
          },
        ]
      : []),
    ...(readsParameters
      ? [{ sid: 'JobParameters', commands: SECRET_READERS, resources: ['*'], actions: ['ssm:DescribeParameters'] }]
      : []),
    // ECR
    {
      sid: 'Repository',
      commands: DISCOVER,
      resources: [repo],
      actions: ['ecr:DescribeRepositories', 'ecr:ListTagsForResource'],
    },
    {
      sid: 'Repository',
      commands: UP,
      resources: [repo],
      actions: [
        'ecr:CreateRepository',
        'ecr:TagResource',
        'ecr:UntagResource',
        'ecr:PutImageScanningConfiguration',
        'ecr:PutImageTagMutability',
      ],
    },
    { sid: 'Repository', commands: DOWN, resources: [repo], actions: ['ecr:ListImages', 'ecr:DeleteRepository'] },
    // A KMS-encrypted repository: deleting it retires the grants ECR made on its key (the AWS managed
    // aws/ecr key, whose id is not known in advance), which ECR does on the caller's behalf: allowed only
    // through ECR (kms:ViaService), in this account (ECR user guide, encryption at rest).
    ...(c.repository.encryption === 'KMS'
      ? [
          {
            sid: 'RepositoryKeyGrants',
            commands: DOWN,
            resources: [arn('kms', 'key/*')],
            actions: ['kms:RetireGrant'],
            condition: { StringEquals: { 'kms:ViaService': `ecr.${R}.amazonaws.com`, 'kms:CallerAccount': A } },
          },
        ]
      : []),
    {
      sid: 'Repository',
      commands: ['push'],
      resources: [repo],
      actions: [
        'ecr:DescribeRepositories',
        'ecr:BatchCheckLayerAvailability',
        'ecr:InitiateLayerUpload',
        'ecr:UploadLayerPart',
        'ecr:CompleteLayerUpload',
        'ecr:PutImage',
        'ecr:BatchGetImage',
      ],
    },
    // A tag's digest now: what deploy pins, what status compares the deployed digest with, and (jobs
    // with imagePin digest) what up pins before the first deploy; `rollback` checks its image is still there.
    {
      sid: 'Images',
      commands: ['deploy', 'rollback', 'status', ...(pinsDigests ? DISCOVER : [])],
      resources: imageRepos,
      actions: ['ecr:DescribeImages'],
    },
    { sid: 'EcrLogin', commands: ['push'], resources: ['*'], actions: ['ecr:GetAuthorizationToken'] },
    // Whether each job's image is pushed: the stack's repository, and any task.image's (another account's
    // answers only if its repository policy also lets this account describe it; else it is not checked).
    // run-now checks the image its task definition runs before starting it (a missing one cannot be pulled).
    {
      sid: 'Images',
      commands: ['plan', 'up', 'status', 'run-now'],
      resources: imageRepositories(c, A, P),
      actions: ['ecr:DescribeImages'],
    },
    // CloudWatch Logs
    {
      sid: 'LogGroups',
      commands: [...DISCOVER, 'logs'],
      resources: [arn('logs', 'log-group:*')],
      actions: ['logs:DescribeLogGroups'],
    },
    {
      sid: 'LogGroup',
      commands: DISCOVER,
      resources: [...logGroup, ...historyGroup],
      actions: ['logs:ListTagsForResource'],
    },
    {
      sid: 'LogGroup',
      commands: UP,
      resources: [...logGroup, ...historyGroup],
      actions: ['logs:CreateLogGroup', 'logs:TagResource', 'logs:UntagResource', 'logs:PutRetentionPolicy'],
    },
    { sid: 'LogGroup', commands: DOWN, resources: [...logGroup, ...historyGroup], actions: ['logs:DeleteLogGroup'] },
    // The history group's resource policy (EventBridge writes under it). Resource policies are the
    // account's, by name, and take no resource-level permission: the policy's name is ours by its document.
    { sid: 'LogResourcePolicies', commands: DISCOVER, resources: ['*'], actions: ['logs:DescribeResourcePolicies'] },
    // One policy shared by every batchctl stack of the region; `up` also deletes the stack's own policy of
    // before, `down` the shared one when no other stack's history needs it.
    {
      sid: 'LogResourcePolicies',
      commands: UP,
      resources: ['*'],
      actions: ['logs:PutResourcePolicy', 'logs:DeleteResourcePolicy'],
    },
    // (and puts it back when another stack came up while it was being deleted).
    {
      sid: 'LogResourcePolicies',
      commands: DOWN,
      resources: ['*'],
      actions: ['logs:DeleteResourcePolicy', 'logs:PutResourcePolicy'],
    },
    // `history` reads the history group (and when it was created), the runs ECS still shows, the
    // duplicate-guard claims (their prefix only) and the dead-letter queue without consuming it.
    {
      sid: 'LogGroups',
      commands: ['history'],
      resources: [arn('logs', 'log-group:*')],
      actions: ['logs:DescribeLogGroups'],
    },
    { sid: 'HistoryGroup', commands: ['history'], resources: historyGroup, actions: ['logs:FilterLogEvents'] },
    {
      sid: 'Claims',
      commands: ['history'],
      resources: [bucketArn],
      actions: ['s3:ListBucket'],
      condition: { StringLike: { 's3:prefix': `${LOCK_PREFIX}*` } },
    },
    { sid: 'LogGroup', commands: ['logs', 'run-now'], resources: logGroup, actions: ['logs:FilterLogEvents'] },
    {
      sid: 'LogGroup',
      commands: ['logs'],
      resources: logGroup,
      actions: ['logs:StartLiveTail', 'logs:DescribeLogStreams'],
    },
    // ECS
    { sid: 'Cluster', commands: DISCOVER, resources: [cluster], actions: ['ecs:DescribeClusters'] },
    {
      sid: 'Cluster',
      commands: UP,
      resources: [cluster],
      actions: ['ecs:CreateCluster', 'ecs:UpdateClusterSettings', 'ecs:TagResource', 'ecs:UntagResource'],
    },
    // A Spot job: the cluster's capacity providers (FARGATE and FARGATE_SPOT) are associated by up.
    ...(jobs.some((j) => j.task.capacity === 'spot')
      ? [{ sid: 'Cluster', commands: UP, resources: [cluster], actions: ['ecs:PutClusterCapacityProviders'] }]
      : []),
    { sid: 'Cluster', commands: DOWN, resources: [cluster], actions: ['ecs:DeleteCluster'] },
    // status reads each job's latest revision (the image it runs); the others list the families' revisions.
    {
      sid: 'TaskDefinitionsAnyResource',
      commands: DISCOVER.filter((c) => c !== 'status'),
      resources: ['*'],
      actions: ['ecs:DescribeTaskDefinition', 'ecs:ListTaskDefinitions'],
    },
    {
      sid: 'TaskDefinitionsAnyResource',
      commands: ['status', 'run-now', ...DEPLOYERS],
      resources: ['*'],
      actions: ['ecs:DescribeTaskDefinition'],
    },
    {
      sid: 'TaskDefinitionsAnyResource',
      commands: ['rollback'],
      resources: ['*'],
      actions: ['ecs:ListTaskDefinitions'],
    },
    {
      sid: 'TaskDefinitionsAnyResource',
      commands: [...UP, ...DEPLOYERS],
      resources: ['*'],
      actions: ['ecs:RegisterTaskDefinition'],
    },
    // A deploy registers a revision with the stack's tags: tag-on-create, and only that (ecs:CreateAction).
    {
      sid: 'TagRevisionOnCreate',
      commands: DEPLOYERS,
      resources: family,
      actions: ['ecs:TagResource'],
      condition: { StringEquals: { 'ecs:CreateAction': 'RegisterTaskDefinition' } },
    },
    // `up` deletes the family of a job that left the config.
    {
      sid: 'TaskDefinitionsAnyResource',
      commands: REMOVERS,
      resources: ['*'],
      actions: ['ecs:ListTaskDefinitions', 'ecs:DeregisterTaskDefinition'],
    },
    { sid: 'TaskDefinitions', commands: UP, resources: family, actions: ['ecs:TagResource', 'ecs:UntagResource'] },
    { sid: 'TaskDefinitions', commands: REMOVERS, resources: family, actions: ['ecs:DeleteTaskDefinitions'] },
    { sid: 'RunInCluster', commands: ['run-now'], resources: family, actions: ['ecs:RunTask'], condition: inCluster },
    // RunTask with propagateTags and enableECSManagedTags tags the task it creates: ECS evaluates
    // ecs:TagResource on the new task (ECS developer guide, "Grant permission to tag resources on creation").
    {
      sid: 'TagTaskOnRunTask',
      commands: ['run-now'],
      resources: [tasks],
      actions: ['ecs:TagResource'],
      condition: { StringEquals: { 'ecs:CreateAction': 'RunTask' } },
    },
    // logs --task asks ECS about a run whose log stream does not exist yet (starting, or never started).
    {
      sid: 'Tasks',
      commands: ['run-now', 'stop', 'status', 'cost', 'history', 'logs'],
      resources: [tasks],
      actions: ['ecs:DescribeTasks'],
    },
    {
      sid: 'ListTasksInCluster',
      commands: ['run-now', 'stop', 'status', 'cost', 'history', 'logs'],
      resources: ['*'],
      actions: ['ecs:ListTasks'],
      condition: inCluster,
    },
    // A task's ARN names its cluster: no condition needed (and none keeps it in the statement above).
    { sid: 'Tasks', commands: ['stop'], resources: [tasks], actions: ['ecs:StopTask'] },
    // EventBridge rules (the jobs' schedule rules and the alert rule). ListRules takes no resource: the
    // stack's rules are listed by their name prefix, one call for all the jobs.
    { sid: 'ListRules', commands: [...DISCOVER, 'pause', 'resume'], resources: ['*'], actions: ['events:ListRules'] },
    {
      sid: 'Rules',
      commands: DISCOVER,
      resources: rules,
      actions: ['events:DescribeRule', 'events:ListTargetsByRule', 'events:ListTagsForResource'],
    },
    // A rule named after the stack is found in the listing; one of another name by DescribeRule.
    // ...and its targets (one not batchctl's, added behind its back, is drift the rule's find reports).
    {
      sid: 'Rules',
      commands: ['pause', 'resume'],
      resources: rules,
      actions: ['events:DescribeRule', 'events:ListTagsForResource', 'events:ListTargetsByRule'],
    },
    // A pause is a tag on the rule, then the rule disabled; resuming lifts the tag, then enables it.
    {
      sid: 'Rules',
      commands: ['pause', 'down'],
      resources: rules,
      actions: ['events:TagResource', 'events:DisableRule'],
    },
    { sid: 'Rules', commands: ['resume'], resources: rules, actions: ['events:UntagResource', 'events:EnableRule'] },
    { sid: 'Rules', commands: ['run-now'], resources: rules, actions: ['events:ListTargetsByRule'] },
    {
      sid: 'Rules',
      commands: UP,
      resources: rules,
      actions: ['events:PutRule', 'events:TagResource', 'events:UntagResource', 'events:PutTargets'],
    },
    { sid: 'Rules', commands: REMOVERS, resources: rules, actions: ['events:RemoveTargets', 'events:DeleteRule'] },
    // The history rule: managed by up and down only (pause, resume and run-now never touch it).
    {
      sid: 'HistoryRule',
      commands: DISCOVER,
      resources: historyRule,
      actions: ['events:ListTargetsByRule', 'events:ListTagsForResource'],
    },
    // `down` finds it in the stack's rule listing; the others may describe it on its own.
    {
      sid: 'HistoryRule',
      commands: DISCOVER.filter((x) => x !== 'down'),
      resources: historyRule,
      actions: ['events:DescribeRule'],
    },
    {
      sid: 'HistoryRule',
      commands: UP,
      resources: historyRule,
      actions: ['events:PutRule', 'events:TagResource', 'events:UntagResource', 'events:PutTargets'],
    },
    {
      sid: 'HistoryRule',
      commands: REMOVERS,
      resources: historyRule,
      actions: ['events:RemoveTargets', 'events:DeleteRule'],
    },
    // EventBridge Scheduler (schedules are not taggable: their group is)
    {
      sid: 'ScheduleGroup',
      commands: DISCOVER,
      resources: [arn('scheduler', `schedule-group/${group}`)],
      actions: ['scheduler:GetScheduleGroup', 'scheduler:ListTagsForResource'],
    },
    {
      sid: 'ScheduleGroup',
      commands: UP,
      resources: [arn('scheduler', `schedule-group/${group}`)],
      actions: ['scheduler:CreateScheduleGroup', 'scheduler:TagResource', 'scheduler:UntagResource'],
    },
    {
      sid: 'ScheduleGroup',
      commands: REMOVERS,
      resources: [arn('scheduler', `schedule-group/${group}`)],
      actions: ['scheduler:DeleteScheduleGroup'],
    },
    {
      sid: 'ScheduleGroup',
      commands: ['pause', 'resume'],
      resources: [arn('scheduler', `schedule-group/${group}`)],
      actions: ['scheduler:GetScheduleGroup', 'scheduler:ListTagsForResource'],
    },
    {
      sid: 'Schedules',
      commands: [...DISCOVER, 'run-now', 'pause', 'resume'],
      resources: [arn('scheduler', `schedule/${group}/*`)],
      actions: ['scheduler:GetSchedule'],
    },
    {
      sid: 'Schedules',
      commands: UP,
      resources: [arn('scheduler', `schedule/${group}/*`)],
      actions: ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule'],
    },
    {
      sid: 'Schedules',
      commands: PAUSERS,
      resources: [arn('scheduler', `schedule/${group}/*`)],
      actions: ['scheduler:UpdateSchedule'],
    },
    {
      sid: 'Schedules',
      commands: REMOVERS,
      resources: [arn('scheduler', `schedule/${group}/*`)],
      actions: ['scheduler:DeleteSchedule'],
    },
    // Step Functions: the state machines of jobs with a timeout or retries (or on Spot), and their
    // executions. The walk reads each (plan, up, down, outputs --live: status reads no job's resources but
    // its trigger).
    ...(machines.length
      ? [
          {
            sid: 'StateMachines',
            commands: ['plan', 'up', 'down', 'outputs', 'run-now'] as PolicyCommand[],
            resources: machines,
            actions: ['states:DescribeStateMachine'],
          },
          {
            sid: 'StateMachines',
            commands: ['plan', 'up', 'down', 'outputs'] as PolicyCommand[],
            resources: machines,
            actions: ['states:ListTagsForResource'],
          },
          {
            sid: 'StateMachines',
            commands: UP,
            resources: machines,
            actions: [
              'states:CreateStateMachine',
              'states:UpdateStateMachine',
              'states:TagResource',
              'states:UntagResource',
            ],
          },
          { sid: 'StateMachines', commands: REMOVERS, resources: machines, actions: ['states:DeleteStateMachine'] },
          {
            sid: 'StateMachines',
            commands: ['run-now'] as PolicyCommand[],
            resources: machines,
            actions: ['states:StartExecution'],
          },
          {
            sid: 'StateMachines',
            commands: ['run-now', 'status'] as PolicyCommand[],
            resources: machines,
            actions: ['states:ListExecutions'],
          },
          {
            sid: 'Executions',
            commands: ['run-now', 'status', 'history'] as PolicyCommand[],
            resources: executions,
            actions: ['states:GetExecutionHistory'],
          },
          // `stop` stops a job's running executions (ours by the machine's tag) before their tasks.
          {
            sid: 'StateMachines',
            commands: ['stop'] as PolicyCommand[],
            resources: machines,
            actions: ['states:ListExecutions', 'states:ListTagsForResource'],
          },
          {
            sid: 'Executions',
            commands: ['stop'] as PolicyCommand[],
            resources: executions,
            actions: ['states:StopExecution'],
          },
        ]
      : []),
    // SQS: the stack's dead-letter queue (both engines) and its policy (the Policy attribute)
    {
      sid: 'DeadLetterQueue',
      commands: DISCOVER,
      resources: [queue],
      actions: ['sqs:GetQueueUrl', 'sqs:GetQueueAttributes', 'sqs:ListQueueTags'],
    },
    {
      sid: 'DeadLetterQueue',
      commands: UP,
      resources: [queue],
      actions: ['sqs:CreateQueue', 'sqs:TagQueue', 'sqs:UntagQueue', 'sqs:SetQueueAttributes'],
    },
    {
      sid: 'DeadLetterQueue',
      commands: REMOVERS,
      resources: [queue],
      actions: ['sqs:DeleteQueue', 'sqs:SetQueueAttributes'],
    },
    // status and history sample the dead letters without consuming them (ReceiveMessage with VisibilityTimeout 0).
    { sid: 'DeadLetterQueue', commands: ['status'], resources: [queue], actions: ['sqs:ReceiveMessage'] },
    {
      sid: 'DeadLetterQueue',
      commands: ['history'],
      resources: [queue],
      actions: ['sqs:GetQueueAttributes', 'sqs:ReceiveMessage'],
    },
    // CloudWatch: the alarm on the dead-letter queue, found by name, ours by its tag. Only when the config
    // has it (notify and a dead-letter queue) or the state records it (up and down delete it).
    ...(deadLetterAlarmOn(c) || t.recorded?.alarms?.length
      ? [
          {
            sid: 'DeadLetterAlarm',
            commands: DISCOVER,
            resources: [alarm],
            actions: ['cloudwatch:DescribeAlarms', 'cloudwatch:ListTagsForResource'],
          },
          {
            sid: 'DeadLetterAlarm',
            commands: UP,
            resources: [alarm],
            actions: ['cloudwatch:PutMetricAlarm', 'cloudwatch:TagResource', 'cloudwatch:UntagResource'],
          },
          { sid: 'DeadLetterAlarm', commands: REMOVERS, resources: [alarm], actions: ['cloudwatch:DeleteAlarms'] },
        ]
      : []),
    // SNS: the alert topic batchctl creates
    {
      sid: 'AlertTopic',
      commands: DISCOVER,
      resources: [topic],
      actions: ['sns:GetTopicAttributes', 'sns:ListSubscriptionsByTopic', 'sns:ListTagsForResource'],
    },
    {
      sid: 'AlertTopic',
      commands: UP,
      resources: [topic],
      actions: ['sns:CreateTopic', 'sns:TagResource', 'sns:UntagResource', 'sns:SetTopicAttributes', 'sns:Subscribe'],
    },
    { sid: 'AlertTopic', commands: REMOVERS, resources: [topic], actions: ['sns:Unsubscribe', 'sns:DeleteTopic'] },
  ];
  // A topic of the user's own: batchctl only reads its policy (to say whether EventBridge may publish).
  if (c.notify?.topicArn)
    grants.push({
      sid: 'YourAlertTopic',
      commands: DISCOVER,
      resources: [c.notify.topicArn],
      actions: ['sns:GetTopicAttributes'],
    });
  grants.push(...stateGrants(t.state, P));
  // The stack's lock (state/lock.ts), whatever the state backend: a Parameter Store parameter created
  // with its tag (tagging at creation needs ssm:AddTagsToResource), read to name its holder, deleted at
  // the end. A hierarchical name's ARN drops its leading '/'.
  const lock = arn('ssm', `parameter${lockParameterName(S)}`);
  grants.push({
    sid: 'StackLock',
    commands: STATE_LOCKERS,
    resources: [lock],
    actions: ['ssm:PutParameter', 'ssm:AddTagsToResource', 'ssm:GetParameter', 'ssm:DeleteParameter'],
  });
  return grants;
}

/** Mode existing: what creating batchctl's groups and endpoints inside your VPC is authorised on. */
function yourNetworkGrants(c: StackConfig, arn: (svc: string, rest: string) => string): Grant[] {
  const n = c.network;
  const vpc = arn('ec2', `vpc/${n.vpcId}`);
  // Any subnet of your VPC: an endpoint leaves a subnet dropped from the config too.
  const inYourVpc = { ArnEquals: { 'ec2:Vpc': vpc } };
  const groups = !n.securityGroupIds.length || n.interfaceEndpoints.length;
  return [
    ...(groups ? [{ sid: 'Ec2YourVpc', commands: UP, resources: [vpc], actions: ['ec2:CreateSecurityGroup'] }] : []),
    ...(n.interfaceEndpoints.length
      ? [
          { sid: 'Ec2YourVpc', commands: UP, resources: [vpc], actions: ['ec2:CreateVpcEndpoint'] },
          {
            sid: 'Ec2YourSubnets',
            commands: UP,
            resources: [arn('ec2', 'subnet/*')],
            actions: ['ec2:CreateVpcEndpoint', 'ec2:ModifyVpcEndpoint'],
            condition: inYourVpc,
          },
        ]
      : []),
  ];
}

/** What the state needs: nothing locally; in S3 the object and listing (a missing key is then 404, not 403). */
function stateGrants(state: StateLocation, P: string): Grant[] {
  if (state.kind !== 's3') return [];
  const bucket = `arn:${P}:s3:::${state.bucket}`;
  const key = `${bucket}/${state.key}`;
  return [
    { sid: 'StateBucket', commands: STATE_READERS, resources: [bucket], actions: ['s3:ListBucket'] },
    { sid: 'StateBucket', commands: ['plan'], resources: [bucket], actions: ['s3:GetBucketVersioning'] },
    { sid: 'State', commands: STATE_READERS, resources: [key], actions: ['s3:GetObject'] },
    { sid: 'State', commands: STATE_WRITERS, resources: [key], actions: ['s3:PutObject'] },
  ];
}

/**
 * Whether the per-job names become `<stack>-*` patterns for these commands: every job's names, one by
 * one, while the whole fits a role's inline policies; past that (some 5 jobs), patterns.
 */
export function usesPatterns(t: PolicyTarget, commands: readonly PolicyCommand[]): boolean {
  const grants = operatorGrants(t, false).filter((g) => g.commands.some((c) => commands.includes(c)));
  return policySize(statementsOf(grants)) > POLICY_SIZE_LIMITS.inlinePerRole;
}

/** The policy document for these commands (one document, whatever its size: policy-documents.ts splits it). */
export function operatorPolicy(t: PolicyTarget, commands: readonly PolicyCommand[]): PolicyDocument {
  const patterns = usesPatterns(t, commands);
  return statementsOf(operatorGrants(t, patterns).filter((g) => g.commands.some((c) => commands.includes(c))));
}

/**
 * A document of these grants, in as few statements as say the same (IAM counts every character against
 * a policy's size limit): first grants on the same resources under the same condition share one
 * statement, then statements granting the same actions under the same condition share their resources.
 * Actions and resources sorted; Sids are the first grant's, numbered when repeated.
 */
export function statementsOf(grants: readonly Grant[]): PolicyDocument {
  type Stmt = PolicyStatement & { Action: string[]; Resource: string[] };
  const merge = (list: Stmt[], keyOf: (s: Stmt) => string, into: (a: Stmt, b: Stmt) => void): Stmt[] => {
    const byKey = new Map<string, Stmt>();
    for (const st of list) {
      const k = keyOf(st);
      const have = byKey.get(k);
      if (have) into(have, st);
      else byKey.set(k, { ...st, Action: [...st.Action], Resource: [...st.Resource] });
    }
    return [...byKey.values()];
  };
  const cond = (s: Stmt) => JSON.stringify(s.Condition ?? null);
  let statements: Stmt[] = grants.map((g) => ({
    Sid: g.sid,
    Effect: 'Allow',
    Action: [...new Set(g.actions)].sort(),
    Resource: [...g.resources].sort(),
    ...(g.condition ? { Condition: g.condition } : {}),
  }));
  statements = merge(
    statements,
    (s) => JSON.stringify([s.Resource, cond(s)]),
    (a, b) => {
      a.Action = [...new Set([...a.Action, ...b.Action])].sort();
    },
  );
  statements = merge(
    statements,
    (s) => JSON.stringify([s.Action, cond(s)]),
    (a, b) => {
      a.Resource = [...new Set([...a.Resource, ...b.Resource])].sort();
    },
  );
  // Sids must be unique within a policy: number repeats.
  const seen = new Map<string, number>();
  const out = statements.map((s) => {
    const n = (seen.get(s.Sid!) ?? 0) + 1;
    seen.set(s.Sid!, n);
    return n === 1 ? s : { ...s, Sid: `${s.Sid}${n}` };
  });
  return { Version: '2012-10-17', Statement: out };
}

/**
 * IAM's limits on policies (characters, whitespace not counted): a managed policy's document, a role's
 * inline policies together, a user's inline policies together; and how many managed policies a role may
 * have attached by default (a quota that can be raised to 20).
 */
export const POLICY_SIZE_LIMITS = {
  managed: 6144,
  inlinePerRole: 10_240,
  inlinePerUser: 2048,
  managedPerRole: 10,
} as const;

/** The size IAM counts: the document without whitespace outside strings. */
export const policySize = (doc: PolicyDocument): number => JSON.stringify(doc).length;

/**
 * The role, rule and family names the state records: resources of jobs the config no longer has, which
 * `up` deletes. A state that cannot be read (none yet, no access) adds nothing: the policy then covers
 * what the config names, as it says in a warning when the state exists but could not be read.
 */
export async function recordedNames(
  opts: import('../engine/stack.js').StackOptions,
  config: StackConfig,
  location: StateLocation,
  account: string,
): Promise<PolicyTarget['recorded']> {
  try {
    const [{ openStateBackend }, { StateStore }] = await Promise.all([
      import('../engine/stack.js'),
      import('../state/state.js'),
    ]);
    const backend = await openStateBackend(location, {
      profile: opts.profile,
      endpointUrl: opts.endpointUrl,
      region: config.region,
    });
    const state = await StateStore.open(backend, { stack: config.stack, region: config.region, account });
    const ids = (kind: string) => [...state.records().values()].filter((r) => r.kind === kind).map((r) => r.id);
    return {
      roles: ids('iam.role'),
      rules: ids('events.rule'),
      families: ids('ecs.task-definition'),
      machines: ids('states.state-machine'),
      alarms: ids('cloudwatch.alarm'),
    };
  } catch (err) {
    opts.reporter.warn(
      `the state could not be read (${(err as Error).message}): the policy names what the config names, not what the state records beyond it`,
    );
    return undefined;
  }
}

/** The partition of a region, for ARNs when the account is given rather than asked. */
export function partitionOf(region: string): string {
  return partitionOfRegion(region);
}
