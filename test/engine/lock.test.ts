/**
 * The stack's lock in the account (src/state/lock.ts), against the fake Parameter Store: taken once,
 * refused naming its holder, released, forced, taken over from a dead run of this machine, and kept
 * right when AWS's answers are lost.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostname } from 'node:os';
import { createAwsClients } from '../../src/aws/clients.js';
import { LockHeld, StackLock, machineId, lockParameterName } from '../../src/state/lock.js';
import { UserError } from '../../src/base/errors.js';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';

const NAME = lockParameterName('sample-batch');
let fake: FakeAws;
let ssm: Awaited<ReturnType<typeof createAwsClients>>['ssm'];
beforeEach(async () => {
  fake = createFakeAws();
  ssm = (await createAwsClients({ region: 'ap-northeast-1' }, ['ssm'])).ssm;
});
afterEach(() => fake.uninstall());
const lockOf = () => new StackLock(ssm, 'sample-batch', 'ap-northeast-1');
const stored = () => fake.ssm.byNameOrArn(NAME);

describe('the stack lock (a Parameter Store parameter)', () => {
  it('is created once, standard tier and tagged; a second run is refused naming the holder and its age', async () => {
    fake.ssm.defaultTier = 'Advanced'; // an account defaulting to the billed tier: the lock still is standard
    const lock = await lockOf().lock({
      command: 'batchctl up',
      caller: 'arn:aws:sts::123456789012:assumed-role/ci/run-1',
    });
    const put = fake.core.calls.find((c) => c.op === 'PutParameter')!;
    expect(put.input).toMatchObject({
      Name: '/batchctl/sample-batch/lock',
      Type: 'String',
      Tier: 'Standard',
      Overwrite: false,
      Tags: [{ Key: 'batchctl:stack', Value: 'sample-batch' }],
    });
    expect(stored()).toMatchObject({ tier: 'Standard', tags: { 'batchctl:stack': 'sample-batch' } });
    expect(JSON.parse(stored()!.value)).toMatchObject({
      id: lock.info.id,
      command: 'batchctl up',
      host: hostname(),
      pid: process.pid,
      machine: machineId(),
    });
    const err = await lockOf()
      .lock({ command: 'batchctl down' })
      .catch((e) => e);
    expect(err).toBeInstanceOf(LockHeld);
    expect(err.message).toMatch(
      new RegExp(
        `^stack sample-batch in ap-northeast-1 is locked by 'batchctl up' by \\S* ?\\(arn:aws:sts::123456789012:assumed-role/ci/run-1\\) on ${hostname()}, pid ${process.pid}, since \\S+ \\(0s ago\\), lock id ${lock.info.id}$`,
      ),
    );
    expect(err.hint).toContain(`--force-unlock ${lock.info.id}`);
    await lock.release();
    expect(stored()).toBeUndefined();
    // Released: the next run takes it with one call.
    fake.core.resetCalls();
    await (await lockOf().lock({ command: 'batchctl up' })).release();
    expect(fake.core.calls.map((c) => c.op)).toEqual(['PutParameter', 'GetParameter', 'DeleteParameter']);
  });

  it('a stale lock of another machine is shown with its age; --force-unlock <id> removes exactly that lock, a wrong id nothing', async () => {
    const startedAt = new Date(Date.now() - (2 * 3600 + 5 * 60) * 1000).toISOString();
    const stale = {
      id: 'a1b2c3d4e5f6',
      command: 'batchctl up',
      user: 'ci',
      host: 'runner-7',
      pid: 4242,
      startedAt,
      machine: 'other',
    };
    fake.ssm.addParameter({ name: NAME, value: JSON.stringify(stale), type: 'String' });
    const err = await lockOf()
      .lock({ command: 'batchctl up' })
      .catch((e) => e);
    expect(err.message).toMatch(/by ci on runner-7, pid 4242, since \S+ \(2h05m ago\), lock id a1b2c3d4e5f6$/);
    const wrong = await lockOf()
      .lock({ command: 'batchctl up', forceUnlock: 'ffffffffffff' })
      .catch((e) => e);
    expect(wrong).toBeInstanceOf(UserError);
    expect(wrong.message).toBe(
      '--force-unlock ffffffffffff does not name the lock of stack sample-batch in ap-northeast-1: nothing was removed',
    );
    expect(JSON.parse(stored()!.value).id).toBe('a1b2c3d4e5f6');
    const warnings: string[] = [];
    const lock = await lockOf().lock({
      command: 'batchctl up',
      forceUnlock: 'a1b2c3d4e5f6',
      warn: (m) => warnings.push(m),
    });
    expect(warnings).toEqual([
      expect.stringMatching(/^removed lock a1b2c3d4e5f6 \('batchctl up' on runner-7, pid 4242/),
    ]);
    expect(JSON.parse(stored()!.value).id).toBe(lock.info.id);
    await lock.release();
  });

  it("a run whose lock was forced away and re-taken does not delete the new holder's lock", async () => {
    const warnings: string[] = [];
    const first = await lockOf().lock({ command: 'batchctl up', warn: (m) => warnings.push(m) });
    const second = await lockOf().lock({ command: 'batchctl up', forceUnlock: first.info.id });
    await first.release();
    expect(JSON.parse(stored()!.value).id).toBe(second.info.id);
    expect(warnings).toEqual([
      `the lock ${first.info.id} of stack sample-batch in ap-northeast-1 was removed by someone else (--force-unlock) while this run held it`,
    ]);
    await second.release();
    expect(stored()).toBeUndefined();
  });

  it("the lock of a dead process of this machine is taken over; a live one, or another machine's, is not", async () => {
    // PIDs above the kernel's pid_max cannot exist.
    const dead = {
      id: 'dead00000000',
      command: 'batchctl up',
      user: 'me',
      host: hostname(),
      pid: 2 ** 30,
      startedAt: new Date().toISOString(),
      machine: machineId(),
    };
    fake.ssm.addParameter({ name: NAME, value: JSON.stringify(dead), type: 'String' });
    const warnings: string[] = [];
    const lock = await lockOf().lock({ command: 'batchctl up', warn: (m) => warnings.push(m) });
    expect(warnings).toEqual([
      expect.stringMatching(
        /^took over the lock of a run of this machine that is gone: pid 1073741824 .*lock id dead00000000/,
      ),
    ]);
    await lock.release();
    // Same host name, another boot (another machine, or this one before a reboot... or a container elsewhere): refused.
    fake.ssm.addParameter({ name: NAME, value: JSON.stringify({ ...dead, machine: 'another-boot' }), type: 'String' });
    expect(
      await lockOf()
        .lock({ command: 'batchctl up' })
        .catch((e) => e),
    ).toBeInstanceOf(LockHeld);
    // A live process of this machine: refused.
    fake.ssm.addParameter({ name: NAME, value: JSON.stringify({ ...dead, pid: process.ppid }), type: 'String' });
    expect(
      await lockOf()
        .lock({ command: 'batchctl up' })
        .catch((e) => e),
    ).toBeInstanceOf(LockHeld);
  });

  it('a lost answer to the lock write or to its delete: held, then released, nothing left', async () => {
    fake.core.loseResponse('PutParameter');
    const warnings: string[] = [];
    const lock = await lockOf().lock({ command: 'batchctl up', warn: (m) => warnings.push(m) });
    expect(
      fake.core.calls.filter((c) => c.op === 'PutParameter').map((c) => c.error ?? (c.lost ? 'lost' : 'ok')),
    ).toEqual(['lost', 'ParameterAlreadyExists']);
    expect(JSON.parse(stored()!.value).id).toBe(lock.info.id);
    fake.core.loseResponse('DeleteParameter', { status: 503 });
    await lock.release();
    expect(
      fake.core.calls.filter((c) => c.op === 'DeleteParameter').map((c) => c.error ?? (c.lost ? 'lost' : 'ok')),
    ).toEqual(['lost', 'ParameterNotFound']);
    expect(stored()).toBeUndefined();
    expect(warnings).toEqual([]);
    await (await lockOf().lock({ command: 'batchctl up' })).release();
  });

  it('two runs taking it at the same instant: one holds it, the other is refused (TooManyUpdates is asked again)', async () => {
    fake.ssm.concurrentPutMs = 50;
    const results = await Promise.allSettled([
      lockOf().lock({ command: 'batchctl up' }),
      lockOf().lock({ command: 'batchctl down' }),
    ]);
    const held = results.filter((r) => r.status === 'fulfilled');
    expect(held).toHaveLength(1);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(LockHeld);
    expect(fake.core.calls.some((c) => c.error === 'TooManyUpdates')).toBe(true);
    await (held[0] as PromiseFulfilledResult<Awaited<ReturnType<StackLock['lock']>>>).value.release();
  });

  it('a lock nobody can read (written by hand) gets an id from its content that --force-unlock takes', async () => {
    fake.ssm.addParameter({ name: NAME, value: 'not json', type: 'String' });
    const err = await lockOf()
      .lock({ command: 'batchctl up' })
      .catch((e) => e);
    const id = /lock id ([0-9a-f]{12})/.exec(err.message)![1]!;
    await (await lockOf().lock({ command: 'batchctl up', forceUnlock: id })).release();
  });

  it('access denied is a user error naming what the operator role needs', async () => {
    fake.core.failOn('PutParameter', 'AccessDeniedException');
    fake.core.failOn('GetParameter', 'AccessDeniedException');
    const err = await lockOf()
      .lock({ command: 'batchctl up' })
      .catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe(
      'access denied to the lock of stack sample-batch in ap-northeast-1 (take: the Parameter Store parameter /batchctl/sample-batch/lock)',
    );
    expect(err.hint).toMatch(/ssm:PutParameter, ssm:AddTagsToResource, ssm:GetParameter and ssm:DeleteParameter/);
  });
});
