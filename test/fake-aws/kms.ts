/**
 * KMS, as far as the other fakes need it: keys and their aliases, to decide whether a role may decrypt a
 * secret or parameter with the key it is encrypted with. batchctl itself never calls KMS (it grants
 * kms:Decrypt by the key's ARN or alias), so no operation is served.
 */
import { createHash } from 'node:crypto';
import type { FakeAwsCore } from './core.js';

export interface FakeKey {
  arn: string;
  keyId: string;
  account: string;
  region: string;
  /** AWS: an AWS managed key (aws/secretsmanager, aws/ssm), usable by the account's principals through its service. */
  manager: 'AWS' | 'CUSTOMER';
  aliases: string[];
}

export class FakeKms {
  /** By ARN. */
  readonly keys = new Map<string, FakeKey>();

  constructor(private readonly core: FakeAwsCore) {
    core.peers.set('kms', this);
  }

  /** A customer managed key (in another account with `account`), with an alias when given. */
  createKey(opts: { alias?: string; account?: string; region?: string } = {}): FakeKey {
    const account = opts.account ?? this.core.account;
    const region = opts.region ?? this.core.region;
    const hex = createHash('sha256').update(this.core.newId('key')).digest('hex');
    const keyId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
    const key: FakeKey = {
      arn: `arn:${this.core.partition}:kms:${region}:${account}:key/${keyId}`,
      keyId,
      account,
      region,
      manager: 'CUSTOMER',
      aliases: opts.alias ? [opts.alias] : [],
    };
    this.keys.set(key.arn, key);
    return key;
  }

  /**
   * The key a key id, key ARN, alias name or alias ARN designates, as seen from `account` and `region`.
   * The aws/ aliases exist in every account: their AWS managed key is made on first use, as AWS does.
   */
  resolve(id: string | undefined, account = this.core.account, region = this.core.region): FakeKey | undefined {
    if (!id) return undefined;
    const m = /^arn:[^:]+:kms:([^:]+):(\d{12}):(key|alias)\/(.+)$/.exec(id);
    const [where, acct, kind, rest] = m
      ? [m[1]!, m[2]!, m[3]!, m[4]!]
      : [region, account, id.startsWith('alias/') ? 'alias' : 'key', id.replace(/^alias\//, '')];
    const all = [...this.keys.values()].filter((k) => k.account === acct && k.region === where);
    if (kind === 'key') return all.find((k) => k.keyId === rest);
    const found = all.find((k) => k.aliases.includes(`alias/${rest}`));
    if (found || !rest.startsWith('aws/')) return found;
    const managed: FakeKey = {
      ...this.createKey({ alias: `alias/${rest}`, account: acct, region: where }),
      manager: 'AWS',
    };
    this.keys.set(managed.arn, managed);
    return managed;
  }
}
