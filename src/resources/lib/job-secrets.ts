/**
 * What AWS says of the job secrets (`task.secrets`), metadata only: each Secrets Manager secret's full ARN
 * and KMS key (DescribeSecret) and each parameter's ARN and key (DescribeParameters). No value is ever
 * read: not GetSecretValue, and not GetParameter either, which returns the value even without decryption
 * (a String parameter's in plain text); DescribeParameters never does.
 *
 * `plan` and `up` run the look-up in their preflight (a missing secret stops them before any write); the
 * task definitions and the execution role's policy then read the same answer instead of asking again.
 */
import { DescribeSecretCommand, type DescribeSecretCommandOutput } from '@aws-sdk/client-secrets-manager';
import type { AwsClients } from '../../aws/clients.js';
import type { StackConfig } from '../../config/schema.js';
import type { SecretRef } from '../../config/secret-ref.js';
import { UserError, awsErrorCode } from '../../base/errors.js';
import {
  otherAccount,
  parameterArnOf,
  placeOf,
  stackSecretRefs,
  whereOf,
  type Home,
  type SecretMeta,
} from '../../model/secrets.js';
import type { Ctx } from '../../engine/types.js';
import { ifExists } from './aws-calls.js';

/** Something about one secret that stops `plan` (or, with `warning`, that it says). */
export interface SecretProblem {
  ref: SecretRef;
  message: string;
  warning?: boolean;
}

/** The look-up's answer: what was found of each secret (by `placeOf`), and what was not. */
export interface SecretsLookup {
  meta: ReadonlyMap<string, SecretMeta>;
  problems: SecretProblem[];
  /** AWS calls made. */
  calls: number;
}

/**
 * Waits before asking again about a secret AWS says does not exist: one created seconds ago may not be
 * visible yet (AWS's APIs are eventually consistent), and a `plan` run right after creating it must not
 * call it missing.
 */
export const NOT_FOUND_RETRY_MS = [1000, 2000];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** DescribeSecret calls in flight at once (Secrets Manager's quota is far above; a stack may have many). */
const CONCURRENCY = 8;

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(n, queue.length) }, async () => {
      for (let t = queue.shift(); t !== undefined; t = queue.shift()) await fn(t);
    }),
  );
}

const inWords = (ref: SecretRef) => `${ref.source === 'ssm' ? 'parameter' : 'secret'} ${ref.arn ?? ref.name}`;

/** Ask until found or out of retries; undefined when AWS still says it does not exist. */
async function untilFound<T>(ask: () => Promise<T | undefined>, counted: () => void): Promise<T | undefined> {
  for (let i = 0; ; i++) {
    counted();
    const got = await ask();
    if (got !== undefined || i >= NOT_FOUND_RETRY_MS.length) return got;
    await sleep(NOT_FOUND_RETRY_MS[i]!);
  }
}

async function lookUp(
  aws: Pick<AwsClients, 'secretsManager' | 'ssm'>,
  refs: SecretRef[],
  home: Home,
): Promise<SecretsLookup> {
  const meta = new Map<string, SecretMeta>();
  const problems: SecretProblem[] = [];
  let calls = 0;
  const count = () => {
    calls += 1;
  };

  await pool(
    refs.filter((r) => r.source === 'secretsmanager'),
    CONCURRENCY,
    async (ref) => {
      const foreign = otherAccount(ref, home);
      let out: DescribeSecretCommandOutput | undefined;
      try {
        out = await untilFound(
          () => ifExists(aws.secretsManager.send(new DescribeSecretCommand({ SecretId: ref.arn ?? ref.name }))),
          count,
        );
      } catch (err) {
        const code = awsErrorCode(err);
        if (!foreign || !['AccessDeniedException', 'AccessDenied'].includes(code)) throw err;
        // Another account's secret whose policy does not let this account describe it: the tasks may still
        // read it (its policy may name the execution role only). Granted as given; its key must be named.
        meta.set(placeOf(ref), { arn: ref.arn!, unverified: true });
        problems.push(
          ref.kmsKeyArn
            ? {
                ref,
                warning: true,
                message: `${inWords(ref)} is in account ${ref.account}, whose policy does not let this account describe it (${code}): batchctl cannot check it exists; its policy must let the execution role call secretsmanager:GetSecretValue, and key ${ref.kmsKeyArn}'s policy kms:Decrypt`,
              }
            : {
                ref,
                message: `${inWords(ref)} of account ${ref.account}: set its kmsKeyArn ({ from: ..., kmsKeyArn: <key ARN> }); this account may not describe it (${code}), so batchctl cannot tell the customer managed key that encrypts it (AWS requires one across accounts), which the execution role must be allowed to decrypt with`,
              },
        );
        return;
      }
      if (!out?.ARN) {
        problems.push({
          ref,
          message: `${inWords(ref)} does not exist in account ${whereOf(ref, home).account} (${whereOf(ref, home).region})${ref.arn ? '' : ": a name is looked up in this account; another account's secret needs its ARN"}`,
        });
        return;
      }
      if (out.DeletedDate) {
        problems.push({
          ref,
          message: `${inWords(ref)} is scheduled for deletion (${new Date(out.DeletedDate).toISOString()}): tasks cannot read it; restore it (aws secretsmanager restore-secret --secret-id ${out.ARN} --region ${whereOf(ref, home).region}) or name another`,
        });
        return;
      }
      if (foreign && !out.KmsKeyId && !ref.kmsKeyArn) {
        problems.push({
          ref,
          message: `${inWords(ref)} of account ${ref.account} is encrypted with that account's aws/secretsmanager key, which AWS does not let another account use: it must be re-encrypted with a customer managed key whose policy lets this account decrypt`,
        });
        return;
      }
      meta.set(placeOf(ref), { arn: out.ARN, ...(out.KmsKeyId ? { keyId: out.KmsKeyId } : {}) });
    },
  );

  const parameters = refs.filter((r) => r.source === 'ssm');
  if (parameters.length) await lookUpParameters(aws, parameters, home, meta, problems, count);
  return { meta, problems, calls };
}

/**
 * Parameters by name, 50 to a DescribeParameters call (its filter's limit), matched on their ARN: the
 * ARN of `/a` and of `a` alike is `parameter/a`. Another account's (shared with this one through RAM)
 * are among `Shared: true`'s answer, which no name filter narrows: read whole, once.
 */
async function lookUpParameters(
  aws: Pick<AwsClients, 'ssm'>,
  refs: SecretRef[],
  home: Home,
  meta: Map<string, SecretMeta>,
  problems: SecretProblem[],
  count: () => void,
): Promise<void> {
  const { DescribeParametersCommand } = await import('@aws-sdk/client-ssm');
  const describe = async (input: { names?: string[]; shared?: boolean }) => {
    const found = new Map<string, { ARN?: string; KeyId?: string }>();
    let NextToken: string | undefined;
    do {
      count();
      const out = await aws.ssm.send(
        new DescribeParametersCommand({
          ...(input.names ? { ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: input.names }] } : {}),
          ...(input.shared ? { Shared: true } : {}),
          MaxResults: 50,
          NextToken,
        }),
      );
      for (const p of out.Parameters ?? []) if (p.ARN) found.set(p.ARN, p);
      NextToken = out.NextToken;
    } while (NextToken);
    return found;
  };
  const own = refs.filter((r) => !otherAccount(r, home));
  const shared = refs.filter((r) => otherAccount(r, home));
  let pending = own;
  for (let i = 0; pending.length; i++) {
    const names = [...new Set(pending.flatMap((r) => (r.name.startsWith('/') ? [r.name] : [r.name, `/${r.name}`])))];
    const found = new Map<string, { ARN?: string; KeyId?: string }>();
    for (let k = 0; k < names.length; k += 50)
      for (const [a, p] of await describe({ names: names.slice(k, k + 50) })) found.set(a, p);
    const missing: SecretRef[] = [];
    for (const ref of pending) {
      const p = found.get(parameterArnOf(ref, home));
      if (p) meta.set(placeOf(ref), { arn: p.ARN!, ...(p.KeyId ? { keyId: p.KeyId } : {}) });
      else missing.push(ref);
    }
    if (!missing.length || i >= NOT_FOUND_RETRY_MS.length) {
      for (const ref of missing)
        problems.push({
          ref,
          message: `${inWords(ref)} does not exist in account ${home.account} (${home.region})${ref.arn ? '' : ": a name is looked up in this account; another account's parameter needs its ARN"}`,
        });
      break;
    }
    await sleep(NOT_FOUND_RETRY_MS[i]!);
    pending = missing;
  }
  if (!shared.length) return;
  const listed = await describe({ shared: true });
  for (const ref of shared) {
    const arn = parameterArnOf(ref, home);
    const p = listed.get(arn);
    if (p) {
      meta.set(placeOf(ref), { arn, ...(p.KeyId ? { keyId: p.KeyId } : {}) });
      continue;
    }
    meta.set(placeOf(ref), { arn });
    problems.push({
      ref,
      warning: true,
      message: `${inWords(ref)} of account ${ref.account} is not among the parameters shared with this account (Resource Access Manager): batchctl cannot check it exists; tasks fail to start unless its policy lets the execution role call ssm:GetParameters${ref.kmsKeyArn ? '' : ' (and, for a SecureString, set its kmsKeyArn)'}`,
    });
  }
}

/**
 * One look-up per client and set of secrets: the preflight runs it, the task definitions and the
 * execution role's policy read its answer.
 */
const cache = new WeakMap<object, Map<string, Promise<SecretsLookup>>>();

/** The look-up of every job secret of `config` (none: answered without a call). */
export function secretsLookupFor(
  aws: Pick<AwsClients, 'secretsManager' | 'ssm'>,
  config: Pick<StackConfig, 'jobs'>,
  home: Home,
): Promise<SecretsLookup> {
  const refs = stackSecretRefs(config);
  if (!refs.length) return Promise.resolve({ meta: new Map(), problems: [], calls: 0 });
  const key = `${home.account}|${home.region}|${refs.map(placeOf).sort().join(',')}`;
  const client = aws.secretsManager as object;
  let perClient = cache.get(client);
  if (!perClient) cache.set(client, (perClient = new Map()));
  let p = perClient.get(key);
  if (!p) {
    p = lookUp(aws, refs, home);
    perClient.set(key, p);
    // A failed look-up (throttling, a network blip) must not stick for the rest of the process.
    p.catch(() => perClient!.delete(key));
  }
  return p;
}

/** The look-up for a walk's context. */
export const secretsLookup = (ctx: Ctx): Promise<SecretsLookup> =>
  secretsLookupFor(ctx.aws, ctx.config, { account: ctx.account, region: ctx.region, partition: ctx.partition });

/** What was found of one secret; a UserError when the look-up found it missing (status has no preflight). */
export async function secretMeta(ctx: Ctx, ref: SecretRef): Promise<SecretMeta> {
  const l = await secretsLookup(ctx);
  const problem = l.problems.find((p) => !p.warning && placeOf(p.ref) === placeOf(ref));
  const meta = l.meta.get(placeOf(ref));
  if (problem || !meta)
    throw new UserError(
      problem?.message ?? `${inWords(ref)} was not looked up`,
      'fix task.secrets, then run `batchctl plan`',
    );
  return meta;
}
