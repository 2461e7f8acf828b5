/**
 * Job secrets (`task.secrets`): what the task definition and the shared execution role say about them,
 * from the references (config/secret-ref.ts) and what `plan` found of each (resources/lib/job-secrets.ts):
 * full ARNs and KMS keys, never a value. ECS reads each value as the task starts, as the execution role.
 *
 * The execution role is the stack's, shared by its jobs, so it may read every job's secrets. Its
 * credentials reach the ECS agent only, never a container (the task role is the container's), so a job's
 * code cannot read another job's secret through it; a task definition naming another job's secret would
 * need `ecs:RegisterTaskDefinition` and `iam:PassRole` on the role, which only an operator has.
 */
import { parseSecretRef, type SecretRef } from '../config/secret-ref.js';
import type { JobConfig, StackConfig } from '../config/schema.js';
import type { PolicyStatement } from './policies.js';

/** One variable of a job's container whose value comes from a secret. */
export interface JobSecret {
  /** The environment variable's name. */
  env: string;
  ref: SecretRef;
}

/** The account, region and partition commands run in. */
export interface Home {
  account: string;
  region: string;
  partition: string;
}

/** A job's secrets, by variable name. The config was validated: a reference that does not parse is a bug. */
export function jobSecrets(job: Pick<JobConfig, 'name' | 'task'>): JobSecret[] {
  return Object.entries(job.task.secrets ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([env, value]) => {
      const ref = parseSecretRef(value);
      if (typeof ref === 'string') throw new Error(`internal: job ${job.name} secret ${env}: ${ref}`);
      return { env, ref };
    });
}

/** Every job's secret references, each place once (by `placeOf`). */
export function stackSecretRefs(config: Pick<StackConfig, 'jobs'>): SecretRef[] {
  const out = new Map<string, SecretRef>();
  for (const job of config.jobs)
    for (const s of jobSecrets(job)) if (!out.has(placeOf(s.ref))) out.set(placeOf(s.ref), s.ref);
  return [...out.values()];
}

/** Where a reference points, as a key: its source and its ARN, or its name (this account's). */
export const placeOf = (ref: SecretRef): string => `${ref.source}:${ref.arn ?? ref.name}`;

/** The account, region and partition a secret lives in: its ARN's, else the stack's. */
export function whereOf(ref: SecretRef, home: Home): Home {
  return {
    account: ref.account ?? home.account,
    region: ref.region ?? home.region,
    partition: ref.partition ?? home.partition,
  };
}

/** True when the secret belongs to another account than the stack's. */
export const otherAccount = (ref: SecretRef, home: Home): boolean => whereOf(ref, home).account !== home.account;

/** A parameter's ARN: `arn:<p>:ssm:<region>:<account>:parameter/<name without its leading slash>`. */
export function parameterArnOf(ref: SecretRef, home: Home): string {
  if (ref.arn) return ref.arn;
  const w = whereOf(ref, home);
  return `arn:${w.partition}:ssm:${w.region}:${w.account}:parameter/${ref.name.replace(/^\//, '')}`;
}

/** What the look-up found of a secret or parameter: metadata only. */
export interface SecretMeta {
  /** The full ARN (a Secrets Manager ARN with its random suffix). */
  arn: string;
  /** The KMS key as AWS reports it (a key id, a key or alias ARN, an alias name); undefined: AWS managed. */
  keyId?: string;
  /**
   * The secret could not be described (another account's, whose policy does not let this account): its
   * ARN is the one given, also granted with the 6-character suffix Secrets Manager may add to a partial ARN.
   */
  unverified?: true;
}

/** The `valueFrom` ECS reads: the full ARN, with `:<json key>::` for one key of a Secrets Manager secret. */
export function valueFromOf(ref: SecretRef, meta: SecretMeta): string {
  return ref.source === 'secretsmanager' && ref.jsonKey !== undefined ? `${meta.arn}:${ref.jsonKey}::` : meta.arn;
}

/** The KMS key the execution role needs to decrypt a secret with, when it is customer managed. */
export type KeyGrant =
  | { kind: 'key'; arn: string; via: string }
  | { kind: 'alias'; alias: string; partition: string; region: string; account: string; via: string };

/** The service that decrypts for ECS: `kms:ViaService` of its Decrypt call. */
export function viaServiceOf(ref: SecretRef, home: Home): string {
  const w = whereOf(ref, home);
  const suffix = w.partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `${ref.source === 'ssm' ? 'ssm' : 'secretsmanager'}.${w.region}.${suffix}`;
}

/**
 * The key grant for a secret: the configured `kmsKeyArn`, else the key AWS reports. None for an AWS
 * managed key (absent, or an `aws/` alias): its key policy already lets the service decrypt for the
 * account's principals. An alias (AWS reports what the secret was created with) is granted as
 * `key/*` of its account and region on the condition `kms:ResourceAliases`, which needs no KMS call.
 */
export function keyGrantOf(ref: SecretRef, meta: SecretMeta | undefined, home: Home): KeyGrant | undefined {
  const via = viaServiceOf(ref, home);
  if (ref.kmsKeyArn) return { kind: 'key', arn: ref.kmsKeyArn, via };
  const id = meta?.keyId;
  if (!id) return undefined;
  const w = whereOf(ref, home);
  const arnMatch = /^arn:([^:]+):kms:([^:]+):(\d{12}):(key|alias)\/(.+)$/.exec(id);
  if (arnMatch) {
    const [, partition, region, account, type, rest] = arnMatch;
    if (type === 'key') return { kind: 'key', arn: id, via };
    if (rest!.startsWith('aws/')) return undefined;
    return { kind: 'alias', alias: `alias/${rest}`, partition: partition!, region: region!, account: account!, via };
  }
  if (id.startsWith('alias/')) return id.startsWith('alias/aws/') ? undefined : { kind: 'alias', alias: id, ...w, via };
  return { kind: 'key', arn: `arn:${w.partition}:kms:${w.region}:${w.account}:key/${id}`, via };
}

const one = (xs: string[]): string | string[] => (xs.length === 1 ? xs[0]! : xs);
const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

/**
 * The execution role's statements for the job secrets: GetSecretValue on exactly these secrets,
 * GetParameters on exactly these parameters, kms:Decrypt on exactly their customer-managed keys and only
 * through Secrets Manager or SSM. None when no job has a secret: the document is then the one it was.
 */
export function jobSecretStatements(grants: { ref: SecretRef; meta: SecretMeta }[], home: Home): PolicyStatement[] {
  const secrets = sorted(
    grants
      .filter((g) => g.ref.source === 'secretsmanager')
      .flatMap((g) => (g.meta.unverified ? [g.meta.arn, `${g.meta.arn}-??????`] : [g.meta.arn])),
  );
  const parameters = sorted(grants.filter((g) => g.ref.source === 'ssm').map((g) => g.meta.arn));
  const keys = grants.map((g) => keyGrantOf(g.ref, g.meta, home)).filter((k): k is KeyGrant => k !== undefined);
  const out: PolicyStatement[] = [];
  if (secrets.length)
    out.push({ Sid: 'JobSecrets', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: one(secrets) });
  if (parameters.length)
    out.push({ Sid: 'JobParameters', Effect: 'Allow', Action: 'ssm:GetParameters', Resource: one(parameters) });
  const byKey = keys.filter((k): k is Extract<KeyGrant, { kind: 'key' }> => k.kind === 'key');
  if (byKey.length) {
    out.push({
      Sid: 'JobSecretKeys',
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: one(sorted(byKey.map((k) => k.arn))),
      Condition: { StringEquals: { 'kms:ViaService': one(sorted(byKey.map((k) => k.via))) } },
    });
  }
  // Aliases: one statement per account and region (an alias names a key of its own account and region).
  const aliases = new Map<string, Extract<KeyGrant, { kind: 'alias' }>[]>();
  for (const k of keys)
    if (k.kind === 'alias')
      aliases.set(`${k.partition}:${k.region}:${k.account}`, [
        ...(aliases.get(`${k.partition}:${k.region}:${k.account}`) ?? []),
        k,
      ]);
  [...aliases.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .forEach(([place, ks], i) => {
      const [partition, region, account] = place.split(':');
      out.push({
        Sid: `JobSecretKeyAliases${i ? i + 1 : ''}`,
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: `arn:${partition}:kms:${region}:${account}:key/*`,
        Condition: {
          'ForAnyValue:StringEquals': { 'kms:ResourceAliases': one(sorted(ks.map((k) => k.alias))) },
          StringEquals: { 'kms:ViaService': one(sorted(ks.map((k) => k.via))) },
        },
      });
    });
  return out;
}

/** A job's secrets as `status` shows them: `NAME <- secretsmanager prod/db:password` (names only). */
export function describeJobSecrets(job: Pick<JobConfig, 'name' | 'task'>): string[] {
  return jobSecrets(job).map((s) => `${s.env} <- ${s.ref.source} ${s.ref.text.slice(s.ref.source.length + 1)}`);
}
