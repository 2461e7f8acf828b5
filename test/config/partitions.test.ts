/**
 * Every partition the region list knows is a partition everywhere: ARN checks in the config, the
 * service domain of hosts and principals, the partition of a region. The DNS suffixes are the SDK's own.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ARN_PARTITION,
  DNS_SUFFIX_BY_PARTITION,
  REGIONS_BY_PARTITION,
  dnsSuffixOf,
  partitionOfRegion,
} from '../../src/config/regions.js';
import { ecrDomain, parseEcrImage } from '../../src/config/image.js';
import { partitionOf } from '../../src/info/policy.js';
import { validateConfig } from '../../src/config/validate.js';
import { parse } from 'yaml';
import { DEFAULT_CONFIG_PATH, ROOT } from '../helpers/ctx.js';

const sdkPartitions = (): { id: string; outputs: { dnsSuffix: string } }[] => {
  const file = join(ROOT, 'node_modules/@aws-sdk/core/dist-es/submodules/client/util-endpoints/lib/aws/partitions.js');
  return JSON.parse(
    readFileSync(file, 'utf8')
      .replace(/^export const partitionsInfo = /, '')
      .replace(/;\s*$/, ''),
  ).partitions;
};

describe('partitions', () => {
  it("each partition's DNS suffix is the SDK's", () => {
    expect(DNS_SUFFIX_BY_PARTITION).toEqual(
      Object.fromEntries(sdkPartitions().map((p) => [p.id, p.outputs.dnsSuffix])),
    );
  });

  it('every region belongs to its partition, for ARNs, hosts and ECR registries', () => {
    for (const [partition, regions] of Object.entries(REGIONS_BY_PARTITION)) {
      for (const region of regions) {
        expect(partitionOfRegion(region), region).toBe(partition);
        expect(partitionOf(region), region).toBe(partition);
        expect(ecrDomain(region), region).toBe(dnsSuffixOf(partition));
        const uri = `123456789012.dkr.ecr.${region}.${dnsSuffixOf(partition)}/team/batch:v1`;
        expect(parseEcrImage(uri), uri).toMatchObject({
          region,
          domain: dnsSuffixOf(partition),
          repository: 'team/batch',
        });
      }
    }
    // A region this batchctl does not list yet still gets its partition from its shape.
    expect(partitionOfRegion('us-isob-north-9')).toBe('aws-iso-b');
    expect(partitionOfRegion('cn-south-9')).toBe('aws-cn');
    expect(partitionOfRegion('xx-new-1')).toBe('aws');
  });

  it('ARNs of every partition are ARNs', () => {
    const re = new RegExp(`^arn:${ARN_PARTITION}:`);
    for (const p of Object.keys(REGIONS_BY_PARTITION))
      expect(re.test(`arn:${p}:iam::123456789012:role/x`), p).toBe(true);
    expect(re.test('arn:aws-moon:iam::123456789012:role/x')).toBe(false);
  });

  const base = parse(readFileSync(DEFAULT_CONFIG_PATH, 'utf8')) as Record<string, unknown>;
  const check = (region: string, extra: Record<string, unknown>) =>
    validateConfig({ ...base, region, ...extra }, { region, now: new Date('2026-11-28T00:00:00Z') }).filter(
      (p) => !p.warning,
    );
  const messages = (region: string, extra: Record<string, unknown>, key: string) =>
    check(region, extra)
      .filter((p) => p.path[0] === key)
      .map((p) => p.message);

  it("permissionsBoundary: any partition, but the stack region's own", () => {
    expect(
      messages(
        'us-gov-west-1',
        { iam: { permissionsBoundary: 'arn:aws-us-gov:iam::123456789012:policy/Boundary' } },
        'iam',
      ),
    ).toEqual([]);
    expect(
      messages(
        'us-iso-east-1',
        { iam: { permissionsBoundary: 'arn:aws-iso:iam::123456789012:policy/Boundary' } },
        'iam',
      ),
    ).toEqual([]);
    expect(
      messages(
        'eu-isoe-west-1',
        { iam: { permissionsBoundary: 'arn:aws-iso-e:iam::aws:policy/PowerUserAccess' } },
        'iam',
      ),
    ).toEqual([]);
    expect(
      messages(
        'ap-northeast-1',
        { iam: { permissionsBoundary: 'arn:aws-cn:iam::123456789012:policy/Boundary' } },
        'iam',
      ),
    ).toEqual([
      "the policy is in partition aws-cn, the stack's region ap-northeast-1 in aws: a role can only use a policy of its own partition",
    ]);
    expect(
      messages('ap-northeast-1', { iam: { permissionsBoundary: 'arn:aws-moon:iam::123456789012:policy/B' } }, 'iam'),
    ).toEqual(['expected a managed policy ARN such as arn:aws:iam::123456789012:policy/Boundary']);
  });

  it('notify.topicArn: any partition', () => {
    expect(
      messages(
        'us-isob-east-1',
        { notify: { topicArn: 'arn:aws-iso-b:sns:us-isob-east-1:123456789012:alerts' } },
        'notify',
      ),
    ).toEqual([]);
    expect(
      messages(
        'eusc-de-east-1',
        { notify: { topicArn: 'arn:aws-eusc:sns:eusc-de-east-1:123456789012:alerts' } },
        'notify',
      ),
    ).toEqual([]);
    expect(
      messages('ap-northeast-1', { notify: { topicArn: 'arn:aws:sns:eu-west-1:123456789012:alerts' } }, 'notify'),
    ).toEqual([
      'the topic is in eu-west-1, the stack in ap-northeast-1: EventBridge rules can only target a topic in their own region',
    ]);
  });
});
