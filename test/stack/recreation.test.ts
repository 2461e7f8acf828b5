/**
 * Real AWS is not a happy path: ids unknown for seconds after their create (EC2's eventual consistency),
 * names still held right after a deletion (a secret deleted without recovery, a bucket: OperationAborted),
 * buckets that cannot be tagged at creation (an S3-compatible endpoint, no s3:TagResource) and a process
 * killed between the create and the tagging, secrets in their recovery window or deleted by hand. Each
 * on the fake, asserting the resulting inventory.
 */
import { describe, expect, it, vi } from 'vitest';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { DeleteSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { FakeAws, InventoryEntry } from '../fake-aws/index.js';
import { freshFakeAws, leaveDeadLock, scratch, settleWithFakeTimers, upOn, type Scratch } from '../helpers/stack.js';
import { runDown } from '../../src/stack/down.js';
import { runPlan } from '../../src/stack/plan.js';
import { runStatus } from '../../src/runs/status.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import { RunFailed } from '../../src/base/errors.js';
import { exitCodeFor } from '../../src/cli/lib/errors.js';

const fresh = freshFakeAws();
const BUCKET = 'sample-batch-123456789012-ap-northeast-1';

const fakeTimers = () =>
  vi.useFakeTimers({
    now: Date.parse('2026-11-28T00:00:00Z'),
    toFake: ['setTimeout', 'clearTimeout', 'Date', 'setInterval', 'clearInterval'],
  });

const ours = (f: FakeAws): InventoryEntry[] =>
  f.inventory().filter((e) => !(e.type === 'secretsmanager.secret' && e.settings.pendingDeletion));

async function downOn(s: Scratch, opts: { force?: boolean } = {}) {
  const reporter = new RecordingReporter();
  const report = await runDown({
    configPath: s.configPath,
    statePath: s.statePath,
    reporter,
    interactive: false,
    yes: true,
    ...opts,
  });
  return { ...report, reporter };
}

/** The inventory a clean `up` leaves (on a fake set up by `prepare`). */
async function cleanInventory(prepare: (f: FakeAws) => void = () => {}): Promise<InventoryEntry[]> {
  const f = fresh();
  prepare(f);
  await upOn(scratch());
  return f.inventory();
}

describe('EC2 eventual consistency', () => {
  it('new ids unknown for a while (3 s to Describe, 30 s to calls naming them): every call using one is retried; nothing duplicated', async () => {
    const clean = await cleanInventory();
    fakeTimers();
    const f = fresh();
    f.ec2.visibilityLagMs = 3_000;
    f.ec2.referenceLagMs = 30_000;
    const s = scratch();
    const report = await settleWithFakeTimers(upOn(s));
    expect(report.counts.failed).toBe(0);
    const notFound = new Set(f.core.calls.filter((c) => /NotFound/.test(c.error ?? '')).map((c) => c.op));
    // (Which calls meet a NotFound depends on timing; the resource tests check each call that uses a new id.)
    for (const op of ['ModifyVpcAttribute', 'AuthorizeSecurityGroupIngress']) expect(notFound, op).toContain(op);
    expect(f.inventory()).toEqual(clean);
  });

  it('a lost CreateVpc answer while the new VPC is not visible yet: looked up until it shows, then adopted', async () => {
    const clean = await cleanInventory();
    fakeTimers();
    const f = fresh();
    f.ec2.visibilityLagMs = 6_000;
    f.core.loseResponse('CreateVpc');
    const report = await settleWithFakeTimers(upOn(scratch()));
    expect(report.counts.failed).toBe(0);
    expect(f.core.count({ op: 'CreateVpc' })).toBe(1);
    expect(
      report.reporter.progress.some(
        (p) => p.key === 'vpc' && /created by a call whose answer was lost \(ECONNRESET\) to show up/.test(p.message),
      ),
    ).toBe(true);
    expect(f.inventory()).toEqual(clean);
  });
});

describe('SQS: a new queue is not available at once', () => {
  it('the dead-letter queue unknown for 5 s after its create: its policy is set once it shows; nothing duplicated', async () => {
    const clean = await cleanInventory();
    fakeTimers();
    const f = fresh();
    f.sqs.visibilityLagMs = 5_000;
    const report = await settleWithFakeTimers(upOn(scratch()));
    expect(report.counts.failed).toBe(0);
    // The policy's first SetQueueAttributes met the lag and was sent again.
    expect(
      f.core.calls.filter((c) => c.op === 'SetQueueAttributes' && /QueueDoesNotExist/.test(c.error ?? '')).length,
    ).toBeGreaterThan(0);
    expect(f.core.count({ op: 'CreateQueue' })).toBe(1);
    expect(f.inventory()).toEqual(clean);
  });
});

describe('names still held after a deletion', () => {
  it('a secret deleted without recovery holds its name for a while: up waits for it (by code and state, whatever the message)', async () => {
    fakeTimers();
    const f = fresh();
    const s = scratch();
    f.secretsManager.forceDeleteLagMs = 20_000;
    await settleWithFakeTimers(upOn(s));
    const before = f.inventory();
    await settleWithFakeTimers(downOn(s, { force: true }));
    expect(f.secretsManager.secrets.size).toBe(0);
    f.secretsManager.markedMessage = 'Die Anfrage ist ungültig.';
    const report = await settleWithFakeTimers(upOn(s));
    expect(report.counts.failed).toBe(0);
    expect(
      f.core.calls.filter((c) => c.op === 'CreateSecret' && c.error === 'InvalidRequestException').length,
    ).toBeGreaterThan(0);
    expect(
      report.reporter.progress.some(
        (p) => p.key === 'secret' && /Secrets Manager to finish deleting the old secret sample-batch/.test(p.message),
      ),
    ).toBe(true);
    expect(f.inventory()).toEqual(before);
  });

  it('a bucket name deleted a moment ago answers OperationAborted: up retries with backoff until S3 lets go', async () => {
    fakeTimers();
    const f = fresh();
    const s = scratch();
    f.s3.nameReleaseMs = 30_000;
    // The dead-letter queue's name is free again at once (SQS's 60 s hold would outlast the bucket's).
    f.sqs.deletedNameHoldMs = 0;
    await settleWithFakeTimers(upOn(s));
    const before = f.inventory();
    await settleWithFakeTimers(downOn(s, { force: true }));
    const report = await settleWithFakeTimers(upOn(s));
    expect(report.counts.failed).toBe(0);
    expect(
      f.core.calls.filter((c) => c.op === 'CreateBucket' && c.error === 'OperationAborted').length,
    ).toBeGreaterThan(1);
    expect(f.inventory()).toEqual(before);
  });
});

describe('buckets that cannot be tagged at creation', () => {
  it('without s3:TagResource, CreateBucket with tags is AccessDenied: created without, then tagged', async () => {
    const clean = await cleanInventory();
    const f = fresh();
    f.s3.denyCreateTags = true;
    const report = await upOn(scratch());
    expect(report.counts.failed).toBe(0);
    const creates = f.core.calls.filter((c) => c.op === 'CreateBucket');
    expect(creates.map((c) => [c.error ?? 'ok', !!c.input.CreateBucketConfiguration.Tags])).toEqual([
      ['AccessDenied', true],
      ['ok', false],
    ]);
    expect(f.s3.buckets.get(BUCKET)!.tags).toMatchObject({
      'batchctl:stack': 'sample-batch',
      'batchctl:logical': 'bucket',
    });
    expect(f.inventory()).toEqual(clean);
  });

  for (const mode of ['ignoreCreateTags', 'denyCreateTags'] as const) {
    it(`killed between CreateBucket and PutBucketTagging (${mode}): the intent in the state lets the next up adopt the untagged bucket`, async () => {
      const clean = await cleanInventory((f) => {
        f.s3[mode] = true;
      });
      const f = fresh();
      f.s3[mode] = true;
      const s = scratch();
      let snapshot: string | undefined;
      f.core.inject({
        // Without s3:TagResource the first CreateBucket is refused (nothing applied, no crash): the kill
        // follows the untagged one.
        kind: 'crash',
        match: (c) => c.op === 'CreateBucket',
        onCrash: () => {
          snapshot = existsSync(s.statePath) ? readFileSync(s.statePath, 'utf8') : undefined;
        },
      });
      await upOn(s).catch(() => {});
      // What the kill leaves: the state as it was at that instant, an untagged bucket, a stale lock.
      expect(f.s3.buckets.get(BUCKET)!.tags).toBeUndefined();
      expect(JSON.parse(snapshot!).resources.bucket.attrs.createStartedAt).toEqual(expect.any(String));
      writeFileSync(s.statePath, snapshot!);
      leaveDeadLock(f);
      const report = await upOn(s);
      expect(report.counts.failed).toBe(0);
      expect(report.events.find((e) => e.key === 'bucket')).toMatchObject({ action: 'updated', changes: ['tags'] });
      expect(f.s3.buckets.get(BUCKET)!.tags).toMatchObject({ 'batchctl:stack': 'sample-batch' });
      expect(f.inventory()).toEqual(clean);
    });
  }

  it('without that intent (the state lost), the untagged bucket is refused before any write', async () => {
    const f = fresh();
    f.s3.ignoreCreateTags = true;
    const s = scratch();
    f.core.inject({ kind: 'crash', match: (c) => c.op === 'CreateBucket' });
    await upOn(s).catch(() => {});
    rmSync(s.statePath, { force: true });
    f.core.resetCalls();
    const err = await upOn(s).catch((e) => e);
    expect(err).toBeInstanceOf(RunFailed);
    expect(exitCodeFor(err)).toBe(2);
    expect(err.message).toMatch(
      /S3 bucket sample-batch-123456789012-ap-northeast-1 \(bucket\) already exists but has no batchctl:stack tag/,
    );
    expect(f.core.mutatingCalls()).toEqual([]);
  });
});

describe('a secret pending deletion is told by its code and its state, not by the message', () => {
  it('after down (secret in its recovery window): plan, status and a second down work, with any message', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    await downOn(s);
    f.secretsManager.markedMessage = 'Die Anfrage ist ungültig.';
    const plan = await runPlan({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() });
    expect(plan.entries.filter((e) => e.action === 'error')).toEqual([]);
    expect(plan.entries.find((e) => e.key === 'secret')).toMatchObject({
      action: 'update',
      changes: [expect.objectContaining({ field: 'pendingDeletion' })],
    });
    expect(plan.entries.find((e) => e.key === 'secret/value')).toMatchObject({ action: 'create' });
    const status = await runStatus({
      configPath: s.configPath,
      statePath: s.statePath,
      reporter: new RecordingReporter(),
      displayTimeZone: 'UTC',
    });
    expect(status.counts.error).toBe(0);
    f.core.resetCalls();
    const again = await downOn(s);
    expect(again.failures).toEqual([]);
    expect(f.core.mutatingCalls()).toEqual([]);
    // --force deletes it at once, also from its recovery window; a lost answer of that is fine too.
    f.core.loseResponse('DeleteSecret');
    await downOn(s, { force: true });
    expect(f.secretsManager.secrets.size).toBe(0);
  });

  it('after the secret was deleted by hand (scheduled, or at once), down still deletes everything else', async () => {
    for (const force of [false, true]) {
      const f = fresh();
      const s = scratch();
      await upOn(s);
      f.secretsManager.markedMessage = 'Die Anfrage ist ungültig.';
      await new SecretsManagerClient({ region: 'ap-northeast-1' }).send(
        new DeleteSecretCommand({
          SecretId: 'sample-batch',
          ...(force ? { ForceDeleteWithoutRecovery: true } : { RecoveryWindowInDays: 7 }),
        }),
      );
      const report = await downOn(s);
      expect(report.failures).toEqual([]);
      expect(ours(f), `secret deleted by hand${force ? ' at once' : ''}`).toEqual([]);
      expect(JSON.parse(readFileSync(s.statePath, 'utf8')).resources).toEqual({});
    }
  });
});
