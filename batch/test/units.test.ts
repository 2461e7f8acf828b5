import { describe, expect, it } from 'vitest';
import { createS3Client, s3ClientConfig, s3ErrorLine } from '../src/s3.js';
import { humanBytes, printableKey, summaryLine } from '../src/list.js';
import { canonicalTime, GuardConfigError, guardEnabled, jobNameOf, lockKey, LOCK_PREFIX } from '../src/guard.js';

describe('S3 client', () => {
  it('AWS_ENDPOINT_URL gives a client with that endpoint and path-style addressing', async () => {
    const client = createS3Client({ AWS_REGION: 'ap-northeast-1', AWS_ENDPOINT_URL: 'http://localhost:4566' });
    try {
      expect(client.config.forcePathStyle).toBe(true);
      expect(await client.config.region()).toBe('ap-northeast-1');
      const endpoint = await client.config.endpoint!();
      expect(`${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`).toBe('http://localhost:4566');
    } finally {
      client.destroy();
    }
  });

  it('AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL; AWS_DEFAULT_REGION is the region fallback', () => {
    expect(
      s3ClientConfig({
        AWS_DEFAULT_REGION: 'us-west-2',
        AWS_ENDPOINT_URL: 'http://a:1',
        AWS_ENDPOINT_URL_S3: 'http://s3:2',
      }),
    ).toEqual({
      region: 'us-west-2',
      endpoint: 'http://s3:2',
      forcePathStyle: true,
    });
  });

  it('without an endpoint override S3 keeps virtual-hosted addressing', () => {
    expect(s3ClientConfig({ AWS_REGION: 'ap-northeast-1' })).toEqual({ region: 'ap-northeast-1' });
  });

  it('error lines stay on one line and never say more than the bucket', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED\n127.0.0.1:4566'), { code: 'ECONNREFUSED' });
    expect(s3ErrorLine(err, 'b', 'listing')).toBe(
      'error: listing b failed (ECONNREFUSED): connect ECONNREFUSED 127.0.0.1:4566',
    );
    const denied = Object.assign(new Error('Forbidden'), { name: 'Forbidden', $metadata: { httpStatusCode: 403 } });
    expect(s3ErrorLine(denied, 'b', 'listing')).toBe('error: access denied listing b (Forbidden): check the task role');
  });
});

describe('formatting', () => {
  it.each([
    [0, '0 B'],
    [999, '999 B'],
    [1000, '1.0 kB'],
    [5_612_345, '5.6 MB'],
    [3_200_000_000_000, '3.2 TB'],
  ])('humanBytes(%d) = %s', (bytes, text) => {
    expect(humanBytes(bytes)).toBe(text);
  });

  it('summary line', () => {
    expect(summaryLine({ count: 1234, bytes: 5_612_345 }, 840)).toBe(
      'listed 1234 objects, 5.6 MB (5612345 bytes) in 0.84 s',
    );
    expect(summaryLine({ count: 1, bytes: 3 }, 12_345)).toBe('listed 1 object, 3 B (3 bytes) in 12.35 s');
  });

  it('keys with control characters are escaped so each key stays one line', () => {
    expect(printableKey('a/b c.txt')).toBe('a/b c.txt');
    expect(printableKey('evil\nlisted 0 objects')).toBe('"evil\\nlisted 0 objects"');
  });
});

describe('guard helpers', () => {
  it('canonicalises the scheduled time so every spelling of one instant shares a lock', () => {
    for (const t of [
      '2026-11-28T03:30:00Z',
      '2026-11-28T03:30:00.000Z',
      '2026-11-28T12:30:00+09:00',
      '2026-11-28T03:30Z',
    ]) {
      expect(canonicalTime(t)).toBe('2026-11-28T03:30:00Z');
    }
    expect(canonicalTime('2026-11-28T03:30:00.250Z')).toBe('2026-11-28T03:30:00.250Z');
    expect(lockKey('2026-11-28T03:30:00Z')).toBe('.batchctl/runs/2026-11-28T03:30:00Z.json');
    expect(LOCK_PREFIX).toBe('.batchctl/runs/');
  });

  it.each(['yesterday', '2026-11-28', '2026-11-28T03:30:00', '2026-13-28T03:30:00Z'])('rejects %j', (t) => {
    expect(() => canonicalTime(t)).toThrow(GuardConfigError);
  });

  it('scopes the lock to BATCH_JOB_NAME, so two jobs due at the same minute each claim their own', () => {
    expect(lockKey('2026-11-28T03:30:00Z', 'report')).toBe('.batchctl/runs/report/2026-11-28T03:30:00Z.json');
    expect(jobNameOf({})).toBeUndefined();
    expect(jobNameOf({ BATCH_JOB_NAME: ' report ' })).toBe('report');
    expect(() => jobNameOf({ BATCH_JOB_NAME: '../other' })).toThrow(GuardConfigError);
  });

  it('only BATCH_DUPLICATE_GUARD=off disables the guard', () => {
    expect(guardEnabled({})).toBe(true);
    expect(guardEnabled({ BATCH_DUPLICATE_GUARD: 'on' })).toBe(true);
    expect(guardEnabled({ BATCH_DUPLICATE_GUARD: ' Off ' })).toBe(false);
  });
});
