import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CreateBucketCommand, S3Client, type BucketLocationConstraint } from '@aws-sdk/client-s3';
import { createFakeAws, type FakeAws } from '../../test/fake-aws/index.js';
import { run, type RunDeps } from '../src/main.js';
import { LOCK_PREFIX } from '../src/guard.js';

const BUCKET = 'job-test-bucket';
const TIME = '2026-11-28T03:30:00Z';
const TASK_ARN = 'arn:aws:ecs:ap-northeast-1:123456789012:task/sample-batch/0123456789abcdef';

let fake: FakeAws;
let s3: S3Client;

beforeEach(async () => {
  fake = createFakeAws();
  s3 = new S3Client({ region: fake.core.region });
  await s3.send(
    new CreateBucketCommand({
      Bucket: BUCKET,
      CreateBucketConfiguration: { LocationConstraint: fake.core.region as BucketLocationConstraint },
    }),
  );
  fake.core.resetCalls();
});

afterEach(() => {
  fake.uninstall();
  vi.restoreAllMocks();
});

/** Runs the job and captures its output; `clock` is what `now()` returns (tests move it). */
async function runJob(env: Record<string, string | undefined>, extra: Partial<RunDeps> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(env, { s3, out: (l) => out.push(l), err: (l) => err.push(l), now: () => 0, ...extra });
  return { code, out, err };
}

function lockBody(time = TIME): Record<string, unknown> | undefined {
  const versions = fake.s3.buckets.get(BUCKET)!.objects.get(`${LOCK_PREFIX}${time}.json`);
  const latest = versions?.at(-1);
  return latest ? JSON.parse(new TextDecoder().decode(latest.body)) : undefined;
}

function lockKeys(): string[] {
  return [...fake.s3.buckets.get(BUCKET)!.objects.keys()].filter((k) => k.startsWith(LOCK_PREFIX));
}

describe('listing', () => {
  it('prints every key across pages, in order, then a correct summary line', async () => {
    const keys: string[] = [];
    let bytes = 0;
    for (let i = 0; i < 2345; i++) {
      const key = `data/${String(i).padStart(5, '0')}.csv`;
      const body = 'x'.repeat(i % 7);
      fake.s3.addObject(BUCKET, key, body);
      keys.push(key);
      bytes += body.length;
    }
    const lines: string[] = [];
    let clock = 1_000;
    const { code, err } = await runJob(
      { S3_BUCKET_NAME: BUCKET },
      {
        now: () => clock,
        out: (l) => {
          lines.push(l);
          clock = 1_840;
        },
      },
    );
    expect({ code, err }).toEqual({ code: 0, err: [] });
    expect(lines.slice(0, -1)).toEqual(keys);
    expect(lines.at(-1)).toBe(`listed 2345 objects, ${(bytes / 1000).toFixed(1)} kB (${bytes} bytes) in 0.84 s`);
    expect(fake.core.count({ op: 'ListObjectsV2' })).toBe(3);
  });

  it('lists an empty bucket', async () => {
    const { code, out } = await runJob({ S3_BUCKET_NAME: BUCKET });
    expect(code).toBe(0);
    expect(out).toEqual(['listed 0 objects, 0 B (0 bytes) in 0.00 s']);
  });

  it('skips the guard lock objects and does not count them', async () => {
    fake.s3.addObject(BUCKET, `${LOCK_PREFIX}2026-11-28T02:30:00Z.json`, '{"scheduledTime":"x"}');
    fake.s3.addObject(BUCKET, 'a.txt', 'hello');
    fake.s3.addObject(BUCKET, '.batchctl/other', 'kept');
    const { code, out } = await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: TIME });
    expect(code).toBe(0);
    expect(lockKeys()).toHaveLength(2);
    expect(out.filter((l) => !l.startsWith('claimed') && !l.startsWith('listed'))).toEqual([
      '.batchctl/other',
      'a.txt',
    ]);
    expect(out.at(-1)).toBe('listed 2 objects, 9 B (9 bytes) in 0.00 s');
  });
});

describe('errors', () => {
  it.each([undefined, '', '  '])('S3_BUCKET_NAME=%j exits 2 without calling AWS', async (value) => {
    const { code, out, err } = await runJob({ S3_BUCKET_NAME: value, BATCH_SCHEDULED_TIME: TIME });
    expect(code).toBe(2);
    expect(err).toEqual(['error: S3_BUCKET_NAME is not set']);
    expect(out).toEqual([]);
    expect(fake.core.calls).toHaveLength(0);
  });

  it('a missing bucket exits 1 (listing and claiming alike)', async () => {
    const listing = await runJob({ S3_BUCKET_NAME: 'no-such-bucket' });
    expect(listing.code).toBe(1);
    expect(listing.err).toEqual(['error: bucket no-such-bucket does not exist (NoSuchBucket)']);
    const claiming = await runJob({ S3_BUCKET_NAME: 'no-such-bucket', BATCH_SCHEDULED_TIME: TIME });
    expect(claiming.code).toBe(1);
    expect(claiming.err).toEqual(['error: bucket no-such-bucket does not exist (NoSuchBucket)']);
  });

  it('access denied on listing exits 1 with a one-line hint', async () => {
    fake.s3.addObject(BUCKET, 'a.txt', 'a');
    fake.core.inject({
      kind: 'error',
      code: 'AccessDenied',
      status: 403,
      message: 'Access Denied',
      match: (c) => c.op === 'ListObjectsV2',
    });
    const { code, out, err } = await runJob({ S3_BUCKET_NAME: BUCKET });
    expect(code).toBe(1);
    expect(err).toEqual([`error: access denied listing ${BUCKET} (AccessDenied): check the task role`]);
    expect(out).toEqual([]);
  });

  it('access denied on the claim exits 1 before listing, naming the permission and the switch', async () => {
    fake.core.inject({
      kind: 'error',
      code: 'AccessDenied',
      status: 403,
      message: 'Access Denied',
      match: (c) => c.op === 'PutObject',
    });
    const { code, err } = await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: TIME });
    expect(code).toBe(1);
    expect(err).toEqual([
      `error: access denied claiming the scheduled run in ${BUCKET} (AccessDenied): the task role needs s3:PutObject on ${LOCK_PREFIX}* (or set BATCH_DUPLICATE_GUARD=off)`,
    ]);
    expect(fake.core.count({ op: 'ListObjectsV2' })).toBe(0);
  });

  it('a failure mid-listing exits 1 after printing the pages it got', async () => {
    for (let i = 0; i < 1500; i++) fake.s3.addObject(BUCKET, `k${String(i).padStart(4, '0')}`);
    let n = 0;
    fake.core.inject({
      kind: 'error',
      code: 'InternalError',
      status: 500,
      message: 'We encountered an internal error.\nPlease try again.',
      match: (c) => c.op === 'ListObjectsV2' && n++ === 1,
    });
    const { code, out, err } = await runJob({ S3_BUCKET_NAME: BUCKET });
    expect(code).toBe(1);
    expect(out).toHaveLength(1000);
    expect(err).toEqual([
      `error: listing ${BUCKET} failed (InternalError): We encountered an internal error. Please try again.`,
    ]);
  });

  it('a BATCH_SCHEDULED_TIME that is not an ISO time exits 2 without calling AWS', async () => {
    const { code, err } = await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: 'yesterday' });
    expect(code).toBe(2);
    expect(err).toEqual(['error: BATCH_SCHEDULED_TIME is not an ISO time with a zone: "yesterday"']);
    expect(fake.core.calls).toHaveLength(0);
  });

  it('a scheduled-time placeholder left unfilled is refused, not claimed: every later run would be a duplicate of it', async () => {
    const { code, err } = await runJob({
      S3_BUCKET_NAME: BUCKET,
      BATCH_SCHEDULED_TIME: '<aws.scheduler.scheduled-time>',
    });
    expect(code).toBe(2);
    expect(err).toEqual([
      'error: BATCH_SCHEDULED_TIME is not an ISO time with a zone: "<aws.scheduler.scheduled-time>" (a placeholder its trigger did not fill in: run `batchctl up` to rewrite the schedule)',
    ]);
    expect(fake.core.calls).toHaveLength(0);
  });
});

describe('duplicate-trigger guard', () => {
  const metadataFetch = () =>
    vi.fn(async (url: string | URL | Request) => {
      expect(String(url)).toBe('http://169.254.170.2/v4/abc/task');
      return new Response(JSON.stringify({ TaskARN: TASK_ARN, Family: 'sample-batch' }), { status: 200 });
    });
  const ecsEnv = {
    S3_BUCKET_NAME: BUCKET,
    BATCH_SCHEDULED_TIME: TIME,
    ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/abc',
  };

  it('the first run claims the time with a lock naming the task; a second start exits 0 without listing', async () => {
    fake.s3.addObject(BUCKET, 'a.txt', 'a');
    const okFetch = metadataFetch();
    const first = await runJob(ecsEnv, {
      fetch: okFetch as typeof fetch,
      now: () => Date.parse('2026-11-28T03:30:07Z'),
    });
    expect(first.code).toBe(0);
    expect(first.out).toEqual([
      `claimed scheduled time ${TIME} (${LOCK_PREFIX}${TIME}.json)`,
      'a.txt',
      expect.stringMatching(/^listed 1 object, /),
    ]);
    expect(lockBody()).toEqual({
      scheduledTime: TIME,
      claimId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      taskArn: TASK_ARN,
      startedAt: '2026-11-28T03:30:07.000Z',
    });
    const put = fake.core.calls.find((c) => c.op === 'PutObject')!;
    expect(put.input).toMatchObject({
      Bucket: BUCKET,
      Key: `${LOCK_PREFIX}${TIME}.json`,
      IfNoneMatch: '*',
      ContentType: 'application/json',
    });

    fake.core.resetCalls();
    const second = await runJob(ecsEnv, { fetch: okFetch as typeof fetch });
    expect(second.code).toBe(0);
    expect(second.err).toEqual([]);
    expect(second.out).toEqual([
      `scheduled time ${TIME} already ran (${LOCK_PREFIX}${TIME}.json exists): duplicate trigger, nothing to do`,
    ]);
    // The claim is read back: it is not this start's own (another claim id).
    expect(fake.core.calls.map((c) => [c.op, c.error])).toEqual([
      ['PutObject', 'PreconditionFailed'],
      ['GetObject', undefined],
    ]);
    expect(lockBody()!.startedAt).toBe('2026-11-28T03:30:07.000Z');
  });

  it('another spelling of the same instant hits the same lock', async () => {
    expect((await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: '2026-11-28T03:30:00.000Z' })).code).toBe(0);
    const again = await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: '2026-11-28T12:30:00+09:00' });
    expect(again.out[0]).toMatch(/already ran/);
    expect(lockKeys()).toEqual([`${LOCK_PREFIX}${TIME}.json`]);
  });

  it('two jobs of one stack due at the same instant each claim their own lock and both run', async () => {
    fake.s3.addObject(BUCKET, 'a.txt', 'a');
    const original = await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: TIME });
    const report = await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: TIME, BATCH_JOB_NAME: 'report' });
    expect(report.out).toEqual([
      `claimed scheduled time ${TIME} (${LOCK_PREFIX}report/${TIME}.json)`,
      'a.txt',
      expect.stringMatching(/^listed 1 object, /),
    ]);
    expect([original.code, report.code]).toEqual([0, 0]);
    expect(lockKeys().sort()).toEqual([`${LOCK_PREFIX}${TIME}.json`, `${LOCK_PREFIX}report/${TIME}.json`]);
    // The same job again is still a duplicate.
    expect(
      (await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: TIME, BATCH_JOB_NAME: 'report' })).out[0],
    ).toMatch(/already ran/);
  });

  describe('a state machine retrying a failed run (BATCH_RUN_ID: its execution)', () => {
    const RUN = 'arn:aws:states:ap-northeast-1:123456789012:execution:sample-batch:2f6c0e1d';
    const OTHER = 'arn:aws:states:ap-northeast-1:123456789012:execution:sample-batch:9a41b7c3';

    it('a retry of the run that holds the claim runs again; another delivery of the time stays a duplicate', async () => {
      fake.s3.addObject(BUCKET, 'a.txt', 'a');
      const first = await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: TIME, BATCH_RUN_ID: RUN });
      expect(first.out[0]).toBe(`claimed scheduled time ${TIME} (${LOCK_PREFIX}${TIME}.json)`);
      expect(lockBody()).toMatchObject({ scheduledTime: TIME, runId: RUN });
      // The first attempt failed after claiming; the state machine runs the task again with the same time.
      const retry = await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: TIME, BATCH_RUN_ID: RUN });
      expect(retry.code).toBe(0);
      expect(retry.out).toEqual([
        `scheduled time ${TIME} is claimed by this run (${LOCK_PREFIX}${TIME}.json): a retry, running again`,
        'a.txt',
        expect.stringMatching(/^listed 1 object, /),
      ]);
      // A second delivery of the same time is another execution: a duplicate, whatever its attempt.
      const duplicate = await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: TIME, BATCH_RUN_ID: OTHER });
      expect(duplicate.out).toEqual([expect.stringMatching(/already ran .*: duplicate trigger, nothing to do$/)]);
      // The claim still names the run that made it.
      expect(lockBody()).toMatchObject({ runId: RUN });
    });

    it("a claim made without a run id (the direct target) is never taken for this run's own", async () => {
      expect((await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: TIME })).out[0]).toMatch(/^claimed/);
      const sfn = await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: TIME, BATCH_RUN_ID: RUN });
      expect(sfn.out).toEqual([expect.stringMatching(/already ran/)]);
      expect(fake.core.calls.filter((c) => c.op === 'GetObject')).toHaveLength(1);
      expect(lockBody()).not.toHaveProperty('runId');
    });

    it('the claim read fails: exit 1 naming it, never a silent skip', async () => {
      await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: TIME, BATCH_RUN_ID: RUN });
      fake.core.inject({
        kind: 'error',
        code: 'AccessDenied',
        status: 403,
        message: 'Access Denied',
        match: (c) => c.op === 'GetObject',
      });
      const r = await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: TIME, BATCH_RUN_ID: RUN });
      expect(r.code).toBe(1);
      expect(r.err[0]).toMatch(/AccessDenied/);
    });
  });

  it('PreconditionFailed (412) on the claim means already claimed by another: exit 0 without listing', async () => {
    fake.s3.addObject(
      BUCKET,
      `${LOCK_PREFIX}${TIME}.json`,
      JSON.stringify({ scheduledTime: TIME, claimId: 'another-delivery' }),
    );
    const { code, out, err } = await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: TIME });
    expect(code).toBe(0);
    expect(err).toEqual([]);
    expect(out).toEqual([expect.stringMatching(/^scheduled time 2026-11-28T03:30:00Z already ran/)]);
    expect(fake.core.count({ op: 'ListObjectsV2' })).toBe(0);
  });

  it("a claim whose answer was lost is recognised as this run's own: the resend's 412 does not skip the run", async () => {
    fake.s3.addObject(BUCKET, 'a.txt', 'a');
    fake.core.loseResponse((c) => c.op === 'PutObject' && c.input.Key === `${LOCK_PREFIX}${TIME}.json`, {
      status: 503,
    });
    const { code, out } = await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: TIME });
    expect(code).toBe(0);
    expect(out[0]).toBe(`claimed scheduled time ${TIME} (${LOCK_PREFIX}${TIME}.json)`);
    expect(out).toContain('a.txt');
    expect(fake.core.calls.filter((c) => c.op === 'PutObject').map((c) => c.error ?? (c.lost ? 'lost' : 'ok'))).toEqual(
      ['lost', 'PreconditionFailed'],
    );
    // Another delivery of the same time (its own claim id) stays a duplicate.
    const again = await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: TIME });
    expect(again.out).toEqual([expect.stringMatching(/already ran/)]);
  });

  it('a claim that vanishes between the 412 and the read is claimed again', async () => {
    fake.core.inject({
      kind: 'error',
      code: 'PreconditionFailed',
      status: 412,
      message: 'At least one of the pre-conditions you specified did not hold',
      match: (c) => c.op === 'PutObject',
    });
    const { code, out } = await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: TIME });
    expect(code).toBe(0);
    expect(out[0]).toBe(`claimed scheduled time ${TIME} (${LOCK_PREFIX}${TIME}.json)`);
    expect(fake.core.calls.map((c) => [c.op, c.error]).slice(0, 3)).toEqual([
      ['PutObject', 'PreconditionFailed'],
      ['GetObject', 'NoSuchKey'],
      ['PutObject', undefined],
    ]);
  });

  describe('409 ConditionalRequestConflict (another write to the key was in flight) is retried, never taken as claimed', () => {
    const conflict = (times: number) =>
      fake.core.inject({
        kind: 'error',
        code: 'ConditionalRequestConflict',
        status: 409,
        times,
        message: 'A conflicting operation occurred. If using PutObject you can retry the request.',
        match: (c) => c.op === 'PutObject',
      });
    const sleeps: number[] = [];
    const sleep = async (ms: number) => {
      sleeps.push(ms);
    };
    beforeEach(() => {
      sleeps.length = 0;
    });

    it('the other write failed: the retry claims the time and the job runs', async () => {
      fake.s3.addObject(BUCKET, 'a.txt', 'a');
      conflict(2);
      const { code, out } = await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: TIME }, { sleep });
      expect(code).toBe(0);
      expect(out[0]).toBe(`claimed scheduled time ${TIME} (${LOCK_PREFIX}${TIME}.json)`);
      expect(out).toContain('a.txt');
      expect(fake.core.calls.filter((c) => c.op === 'PutObject').map((c) => c.error)).toEqual([
        'ConditionalRequestConflict',
        'ConditionalRequestConflict',
        undefined,
      ]);
      expect(lockKeys()).toEqual([`${LOCK_PREFIX}${TIME}.json`]);
      expect(sleeps).toHaveLength(2);
      expect(sleeps[1]!).toBeGreaterThan(sleeps[0]!); // backoff grows
    });

    it('the other write won: the retry gets 412 and the run is a duplicate', async () => {
      await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: TIME }); // the winner
      fake.core.resetCalls();
      conflict(1);
      const { code, out } = await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: TIME }, { sleep });
      expect(code).toBe(0);
      expect(out).toEqual([expect.stringMatching(/already ran/)]);
      expect(fake.core.calls.map((c) => [c.op, c.error])).toEqual([
        ['PutObject', 'ConditionalRequestConflict'],
        ['PutObject', 'PreconditionFailed'],
        ['GetObject', undefined],
      ]);
    });

    it('a conflict on every attempt gives up after a bounded number with exit 1, never skipping silently', async () => {
      conflict(100);
      const { code, out, err } = await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: TIME }, { sleep });
      expect(code).toBe(1);
      expect(out).toEqual([]);
      expect(err).toEqual([
        expect.stringMatching(
          /^error: claiming the scheduled run in job-test-bucket failed \(ClaimConflict\): S3 answered 5 conditional writes/,
        ),
      ]);
      expect(fake.core.count({ op: 'PutObject' })).toBe(5);
      expect(sleeps).toHaveLength(4);
      expect(sleeps.reduce((a, b) => a + b, 0)).toBeLessThan(5_000);
      expect(fake.core.count({ op: 'ListObjectsV2' })).toBe(0);
    });
  });

  it('another 409 (OperationAborted) is a failure, not a claim', async () => {
    fake.core.inject({
      kind: 'error',
      code: 'OperationAborted',
      status: 409,
      message: 'A conflicting conditional operation is currently in progress',
      match: (c) => c.op === 'PutObject',
    });
    const { code, err } = await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: TIME });
    expect(code).toBe(1);
    expect(err[0]).toMatch(/\(OperationAborted\)/);
  });

  it('a run-now run (no scheduled time) takes no lock and is never blocked', async () => {
    await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: TIME });
    fake.core.resetCalls();
    for (const t of [undefined, '']) {
      const { code, out } = await runJob({ S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: t });
      expect(code).toBe(0);
      expect(out.at(-1)).toMatch(/^listed 0 objects/);
    }
    expect(fake.core.count({ op: 'PutObject' })).toBe(0);
    expect(lockKeys()).toEqual([`${LOCK_PREFIX}${TIME}.json`]);
  });

  it.each(['off', 'OFF'])('BATCH_DUPLICATE_GUARD=%s takes no lock, even for a claimed time', async (value) => {
    fake.s3.addObject(BUCKET, `${LOCK_PREFIX}${TIME}.json`, '{}');
    const { code, out } = await runJob({
      S3_BUCKET_NAME: BUCKET,
      BATCH_SCHEDULED_TIME: TIME,
      BATCH_DUPLICATE_GUARD: value,
    });
    expect(code).toBe(0);
    expect(out).toEqual(['listed 0 objects, 0 B (0 bytes) in 0.00 s']);
    expect(fake.core.count({ op: 'PutObject' })).toBe(0);
    expect(lockKeys()).toEqual([`${LOCK_PREFIX}${TIME}.json`]);
  });

  it('claims without a task ARN when the metadata endpoint fails', async () => {
    const failing = vi.fn(async () => {
      throw new TypeError('fetch failed');
    });
    const { code } = await runJob(ecsEnv, { fetch: failing as typeof fetch });
    expect(code).toBe(0);
    expect(failing).toHaveBeenCalledOnce();
    expect(lockBody()).toEqual({
      scheduledTime: TIME,
      claimId: expect.any(String),
      startedAt: '1970-01-01T00:00:00.000Z',
    });
  });

  it('does not ask for task metadata outside ECS', async () => {
    const spy = metadataFetch();
    const { code } = await runJob(
      { S3_BUCKET_NAME: BUCKET, BATCH_SCHEDULED_TIME: TIME },
      { fetch: spy as typeof fetch },
    );
    expect(code).toBe(0);
    expect(spy).not.toHaveBeenCalled();
    expect(lockBody()).not.toHaveProperty('taskArn');
  });
});
