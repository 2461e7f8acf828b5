/**
 * Lists every object of the bucket and formats the summary line.
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { LOCK_PREFIX } from './guard.js';

/** What a listing saw (user objects only: the guard's lock objects are excluded). */
export interface ListResult {
  count: number;
  bytes: number;
}

/**
 * Prints every object key of `bucket` on its own line, page by page (1000 keys per page), skipping
 * the reserved `.batchctl/runs/` lock objects. Throws the SDK error when a page fails.
 */
export async function listBucket(s3: S3Client, bucket: string, out: (line: string) => void): Promise<ListResult> {
  let count = 0;
  let bytes = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const obj of page.Contents ?? []) {
      const key = obj.Key ?? '';
      if (key.startsWith(LOCK_PREFIX)) continue;
      out(printableKey(key));
      count += 1;
      bytes += obj.Size ?? 0;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
    // A truncated page without a token would otherwise restart from the first page forever.
    if (page.IsTruncated && !token)
      throw new Error('ListObjectsV2 returned a truncated page without NextContinuationToken');
  } while (token);
  return { count, bytes };
}

/** Keys may contain newlines or other control characters: escape them so each key stays one line. */
export function printableKey(key: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(key) ? JSON.stringify(key) : key;
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** Bytes in decimal (SI) units with one decimal, e.g. `5.6 MB`; plain `B` under 1000. */
export function humanBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** The summary line, e.g. `listed 1234 objects, 5.6 MB (5612345 bytes) in 0.84 s`. */
export function summaryLine(result: ListResult, elapsedMs: number): string {
  const noun = result.count === 1 ? 'object' : 'objects';
  return `listed ${result.count} ${noun}, ${humanBytes(result.bytes)} (${result.bytes} bytes) in ${(elapsedMs / 1000).toFixed(2)} s`;
}
