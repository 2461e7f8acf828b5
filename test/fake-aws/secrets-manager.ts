/**
 * Fake Secrets Manager: secrets with tags, versions and staging labels, scheduled deletion with a
 * recovery window (the secret keeps its name, refuses most calls, and DescribeSecret shows DeletedDate
 * until RestoreSecret or the window ends). Values are kept but never appear in the inventory.
 */
import { createHash } from 'node:crypto';
import {
  SecretsManagerClient,
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  UpdateSecretCommand,
  DeleteSecretCommand,
  RestoreSecretCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { awsError, tagsToRecord, recordToTags, type FakeAwsCore } from './core.js';
import type { InventoryEntry } from './index.js';

interface FakeVersion {
  id: string;
  string?: string;
  binary?: Uint8Array;
  stages: string[];
  created: Date;
}

export interface FakeSecret {
  arn: string;
  name: string;
  description?: string;
  kmsKeyId?: string;
  tags: Record<string, string>;
  created: Date;
  lastChanged: Date;
  /** When DeleteSecret was called; set while the secret is scheduled for deletion. */
  deletedAt?: Date;
  /** When the scheduled deletion happens. */
  purgeAt?: number;
  versions: Map<string, FakeVersion>;
  /**
   * Another account's secret: what its resource policy lets this account do. `describe`: DescribeSecret
   * (else AccessDeniedException); `readers`: the roles of this account it lets call GetSecretValue.
   */
  foreign?: { describe: boolean; readers: string[] };
}

const DAY = 86_400_000;
const MARKED = "You can't perform this operation on the secret because it was marked for deletion.";
const SUFFIX_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export class FakeSecretsManager {
  /** By ARN. */
  readonly secrets = new Map<string, FakeSecret>();

  constructor(private readonly core: FakeAwsCore) {
    core.peers.set('secretsManager', this);
    core.register({
      name: 'secretsManager',
      client: SecretsManagerClient,
      ops: {
        CreateSecret: { command: CreateSecretCommand, handle: (i) => this.create(i) },
        DescribeSecret: {
          command: DescribeSecretCommand,
          handle: (i) => {
            const s = this.get(i.SecretId);
            if (s.foreign && !s.foreign.describe) {
              awsError(
                'AccessDeniedException',
                `User: arn:aws:iam::${core.account}:user/tester is not authorized to perform: secretsmanager:DescribeSecret on resource: ${i.SecretId} because no resource-based policy allows the secretsmanager:DescribeSecret action`,
              );
            }
            if (this.describeLagMs > 0 && core.now() < s.created.getTime() + this.describeLagMs)
              awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
            return {
              ARN: s.arn,
              Name: s.name,
              ...(s.description !== undefined ? { Description: s.description } : {}),
              ...(s.kmsKeyId ? { KmsKeyId: s.kmsKeyId } : {}),
              CreatedDate: s.created,
              LastChangedDate: s.lastChanged,
              ...(s.deletedAt ? { DeletedDate: s.deletedAt } : {}),
              ...(Object.keys(s.tags).length ? { Tags: recordToTags(s.tags) } : {}),
              VersionIdsToStages: Object.fromEntries([...s.versions.values()].map((v) => [v.id, v.stages])),
            };
          },
        },
        GetSecretValue: {
          command: GetSecretValueCommand,
          handle: (i) => {
            const s = this.live(i.SecretId);
            const stage = i.VersionStage ?? (i.VersionId ? undefined : 'AWSCURRENT');
            const v = [...s.versions.values()].find(
              (x) => (i.VersionId ? x.id === i.VersionId : true) && (!stage || x.stages.includes(stage)),
            );
            if (!v)
              awsError(
                'ResourceNotFoundException',
                `Secrets Manager can't find the specified secret value for ${i.VersionId ? `VersionId: ${i.VersionId}` : `staging label: ${stage}`}`,
              );
            return {
              ARN: s.arn,
              Name: s.name,
              VersionId: v.id,
              VersionStages: v.stages,
              CreatedDate: v.created,
              ...(v.string !== undefined ? { SecretString: v.string } : { SecretBinary: v.binary }),
            };
          },
        },
        PutSecretValue: {
          command: PutSecretValueCommand,
          handle: (i) => {
            const s = this.live(i.SecretId);
            const v = this.addVersion(s, i);
            return { ARN: s.arn, Name: s.name, VersionId: v.id, VersionStages: v.stages };
          },
        },
        UpdateSecret: {
          command: UpdateSecretCommand,
          handle: (i) => {
            const s = this.live(i.SecretId);
            if (i.Description !== undefined) s.description = i.Description;
            if (i.KmsKeyId !== undefined) s.kmsKeyId = i.KmsKeyId;
            const v = i.SecretString !== undefined || i.SecretBinary !== undefined ? this.addVersion(s, i) : undefined;
            s.lastChanged = new Date(core.now());
            return { ARN: s.arn, Name: s.name, ...(v ? { VersionId: v.id } : {}) };
          },
        },
        DeleteSecret: {
          command: DeleteSecretCommand,
          handle: (i) => {
            const s = this.get(i.SecretId);
            if (i.ForceDeleteWithoutRecovery && i.RecoveryWindowInDays !== undefined) {
              awsError(
                'InvalidParameterException',
                "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
              );
            }
            const days = i.RecoveryWindowInDays ?? 30;
            if (!i.ForceDeleteWithoutRecovery && (days < 7 || days > 30)) {
              awsError(
                'InvalidParameterException',
                'The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).',
              );
            }
            if (s.deletedAt && !i.ForceDeleteWithoutRecovery) awsError('InvalidRequestException', this.markedMessage);
            const now = core.now();
            if (i.ForceDeleteWithoutRecovery) {
              this.secrets.delete(s.arn);
              this.forcedAt.set(s.name, now);
              return { ARN: s.arn, Name: s.name, DeletionDate: new Date(now) };
            }
            s.deletedAt = new Date(now);
            s.purgeAt = now + days * DAY;
            return { ARN: s.arn, Name: s.name, DeletionDate: new Date(s.purgeAt) };
          },
        },
        RestoreSecret: {
          command: RestoreSecretCommand,
          handle: (i) => {
            const s = this.get(i.SecretId);
            s.deletedAt = undefined;
            s.purgeAt = undefined;
            return { ARN: s.arn, Name: s.name };
          },
        },
        TagResource: {
          command: TagResourceCommand,
          handle: (i) => {
            const s = this.live(i.SecretId);
            s.tags = { ...s.tags, ...validTags(i.Tags) };
            return {};
          },
        },
        UntagResource: {
          command: UntagResourceCommand,
          handle: (i) => {
            const s = this.live(i.SecretId);
            for (const k of i.TagKeys ?? []) delete s.tags[k];
            return {};
          },
        },
      },
    });
  }

  /**
   * A secret deleted without recovery is deleted asynchronously: for this long its name cannot be
   * created again (InvalidRequestException), although DescribeSecret no longer finds it.
   */
  forceDeleteLagMs = 0;
  /** For this long after it is created, DescribeSecret does not find a secret yet (eventual consistency). */
  describeLagMs = 0;

  /**
   * Test helper: a secret of the user's, with its value (a string, or an object stored as JSON), its KMS
   * key, and, in another account (`account`), what its resource policy lets this account do.
   */
  addSecret(o: {
    name: string;
    value: string | Record<string, string>;
    kmsKeyId?: string;
    account?: string;
    foreign?: { describe: boolean; readers: string[] };
    /** The full ARN (a test whose records name one already). */
    arn?: string;
  }): FakeSecret {
    const account = o.account ?? this.core.account;
    const now = new Date(this.core.now());
    const arn =
      o.arn ??
      `arn:${this.core.partition}:secretsmanager:${this.core.region}:${account}:secret:${o.name}-${this.suffix()}`;
    const s: FakeSecret = {
      arn,
      name: o.name,
      kmsKeyId: o.kmsKeyId,
      tags: {},
      created: now,
      lastChanged: now,
      versions: new Map(),
      ...(account !== this.core.account ? { foreign: o.foreign ?? { describe: true, readers: [] } } : {}),
    };
    this.addVersion(s, { SecretString: typeof o.value === 'string' ? o.value : JSON.stringify(o.value) });
    this.secrets.set(arn, s);
    return s;
  }

  /** The current value of a secret (the fake ECS reads it as a task starts), or undefined. */
  currentValue(arn: string): string | undefined {
    const s = this.find(arn);
    return [...(s?.versions.values() ?? [])].find((v) => v.stages.includes('AWSCURRENT'))?.string;
  }

  /** A secret by full or partial ARN or name, as GetSecretValue resolves it (undefined when none). */
  secretOf(id: string): FakeSecret | undefined {
    return this.find(id);
  }

  /**
   * The text of the InvalidRequestException a secret pending deletion answers with. Its wording is not an
   * API: tests change it to prove callers go by the code and the secret's state.
   */
  markedMessage = MARKED;
  private readonly forcedAt = new Map<string, number>();

  /** Secrets whose recovery window has ended are gone for good. */
  private purge(): void {
    const now = this.core.now();
    for (const [arn, s] of this.secrets) if (s.purgeAt !== undefined && now >= s.purgeAt) this.secrets.delete(arn);
  }

  /** By full ARN, by name, or by partial ARN (without the random suffix), as AWS resolves SecretId. */
  private find(id: string | undefined): FakeSecret | undefined {
    this.purge();
    if (!id) return undefined;
    const all = [...this.secrets.values()];
    // A bare name is this account's: another account's secret is reached by its ARN only.
    const own = all.filter((s) => s.arn.split(':')[4] === this.core.account);
    return this.secrets.get(id) ?? own.find((s) => s.name === id) ?? all.find((s) => s.arn.slice(0, -7) === id);
  }

  private get(id: string | undefined): FakeSecret {
    const s = this.find(id);
    if (!s) awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return s;
  }

  /** A secret that is not scheduled for deletion. */
  private live(id: string | undefined): FakeSecret {
    const s = this.get(id);
    if (s.deletedAt) awsError('InvalidRequestException', this.markedMessage);
    return s;
  }

  private create(i: any) {
    const name: string = i.Name ?? '';
    if (!/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(name))
      awsError(
        'InvalidParameterException',
        'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
      );
    const existing = this.find(name);
    const forced = this.forcedAt.get(name);
    if (
      existing?.deletedAt ||
      (this.forceDeleteLagMs > 0 && forced !== undefined && this.core.now() < forced + this.forceDeleteLagMs)
    ) {
      awsError(
        'InvalidRequestException',
        this.markedMessage === MARKED
          ? "You can't create this secret because a secret with this name is already scheduled for deletion."
          : this.markedMessage,
      );
    }
    if (existing)
      awsError('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
    const now = new Date(this.core.now());
    const arn = `arn:${this.core.partition}:secretsmanager:${this.core.region}:${this.core.account}:secret:${name}-${this.suffix()}`;
    const s: FakeSecret = {
      arn,
      name,
      description: i.Description,
      kmsKeyId: i.KmsKeyId,
      tags: validTags(i.Tags),
      created: now,
      lastChanged: now,
      versions: new Map(),
    };
    const v = i.SecretString !== undefined || i.SecretBinary !== undefined ? this.addVersion(s, i) : undefined;
    this.secrets.set(arn, s);
    this.core.label(arn, s.tags['batchctl:logical'] ?? name);
    return { ARN: arn, Name: name, ...(v ? { VersionId: v.id } : {}) };
  }

  /** Six characters that look random but follow the core's id counter, so runs are reproducible. */
  private suffix(): string {
    const h = createHash('sha256').update(this.core.newId('secret')).digest();
    return [...h.subarray(0, 6)].map((b) => SUFFIX_CHARS[b % SUFFIX_CHARS.length]).join('');
  }

  /**
   * A new AWSCURRENT version. A repeated ClientRequestToken with the same value returns the existing
   * version (idempotent retry); with a different value AWS refuses to modify a version.
   */
  private addVersion(s: FakeSecret, i: any): FakeVersion {
    if ((i.SecretString === undefined) === (i.SecretBinary === undefined)) {
      awsError('InvalidParameterException', 'You must provide either SecretString or SecretBinary, but not both.');
    }
    // The SDK fills in a token when the caller gives none; the mock bypasses that, so make one up here.
    const token: string =
      i.ClientRequestToken ?? createHash('sha256').update(this.core.newId('version')).digest('hex').slice(0, 36);
    if (token.length < 32 || token.length > 64)
      awsError('InvalidParameterException', 'ClientRequestToken must be 32-64 characters long.');
    const prior = s.versions.get(token);
    if (prior) {
      const same =
        i.SecretString !== undefined
          ? prior.string === i.SecretString
          : Buffer.from(prior.binary ?? []).equals(Buffer.from(i.SecretBinary));
      if (!same)
        awsError('ResourceExistsException', "You can't modify an existing version, you can only create a new version.");
      return prior;
    }
    for (const v of s.versions.values()) {
      v.stages = v.stages.filter((st) => st !== 'AWSPREVIOUS');
      if (v.stages.includes('AWSCURRENT')) v.stages = [...v.stages.filter((st) => st !== 'AWSCURRENT'), 'AWSPREVIOUS'];
    }
    // Versions without a label are deprecated and eventually removed; drop them at once.
    for (const [id, v] of s.versions) if (!v.stages.length) s.versions.delete(id);
    const v: FakeVersion = {
      id: token,
      ...(i.SecretString !== undefined ? { string: i.SecretString } : { binary: new Uint8Array(i.SecretBinary) }),
      stages: ['AWSCURRENT'],
      created: new Date(this.core.now()),
    };
    s.versions.set(token, v);
    s.lastChanged = v.created;
    return v;
  }

  /** Never a value: only whether there is one and, for JSON objects, its key names. */
  inventory(): InventoryEntry[] {
    this.purge();
    return [...this.secrets.values()].map((s) => {
      const current = [...s.versions.values()].find((v) => v.stages.includes('AWSCURRENT'));
      let jsonKeys: string[] | undefined;
      try {
        const parsed = current?.string !== undefined ? JSON.parse(current.string) : undefined;
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) jsonKeys = Object.keys(parsed).sort();
      } catch {
        jsonKeys = undefined;
      }
      return {
        type: 'secretsmanager.secret',
        key: s.tags['batchctl:logical'] ?? s.name,
        settings: {
          name: s.name,
          description: s.description ?? null,
          tags: s.tags,
          pendingDeletion: !!s.deletedAt,
          value: { present: !!current, ...(jsonKeys ? { jsonKeys } : {}) },
        },
      };
    });
  }
}

function validTags(tags: { Key?: string; Value?: string }[] | undefined): Record<string, string> {
  const list = tags ?? [];
  if (list.length > 50) awsError('ValidationException', 'Member must have length less than or equal to 50');
  if (list.some((t) => !t.Key || t.Key.startsWith('aws:'))) awsError('InvalidParameterException', 'Invalid tag key.');
  return tagsToRecord(list);
}
