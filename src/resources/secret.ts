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
  UpdateSecretCommand,
  type DescribeSecretResponse,
} from '@aws-sdk/client-secrets-manager';
import { awsErrorCode } from '../core/errors.js';
import type { Ctx, FieldChange, ResourceKind, ResourceRecord } from '../core/types.js';
import { K } from './lib/keys.js';
import { isOurs, resourceTags, tagList, tagRecord } from './lib/tags.js';

/** The secret's settings. `pendingDeletion` is always desired false: a scheduled deletion is undone. */
export interface SecretDesired {
  name: string;
  description: string;
  pendingDeletion: boolean;
}

const KIND = 'secretsmanager.secret';
/** The shortest window AWS allows (7-30): a stack torn down by mistake stays recoverable for a week. */
const RECOVERY_WINDOW_DAYS = 7;

async function describe(ctx: Ctx, id: string): Promise<DescribeSecretResponse | undefined> {
  try {
    return await ctx.aws.secretsManager.send(new DescribeSecretCommand({ SecretId: id }));
  } catch (err) {
    if (awsErrorCode(err) === 'ResourceNotFoundException') return undefined;
    throw err;
  }
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
  }),

  async find(ctx, node, recorded) {
    // The recorded ARN pins the exact secret: a same-named secret recreated by someone else has
    // another random suffix. DescribeSecret also answers for secrets scheduled for deletion.
    const ids = [recorded?.arn ?? recorded?.id, node.params.name].filter((n): n is string => !!n);
    for (const id of new Set(ids)) {
      const out = await describe(ctx, id);
      if (!out?.ARN || !out.Name) continue;
      const known = recorded !== undefined && (recorded.arn ? out.ARN === recorded.arn : out.Name === recorded.id);
      const owned = known || isOurs(ctx, tagRecord(out.Tags));
      return {
        record: recordOf(out.Name, out.ARN),
        observed: { name: out.Name, description: out.Description ?? '', pendingDeletion: out.DeletedDate !== undefined },
        owned,
      };
    }
    return undefined;
  },

  async create(ctx, node, desired) {
    // No SecretString: a secret created without one has no version, which the value node fills in.
    const out = await ctx.aws.secretsManager.send(
      new CreateSecretCommand({ Name: desired.name, Description: desired.description, Tags: tagList(resourceTags(ctx, node.key)) }),
    );
    return recordOf(out.Name!, out.ARN!);
  },

  diff(desired, observed): FieldChange[] {
    const changes: FieldChange[] = [];
    if (desired.name !== observed.name) changes.push({ field: 'name', from: observed.name, to: desired.name, replace: true });
    if (observed.pendingDeletion && !desired.pendingDeletion) changes.push({ field: 'pendingDeletion', from: true, to: false });
    if (desired.description !== observed.description) changes.push({ field: 'description', from: observed.description, to: desired.description });
    return changes;
  },

  async update(ctx, _node, found, desired) {
    const id = found.record.arn ?? found.record.id;
    // A secret scheduled for deletion (after `down`) refuses every other call until it is restored.
    if (found.observed.pendingDeletion) await ctx.aws.secretsManager.send(new RestoreSecretCommand({ SecretId: id }));
    if (found.observed.description !== desired.description) {
      await ctx.aws.secretsManager.send(new UpdateSecretCommand({ SecretId: id, Description: desired.description }));
    }
  },

  /**
   * With a recovery window (the name stays taken until it ends; `up` restores the secret) or, with
   * `force`, at once. AWS refuses both parameters together.
   */
  async delete(ctx, rec, opts) {
    const when = opts?.force ? { ForceDeleteWithoutRecovery: true } : { RecoveryWindowInDays: opts?.recoveryWindowDays ?? RECOVERY_WINDOW_DAYS };
    try {
      await ctx.aws.secretsManager.send(new DeleteSecretCommand({ SecretId: rec.arn ?? rec.id, ...when }));
    } catch (err) {
      const code = awsErrorCode(err);
      if (code === 'ResourceNotFoundException') return;
      // Already scheduled for deletion by an earlier `down`: that is the state we want.
      if (code === 'InvalidRequestException' && /marked for deletion|scheduled for deletion/i.test((err as Error).message)) return;
      throw err;
    }
  },
};
