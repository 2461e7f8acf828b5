/**
 * The Secrets Manager secret holding the job's runtime configuration (stack.md row 11). This node owns
 * the secret's existence only; its value is the `secret/value` node, so no value is ever part of this
 * node's desired state, diff or record.
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  RestoreSecretCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretCommand,
  type DescribeSecretResponse,
} from '@aws-sdk/client-secrets-manager';
import { awsErrorCode } from '../base/errors.js';
import type { Ctx, FieldChange, ResourceKind, ResourceRecord } from '../engine/types.js';
import { K } from '../model/keys.js';
import { hasTagChange, managedTags, ownershipOf, resourceTags, tagChanges, tagList, tagRecord } from './lib/tags.js';
import { createUnique, retryWhile } from './lib/create.js';
import { convergeTags, ifExists } from './lib/aws-calls.js';

/** The secret's settings. `pendingDeletion` is always desired false: a scheduled deletion is undone. */
export interface SecretDesired {
  name: string;
  description: string;
  pendingDeletion: boolean;
  tags: Record<string, string>;
}

const KIND = 'secretsmanager.secret';
/** The shortest window AWS allows (7-30): a stack torn down by mistake stays recoverable for a week. */
const RECOVERY_WINDOW_DAYS = 7;

/** DescribeSecret, or undefined when the secret does not exist. It also answers for secrets pending deletion. */
export async function describeSecret(ctx: Ctx, id: string): Promise<DescribeSecretResponse | undefined> {
  return ifExists(ctx.aws.secretsManager.send(new DescribeSecretCommand({ SecretId: id })));
}

/**
 * Whether an InvalidRequestException on a secret means it is deleted or scheduled for deletion. Secrets
 * Manager uses that one code for many refusals, so the secret's state decides, never the message.
 */
export async function refusedAsDeleted(ctx: Ctx, err: unknown, id: string): Promise<boolean> {
  if (awsErrorCode(err) !== 'InvalidRequestException') return false;
  const s = await describeSecret(ctx, id);
  return !s || s.DeletedDate !== undefined;
}

const recordOf = (name: string, arn: string): ResourceRecord => ({ kind: KIND, id: name, arn });

export const secret: ResourceKind<SecretDesired, { name: string }> = {
  kind: KIND,
  label: 'Secrets Manager secret',
  dependsOn: [],
  costly: false,
  nodes: (config) => [{ key: K.secret, deps: [], params: { name: config.secret.name } }],
  desired: (ctx, node) => ({
    name: node.params.name,
    description: `Runtime configuration of the ${ctx.stack} batch job (managed by batchctl)`,
    pendingDeletion: false,
    tags: resourceTags(ctx, node.key),
  }),

  async find(ctx, node, recorded) {
    // The recorded ARN pins the exact secret: a same-named secret recreated by someone else has
    // another random suffix. DescribeSecret also answers for secrets scheduled for deletion.
    const ids = [recorded?.arn ?? recorded?.id, node.params.name].filter((n): n is string => !!n);
    for (const id of new Set(ids)) {
      const out = await describeSecret(ctx, id);
      if (!out?.ARN || !out.Name) continue;
      const tags = tagRecord(out.Tags);
      return {
        record: recordOf(out.Name, out.ARN),
        observed: {
          name: out.Name,
          description: out.Description ?? '',
          pendingDeletion: out.DeletedDate !== undefined,
          tags: managedTags(ctx, tags),
        },
        ...ownershipOf(ctx, tags),
      };
    }
    return undefined;
  },

  async create(ctx, node, desired) {
    // No SecretString: a secret created without one has no version, which the value node fills in.
    const send = () =>
      ctx.aws.secretsManager.send(
        new CreateSecretCommand({ Name: desired.name, Description: desired.description, Tags: tagList(desired.tags) }),
      );
    // Names are unique: "already exists" right after our attempt is that attempt's secret. A secret of
    // this name deleted without recovery a moment ago still holds the name while Secrets Manager
    // finishes deleting it: retried until it lets go.
    return createUnique(
      'Secrets Manager secret',
      desired.name,
      async () => {
        const out = await retryWhile(
          ctx,
          `Secrets Manager to finish deleting the old secret ${desired.name}`,
          send,
          (err) => refusedAsDeleted(ctx, err, desired.name),
          { budgetMs: 120_000, intervalMs: 5000 },
        );
        return recordOf(out.Name!, out.ARN!);
      },
      (err) => awsErrorCode(err) === 'ResourceExistsException',
      async () => {
        const s = await describeSecret(ctx, desired.name);
        return s?.ARN && s.Name
          ? { ...ownershipOf(ctx, tagRecord(s.Tags)), value: recordOf(s.Name, s.ARN) }
          : undefined;
      },
    );
  },

  diff(desired, observed): FieldChange[] {
    const changes: FieldChange[] = [];
    if (desired.name !== observed.name)
      changes.push({ field: 'name', from: observed.name, to: desired.name, replace: true });
    if (observed.pendingDeletion && !desired.pendingDeletion)
      changes.push({ field: 'pendingDeletion', from: true, to: false });
    if (desired.description !== observed.description)
      changes.push({ field: 'description', from: observed.description, to: desired.description });
    changes.push(...tagChanges(desired.tags, observed.tags));
    return changes;
  },

  async update(ctx, _node, found, desired, changes) {
    const id = found.record.arn ?? found.record.id;
    // A secret scheduled for deletion (after `down`) refuses every other call until it is restored.
    if (found.observed.pendingDeletion) await ctx.aws.secretsManager.send(new RestoreSecretCommand({ SecretId: id }));
    // Once restored, the description and the tags are independent calls: together.
    await Promise.all([
      found.observed.description !== desired.description &&
        ctx.aws.secretsManager.send(new UpdateSecretCommand({ SecretId: id, Description: desired.description })),
      hasTagChange(changes) &&
        convergeTags(desired.tags, found.observed.tags, {
          tag: (tags) => ctx.aws.secretsManager.send(new TagResourceCommand({ SecretId: id, Tags: tagList(tags) })),
          untag: (TagKeys) => ctx.aws.secretsManager.send(new UntagResourceCommand({ SecretId: id, TagKeys })),
        }),
    ]);
  },

  /**
   * With a recovery window (the name stays taken until it ends; `up` restores the secret) or, with
   * `force`, at once. AWS refuses both parameters together.
   */
  async delete(ctx, rec, opts) {
    const id = rec.arn ?? rec.id;
    const when = opts?.force
      ? { ForceDeleteWithoutRecovery: true }
      : { RecoveryWindowInDays: opts?.recoveryWindowDays ?? RECOVERY_WINDOW_DAYS };
    try {
      await ctx.aws.secretsManager.send(new DeleteSecretCommand({ SecretId: id, ...when }));
    } catch (err) {
      if (awsErrorCode(err) === 'ResourceNotFoundException') return;
      // Already scheduled for deletion (an earlier `down`, a call resent after a lost answer, or by hand):
      // that is the state we want.
      if (await refusedAsDeleted(ctx, err, id)) return;
      throw err;
    }
  },

  async ownerOf(ctx, rec) {
    const s = await describeSecret(ctx, rec.arn ?? rec.id);
    return s && ownershipOf(ctx, tagRecord(s.Tags));
  },
};
