/**
 * The config `batchctl init` writes (and the repository's sample is): every key, with its default
 * visible and a comment saying what it does. Names are left out, so they derive from the stack name and
 * a second stack is a copy with another `stack:`. Keys whose default is computed (names, the schedule
 * engine) or that have none (an image, alerts, an S3 state) are shown commented out.
 */
import { PRICES } from '../model/pricing.js';

/** What the template is written for. */
export interface TemplateInput {
  stack: string;
  region: string;
}

/**
 * Two zones of the region for the subnets. Zone letters are not the same everywhere: ap-northeast-1 has
 * no `b` for accounts made since 2012 (the article uses 1a and 1c); elsewhere `a` and `b` exist. An
 * account whose zones differ learns it from `plan`'s preflight, before anything is created.
 */
export function defaultZones(region: string): [string, string] {
  const letters = ZONE_LETTERS[region] ?? ['a', 'b'];
  return [`${region}${letters[0]}`, `${region}${letters[1]}`];
}

const ZONE_LETTERS: Record<string, [string, string]> = {
  'ap-northeast-1': ['a', 'c'],
};

/** The config text for a stack. */
export function renderConfig({ stack: s, region: r }: TemplateInput): string {
  const [z1, z2] = defaultZones(r);
  const prices = PRICES[r]
    ? `left out: the built-in prices for ${r}`
    : `batchctl has no built-in prices for ${r}: set them for \`batchctl cost\``;
  return `# batchctl stack ${s}: a job on AWS Fargate, started on a schedule.
# Every key is here with its default. A commented-out key is optional: its comment says what applies when
# it is left out. Names are left out on purpose: they all derive from \`stack\`, so a second stack is a
# copy of this file with another stack name.
# Next: batchctl validate (no AWS call), batchctl plan, batchctl cost, batchctl up, batchctl push.

stack: ${s}${pad(`stack: ${s}`)}# 2-32 characters: a-z, 0-9, hyphen; prefixes every name; the batchctl:stack tag
region: ${r}${pad(`region: ${r}`)}# --region wins over this; AWS_REGION is used only when this is left out
tags: {}                       # extra tags on every resource (keys may not start with aws: or batchctl:)

network:
  # private-endpoints: private subnets reaching AWS through VPC endpoints, no NAT, no internet (about $82/month fixed)
  # public: the same VPC with an internet gateway; tasks get a public IP, no inbound (no fixed cost)
  # existing: a VPC of yours (set vpcId and subnetIds below instead of vpcCidr and the subnets)
  mode: private-endpoints      # private-endpoints <-> public switches in place with one up
  vpcCidr: 192.168.0.0/16      # /16 to /28; cannot change after creation
  # Zone names vary by account: plan checks them (aws ec2 describe-availability-zones --region ${r}).
  batchSubnets:                # one per availability zone: where tasks run
    - { az: ${z1}, cidr: 192.168.0.0/24 }
    - { az: ${z2}, cidr: 192.168.1.0/24 }
  endpointSubnets:             # the same zones: where the interface endpoints' network interfaces live
    - { az: ${z1}, cidr: 192.168.2.0/24 }
    - { az: ${z2}, cidr: 192.168.3.0/24 }
  interfaceEndpoints: [ecr.api, ecr.dkr, logs, secretsmanager]   # billed per hour and zone; also: sts, ssm, kms, monitoring
  s3Gateway: true              # free; needed because ECR serves image layers from S3
  # vpcId: vpc-0123456789abcdef0            # mode existing: your VPC (batchctl never changes it)
  # subnetIds: [subnet-0123456789abcdef0]   # mode existing: your subnets the tasks run in (at most 16)
  # securityGroupIds: [sg-0123456789abcdef0]   # mode existing: your groups instead of the one batchctl creates
  # assignPublicIp: false                   # mode existing: true for public subnets (a route to an internet gateway)

repository:
  # name: ${s}${pad(`# name: ${s}`, 29)}# default: the stack name
  scanOnPush: true             # scan each pushed image for vulnerabilities
  encryption: KMS              # KMS or AES256; cannot change after creation
  tagMutability: MUTABLE       # or IMMUTABLE (safer; then push a new tag per release)

bucket:
  # name: ${s}-<account id>-${r}   # the default: bucket names are global, the account id keeps it unique
  expireAfterDays: 365         # objects (and old versions) expire this many days after creation
  versioning: false            # true enables it; AWS can then only suspend it, never turn it off

${secretSection(s)}

logs:
  # group: /ecs/${s}${pad(`# group: /ecs/${s}`, 29)}# default: /ecs/<stack>
  retentionDays: 365           # 1 3 5 7 14 30 60 90 120 150 180 365 400 545 731 1096 1827 2192 2557 2922 3288 3653
  streamPrefix: ecs            # streams are <prefix>/<container>/<task id>

cluster:
  # name: ${s}${pad(`# name: ${s}`, 29)}# default: the stack name
  containerInsights: true      # CloudWatch Container Insights metrics for the cluster

task:
  # family: ${s}${pad(`# family: ${s}`, 29)}# default: the stack name
  cpu: 2048                    # Fargate CPU units: 256 512 1024 2048 4096 8192 16384
  memory: 8192                 # MiB, a Fargate pair with cpu (2048 takes 4096-16384 in steps of 1024)
  containerName: batch
  imageTag: latest             # the tag \`batchctl push\` uploads to the stack's repository and \`batchctl deploy\` pins
  # image: <ECR image URI>     # instead of the stack's repository: a full ECR image URI in ${r}
  imagePin: digest             # digest: runs the image \`batchctl deploy\` pinned; tag: whatever imageTag points at (left out: tag)
  crossAccountImage: false     # true: \`image\` is in another account whose repository policy lets this one pull
  command: [node, dist/main.js]
  environment: {}              # plain variables (never secrets: they show in the task definition)
  # secrets:                   # variables ECS sets at task start from Secrets Manager or SSM (only names are stored)
  #   DB_PASSWORD: secretsmanager:prod/db:password   # a secret by name or ARN, and one key of its JSON
  #   API_KEY: ssm:/prod/api-key                     # an SSM parameter by name or ARN
  cpuArchitecture: X86_64      # or ARM64
  capacity: on-demand          # or spot: Fargate Spot (X86_64 only), on-demand when Spot has no capacity or reclaims the task
  # ephemeralStorageGiB: 21    # 21-200: the task's disk (left out: 20 GiB); the GiB beyond 20 are billed per hour
  # Left out (both), the schedule starts the task itself. Either set, it starts a Step Functions state machine that runs it:
  # timeout: 15m               # stop a run after this long (30m, 2h, 1h30m; at most 365d): its task is stopped, the run fails
  # retries: 2                 # 0-10: run again after a non-zero exit or a task that did not start, 30 s, 1 min, 2 min... later
  # build:                     # what \`batchctl push\` builds the image from (paths relative to this file)
  #   context: batch           # default: batch/ beside this file
  #   dockerfile: batch/Dockerfile   # default: <context>/Dockerfile

schedule:
  # name: ${s}${pad(`# name: ${s}`, 29)}# default: the stack name (the EventBridge rule or schedule)
  expression: cron(30 * * * ? *)   # EventBridge cron (6 fields, ? in one day field) or rate(5 minutes)
  # engine: rule               # rule (EventBridge rule, UTC) or scheduler (EventBridge Scheduler); default: rule, or scheduler when timezone is not UTC
  # timezone: UTC              # IANA zone the cron is read in, daylight saving included (scheduler engine)
  flexibleWindowMinutes: 0     # scheduler only: may start up to this many minutes late
  deadLetterQueue: true        # an SQS queue keeps invocations that could not start the task (both engines)
  enabled: true                # false: nothing starts on schedule (batchctl run-now still does)
  # description: ...           # default: "Runs the <family> task (batchctl stack <stack>)"
  retry:
    maximumEventAgeSeconds: 1800   # 60-86400
    maximumRetryAttempts: 10       # 0-185
  duplicateGuard: true         # the job runs each scheduled time once, even when EventBridge delivers it twice

iam:
  # The roles, by default <stack>-execution, <stack>-task, <stack>-events (rule engine), <stack>-scheduler, <stack>-states:
  # executionRoleName: ${s}-execution
  # taskRoleName: ${s}-task
  # eventsRoleName: ${s}-events
  # schedulerRoleName: ${s}-scheduler
  # stateMachineRoleName: ${s}-states   # the state machine's role (a job with timeout or retries)
  bucketAccess: read           # read: list and get objects; read-write: also put and delete
  # permissionsBoundary: <policy ARN>   # set as the roles' permissions boundary

# pricing:                     # USD prices for batchctl cost and down --endpoints; ${prices}
#   interfaceEndpointAzHour: 0.0   # one interface endpoint in one zone, per hour
#   fargateVcpuHour: 0.0           # Fargate Linux, per vCPU per hour, for cpuArchitecture
#   fargateGbHour: 0.0             # Fargate Linux, per GB of memory per hour, for cpuArchitecture
#   publicIpv4Hour: 0.0            # one public IPv4 address, per hour (network mode public)
#   stepFunctionsTransition1k: 0.0 # Step Functions, per 1,000 state transitions (jobs with timeout or retries)
#   alarmMonth: 0.0                # one CloudWatch alarm, per month (the dead-letter alarm, with notify)
#   secretMonth: 0.0               # one Secrets Manager secret, per month
#   fargateSpotVcpuHour: 0.0       # Fargate Spot (X86_64), per vCPU per hour (task.capacity: spot)
#   fargateSpotGbHour: 0.0         # Fargate Spot (X86_64), per GB of memory per hour
#   ephemeralStorageGbHour: 0.0    # task storage beyond the free 20 GiB, per GB per hour

# jobs:                        # several jobs in this stack: task, schedule and iam above are their defaults
#   lister: { original: true } # the stack's job from before jobs: keeps its names and resources
#   report:                    # named <stack>-report; sets only what differs from the defaults
#     schedule: { expression: cron(0 1 * * ? *), timezone: Asia/Tokyo }
#     task: { cpu: 512, memory: 1024, command: [node, dist/report.js] }

# notify:                      # alerts when a run fails; left out: none
#   emails: [ops@example.com]  # subscribed to a topic batchctl creates (each address confirms by e-mail)
#   topicArn: <SNS topic ARN>  # or publish to a topic of yours in ${r} instead (not both)

# state:                       # where the state lives (--state wins); left out: .batchctl/${s}.state.json beside this file
#   s3:
#     bucket: <bucket>         # a bucket of its own, with versioning on (never the stack's bucket)
#     key: batchctl/${s}.json
#     region: <region>         # the bucket's region, when it is not ${r}
`;
}

/**
 * The secret's section. Its default name is the stack name, which Secrets Manager cannot take when it
 * ends with a hyphen and six characters (`nightly-report`: it looks like the random suffix of a secret's
 * ARN); then the config names it `<stack>-secrets`, which never does.
 */
function secretSection(s: string): string {
  const doc = '# holds {"S3_BUCKET_NAME": <bucket name>} for the job';
  if (/-.{6}$/.test(s)) {
    return `secret:
  name: ${s}-secrets${pad(`name: ${s}-secrets`, 29)}${doc}; not the stack name, whose last part
                               # would look like the random suffix Secrets Manager adds to a secret's ARN`;
  }
  return `# secret:
#   name: ${s}${pad(`#   name: ${s}`)}# default: the stack name; ${doc.slice(2)}`;
}

/** Spaces that start a line's comment at column `at` (at least one). */
function pad(text: string, at = 31): string {
  return ' '.repeat(Math.max(1, at - text.length));
}
