/**
 * Ours means our tag: a state record is a hint for finding, never proof. Other stacks' resources, the
 * account's default VPC and untagged look-alikes share the account with the stack; whatever the state file
 * says, `up`, its prune and `down` never update or delete them, and `up` refuses before its first write
 * when the config collides with them.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type FakeAws, type InventoryEntry } from '../fake-aws/index.js';
import { freshFakeAws, scratch, upOn, type Scratch } from '../helpers/stack.js';
import { runDown } from '../../src/stack/down.js';
import { runPlan } from '../../src/stack/plan.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import { RunFailed } from '../../src/base/errors.js';
import { exitCodeFor } from '../../src/cli/lib/errors.js';
import { buildProgram } from '../../src/cli/main.js';

const fresh = freshFakeAws();

const BASE = readFileSync(scratch().configPath, 'utf8');
/** Another stack in the same account, with names of its own. */
const OTHER = BASE.replaceAll('sample-batch', 'other-batch').replaceAll('SampleBatch', 'OtherBatch');
/** A second stack whose config reuses the first one's names (only the stack name differs). */
const COLLIDING = BASE.replace('stack: sample-batch', 'stack: second-batch');

const state = (s: Scratch) => JSON.parse(readFileSync(s.statePath, 'utf8'));
const writeState = (s: Scratch, data: unknown) => {
  mkdirSync(dirname(s.statePath), { recursive: true });
  writeFileSync(s.statePath, JSON.stringify(data));
};
const byKey = (inv: InventoryEntry[]) => inv.map((e) => `${e.type} ${e.key}`).sort();

async function downOn(s: Scratch) {
  const reporter = new RecordingReporter();
  const report = await runDown({
    configPath: s.configPath,
    statePath: s.statePath,
    reporter,
    interactive: false,
    yes: true,
  });
  return { ...report, reporter };
}

/** The CLI in-process: exit code and output. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((x) => {
    out.push(String(x));
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((x) => {
    err.push(String(x));
    return true;
  });
  process.exitCode = undefined;
  try {
    await buildProgram().parseAsync(['node', 'batchctl', ...args]);
    return { code: Number(process.exitCode ?? 0), out: out.join(''), err: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = undefined;
  }
}

let f: FakeAws;
let other: Scratch;
beforeEach(async () => {
  f = fresh();
  other = scratch(OTHER);
  await upOn(other);
});
afterEach(() => vi.restoreAllMocks());

describe('a state record is never proof of ownership', () => {
  it("a state file naming another stack's resources (and the default VPC): down --yes deletes none of them, and says whose they are", async () => {
    const defaultVpc = f.ec2.addDefaultVpc();
    const before = f.inventory();
    // A copied or badly merged state file: every record is the other stack's, plus the default VPC under
    // a key the config does not have.
    const s = scratch();
    const copied = { ...state(other), stack: 'sample-batch' };
    copied.resources['vpc/default'] = { kind: 'ec2.vpc', id: defaultVpc };
    writeState(s, copied);
    f.core.resetCalls();
    const report = await downOn(s);
    expect(f.core.mutatingCalls().map((c) => c.op)).toEqual([]);
    expect(f.inventory()).toEqual(before);
    expect(f.ec2.vpcs.get(defaultVpc)).toBeDefined();
    expect(report.targets).toEqual([]);
    const warned = report.reporter.warnings.join('\n');
    expect(warned).toMatch(/carries the tag of stack 'other-batch'/);
    expect(warned).toMatch(
      new RegExp(`${defaultVpc} is recorded in the state but has no batchctl:stack tag: not touched`),
    );
    expect(warned).not.toMatch(/tag it/i);
    // The bad records are gone from the state; a second down has nothing to say.
    expect(state(s).resources).toEqual({});
  });

  it("up beside a state naming another stack's resources: builds its own, touches none of the other's, reports each record", async () => {
    const otherInventory = byKey(f.inventory());
    const otherState = state(other).resources;
    const s = scratch();
    writeState(s, { ...state(other), stack: 'sample-batch' });
    f.core.resetCalls();
    const report = await upOn(s);
    expect(report.counts.failed).toBe(0);
    // Nothing of the other stack was called with a mutating call.
    const otherIds = new Set(
      Object.values(otherState as Record<string, { id: string; arn?: string }>)
        .flatMap((r) => [r.id, r.arn])
        .filter(Boolean),
    );
    const touched = f.core
      .mutatingCalls()
      .filter((c) => [...otherIds].some((id) => JSON.stringify(c.input).includes(`"${id}"`)));
    expect(touched.map((c) => `${c.op} ${JSON.stringify(c.input).slice(0, 120)}`)).toEqual([]);
    for (const k of otherInventory) expect(byKey(f.inventory())).toContain(k);
    expect(
      report.reporter.warnings.some((w) =>
        /^vpc: vpc-\w+ is recorded in the state but carries the tag of stack 'other-batch': not touched$/.test(w),
      ),
    ).toBe(true);
    expect(state(s).resources.vpc.id).not.toBe(otherState.vpc.id);
  });

  it("up's prune of stale records deletes only what is ours: a stale record of another stack's log group is forgotten, not deleted", async () => {
    const s = scratch();
    await upOn(s);
    const st = state(s);
    st.resources['log-group/old'] = state(other).resources['log-group'];
    writeState(s, st);
    const plan = await runPlan({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() });
    expect(plan.entries.find((e) => e.key === 'log-group/old')).toMatchObject({
      action: 'forget',
      notes: [expect.stringMatching(/carries the tag of stack 'other-batch'/)],
    });
    f.core.resetCalls();
    const report = await upOn(s);
    expect(f.core.mutatingCalls()).toEqual([]);
    expect(report.events.find((e) => e.key === 'log-group/old')).toMatchObject({
      action: 'skipped',
      message: expect.stringMatching(/not touched/),
    });
    expect(f.logs.groups.has('/ecs/OtherBatch')).toBe(true);
    expect(state(s).resources['log-group/old']).toBeUndefined();
  });
});

describe('a config colliding with another stack', () => {
  it('plan exits 2 naming the owning stack; up exits 2 having written nothing; its down deletes nothing of the first', async () => {
    const first = scratch();
    await upOn(first);
    const before = f.inventory();
    const second = scratch(COLLIDING);

    const plan = await cli('-c', second.configPath, '--state', second.statePath, 'plan');
    expect(plan.code).toBe(2);
    expect(plan.out).toMatch(
      /ECR repository sample-batch \(ecr-repository\) already exists and carries the tag of stack 'sample-batch': it is that stack's/,
    );
    expect(plan.out).toMatch(
      /EventBridge target sample-batch:batch \(schedule-target\) already exists and carries the tag of stack 'sample-batch'/,
    );
    expect(plan.out).toMatch(/up would refuse before changing anything: \d+ conflicts/);

    f.core.resetCalls();
    const up = await cli('-c', second.configPath, '--state', second.statePath, 'up', '--yes');
    expect(up.code).toBe(2);
    expect(f.core.mutatingCalls().map((c) => c.op)).toEqual([]);
    expect(up.err).toMatch(/carries the tag of stack 'sample-batch'/);
    expect(up.err).not.toMatch(/tag it|batchctl:stack=second-batch/);
    const err = await upOn(second).catch((e) => e);
    expect(err).toBeInstanceOf(RunFailed);
    expect(exitCodeFor(err)).toBe(2);
    expect(err.report.counts.created).toBe(0);

    f.core.resetCalls();
    const down = await downOn(second);
    expect(f.core.mutatingCalls().map((c) => c.op)).toEqual([]);
    expect(down.targets).toEqual([]);
    expect(
      down.reporter.warnings.some((w) => /^kept schedule-target: .*carries the tag of stack 'sample-batch'/.test(w)),
    ).toBe(true);
    expect(f.inventory()).toEqual(before);
  });

  it("an untagged look-alike is nobody's: plan exits 2 saying it has no batchctl tag", async () => {
    const s = scratch();
    f.logs.groups.set('/ecs/SampleBatch', { name: '/ecs/SampleBatch', createdAt: 0, tags: {}, streams: new Map() });
    const plan = await cli('-c', s.configPath, '--state', s.statePath, 'plan');
    expect(plan.code).toBe(2);
    expect(plan.out).toMatch(
      /CloudWatch log group \/ecs\/SampleBatch \(log-group\) already exists but has no batchctl:stack tag: it is not part of stack 'sample-batch'/,
    );
    f.core.resetCalls();
    expect((await cli('-c', s.configPath, '--state', s.statePath, 'up', '--yes')).code).toBe(2);
    expect(f.core.mutatingCalls()).toEqual([]);
  });

  it('a replacement is a conflict too: plan exits 2, up writes nothing', async () => {
    const s = scratch();
    await upOn(s);
    s.editConfig((t) => t.replace('vpcCidr: 192.168.0.0/16', 'vpcCidr: 10.10.0.0/16'));
    expect((await cli('-c', s.configPath, '--state', s.statePath, 'plan')).code).toBe(2);
    f.core.resetCalls();
    expect((await cli('-c', s.configPath, '--state', s.statePath, 'up', '--yes')).code).toBe(2);
    expect(f.core.mutatingCalls()).toEqual([]);
  });
});
