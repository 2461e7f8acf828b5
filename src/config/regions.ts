/**
 * The AWS regions batchctl accepts, by partition. A typo such as `eu-wst-1` has the shape of a region, and
 * the SDK would build `ec2.eu-wst-1.amazonaws.com` from it and fail much later with a bare ENOTFOUND;
 * naming the nearest real region at load time is the useful answer.
 *
 * Why a list here rather than the SDK's own partition data (`partitions.js` in @aws-sdk/core, which
 * knows every region): that file is only reachable through the `@aws-sdk/core/client` entry point,
 * which loads the SDK's client runtime, and `validate` must load no AWS code to stay within its start-up
 * budget. A test compares this list with the SDK's data, so updating the SDK (a new region) fails the
 * tests until the list follows.
 */
import { closest } from '../base/suggest.js';

export const REGIONS_BY_PARTITION: Readonly<Record<string, readonly string[]>> = {
  aws: [
    'af-south-1',
    'ap-east-1',
    'ap-east-2',
    'ap-northeast-1',
    'ap-northeast-2',
    'ap-northeast-3',
    'ap-south-1',
    'ap-south-2',
    'ap-southeast-1',
    'ap-southeast-2',
    'ap-southeast-3',
    'ap-southeast-4',
    'ap-southeast-5',
    'ap-southeast-6',
    'ap-southeast-7',
    'ca-central-1',
    'ca-west-1',
    'eu-central-1',
    'eu-central-2',
    'eu-north-1',
    'eu-south-1',
    'eu-south-2',
    'eu-west-1',
    'eu-west-2',
    'eu-west-3',
    'il-central-1',
    'me-central-1',
    'me-south-1',
    'me-west-1',
    'mx-central-1',
    'sa-east-1',
    'sa-west-1',
    'us-east-1',
    'us-east-2',
    'us-west-1',
    'us-west-2',
  ],
  'aws-cn': ['cn-north-1', 'cn-northwest-1'],
  'aws-eusc': ['eusc-de-east-1'],
  'aws-iso': ['us-iso-east-1', 'us-iso-west-1'],
  'aws-iso-b': ['us-isob-east-1', 'us-isob-west-1'],
  'aws-iso-e': ['eu-isoe-west-1'],
  'aws-iso-f': ['us-isof-east-1', 'us-isof-south-1'],
  'aws-us-gov': ['us-gov-east-1', 'us-gov-west-1'],
};

/**
 * Each partition's DNS suffix (its `dnsSuffix` in the SDK's partition data; a test compares): the
 * domain of its service endpoints, ECR registries and service principals.
 */
export const DNS_SUFFIX_BY_PARTITION: Readonly<Record<string, string>> = {
  aws: 'amazonaws.com',
  'aws-cn': 'amazonaws.com.cn',
  'aws-eusc': 'amazonaws.eu',
  'aws-iso': 'c2s.ic.gov',
  'aws-iso-b': 'sc2s.sgov.gov',
  'aws-iso-e': 'cloud.adc-e.uk',
  'aws-iso-f': 'csp.hci.ic.gov',
  'aws-us-gov': 'amazonaws.com',
};

/** Region name shapes of partitions, for a region this list does not know yet (most specific first). */
const PARTITION_SHAPES: readonly (readonly [RegExp, string])[] = [
  [/^cn-/, 'aws-cn'],
  [/^us-gov-/, 'aws-us-gov'],
  [/^us-isob-/, 'aws-iso-b'],
  [/^us-isof-/, 'aws-iso-f'],
  [/^us-iso-/, 'aws-iso'],
  [/^eu-isoe-/, 'aws-iso-e'],
  [/^eusc-/, 'aws-eusc'],
];

/** The partition a region belongs to (`aws` for a region of no other partition). */
export function partitionOfRegion(region: string): string {
  for (const [partition, regions] of Object.entries(REGIONS_BY_PARTITION))
    if (regions.includes(region)) return partition;
  return PARTITION_SHAPES.find(([re]) => re.test(region))?.[1] ?? 'aws';
}

/** A partition's DNS suffix (`amazonaws.com` for one this list does not know). */
export function dnsSuffixOf(partition: string): string {
  return DNS_SUFFIX_BY_PARTITION[partition] ?? 'amazonaws.com';
}

/** A regular expression source matching any partition's name, as the second field of an ARN. */
export const ARN_PARTITION = `(?:${Object.keys(REGIONS_BY_PARTITION)
  .sort((a, b) => b.length - a.length)
  .join('|')})`;

/** Every known region name. */
export const KNOWN_REGIONS: readonly string[] = Object.values(REGIONS_BY_PARTITION).flat();

const known = new Set(KNOWN_REGIONS);

/** Whether AWS has this region (as far as this batchctl's SDK knows). */
export function isKnownRegion(region: string): boolean {
  return known.has(region);
}

/**
 * What is wrong with a region name that has the right shape but is not a region, with the nearest real
 * one; undefined for a known region. `source` says where it came from (`--region`, `AWS_REGION`...).
 */
export function unknownRegionMessage(region: string, source?: string): string | undefined {
  if (known.has(region)) return undefined;
  return `${source ? `${source} ` : ''}"${region}" is not an AWS region: did you mean ${nearestRegion(region)}?`;
}

/** The known region closest to a name (by edit distance; ties: the first in the list). */
export function nearestRegion(region: string): string {
  return closest(region, KNOWN_REGIONS)!.value;
}
