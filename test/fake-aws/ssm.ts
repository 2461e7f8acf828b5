/**
 * SSM Parameter Store: parameters (String, StringList, SecureString with a KMS key), as job secrets
 * read them. DescribeParameters answers metadata only (name, ARN, type, key), filtered by name and
 * paged as AWS does (at most 50 a page, 50 names a filter); `Shared: true` lists other accounts'
 * parameters shared with this one. A parameter put moments ago may not be listed yet (`describeLagMs`).
 * GetParameters serves values (ECS reads them at task start; batchctl never does). Values never appear
 * in the inventory.
 */
import { SSMClient, DescribeParametersCommand, GetParametersCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { awsError, type FakeAwsCore } from './core.js';

export interface FakeParameter {
  name: string;
  arn: string;
  type: 'String' | 'StringList' | 'SecureString';
  value: string;
  /** SecureString: the key as given (an alias name, key id or ARN); default alias/aws/ssm. */
  keyId?: string;
  account: string;
  region: string;
  createdAt: number;
  version: number;
  /** Another account's parameter: shared with this account through RAM (listed by `Shared: true`). */
  shared?: boolean;
}

const NAME = /^[A-Za-z0-9_.\-/]{1,1011}$/;

export class FakeSsm {
  /** By ARN. */
  readonly parameters = new Map<string, FakeParameter>();
  /** For this long after it is put, a parameter is not listed by DescribeParameters (eventual consistency). */
  describeLagMs = 0;

  constructor(private readonly core: FakeAwsCore) {
    core.peers.set('ssm', this);
    core.register({
      name: 'ssm',
      client: SSMClient,
      ops: {
        DescribeParameters: { command: DescribeParametersCommand, handle: (i) => this.describe(i) },
        GetParameters: {
          command: GetParametersCommand,
          handle: (i) => {
            const names: string[] = i.Names ?? [];
            const found = names.map((n) => this.byNameOrArn(n)).filter((p): p is FakeParameter => !!p);
            return {
              Parameters: found.map((p) => ({
                Name: p.name, ARN: p.arn, Type: p.type, Version: p.version,
                Value: p.type === 'SecureString' && !i.WithDecryption ? `encrypted:${Buffer.from(p.value).toString('base64')}` : p.value,
              })),
              InvalidParameters: names.filter((n) => !this.byNameOrArn(n)),
            };
          },
        },
        PutParameter: {
          command: PutParameterCommand,
          handle: (i) => {
            const existing = this.byNameOrArn(i.Name);
            if (existing && !i.Overwrite) awsError('ParameterAlreadyExists', 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.');
            const p = this.addParameter({ name: i.Name, value: i.Value, type: i.Type ?? existing?.type ?? 'String', keyId: i.KeyId });
            if (existing) p.version = existing.version + 1;
            return { Version: p.version, Tier: 'Standard' };
          },
        },
      },
    });
  }

  /** The ARN of a parameter: `parameter/` and its name without a leading slash. */
  arnOf(name: string, account = this.core.account, region = this.core.region): string {
    return `arn:${this.core.partition}:ssm:${region}:${account}:parameter/${name.replace(/^\//, '')}`;
  }

  /** Test helper: put a parameter (in another account with `account`, shared with this one with `shared`). */
  addParameter(p: { name: string; value: string; type?: FakeParameter['type']; keyId?: string; account?: string; shared?: boolean }): FakeParameter {
    if (!NAME.test(p.name)) awsError('ValidationException', `Parameter name: can't be prefixed with "aws" or "ssm" (case-insensitive) and must be 1-1011 of a-zA-Z0-9_.-/: ${p.name}`);
    const account = p.account ?? this.core.account;
    const type = p.type ?? 'SecureString';
    const param: FakeParameter = {
      name: p.name, arn: this.arnOf(p.name, account), type, value: p.value, account, region: this.core.region, createdAt: this.core.now(), version: 1,
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

  private describe(i: any) {
    const filters: { Key: string; Option?: string; Values?: string[] }[] = i.ParameterFilters ?? [];
    for (const f of filters) {
      if ((f.Values ?? []).length > 50) awsError('ValidationException', '1 validation error detected: Value at \'parameterFilters.1.member.values\' failed to satisfy constraint: Member must have length less than or equal to 50');
      if (f.Key === 'Name' && !['Equals', 'BeginsWith', undefined].includes(f.Option)) awsError('InvalidFilterOption', `The option ${f.Option} is not valid for key Name.`);
    }
    const max = i.MaxResults ?? 10;
    if (max < 1 || max > 50) awsError('ValidationException', 'MaxResults must be between 1 and 50');
    const visible = [...this.parameters.values()]
      .filter((p) => this.describeLagMs === 0 || this.core.now() >= p.createdAt + this.describeLagMs)
      .filter((p) => (i.Shared ? p.account !== this.core.account && p.shared : p.account === this.core.account && p.region === this.core.region))
      .filter((p) => filters.every((f) => f.Key !== 'Name' || (f.Values ?? []).some((v) => (f.Option === 'BeginsWith' ? p.name.startsWith(v) : p.name === v))))
      .sort((a, b) => a.name.localeCompare(b.name));
    const start = Number(i.NextToken ?? 0);
    return {
      Parameters: visible.slice(start, start + max).map((p) => ({
        Name: p.name, ARN: p.arn, Type: p.type, Version: p.version, Tier: 'Standard', DataType: 'text',
        LastModifiedDate: new Date(p.createdAt), ...(p.keyId ? { KeyId: p.keyId } : {}),
      })),
      NextToken: start + max < visible.length ? String(start + max) : undefined,
    };
  }
}
