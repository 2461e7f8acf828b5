/**
 * Two `up` runs of one stack with one S3 state, in two real processes (so two pids, two module
 * graphs, two SDK stacks), against one fake AWS served to both over HTTP. The fake holds both runs
 * until each has made its first call, so they race for the lock for real.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { serveFake, type ServedFake } from '../fake-aws/http.js';
import { scratch, upOn } from '../helpers/stack.js';
import { ROOT } from '../helpers/ctx.js';

const STATE_BUCKET = 'team-state';
const STATE = `s3://${STATE_BUCKET}/batchctl/sample.json`;

interface Run { pid: number; code: number; stdout: string; stderr: string }

function cli(url: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/fake-aws/remote-cli.ts'), ...args], {
      cwd: ROOT, env: { ...process.env, FAKE_AWS_URL: url }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ pid: child.pid!, code: code ?? -1, stdout, stderr }));
  });
}

/** The stack's resources only (the team's state bucket is not part of the stack). */
const stackInventory = (f: FakeAws) => f.inventory().filter((e) => !(e.type === 's3.bucket' && e.key === STATE_BUCKET));

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
    const fake = createFakeAws({ install: false });
    fake.core.latencyMs = 2;
    // Overlapping conditional writes on one key get S3's 409 and are retried by the product.
    fake.s3.conditionalWriteMs = 5;
    fake.s3.addBucket(STATE_BUCKET, { versioning: 'Enabled' });
    served = await serveFake(fake, { waitForClients: 2 });
    const s = scratch();
    const args = ['-c', s.configPath, '--state', STATE, 'up', '--yes'];
    const runs = await Promise.all([cli(served.url, args), cli(served.url, args)]);

    expect(runs.map((r) => r.code).sort(), runs.map((r) => r.stderr).join('\n---\n')).toEqual([0, 2]);
    const winner = runs.find((r) => r.code === 0)!;
    const loser = runs.find((r) => r.code === 2)!;
    expect(winner.stdout).toMatch(/Done: \d+ created, 0 updated/);
    expect(loser.stderr).toMatch(new RegExp(
      `error: the state ${STATE} is locked by 'batchctl up' by .* on .*, pid ${winner.pid}, since \\S+ \\(\\d+s ago\\), lock id [0-9a-f]{12}\\n` +
      `hint: .*--force-unlock [0-9a-f]{12}`,
    ));
    // The loser wrote nothing but its refused lock attempt.
    const loserWrites = fake.core.calls.filter((c) => c.client === String(loser.pid) && c.mutating);
    expect(loserWrites.map((c) => [c.op, c.input.Key, c.error])).toEqual(
      loserWrites.map(() => ['PutObject', 'batchctl/sample.json.lock', expect.stringMatching(/^(PreconditionFailed|ConditionalRequestConflict)$/)]),
    );
    expect(loserWrites.at(-1)!.error).toBe('PreconditionFailed');
    // The lock is gone, the state names every resource, and the account matches one clean up.
    expect(fake.s3.objectText(STATE_BUCKET, 'batchctl/sample.json.lock')).toBeUndefined();
    const state = JSON.parse(fake.s3.objectText(STATE_BUCKET, 'batchctl/sample.json')!);
    expect(Object.keys(state.resources).length).toBeGreaterThan(30);

    local = createFakeAws();
    await upOn(scratch());
    expect(stackInventory(fake)).toEqual(stackInventory(local));
  }, 120_000);
});
