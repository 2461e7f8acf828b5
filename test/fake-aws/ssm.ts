/**
 * Fake SSM Parameter Store: the parameter batchctl uses for its stack lock, and parameters (String,
 * StringList, SecureString with a KMS key) as job secrets read them. Models, with AWS's error codes (SSM
 * API reference, PutParameter / GetParameter / GetParameters / DeleteParameter / DescribeParameters):
 * - PutParameter with Overwrite false (the default) on an existing name: ParameterAlreadyExists (400).
 *   Two puts on one name in flight at once (`concurrentPutMs` > 0): the second gets TooManyUpdates (400),
 *   "There are concurrent updates for a resource that supports one update at a time".
 * - Tags together with Overwrite true: ValidationException (tags are set at creation only; AWS's message).
 * - Names: `a-zA-Z0-9_.-/`, not beginning with `aws` or `ssm` (any case, after a leading `/`), at most 15
 *   levels; a standard parameter's value at most 4 KB.
 * - GetParameter / DeleteParameter of a missing name: ParameterNotFound (400).
 * - Versions count up per name and restart when the parameter is deleted and created again.
 * - DescribeParameters answers metadata only (name, ARN, type, key), filtered by name and paged as AWS
 *   does (at most 50 a page, 50 names a filter); `Shared: true` lists other accounts' parameters shared
 *   with this one. A parameter put moments ago may not be listed yet (`describeLagMs`).
 * - GetParameters serves values (ECS reads them at task start; batchctl never does).
 * Values never appear in the inventory.
 */
import {
  SSMClient,
  PutParameterCommand,
  GetParameterCommand,
  GetParametersCommand,
  DeleteParameterCommand,
  DescribeParametersCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-ssm';
import { awsError, recordToTags, tagsToRecord, type FakeAwsCore } from './core.js';
import type { InventoryEntry } from './index.js';

export interface FakeParameter {
  name: string;
  arn: string;
  type: 'String' | 'StringList' | 'SecureString';
  value: string;
  /** SecureString: the key as given (an alias name, key id or ARN); default alias/aws/ssm. */
  keyId?: string;
  tier: 'Standard' | 'Advanced';
  tags: Record<string, string>;
  account: string;
  region: string;
  /** When this version was put (epoch ms): its LastModifiedDate. */
  createdAt: number;
  version: number;
  /** Another account's parameter: shared with this account through RAM (listed by `Shared: true`). */
  shared?: boolean;
}

const NAME = /^[a-zA-Z0-9_.\-/]{1,1011}$/;
const ALREADY_EXISTS =
  'The parameter already exists. ' + 'To overwrite this value, set the overwrite option in the request to true.';

export class FakeSsm {
  /** By ARN. */
  readonly parameters = new Map<string, FakeParameter>();
  /**
   * How long a PutParameter stays in flight (0: applied at once). A second put on the name meanwhile: TooManyUpdates.
   */
  concurrentPutMs = 0;
  /** The account's default parameter tier (Parameter Store settings): applies when a put names no tier. */
  defaultTier: 'Standard' | 'Advanced' = 'Standard';
  /** For this long after it is put, a parameter is not listed by DescribeParameters (eventual consistency). */
  describeLagMs = 0;
  private readonly inFlight = new Set<string>();

  constructor(private readonly core: FakeAwsCore) {
    core.peers.set('ssm', this);
    core.register({
      name: 'ssm',
      client: SSMClient,
      isLockCall: (_op, input) => /^\/batchctl\/[^/]+\/lock$/.test(String(input?.Name ?? input?.ResourceId ?? '')),
      ops: {
        PutParameter: { command: PutParameterCommand, handle: (i) => this.put(i) },
        GetParameter: {
          command: GetParameterCommand,
          handle: (i) => {
            const p = this.byNameOrArn(i.Name);
            if (!p) awsError('ParameterNotFound', 'Parameter not found.');
            return {
              Parameter: {
                Name: p.name,
                Type: p.type,
                Value: this.valueAsRead(p, i.WithDecryption),
                Version: p.version,
                LastModifiedDate: new Date(p.createdAt),
                ARN: p.arn,
                DataType: 'text',
              },
            };
          },
        },
        GetParameters: {
          command: GetParametersCommand,
          handle: (i) => {
            const names: string[] = i.Names ?? [];
            const found = names.map((n) => this.byNameOrArn(n)).filter((p): p is FakeParameter => !!p);
            return {
              Parameters: found.map((p) => ({
                Name: p.name,
                ARN: p.arn,
                Type: p.type,
                Version: p.version,
                Value: this.valueAsRead(p, i.WithDecryption),
              })),
              InvalidParameters: names.filter((n) => !this.byNameOrArn(n)),
            };
          },
        },
        DeleteParameter: {
          command: DeleteParameterCommand,
          handle: (i) => {
            const p = this.byNameOrArn(i.Name);
            if (!p || p.account !== this.core.account) awsError('ParameterNotFound', 'Parameter not found.');
            this.parameters.delete(p.arn);
            return {};
          },
        },
        DescribeParameters: { command: DescribeParametersCommand, handle: (i) => this.describe(i) },
        ListTagsForResource: {
          command: ListTagsForResourceCommand,
          handle: (i) => {
            if (i.ResourceType !== 'Parameter') awsError('InvalidResourceType', 'The resource type is not valid.');
            const p = this.byNameOrArn(i.ResourceId);
            if (!p) awsError('InvalidResourceId', 'The resource ID is not valid.');
            return { TagList: recordToTags(p.tags) };
          },
        },
      },
    });
  }

  /** The ARN of a parameter: `parameter/` and its name without a leading slash. */
  arnOf(name: string, account = this.core.account, region = this.core.region): string {
    return `arn:${this.core.partition}:ssm:${region}:${account}:parameter/${name.replace(/^\//, '')}`;
  }

  /**
   * Test helper: put a parameter without a logged call (in another account with `account`, shared with
   * this one with `shared`). Default type: SecureString, as job secrets are.
   */
  addParameter(p: {
    name: string;
    value: string;
    type?: FakeParameter['type'];
    keyId?: string;
    account?: string;
    shared?: boolean;
    tags?: Record<string, string>;
  }): FakeParameter {
    if (!NAME.test(p.name)) {
      awsError(
        'ValidationException',
        `Parameter name: can't be prefixed with "aws" or "ssm" (case-insensitive) and must be 1-1011 of a-zA-Z0-9_.-/: ${p.name}`,
      );
    }
    const account = p.account ?? this.core.account;
    const type = p.type ?? 'SecureString';
    const param: FakeParameter = {
      name: p.name,
      arn: this.arnOf(p.name, account),
      type,
      value: p.value,
      tier: 'Standard',
      tags: p.tags ?? {},
      account,
      region: this.core.region,
      createdAt: this.core.now(),
      version: 1,
      ...(type === 'SecureString' ? { keyId: p.keyId ?? 'alias/aws/ssm' } : {}),
      ...(p.shared ? { shared: true } : {}),
    };
    this.parameters.set(param.arn, param);
    return param;
  }

  /** A parameter of this account by name, or any by ARN. */
  byNameOrArn(id: string | undefined): FakeParameter | undefined {
    if (!id) return undefined;
    if (id.startsWith('arn:')) return this.parameters.get(id);
    const p = this.parameters.get(this.arnOf(id));
    return p && p.name === id ? p : undefined;
  }

  /** A SecureString read without WithDecryption answers its ciphertext. */
  private valueAsRead(p: FakeParameter, decrypt: boolean | undefined): string {
    return p.type === 'SecureString' && !decrypt ? `encrypted:${Buffer.from(p.value).toString('base64')}` : p.value;
  }

  private async put(i: any) {
    const name: string = i.Name ?? '';
    const bare = name.replace(/^\//, '');
    if (!NAME.test(name) || /^(aws|ssm)/i.test(bare) || name.split('/').length - 1 > 15) {
      awsError(
        'ValidationException',
        `Parameter name: can't be prefixed with "aws" or "ssm" (case-insensitive), and may only contain a-zA-Z0-9_.-/ (${name})`,
      );
    }
    if (typeof i.Value !== 'string' || !i.Value.length) awsError('ValidationException', 'Value must not be empty');
    if (i.Tags?.length && i.Overwrite) {
      awsError(
        'ValidationException',
        "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. " +
          'To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.',
      );
    }
    const tier: 'Standard' | 'Advanced' =
      i.Tier === 'Advanced' ? 'Advanced' : i.Tier === 'Standard' ? 'Standard' : this.defaultTier;
    if (tier === 'Standard' && Buffer.byteLength(i.Value, 'utf8') > 4096) {
      awsError('ValidationException', 'Standard tier parameters support a maximum parameter value of 4096 characters.');
    }
    if (this.concurrentPutMs > 0) {
      if (this.inFlight.has(name))
        awsError('TooManyUpdates', 'There are concurrent updates for a resource that supports one update at a time.');
      this.inFlight.add(name);
      try {
        await new Promise((r) => setTimeout(r, this.concurrentPutMs));
      } finally {
        this.inFlight.delete(name);
      }
    }
    const prior = this.byNameOrArn(name);
    if (prior && !i.Overwrite) awsError('ParameterAlreadyExists', ALREADY_EXISTS);
    const type: FakeParameter['type'] = i.Type ?? prior?.type ?? 'String';
    const p: FakeParameter = {
      name,
      arn: this.arnOf(name),
      type,
      value: i.Value,
      tier,
      tags: prior?.tags ?? tagsToRecord(i.Tags),
      account: this.core.account,
      region: this.core.region,
      createdAt: this.core.now(),
      version: (prior?.version ?? 0) + 1,
      ...(type === 'SecureString' ? { keyId: i.KeyId ?? prior?.keyId ?? 'alias/aws/ssm' } : {}),
    };
    this.parameters.set(p.arn, p);
    return { Version: p.version, Tier: p.tier };
  }

  private describe(i: any) {
    const filters: { Key: string; Option?: string; Values?: string[] }[] = i.ParameterFilters ?? [];
    for (const f of filters) {
      if ((f.Values ?? []).length > 50)
        awsError(
          'ValidationException',
          "1 validation error detected: Value at 'parameterFilters.1.member.values' failed to satisfy constraint: Member must have length less than or equal to 50",
        );
      if (f.Key === 'Name' && !['Equals', 'BeginsWith', undefined].includes(f.Option))
        awsError('InvalidFilterOption', `The option ${f.Option} is not valid for key Name.`);
    }
    const max = i.MaxResults ?? 10;
    if (max < 1 || max > 50) awsError('ValidationException', 'MaxResults must be between 1 and 50');
    const visible = [...this.parameters.values()]
      .filter((p) => this.describeLagMs === 0 || this.core.now() >= p.createdAt + this.describeLagMs)
      .filter((p) =>
        i.Shared
          ? p.account !== this.core.account && p.shared
          : p.account === this.core.account && p.region === this.core.region,
      )
      .filter((p) =>
        filters.every(
          (f) =>
            f.Key !== 'Name' ||
            (f.Values ?? []).some((v) => (f.Option === 'BeginsWith' ? p.name.startsWith(v) : p.name === v)),
        ),
      )
      .sort((a, b) => a.name.localeCompare(b.name));
    const start = Number(i.NextToken ?? 0);
    return {
      Parameters: visible.slice(start, start + max).map((p) => ({
        Name: p.name,
        ARN: p.arn,
        Type: p.type,
        Version: p.version,
        Tier: p.tier,
        DataType: 'text',
        LastModifiedDate: new Date(p.createdAt),
        ...(p.keyId ? { KeyId: p.keyId } : {}),
      })),
      NextToken: start + max < visible.length ? String(start + max) : undefined,
    };
  }

  inventory(): InventoryEntry[] {
    return [...this.parameters.values()].map((p) => ({
      type: 'ssm.parameter',
      key: p.arn,
      settings: { type: p.type, tier: p.tier, tags: p.tags },
    }));
  }
}
