/**
 * S3 client construction and error wording for the job.
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

/** The environment variables the job reads (a subset of process.env). */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The S3 client config for this environment: region from AWS_REGION (set by ECS on every task) or
 * AWS_DEFAULT_REGION, endpoint from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL like the AWS CLI.
 */
export function s3ClientConfig(env: Env): S3ClientConfig {
  const config: S3ClientConfig = {};
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (region) config.region = region;
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL;
  if (endpoint) {
    config.endpoint = endpoint;
    // Emulators serve every bucket on one host: virtual-hosted bucket names would not resolve.
    config.forcePathStyle = true;
  }
  return config;
}

/** A real S3 client for this environment. */
export function createS3Client(env: Env): S3Client {
  return new S3Client(s3ClientConfig(env));
}

/** The AWS error code of an SDK error (its `name`), a Node error code, or undefined. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { name?: unknown; Code?: unknown; code?: unknown };
  if (typeof e.Code === 'string') return e.Code;
  if (typeof e.name === 'string' && e.name !== 'Error') return e.name;
  // Network failures are plain Errors with a Node code such as ECONNREFUSED.
  return typeof e.code === 'string' ? e.code : undefined;
}

/** The HTTP status of an SDK error, when it has one. */
export function httpStatus(err: unknown): number | undefined {
  const m = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  return typeof m?.httpStatusCode === 'number' ? m.httpStatusCode : undefined;
}

/**
 * One line describing an S3 failure on `bucket`; `doing` says what failed, e.g. `listing`; `hint` ends
 * the access-denied message.
 * Never includes request data beyond the bucket name, so no secret can leak through it.
 */
export function s3ErrorLine(err: unknown, bucket: string, doing: string, hint = 'check the task role'): string {
  const code = errorCode(err) ?? 'Error';
  const status = httpStatus(err);
  if (code === 'NoSuchBucket') return `error: bucket ${bucket} does not exist (NoSuchBucket)`;
  if (code === 'AccessDenied' || code === 'Forbidden' || status === 403) {
    return `error: access denied ${doing} ${bucket} (${code}): ${hint}`;
  }
  const message = err instanceof Error ? err.message : String(err);
  return `error: ${doing} ${bucket} failed (${code}): ${oneLine(message)}`;
}

/** Collapse whitespace so a message stays on one log line. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
