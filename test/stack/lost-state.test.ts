/**
 * A state in S3 and the stack's lock never wedge on a lost answer. S3 (or Parameter Store) applies the
 * call, its answer is lost (a reset connection, a proxy's 503), the SDK sends it again, and the resend is
 * refused by the run's own write: a 412 from its own state write, ParameterAlreadyExists from its own
 * lock, ParameterNotFound for its own delete. Each run must recognise its own writes: exit 0, no lock left,
 * and the next run needs no --force-unlock. And with 10% of all answers lost at random, an S3-state `up`
 * converges within one rerun.
 */
import { describe, expect, it } from 'vitest';
import { runUp } from '../../src/stack/up.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import { freshFakeAws, scratch, upOn, type Scratch } from '../helpers/stack.js';
import type { CallRecord, FakeAws, InventoryEntry } from '../fake-aws/index.js';

const fresh = freshFakeAws();
const STATE_BUCKET = 'team-state';
const KEY = 'batchctl/sample.json';
const STATE = `s3://${STATE_BUCKET}/${KEY}`;

const upS3 = (s: Scratch) =>
  runUp({ configPath: s.configPath, statePath: STATE, reporter: new RecordingReporter(), parallel: 8 });
/** The stack's resources (not the team's state bucket, which holds the state and its versions). */
const stackInventory = (f: FakeAws): InventoryEntry[] =>
  f.inventory().filter((e) => !(e.type === 's3.bucket' && e.key === STATE_BUCKET));
const isStateWrite = (c: CallRecord) => c.op === 'PutObject' && c.input.Key === KEY;

function setUp(): { f: FakeAws; s: Scratch } {
  const f = fresh();
  f.s3.addBucket(STATE_BUCKET, { versioning: 'Enabled' });
  return { f, s: scratch() };
}

/** A clean S3-state up: its inventory and how many times it wrote the state. */
async function clean(): Promise<{ inventory: InventoryEntry[]; stateWrites: number; records: number }> {
  const { f, s } = setUp();
  await upS3(s);
  const stateWrites = f.core.calls.filter((c) => isStateWrite(c)).length;
  const records = Object.keys(JSON.parse(f.s3.objectText(STATE_BUCKET, KEY)!).resources).length;
  return { inventory: stackInventory(f), stateWrites, records };
}

describe('lost answers to the state and the lock (S3 state)', () => {
  it('the lock write, the 1st, a middle and the last state write, the lock delete: each run exits 0, no lock left, the next needs no force-unlock', async () => {
    const ref = await clean();
    expect(ref.stateWrites).toBeGreaterThan(5);
    const nthStateWrite = (n: number) => {
      let seen = 0;
      return (c: CallRecord) => isStateWrite(c) && c.attempt === 1 && ++seen === n;
    };
    const cases: [string, () => (c: CallRecord) => boolean][] = [
      ['the lock write', () => (c) => c.op === 'PutParameter'],
      ['the 1st state write', () => nthStateWrite(1)],
      ['a middle state write', () => nthStateWrite(Math.ceil(ref.stateWrites / 2))],
      ['the last state write', () => nthStateWrite(ref.stateWrites)],
      ['the lock delete', () => (c) => c.op === 'DeleteParameter'],
    ];
    for (const [what, match] of cases) {
      for (const status of [undefined, 503]) {
        const { f, s } = setUp();
        const lost = f.core.loseResponse(match(), { status });
        const report = await upS3(s);
        const name = `${what} lost (${status ?? 'connection reset'})`;
        expect(lost.times, `${name}: reached`).toBe(0);
        expect(report.counts.failed, name).toBe(0);
        // The resend met the run's own write and went on.
        const resent = f.core.calls.find((c) => c.lost)!;
        expect(f.core.calls.find((c) => c.seq > resent.seq && c.op === resent.op)?.error, name).toMatch(
          /^(PreconditionFailed|ParameterAlreadyExists|ParameterNotFound)$/,
        );
        expect(f.ssm.parameters.size, `${name}: no lock left`).toBe(0);
        expect(Object.keys(JSON.parse(f.s3.objectText(STATE_BUCKET, KEY)!).resources), name).toHaveLength(ref.records);
        expect(stackInventory(f), name).toEqual(ref.inventory);
        // The next run: no --force-unlock, nothing to do.
        f.core.resetCalls();
        const next = await upS3(s);
        expect(next.counts.failed, name).toBe(0);
        expect(f.core.mutatingCalls(), name).toEqual([]);
      }
    }
  }, 600_000);

  it('10% of all answers lost at random: an S3-state up converges within one rerun, 20 of 20', async () => {
    const ref = await clean();
    // A seeded generator: a failure names its trial, and the trial replays the same losses.
    const rng = (seed: number) => () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const outcomes: string[] = [];
    let lostStateOrLock = 0;
    for (let trial = 1; trial <= 20; trial++) {
      const { f, s } = setUp();
      const random = rng(trial);
      f.core.inject({
        kind: 'lost',
        times: Infinity,
        match: () => random() < 0.1,
        status: trial % 2 ? undefined : 503,
      });
      const first = await upS3(s).then(
        () => 'ok',
        (e: Error) => e.message.split('\n')[0]!,
      );
      // The losses go on during the rerun.
      const second =
        first === 'ok'
          ? 'ok'
          : await upS3(s).then(
              () => 'ok',
              (e: Error) => `rerun failed: ${e.message.split('\n')[0]}`,
            );
      outcomes.push(`trial ${trial}: ${first === 'ok' ? 'converged' : `first run failed (${first}), then ${second}`}`);
      expect(second, outcomes.join('\n')).toBe('ok');
      expect(f.ssm.parameters.size, `trial ${trial}: a lock was left`).toBe(0);
      expect(stackInventory(f), `trial ${trial}`).toEqual(ref.inventory);
      // Losses happened, to the state's and the lock's calls too (else it proves nothing).
      expect(f.core.calls.filter((c) => c.lost).length, `trial ${trial}`).toBeGreaterThan(3);
      lostStateOrLock += f.core.calls.filter((c) => c.lost && (isStateWrite(c) || c.lock)).length;
    }
    expect(lostStateOrLock).toBeGreaterThan(5);
  }, 900_000);

  it("a local state: the lock's lost answers are recognised too", async () => {
    const f = fresh();
    const s = scratch();
    f.core.loseResponse('PutParameter');
    f.core.loseResponse('DeleteParameter', { status: 503 });
    const report = await upOn(s);
    expect(report.counts.failed).toBe(0);
    expect(f.ssm.parameters.size).toBe(0);
    expect(f.core.lockCalls().map((c) => `${c.op}${c.lost ? ' (lost)' : c.error ? ` ${c.error}` : ''}`)).toEqual([
      'PutParameter (lost)',
      'PutParameter ParameterAlreadyExists',
      'GetParameter',
      'GetParameter',
      'DeleteParameter (lost)',
      'DeleteParameter ParameterNotFound',
    ]);
  });
});
