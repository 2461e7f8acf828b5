/**
 * Two runs of one stack in two real processes (so two pids, two module graphs, two SDK stacks), against
 * one fake AWS served to both over HTTP: one S3 state, or two laptops with a local state file each. The
 * fake holds both runs until each has made its first call, so they race for the stack's lock (in the
 * account, whatever the state backend) for real.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { serveFake, type ServedFake } from '../fake-aws/http.js';
import { scratch, upOn } from '../helpers/stack.js';
import { remoteCli, type RemoteRun } from '../helpers/remote.js';

const STATE_BUCKET = 'team-state';
const STATE = `s3://${STATE_BUCKET}/batchctl/sample.json`;

type Run = RemoteRun;
const cli = remoteCli;

/** The stack's resources only (the team's state bucket is not part of the stack). */
const stackInventory = (f: FakeAws) => f.inventory().filter((e) => !(e.type === 's3.bucket' && e.key === STATE_BUCKET));

/** Both runs started together; exactly one exited 0 (converged) and the other 2: the winner and the loser. */
function oneWon(runs: Run[]): { winner: Run; loser: Run } {
  expect(runs.map((r) => r.code).sort(), runs.map((r) => r.stderr).join('\n---\n')).toEqual([0, 2]);
  return { winner: runs.find((r) => r.code === 0)!, loser: runs.find((r) => r.code === 2)! };
}

/** A fake served to child processes, with a little latency, racing conditional writes held in flight. */
async function racingFake(hold: number): Promise<FakeAws> {
  const fake = createFakeAws({ install: false });
  fake.core.latencyMs = 2;
  // Overlapping conditional writes on one key get S3's 409, and overlapping puts of the lock
  // SSM's TooManyUpdates: both are retried by the product.
  fake.s3.conditionalWriteMs = 5;
  fake.ssm.concurrentPutMs = 5;
  fake.sqs.deletedNameHoldMs = 0;
  served = await serveFake(fake, hold ? { waitForClients: hold } : {});
  return fake;
}

/** The loser exits 2 naming the winner's lock, and wrote nothing but its refused attempts to take it. */
function expectRefusedByLock(fake: FakeAws, loser: Run, winner: Run, command: string): void {
  expect(loser.stderr).toMatch(
    new RegExp(
      `error: stack sample-batch in ap-northeast-1 is locked by '${command}' by .* on .*, pid ${winner.pid}, since \\S+ \\(\\d+s ago\\), lock id [0-9a-f]{12}\\n` +
        'hint: .*--force-unlock [0-9a-f]{12}',
    ),
  );
  const loserWrites = fake.core.calls.filter((c) => c.client === String(loser.pid) && c.mutating);
  expect(loserWrites.map((c) => [c.op, c.input.Name, c.error])).toEqual(
    loserWrites.map(() => [
      'PutParameter',
      '/batchctl/sample-batch/lock',
      expect.stringMatching(/^(ParameterAlreadyExists|TooManyUpdates)$/),
    ]),
  );
  expect(loserWrites.at(-1)!.error).toBe('ParameterAlreadyExists');
}

let served: ServedFake | undefined;
let local: FakeAws | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
  local?.uninstall();
  local = undefined;
});

describe('two up runs from two processes on one S3 state', () => {
  it('one converges, the other exits 2 naming the holder; the account holds exactly one of everything', async () => {
    const fake = await racingFake(2);
    fake.s3.addBucket(STATE_BUCKET, { versioning: 'Enabled' });
    const s = scratch();
    const args = ['-c', s.configPath, '--state', STATE, 'up', '--yes'];
    const runs = await Promise.all([cli(served!.url, args), cli(served!.url, args)]);
    const { winner, loser } = oneWon(runs);
    expect(winner.stdout).toMatch(/Done: \d+ created, 0 updated/);
    expectRefusedByLock(fake, loser, winner, 'batchctl up');
    // The lock is gone, the state names every resource, and the account matches one clean up.
    expect(fake.ssm.parameters.size).toBe(0);
    const state = JSON.parse(fake.s3.objectText(STATE_BUCKET, 'batchctl/sample.json')!);
    expect(Object.keys(state.resources).length).toBeGreaterThan(30);

    local = createFakeAws();
    await upOn(scratch());
    expect(stackInventory(fake)).toEqual(stackInventory(local));
  }, 120_000);
});

describe('two machines, one stack: a local state file each (the lock is in the account)', () => {
  /** Two laptops: the same config in two directories, so two state files, and one account. */
  const twoLaptops = () => [scratch(), scratch()] as const;

  it('two up runs: one converges, the other exits 2 naming the holder; exactly one of everything', async () => {
    const fake = await racingFake(2);
    const [a, b] = twoLaptops();
    const runs = await Promise.all([
      cli(served!.url, ['-c', a.configPath, 'up', '--yes']),
      cli(served!.url, ['-c', b.configPath, 'up', '--yes']),
    ]);
    const { winner, loser } = oneWon(runs);
    expect(winner.stdout).toMatch(/Done: \d+ created, 0 updated/);
    expectRefusedByLock(fake, loser, winner, 'batchctl up');
    expect(fake.ssm.parameters.size).toBe(0);
    // The loser's laptop has no state: it never read or wrote one.
    const loserDir = runs[0] === loser ? a : b;
    expect(existsSync(join(loserDir.dir, '.batchctl'))).toBe(false);

    local = createFakeAws();
    await upOn(scratch());
    expect(fake.inventory()).toEqual(local.inventory());
    // One VPC, one of each subnet and endpoint: nothing twice.
    expect(fake.ec2.vpcs.size).toBe(1);
  }, 120_000);

  it('down racing up: whichever takes the lock runs, the other exits 2; the account is all or nothing', async () => {
    const fake = await racingFake(0);
    const [a, b] = twoLaptops();
    // The stack exists, built from laptop A.
    expect((await cli(served!.url, ['-c', a.configPath, 'up', '--yes'])).code).toBe(0);
    await served!.close();
    served = await serveFake(fake, { waitForClients: 2 });
    fake.core.resetCalls();
    const runs = await Promise.all([
      cli(served.url, ['-c', a.configPath, 'down', '--yes']),
      cli(served.url, ['-c', b.configPath, 'up', '--yes']),
    ]);
    const { winner, loser } = oneWon(runs);
    const [down, up] = runs;
    expectRefusedByLock(fake, loser, winner, winner === down ? 'batchctl down' : 'batchctl up');
    expect(fake.ssm.parameters.size).toBe(0);
    local = createFakeAws();
    if (winner === up) {
      // up found everything by its tags (laptop B had no state): the stack, once.
      await upOn(scratch());
      expect(fake.inventory()).toEqual(local.inventory());
    } else {
      // down removed everything; nothing of the stack is left but the secret in its recovery window.
      expect(
        fake.inventory().filter((e) => !(e.type === 'secretsmanager.secret' && e.settings.pendingDeletion)),
      ).toEqual([]);
    }
  }, 120_000);
});
