/**
 * `state migrate` killed (SIGKILL, a real process) at each of its writes recovers by running it again,
 * with no other flag: the same command finishes the move, `--to` the place it started from undoes it.
 * The fake is served over HTTP by this process, which kills the CLI's process right before or right
 * after the fake applies the call that marks each write:
 *   the lock taken (PutParameter, applied), the source marked (before the destination's PutObject),
 *   the destination written (PutObject, applied), the source's marker final (before the lock's release),
 *   the lock released (DeleteParameter, applied).
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { serveFake, type ServedCall, type ServedFake } from '../fake-aws/http.js';
import { scratch, type Scratch } from '../helpers/stack.js';
import { remoteCli } from '../helpers/remote.js';

const S3_STATE = 's3://team-state/batchctl/sample.json';
const KEY = 'batchctl/sample.json';
const RESOURCES = {
  vpc: { kind: 'ec2.vpc', id: 'vpc-0000000000000001' },
  bucket: { kind: 's3.bucket', id: 'sample-batch-123456789012-ap-northeast-1' },
  'role/task': { kind: 'iam.role', id: 'sample-batch-task', arn: 'arn:aws:iam::123456789012:role/sample-batch-task' },
};

const cli = remoteCli;

/**
 * Where to kill: the call that marks the moment (`held`: whether this run holds the lock by then), and
 * whether before or after the fake applies it.
 */
interface KillPoint {
  name: string;
  at: (c: ServedCall, held: boolean) => boolean;
  applied: boolean;
}
const isLockPut = (c: ServedCall) => c.op === 'PutParameter';
const isStatePut = (c: ServedCall) => c.op === 'PutObject' && c.input.Key === KEY;
const isRelease = (c: ServedCall, held: boolean) => c.op === 'GetParameter' && held;
const isLockDelete = (c: ServedCall) => c.op === 'DeleteParameter';

const KILL_POINTS: KillPoint[] = [
  { name: 'the lock taken', at: isLockPut, applied: true },
  { name: 'the source marked as moving (A)', at: isStatePut, applied: false },
  { name: 'the destination written (B)', at: isStatePut, applied: true },
  { name: "the source's marker made final (C)", at: isRelease, applied: false },
  { name: 'the lock released', at: isLockDelete, applied: true },
];

/** A stack whose state is beside its config (three records), a team bucket, the fake served with a killer. */
async function setUp(
  kill?: KillPoint,
): Promise<{ fake: FakeAws; s: Scratch; local: string; url: string; served: ServedFake }> {
  const fake = createFakeAws({ install: false });
  fake.s3.addBucket('team-state', { versioning: 'Enabled' });
  const s = scratch();
  const local = join(s.dir, '.batchctl', 'sample-batch.state.json');
  mkdirSync(join(s.dir, '.batchctl'));
  writeFileSync(
    local,
    JSON.stringify({
      schemaVersion: 1,
      stack: 'sample-batch',
      region: 'ap-northeast-1',
      account: '123456789012',
      updatedAt: 'x',
      resources: RESOURCES,
    }),
  );
  let armed = !!kill;
  let held = false;
  const served = await serveFake(fake, {
    intercept(call, applied) {
      if (call.op === 'PutParameter' && applied) held = true;
      if (!armed || !kill || applied !== kill.applied || !kill.at(call, held)) return;
      armed = false;
      process.kill(Number(call.client), 'SIGKILL');
      return 'drop';
    },
  });
  return { fake, s, local, url: served.url, served };
}

const sJson = (f: FakeAws) => f.s3.objectText('team-state', KEY);

// Each case is two or three processes on a fake of its own: they run side by side.
describe.concurrent('state migrate killed at each of its writes', () => {
  for (const kill of KILL_POINTS) {
    it(`killed after ${kill.name}: the same command again finishes the move`, async () => {
      const { fake, s, local, url, served } = await setUp(kill);
      try {
        const killed = await cli(url, ['-c', s.configPath, 'state', 'migrate', '--to', S3_STATE]);
        expect(killed.signal, killed.stderr).toBe('SIGKILL');

        const again = await cli(url, ['-c', s.configPath, 'state', 'migrate', '--to', S3_STATE]);
        expect(again.code, again.stderr).toBe(0);
        expect(again.stdout).toMatch(
          /^(Moved|Finished moving) the state of stack sample-batch \(3 resources\)|^The state of stack sample-batch \(3 resources\) was moved to s3:\/\/team-state\/batchctl\/sample\.json already/,
        );
        // The dead run's lock (this machine's, its process gone) was taken over: no --force-unlock needed.
        if (kill.name !== 'the lock released')
          expect(again.stderr).toMatch(/took over the lock of a run of this machine that is gone/);
        // One authoritative state, at the destination; the source only says where it went; no lock left.
        expect(JSON.parse(sJson(fake)!).resources).toEqual(RESOURCES);
        const marker = JSON.parse(readFileSync(local, 'utf8'));
        expect(marker).toMatchObject({ movedTo: S3_STATE });
        expect(marker.state).toBeUndefined();
        expect(fake.ssm.parameters.size).toBe(0);
      } finally {
        await served.close();
      }
    }, 180_000);
  }

  for (const kill of KILL_POINTS.slice(1, 3)) {
    it(`killed after ${kill.name}: --to the place it started from undoes it, with the hint's command`, async () => {
      const { fake, s, local, url, served } = await setUp(kill);
      try {
        expect((await cli(url, ['-c', s.configPath, 'state', 'migrate', '--to', S3_STATE])).signal).toBe('SIGKILL');
        // Any command pointed at the source names both ways out.
        const plan = await cli(url, ['-c', s.configPath, 'plan']);
        expect(plan.code).toBe(2);
        const undo = /or undo it: (batchctl .*)\)\n/.exec(plan.stderr)?.[1];
        expect(undo, plan.stderr).toBe(`batchctl -c ${s.configPath} state migrate --to ${local}`);

        const undone = await cli(url, undo!.split(' ').slice(1));
        expect(undone.code, undone.stderr).toBe(0);
        expect(undone.stdout).toMatch(
          /^Undid the unfinished move of the state of stack sample-batch \(3 resources\): it is at /,
        );
        expect(JSON.parse(readFileSync(local, 'utf8')).resources).toEqual(RESOURCES);
        // The destination holds no second state: nothing, or a marker pointing back.
        const there = sJson(fake);
        if (there !== undefined) expect(JSON.parse(there)).toMatchObject({ movedTo: local });
        expect(JSON.parse(there ?? '{}').resources).toBeUndefined();
        expect(fake.ssm.parameters.size).toBe(0);
        // And the move can be made again from there.
        const moved = await cli(url, ['-c', s.configPath, 'state', 'migrate', '--to', S3_STATE]);
        expect(moved.code, moved.stderr).toBe(0);
        expect(JSON.parse(sJson(fake)!).resources).toEqual(RESOURCES);
      } finally {
        await served.close();
      }
    }, 180_000);
  }
});
