/**
 * IAM policy documents for the stack's three roles (least privilege: every Resource names this stack's
 * own repository, log group, secret, bucket, family and roles) and a canonical form to compare them.
 */
import { dnsSuffixOf } from '../config/regions.js';
import { sortKeys } from '../base/json.js';
import { parseEcrImage } from '../config/image.js';
import type { JobConfig } from '../config/schema.js';
import type { Ctx, FieldChange } from '../engine/types.js';
import type { RoleName } from './keys.js';
import { K, jobKey } from './keys.js';
import { jobOf } from './jobs.js';

/** One IAM policy statement, in the loose shapes IAM accepts (a string or a list for most fields). */
export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: string;
  Statement: PolicyStatement[];
}

const VERSION = '2012-10-17';

/**
 * Decode a policy document as IAM returns it. GetRole and GetRolePolicy return RFC 3986 URL-encoded
 * JSON (the SDK does not decode it); a document that is already JSON is parsed as is.
 */
export function decodePolicy(doc: string | undefined): PolicyDocument | undefined {
  if (!doc) return undefined;
  const text = doc.trimStart().startsWith('{') ? doc : decodeURIComponent(doc);
  return JSON.parse(text) as PolicyDocument;
}

const asSortedList = (v: unknown): unknown =>
  Array.isArray(v) ? [...new Set(v.map(String))].sort() : typeof v === 'string' ? [v] : v;

/**
 * The canonical form of a policy: IAM treats `"a"` and `["a"]` alike, ignores list order and statement
 * order, and may reorder keys, so all of that is normalised away. `Statement` as a lone object counts too.
 */
export function canonicalPolicy(doc: PolicyDocument | undefined): unknown {
  if (!doc) return undefined;
  const stmts = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement as unknown as PolicyStatement];
  const norm = stmts.map((s) => {
    const out: Record<string, unknown> = { ...s };
    for (const f of ['Action', 'NotAction', 'Resource', 'NotResource'] as const)
      if (f in s) out[f] = asSortedList(s[f]);
    if (s.Principal && typeof s.Principal === 'object') {
      out.Principal = Object.fromEntries(Object.entries(s.Principal).map(([k, v]) => [k, asSortedList(v)]));
    }
    if (s.Condition) {
      out.Condition = Object.fromEntries(
        Object.entries(s.Condition).map(([op, kv]) => [
          op,
          Object.fromEntries(Object.entries(kv).map(([k, v]) => [k, asSortedList(v)])),
        ]),
      );
    }
    return sortKeys(out);
  });
  const sorted = norm
    .map((s) => JSON.stringify(s))
    .sort()
    .map((s) => JSON.parse(s) as unknown);
  return { Version: doc.Version ?? VERSION, Statement: sorted };
}

/** True when two documents grant the same thing (canonical comparison). */
export function samePolicy(a: PolicyDocument | undefined, b: PolicyDocument | undefined): boolean {
  return JSON.stringify(canonicalPolicy(a)) === JSON.stringify(canonicalPolicy(b));
}

/**
 * The change from an observed policy document to the desired one, naming each statement batchctl did not
 * write (in the observed document, not in the desired one) as a removal: a grant added by hand to a
 * bucket, queue or topic policy is drift, and `plan` says what it gave and to whom.
 */
export function policyChange(
  field: string,
  desired: PolicyDocument | undefined,
  observed: PolicyDocument | undefined,
): FieldChange {
  const stmts = (doc: PolicyDocument | undefined) =>
    (canonicalPolicy(doc) as { Statement?: unknown[] } | undefined)?.Statement ?? [];
  const ours = new Set(stmts(desired).map((x) => JSON.stringify(x)));
  const have = stmts(observed).map((x) => JSON.stringify(x));
  const added = stmts(observed).filter((x) => !ours.has(JSON.stringify(x))) as PolicyStatement[];
  const missing = [...ours].filter((x) => !have.includes(x));
  const from = canonicalPolicy(observed) ?? 'none';
  return {
    field,
    from,
    to: canonicalPolicy(desired) ?? 'none',
    ...(added.length ? { removes: added.map((x) => `${field} statement ${describeStatement(x)}`) } : {}),
    ...(added.length && !missing.length ? { onlyRemoves: true } : {}),
  };
}

/** One line for a statement: `"Sid": Allow s3:GetObject to {"AWS":"arn:..."}`. */
function describeStatement(x: PolicyStatement): string {
  const list = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v));
  const what = x.Action !== undefined ? list(x.Action) : `everything but ${list(x.NotAction)}`;
  const who =
    x.Principal === undefined
      ? ''
      : ` to ${typeof x.Principal === 'string' ? x.Principal : JSON.stringify(x.Principal)}`;
  const on = x.Resource !== undefined ? ` on ${list(x.Resource)}` : '';
  return `${x.Sid ? `"${x.Sid}": ` : ''}${x.Effect} ${what}${who}${on}${x.Condition ? ' (with conditions)' : ''}`;
}

// ---- ARNs of the stack's resources ---------------------------------------------------------------

/** `arn:<partition>:<service>:<region>:<account>:<rest>` for this context. */
export function arn(ctx: Ctx, service: string, rest: string, opts: { region?: string; account?: string } = {}): string {
  return `arn:${ctx.partition}:${service}:${opts.region ?? ctx.region}:${opts.account ?? ctx.account}:${rest}`;
}

/**
 * A task definition's family from a revision ARN (`.../task-definition/<family>:<revision>`), a family ARN
 * (`.../task-definition/<family>`), or a family name (returned as it is).
 */
export function familyOf(taskDefinition: string | undefined): string {
  return familyArnOf(taskDefinition).split('/').at(-1) ?? '';
}

/** A revision ARN without its revision: the family ARN a target names to run the latest ACTIVE revision. */
export function familyArnOf(taskDefinitionArn: string | undefined): string {
  return (taskDefinitionArn ?? '').replace(/:\d+$/, '');
}

/** The ARN of an IAM role of this account. */
export const roleArn = (ctx: Ctx, name: string) => arn(ctx, 'iam', `role/${name}`, { region: '' });

/** The config's name for a role: the shared execution role, or one of a job's roles. */
export function roleNameOf(ctx: Ctx, r: RoleName, job?: string): string {
  if (r === 'execution') return ctx.config.iam.executionRoleName;
  const iam = jobOf(ctx.config, job!).iam;
  return {
    task: iam.taskRoleName,
    events: iam.eventsRoleName,
    scheduler: iam.schedulerRoleName,
    states: iam.stateMachineRoleName,
  }[r];
}

/**
 * ARNs a policy names are derived from the config when the resource's record is not known (IAM accepts a
 * policy naming what does not exist yet): a policy need not wait for what it grants access to. The secret
 * is the exception: its ARN ends in a suffix AWS draws at creation.
 */

/** The ECR repository ARN: its record's when it has one, else derived from the config. */
export function repositoryArn(ctx: Ctx): string {
  return ctx.maybeRecord(K.repository)?.arn ?? arn(ctx, 'ecr', `repository/${ctx.config.repository.name}`);
}

/** The repository URI (`<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<name>`). */
export function repositoryUri(ctx: Ctx): string {
  const rec = ctx.record(K.repository);
  if (rec.attrs?.uri) return rec.attrs.uri;
  const suffix = dnsSuffixOf(ctx.partition);
  return `${ctx.account}.dkr.ecr.${ctx.region}.${suffix}/${ctx.config.repository.name}`;
}

/**
 * The log group ARN without the `:*` DescribeLogGroups appends: IAM matches `log-group:<name>` for
 * group-level actions and `log-group:<name>:log-stream:*` for PutLogEvents/CreateLogStream.
 */
export function logGroupArn(ctx: Ctx): string {
  const rec = ctx.maybeRecord(K.logGroup);
  return rec?.arn?.replace(/:\*$/, '') ?? arn(ctx, 'logs', `log-group:${rec?.id ?? ctx.config.logs.group}`);
}

/** The secret's full ARN. It ends in a random 6-character suffix AWS adds, so it must come from the record. */
export function secretArn(ctx: Ctx): string {
  const rec = ctx.record(K.secret);
  const a = rec.arn ?? (rec.id.startsWith('arn:') ? rec.id : undefined);
  if (!a) throw new Error(`internal: the ${K.secret} record has no ARN`);
  return a;
}

/** The bucket ARN (S3 ARNs carry neither region nor account). */
export function bucketArn(ctx: Ctx): string {
  const rec = ctx.maybeRecord(K.bucket);
  return rec?.arn ?? `arn:${ctx.partition}:s3:::${rec?.id ?? ctx.config.bucket.name}`;
}

// ---- The documents ---------------------------------------------------------------------------------

/**
 * Who may assume each role. `aws:SourceAccount` stops another account's ECS or EventBridge from using
 * our role (confused deputy); for ecs-tasks `aws:SourceArn` narrows it further to ECS in this region.
 */
export function trustPolicy(ctx: Ctx, r: RoleName): PolicyDocument {
  const service = r === 'events' ? 'events.amazonaws.com' : 'ecs-tasks.amazonaws.com';
  const Condition: PolicyStatement['Condition'] = { StringEquals: { 'aws:SourceAccount': ctx.account } };
  if (r !== 'events') Condition.ArnLike = { 'aws:SourceArn': arn(ctx, 'ecs', '*') };
  return {
    Version: VERSION,
    Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole', Condition }],
  };
}

/**
 * The repository a job's image is pulled from: its `task.image`'s (in this account or, with
 * `task.crossAccountImage`, another), else the stack's own.
 */
export function imageRepositoryArn(ctx: Ctx, job: JobConfig): string {
  const image = job.task.image ? parseEcrImage(job.task.image) : undefined;
  if (!image) return repositoryArn(ctx);
  return arn(ctx, 'ecr', `repository/${image.repository}`, { region: image.region, account: image.account });
}

/** Every repository the stack's jobs pull from, once each: the shared execution role may pull these only. */
function imageRepositoryArns(ctx: Ctx): string | string[] {
  const arns = [...new Set(ctx.config.jobs.map((j) => imageRepositoryArn(ctx, j)))];
  // A lone ARN stays a string: the document of a one-job stack is the one it always had.
  return arns.length === 1 ? arns[0]! : arns.sort();
}

/** Execution role: pull our images, write our logs, read our secret. Replaces AmazonECSTaskExecutionRolePolicy. */
export function executionPolicy(ctx: Ctx): PolicyDocument {
  const logs = logGroupArn(ctx);
  return {
    Version: VERSION,
    Statement: [
      // GetAuthorizationToken is account-wide: IAM does not support a resource for it.
      { Sid: 'EcrAuth', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
      {
        Sid: 'EcrPull',
        Effect: 'Allow',
        Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        // The images' own repositories: pulling from any other fails every run with CannotPullContainerError.
        Resource: imageRepositoryArns(ctx),
      },
      {
        Sid: 'Logs',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: [logs, `${logs}:log-stream:*`],
      },
      { Sid: 'Secret', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: secretArn(ctx) },
    ],
  };
}

/** A job's task role: list and read (or also write) objects of this one bucket, instead of AmazonS3FullAccess. */
export function taskPolicy(ctx: Ctx, job: JobConfig): PolicyDocument {
  const bucket = bucketArn(ctx);
  const objectActions =
    job.iam.bucketAccess === 'read-write' ? ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'] : ['s3:GetObject'];
  return {
    Version: VERSION,
    Statement: [
      { Sid: 'List', Effect: 'Allow', Action: 's3:ListBucket', Resource: bucket },
      { Sid: 'Objects', Effect: 'Allow', Action: objectActions, Resource: `${bucket}/*` },
    ],
  };
}

/**
 * A job's EventBridge role: run the job's family in our cluster, pass exactly its two roles (the shared
 * execution role and the job's task role), tag the tasks it starts. One per job, not one for the stack:
 * a job's schedule can start that job only, and adding a job never rewrites another job's role.
 */
export function eventsPolicy(ctx: Ctx, job: JobConfig): PolicyDocument {
  const clusterArn = ctx.maybeRecord(K.cluster)?.arn ?? arn(ctx, 'ecs', `cluster/${ctx.config.cluster.name}`);
  return {
    Version: VERSION,
    Statement: [
      {
        Sid: 'RunTask',
        Effect: 'Allow',
        Action: 'ecs:RunTask',
        Resource: arn(ctx, 'ecs', `task-definition/${job.task.family}:*`),
        Condition: { ArnEquals: { 'ecs:cluster': clusterArn } },
      },
      {
        Sid: 'PassRoles',
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: [
          ctx.maybeRecord(K.role('execution'))?.arn ?? roleArn(ctx, ctx.config.iam.executionRoleName),
          ctx.maybeRecord(jobKey(job, K.role('task')))?.arn ?? roleArn(ctx, job.iam.taskRoleName),
        ],
        Condition: { StringLike: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      },
      {
        // The target sets PropagateTags and EnableECSManagedTags, so RunTask tags the task as it creates it.
        // ECS authorises tag-on-create as a separate ecs:TagResource call by the caller (the events role):
        // without this, every scheduled RunTask fails with AccessDenied. ecs:CreateAction limits it to
        // tags applied by RunTask; the resource limits it to tasks in our cluster.
        Sid: 'TagOnRunTask',
        Effect: 'Allow',
        Action: 'ecs:TagResource',
        Resource: arn(ctx, 'ecs', `task/${ctx.config.cluster.name}/*`),
        Condition: { StringEquals: { 'ecs:CreateAction': 'RunTask' } },
      },
    ],
  };
}

/** The inline policy of a role, by role (and job, for a job's roles). */
export function inlinePolicy(ctx: Ctx, r: RoleName, job: JobConfig | undefined): PolicyDocument {
  return r === 'execution' ? executionPolicy(ctx) : r === 'task' ? taskPolicy(ctx, job!) : eventsPolicy(ctx, job!);
}
