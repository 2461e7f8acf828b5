/**
 * AWS's control-plane throttling: the fake answers as each service does, the SDK's standard retry mode
 * classifies every one of those answers as throttling, the product paces its mutating calls to AWS's
 * buckets, and creates that AWS cannot make idempotent survive throttling without duplicates.
 */
import { describe, expect, it, vi } from 'vitest';
import { isThrottlingError } from '@smithy/core/retry';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { FakeAwsError } from '../fake-aws/core.js';
import { AWS_THROTTLING } from '../fake-aws/throttling.js';
import { Pacer, TokenBucket, AWS_RATES } from '../../src/aws/pacing.js';
import { createOnce } from '../../src/resources/lib/create.js';
import { freshFakeAws, scratch, upOn } from '../helpers/stack.js';
import { testCtx } from '../helpers/ctx.js';
import { readFileSync } from 'node:fs';
import { DEFAULT_CONFIG_PATH } from '../helpers/ctx.js';
import { RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';

const fresh = freshFakeAws();
const trust = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

describe('the fake throttles as each service does', () => {
  it.each(Object.entries(AWS_THROTTLING))(
    "%s: its throttling answer is throttling to the SDK's standard retry mode",
    (_service, t) => {
      expect(isThrottlingError(new FakeAwsError(t.error.code, t.error.message, t.error.status) as never)).toBe(true);
    },
  );

  it('the models agree: the product paces at the rates the fake throttles at', () => {
    const fakeName = (s: string) => ({ eventBridge: 'eventbridge' })[s] ?? s;
    for (const [service, r] of Object.entries(AWS_RATES)) {
      const t = AWS_THROTTLING[fakeName(service)]!;
      expect(r.default, service).toEqual(t.bucket);
      for (const b of r.buckets ?? [])
        expect(t.special!.find(([, name]) => name === b.name)![2], `${service}/${b.name}`).toEqual(b.rate);
    }
  });

  it('a burst past the bucket is throttled, and the SDK (standard mode) retries it with its own backoff until it passes', async () => {
    const f = fresh();
    const throttler = f.core.enableThrottling({
      iam: { error: AWS_THROTTLING.iam!.error, bucket: { capacity: 2, perSecond: 20 } },
    });
    const iam = new IAMClient({ region: 'ap-northeast-1', retryMode: 'standard', maxAttempts: 8 });
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        iam.send(new CreateRoleCommand({ RoleName: `r${i}`, AssumeRolePolicyDocument: trust })),
      ),
    );
    expect(f.iam.roles.size).toBe(6);
    expect(throttler.throttled.get('iam/default')).toBeGreaterThan(0);
    // Each refused call was not applied: one role per name, and the log shows the refusals.
    expect(f.core.calls.filter((c) => c.error === 'Throttling').length).toBe(throttler.throttled.get('iam/default'));
    // A client that never resends sees the refusal itself.
    f.core.enableThrottling({ iam: { error: AWS_THROTTLING.iam!.error, bucket: { capacity: 0, perSecond: 0.001 } } });
    const once = new IAMClient({ region: 'ap-northeast-1', maxAttempts: 1 });
    await expect(
      once.send(new CreateRoleCommand({ RoleName: 'x', AssumeRolePolicyDocument: trust })),
    ).rejects.toMatchObject({ name: 'Throttling' });
  });
});

describe('pacing', () => {
  it('a token bucket lets its burst through, then one call per refill, in order', () => {
    let now = 0;
    // One token of headroom below AWS's bucket of 3 (a call reaches AWS a moment after it leaves).
    const b = new TokenBucket({ capacity: 3, perSecond: 1 }, () => now);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([0, 0, 1000, 2000]);
    now = 10_000;
    expect(b.take()).toBe(0);
    const p = new Pacer(AWS_RATES, () => 0);
    // Reads never wait; task definitions have their own bucket.
    expect(Array.from({ length: 30 }, () => p.delayFor('ecs', 'DescribeTaskDefinition')).every((d) => d === 0)).toBe(
      true,
    );
    const waits = Array.from({ length: 21 }, () => p.delayFor('ecs', 'RegisterTaskDefinition'));
    expect(waits.slice(0, 19).every((d) => d === 0)).toBe(true);
    expect(waits.slice(19)).toEqual([1000, 2000]);
    expect(p.delayFor('ecs', 'CreateCluster')).toBe(0);
  });

  it("a wall clock that stands still (or jumps back) holds no call: a bucket refills at least for its timer's wait", async () => {
    vi.useFakeTimers({ now: Date.parse('2026-03-01T12:00:00Z'), toFake: ['Date'] });
    try {
      const b = new TokenBucket({ capacity: 2, perSecond: 100 });
      let sent = 0;
      await Promise.all(
        Array.from({ length: 4 }, () =>
          b.acquire().then(() => {
            sent += 1;
          }),
        ),
      );
      expect(sent).toBe(4);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a process that stalls wakes to the tokens the stall refilled, not to every call whose turn came meanwhile', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      // AWS's bucket: 4, refilled 40 a second; ours holds one less.
      const b = new TokenBucket({ capacity: 4, perSecond: 40 });
      let sent = 0;
      for (let i = 0; i < 12; i++)
        void b.acquire().then(() => {
          sent += 1;
        });
      await vi.advanceTimersByTimeAsync(0);
      expect(sent).toBe(3);
      // The event loop is held 107 ms (no timer runs): AWS refilled 4.28 tokens meanwhile, its bucket holds 4.
      vi.setSystemTime(Date.now() + 107);
      await vi.advanceTimersToNextTimerAsync();
      // Three go (our bucket's size), not the four whose turns came during the stall: AWS keeps one spare.
      expect(sent).toBe(6);
      await vi.advanceTimersByTimeAsync(25);
      expect(sent).toBe(7);
    } finally {
      vi.useRealTimers();
    }
  });

  it("an up paced to the buckets is never throttled; unpaced, it is, and the SDK's retries still converge it", async () => {
    const jobs = Array.from({ length: 8 }, (_, i) => `  j${i}: {}\n`).join('');
    const text =
      readFileSync(DEFAULT_CONFIG_PATH, 'utf8')
        .replace('  family: sample-batch\n', '')
        .replace(/^schedule:\n  name: sample-batch\n/m, 'schedule:\n') + `\njobs:\n${jobs}`;
    // Buckets small enough to matter at this size (an 8-job stack sends ~40 IAM writes).
    const small = { ...AWS_THROTTLING, iam: { ...AWS_THROTTLING.iam!, bucket: { capacity: 4, perSecond: 40 } } };
    const rates = { ...AWS_RATES, iam: { default: { capacity: 4, perSecond: 40 } } };

    const f = fresh();
    const paced = f.core.enableThrottling(small);
    const r = await upOn(scratch(text), { pacer: new Pacer(rates) });
    expect(r.counts.failed).toBe(0);
    expect(Object.fromEntries(paced.throttled)).toEqual({});

    const g = fresh();
    const unpaced = g.core.enableThrottling(small);
    const r2 = await upOn(scratch(text), { pacer: new Pacer({}) });
    expect(r2.counts.failed).toBe(0);
    expect(unpaced.throttled.get('iam/default')).toBeGreaterThan(0);
    expect(g.inventory()).toEqual(f.inventory());
  });
});

describe('a create AWS cannot make idempotent, throttled', () => {
  it('is sent again until it passes, however many times, without counting attempts or registering twice', async () => {
    const f = fresh();
    // Refused nine times in a row (more than createOnce's five attempts), then let through.
    const throttle = f.core.throttle('RegisterTaskDefinition', 9);
    const slept: number[] = [];
    const ctx = Object.assign(await testCtx(f), {
      clock: {
        now: () => slept.reduce((a, b) => a + b, 0),
        sleep: async (ms: number) => {
          slept.push(ms);
        },
      },
    });
    let sends = 0;
    const out = await createOnce(
      ctx,
      'family x',
      async () => {
        sends++;
        return ctx.aws.once.ecs.send(
          new RegisterTaskDefinitionCommand({ family: 'x', containerDefinitions: [{ name: 'x', image: 'busybox' }] }),
        );
      },
      async () => undefined,
    );
    expect(throttle.times).toBe(0);
    expect(sends).toBe(10);
    // The SDK's throttling backoff: full jitter under 500 ms doubling, capped at 20 s.
    slept.forEach((ms, i) => expect(ms).toBeLessThanOrEqual(Math.min(500 * 2 ** i, 20_000) + 1));
    expect(out.taskDefinition?.revision).toBe(1);
    expect(f.ecs.taskDefs.filter((t) => t.family === 'x')).toHaveLength(1);
  });
});
