/**
 * The secret's value: JSON `{"S3_BUCKET_NAME": <bucket>}`, read by ECS into the task's environment
 * (stack.md row 11). The value is treated as sensitive throughout: diffs never carry it and the record
 * holds only the secret ARN and the version id.
 */
import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { awsErrorCode } from '../base/errors.js';
import type { Ctx, FieldChange, ResourceKind, ResourceRecord } from '../engine/types.js';
import { K } from '../model/keys.js';
import { configuredBucketName } from './lib/s3.js';
import { clientToken, foundWith, inheritedOwnership, ownershipOf, tagRecord } from './lib/tags.js';
import { describeSecret, refusedAsDeleted } from './secret.js';

/** The JSON object stored as the secret's current value. */
export interface SecretValueDesired {
  value: Record<string, unknown>;
}

const KIND = 'secretsmanager.secret-value';
const REDACTED = '(sensitive)';

/** The secret to write to: its ARN once the secret node has converged, else its name (for `plan`). */
const secretIdOf = (ctx: Ctx) => ctx.maybeRecord(K.secret)?.arn ?? ctx.config.secret.name;

/** Ours when its secret is: the secret node's verdict from this walk, else the secret's tags. */
const secretOwnership = (ctx: Ctx, id: string) =>
  inheritedOwnership(ctx, K.secret, id, async () => {
    const out = await describeSecret(ctx, id);
    return out && ownershipOf(ctx, tagRecord(out.Tags));
  });

const recordOf = (secretArn: string, versionId: string): ResourceRecord => ({
  kind: KIND,
  id: secretArn,
  attrs: { versionId },
});

/** JSON with sorted keys, so key order never counts as a change. */
function canonicalJson(v: unknown): string {
  const sort = (x: unknown): unknown =>
    Array.isArray(x)
      ? x.map(sort)
      : x && typeof x === 'object'
        ? Object.fromEntries(
            Object.keys(x)
              .sort()
              .map((k) => [k, sort((x as Record<string, unknown>)[k])]),
          )
        : x;
  return JSON.stringify(sort(v));
}

/**
 * A version id for PutSecretValue: Secrets Manager takes 32-64 characters and treats a repeated token as
 * the same version, so an SDK retry of a call that did land does not add a second version.
 */
async function versionToken(ctx: Ctx, key: string): Promise<string> {
  const h = await clientToken(ctx, key);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

async function put(ctx: Ctx, key: string, desired: SecretValueDesired): Promise<ResourceRecord> {
  const out = await ctx.aws.secretsManager.send(
    new PutSecretValueCommand({
      SecretId: secretIdOf(ctx),
      SecretString: JSON.stringify(desired.value),
      ClientRequestToken: await versionToken(ctx, key),
    }),
  );
  return recordOf(out.ARN!, out.VersionId!);
}

/** The secret's current value, read once per walk. */
const currentValue = (ctx: Ctx, id: string) =>
  ctx.memo(`secretsmanager:value:${id}`, () =>
    ctx.aws.secretsManager.send(new GetSecretValueCommand({ SecretId: id })),
  );

export const secretValue: ResourceKind<SecretValueDesired> = {
  kind: KIND,
  label: 'Secret value',
  dependsOn: ['secretsmanager.secret'],
  costly: false,
  // A version of the secret (AWS imposes it). The value names the bucket by its configured name: the bucket
  // need not exist first.
  nodes: () => [{ key: K.secretValue, deps: [K.secret], partOf: [K.secret], params: {} }],
  desired: (ctx) => ({ value: { S3_BUCKET_NAME: ctx.maybeRecord(K.bucket)?.id ?? configuredBucketName(ctx) } }),

  // A recorded secret's value is read in the walk's first round, alongside the secret's lookup.
  prefetch(ctx) {
    if (ctx.maybeRecord(K.secret)) currentValue(ctx, secretIdOf(ctx)).catch(() => undefined);
  },

  async find(ctx) {
    const id = secretIdOf(ctx);
    try {
      const out = await currentValue(ctx, id);
      let value: Record<string, unknown>;
      try {
        const parsed: unknown = JSON.parse(out.SecretString ?? '');
        value =
          parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
      } catch {
        // Not JSON (or a binary secret): never matches the desired object, so update rewrites it.
        value = {};
      }
      return foundWith(await secretOwnership(ctx, out.ARN!), {
        record: recordOf(out.ARN!, out.VersionId!),
        observed: { value },
      });
    } catch (err) {
      // No version yet (or no secret); or the secret is scheduled for deletion (an InvalidRequestException,
      // told apart from other refusals by the secret's state), which the secret node undoes first.
      if (awsErrorCode(err) === 'ResourceNotFoundException' || (await refusedAsDeleted(ctx, err, id))) return undefined;
      throw err;
    }
  },

  create: (ctx, node, desired) => put(ctx, node.key, desired),

  diff(desired, observed): FieldChange[] {
    return canonicalJson(desired.value) === canonicalJson(observed.value)
      ? []
      : [{ field: 'value', from: REDACTED, to: REDACTED, sensitive: true }];
  },

  update: (ctx, node, _found, desired) => put(ctx, node.key, desired),

  // Versions have no life of their own: they are deleted with the secret.
  async delete() {},

  ownerOf: (ctx, rec) => secretOwnership(ctx, rec.id),

  // A saved plan pins the value by its version id, which changes with every PutSecretValue: never the
  // value, nor a hash of it (a hash of a guessable value can be checked offline).
  pin: (found) => ({
    record: found.record,
    observed: { value: `(sensitive) version ${found.record.attrs?.versionId ?? '?'}` },
  }),
};
