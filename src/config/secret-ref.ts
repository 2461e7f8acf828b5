/**
 * A job secret's reference (`task.secrets`), parsed: where ECS reads the value from at task start. Pure,
 * and only names and ARNs: batchctl never reads a value (see model/secrets.ts for what the task and the
 * execution role get from it).
 *
 * - `secretsmanager:<name>[:<json key>]` or `secretsmanager:<ARN>[:<json key>]`: a Secrets Manager secret,
 *   whole or one key of its JSON. A name is always this account's and region's: another account's secret
 *   needs its ARN.
 * - `ssm:<name>` or `ssm:<ARN>`: an SSM Parameter Store parameter (String, StringList or SecureString).
 * - `{ from: <one of those>, kmsKeyArn: <key ARN> }`: the same, naming the customer-managed KMS key that
 *   encrypts it (else the key is the one AWS reports for the secret, looked up by `plan`).
 */

/** Where a job secret lives. */
export type SecretSource = 'secretsmanager' | 'ssm';

/** A parsed job secret reference. */
export interface SecretRef {
  source: SecretSource;
  /** The reference as written (`secretsmanager:prod/db:password`): what `status` and messages show. */
  text: string;
  /** The secret's or parameter's name: as written, or the one its ARN carries (a partial one for Secrets Manager). */
  name: string;
  /** The ARN given (Secrets Manager: without the JSON key); undefined when a name was given. */
  arn?: string;
  /** Where an ARN says the secret lives; a name means this account and region. */
  partition?: string;
  region?: string;
  account?: string;
  /** Secrets Manager: the key of the secret's JSON whose value the variable gets. */
  jsonKey?: string;
  /** The customer-managed KMS key the config names for it. */
  kmsKeyArn?: string;
}

/** At most this many secrets per job (each is a line of the execution role's policy, which IAM caps). */
export const MAX_SECRETS_PER_JOB = 50;

/** Secrets Manager names: 1-512 of these characters (no `:`, which is why `name:key` parses). */
const SM_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
/** SSM parameter names: these characters, at most 1011, at most 15 levels. */
const SSM_NAME = /^[A-Za-z0-9_.\-/]{1,1011}$/;
const PARTITION = '(aws|aws-cn|aws-us-gov)';
const REGION = '([a-z]{2}(?:-[a-z]+)+-\\d)';
const ACCOUNT = '(\\d{12})';
const SM_ARN = new RegExp(`^arn:${PARTITION}:secretsmanager:${REGION}:${ACCOUNT}:secret:([^:]+)(?::(.*))?$`);
const SSM_ARN = new RegExp(`^arn:${PARTITION}:ssm:${REGION}:${ACCOUNT}:parameter(/.*)$`);
/** A KMS key ARN (not an alias: IAM grants kms:Decrypt on keys). Multi-Region keys' ids start with `mrk-`. */
export const KMS_KEY_ARN = new RegExp(`^arn:${PARTITION}:kms:${REGION}:${ACCOUNT}:key/(mrk-)?[A-Za-z0-9-]{1,128}$`);

/** A JSON key: ECS takes anything but `:` (the separator of the version fields that follow it). */
const JSON_KEY = /^[^:]{1,256}$/;

/** Parse one reference; a string is the problem, in words, when it is not one. */
export function parseSecretRef(value: string | { from: string; kmsKeyArn?: string }): SecretRef | string {
  const text = typeof value === 'string' ? value : value.from;
  const kmsKeyArn = typeof value === 'string' ? undefined : value.kmsKeyArn;
  if (kmsKeyArn !== undefined && !KMS_KEY_ARN.test(kmsKeyArn)) {
    return `kmsKeyArn "${kmsKeyArn}" is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>; an alias cannot be granted kms:Decrypt)`;
  }
  const ref = text.startsWith('secretsmanager:')
    ? parseSecretsManager(text)
    : text.startsWith('ssm:')
      ? parseParameter(text)
      : undefined;
  if (ref === undefined)
    return `"${text}" names no source: write secretsmanager:<name or ARN>[:<json key>] or ssm:<name or ARN>`;
  if (typeof ref === 'string') return ref;
  return kmsKeyArn ? { ...ref, kmsKeyArn } : ref;
}

function parseSecretsManager(text: string): SecretRef | string {
  const rest = text.slice('secretsmanager:'.length);
  const base = { source: 'secretsmanager' as const, text };
  if (rest.startsWith('arn:')) {
    const m = SM_ARN.exec(rest);
    if (!m)
      return `"${rest}" is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)`;
    const [, partition, region, account, name, key] = m;
    if (!SM_NAME.test(name!))
      return `"${name}" is not a Secrets Manager secret name: 1-512 letters, digits and /_+=.@-`;
    const keyProblem = key === undefined ? undefined : jsonKeyProblem(key);
    if (keyProblem) return keyProblem;
    const arn = `arn:${partition}:secretsmanager:${region}:${account}:secret:${name}`;
    return {
      ...base,
      name: name!,
      arn,
      partition: partition!,
      region: region!,
      account: account!,
      ...(key !== undefined ? { jsonKey: key } : {}),
    };
  }
  const i = rest.indexOf(':');
  const name = i < 0 ? rest : rest.slice(0, i);
  const key = i < 0 ? undefined : rest.slice(i + 1);
  if (!SM_NAME.test(name)) return `"${name}" is not a Secrets Manager secret name: 1-512 letters, digits and /_+=.@-`;
  const keyProblem = key === undefined ? undefined : jsonKeyProblem(key);
  if (keyProblem) return keyProblem;
  return { ...base, name, ...(key !== undefined ? { jsonKey: key } : {}) };
}

function jsonKeyProblem(key: string): string | undefined {
  if (JSON_KEY.test(key)) return undefined;
  return key.includes(':')
    ? `"${key}": only a JSON key may follow the secret (a version stage or id is not supported: ECS reads the current version)`
    : 'the JSON key after the secret is empty: name the key (secretsmanager:<secret>:<key>), or leave the colon out for the whole secret';
}

function parseParameter(text: string): SecretRef | string {
  const rest = text.slice('ssm:'.length);
  const base = { source: 'ssm' as const, text };
  if (rest.startsWith('arn:')) {
    const m = SSM_ARN.exec(rest);
    if (!m) return `"${rest}" is not an SSM parameter ARN (arn:aws:ssm:<region>:<account>:parameter/<name>)`;
    const [, partition, region, account, path] = m;
    // The ARN of `/a/b` and of `a` alike is `parameter/...`: a name with a slash in it starts with one.
    const name = path!.slice(1).includes('/') ? path! : path!.slice(1);
    const problem = parameterNameProblem(name);
    return problem ?? { ...base, name, arn: rest, partition: partition!, region: region!, account: account! };
  }
  return parameterNameProblem(rest) ?? { ...base, name: rest };
}

function parameterNameProblem(name: string): string | undefined {
  if (!SSM_NAME.test(name)) return `"${name}" is not an SSM parameter name: at most 1011 letters, digits and _.-/`;
  if (name.includes('/') && !name.startsWith('/'))
    return `"${name}": a parameter name with levels starts with / (/${name})`;
  if (name.split('/').filter(Boolean).length > 15) return `"${name}" has more levels than the 15 SSM allows`;
  if (/^\/?(aws|ssm)/i.test(name)) {
    return `"${name}": names starting with "aws" or "ssm" are AWS's own (public parameters are not secrets: put such a value in task.environment)`;
  }
  return undefined;
}
