/**
 * Where `task.image` lives. Tasks run in private subnets without a NAT: the only registry they reach is
 * this region's ECR, through the ecr.api / ecr.dkr endpoints (layers through the S3 gateway). Which
 * repository it is decides what the execution role must be allowed to pull.
 */
import { DNS_SUFFIX_BY_PARTITION, dnsSuffixOf, partitionOfRegion } from './regions.js';

/** An image in a private ECR registry, by its URI's parts. */
export interface EcrImage {
  account: string;
  region: string;
  /** The partition's DNS suffix: `amazonaws.com`, `amazonaws.com.cn` in the China regions... */
  domain: string;
  /** The repository name, namespaces included (`team/batch`). */
  repository: string;
  /** `:tag` or `@sha256:...`, or '' (then ECS pulls `latest`). */
  reference: string;
}

// <account>.dkr.ecr.<region>.<partition's DNS suffix>/<repository>[:tag | @digest]
const SUFFIXES = [...new Set(Object.values(DNS_SUFFIX_BY_PARTITION))].map((d) => d.replace(/\./g, '\\.')).join('|');
const ECR_URI = new RegExp(
  String.raw`^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.(${SUFFIXES})\/` +
    /((?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})?$/
      .source,
);

/** The parts of an ECR image URI, or undefined when the image is not in a private ECR registry. */
export function parseEcrImage(uri: string): EcrImage | undefined {
  const m = ECR_URI.exec(uri);
  if (!m) return undefined;
  return { account: m[1]!, region: m[2]!, domain: m[3]!, repository: m[4]!, reference: m[5] ?? '' };
}

/** The registry host of any image reference (`docker.io` when it names none, as Docker reads it). */
export function registryOf(image: string): string {
  const first = image.split('/')[0]!;
  return image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')
    ? first
    : 'docker.io';
}

/** The ECR domain of a region's partition. */
export function ecrDomain(region: string): string {
  return dnsSuffixOf(partitionOfRegion(region));
}

/**
 * What is wrong with `task.image` for a stack in `region`, before the account is known; undefined when
 * it is an ECR image of this region (the account is checked by the preflight).
 */
export function imageProblem(image: string, region: string): string | undefined {
  const ecr = parseEcrImage(image);
  const mirror =
    "copy it into this region's ECR (an ECR pull-through cache rule mirrors Docker Hub, GitHub, Quay and other registries, with their credentials in Secrets Manager) and use that URI";
  if (!ecr) {
    if (/^\d{12}\.dkr\.ecr\./.test(image)) {
      return `${image} is not a valid ECR image URI: expected <account>.dkr.ecr.${region}.${ecrDomain(region)}/<repository>[:tag or @sha256:digest] with a lowercase repository name`;
    }
    return `${image} is in ${registryOf(image)}, not ECR: tasks in private subnets without a NAT reach only this region's ECR, whatever credentials they have; ${mirror}`;
  }
  if (ecr.region !== region) {
    return `${image} is in ECR in ${ecr.region}: tasks reach only ${region}'s ECR through the endpoints; replicate the repository to ${region} (ECR replication) and use that URI`;
  }
  if (ecr.domain !== ecrDomain(region))
    return `${image}: ECR in ${region} is at .${ecrDomain(region)}, not .${ecr.domain}`;
  return undefined;
}
