import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { up } from '../../src/engine/engine.js';
import { RunFailed, UserError } from '../../src/base/errors.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import { loadLocalState } from '../../src/state/local.js';
import type { ResourceKind } from '../../src/engine/types.js';
import { defaultConfig } from '../helpers/ctx.js';
import { settleWithFakeTimers } from '../helpers/stack.js';

/** A toy kind over an in-memory store, to test the engine alone. */
function toyKinds(
  spec: Record<string, string[]>,
  world: Map<string, { v: number; owned?: boolean }>,
  hooks: {
    delayMs?: number;
    failCreate?: string;
    desired?: number;
    iamUntil?: number;
    onStart?: (k: string) => void;
    onEnd?: (k: string) => void;
  } = {},
): ResourceKind[] {
  const kind: ResourceKind<number> = {
    kind: 'toy',
    label: 'Toy',
    dependsOn: [],
    costly: false,
    nodes: () => Object.entries(spec).map(([key, deps]) => ({ key, deps, params: {} })),
    desired: () => hooks.desired ?? 1,
    async find(_ctx, node) {
      const w = world.get(node.key);
      return w ? { record: { kind: 'toy', id: node.key }, observed: w.v, owned: w.owned ?? true } : undefined;
    },
    async create(ctx, node, d) {
      hooks.onStart?.(node.key);
      for (const dep of node.deps) ctx.record(dep);
      if (hooks.delayMs) await ctx.clock.sleep(hooks.delayMs);
      hooks.onEnd?.(node.key);
      if (hooks.failCreate === node.key) throw Object.assign(new Error('boom'), { name: 'InternalError' });
      if (hooks.iamUntil !== undefined && ctx.clock.now() < hooks.iamUntil) {
        throw Object.assign(
          new Error("Provided role 'arn:aws:iam::1:role/r' cannot be assumed by principal 'events.amazonaws.com'."),
          { name: 'ValidationException' },
        );
      }
      world.set(node.key, { v: d });
      return { kind: 'toy', id: node.key };
    },
    diff: (d, o) => (d === o ? [] : [{ field: 'v', from: o, to: d, replace: d > 5 }]),
    async update(_ctx, node, _f, d) {
      world.set(node.key, { v: d });
    },
    async delete() {},
    async ownerOf(_ctx, rec) {
      const w = world.get(rec.id);
      return w && { owned: w.owned ?? true };
    },
  };
  return [kind];
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'engine-'));
});
afterEach(() => {
  vi.useRealTimers();
});

async function run(
  kinds: ResourceKind[],
  opts: { parallel?: number; reporter?: RecordingReporter; iamRetryBudgetMs?: number } = {},
) {
  const config = defaultConfig();
  const state = await loadLocalState(join(dir, 's.json'), { stack: config.stack, region: config.region, account: '1' });
  const reporter = opts.reporter ?? new RecordingReporter();
  const iamPropagation = (e: unknown) =>
    /cannot be assumed/.test(String((e as Error).message)) ? { role: 'r' } : undefined;
  const result = await up(
    { config, aws: {} as never, account: '1', partition: 'aws', reporter, state, kinds, iamPropagation },
    opts,
  );
  return { result, reporter, state };
}

describe('engine', () => {
  const diamond = { a: [], b: ['a'], c: ['a'], d: ['b', 'c'], e: [] };

  it('creates in dependency order, then a second run changes nothing', async () => {
    const world = new Map();
    const order: string[] = [];
    const { result, state } = await run(toyKinds(diamond, world, { onStart: (k) => order.push(k) }));
    expect(result.counts.created).toBe(5);
    expect(order.indexOf('a')).toBeLessThan(order.indexOf('b'));
    expect(order.indexOf('d')).toBeGreaterThan(order.indexOf('c'));
    expect(Object.keys(state.data.resources).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    const again = await run(toyKinds(diamond, world));
    expect(again.result.counts.unchanged).toBe(5);
  });

  it('never has more steps in flight than --parallel', async () => {
    const spec = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`n${i}`, []]));
    let inFlight = 0;
    let peak = 0;
    await run(
      toyKinds(spec, new Map(), {
        delayMs: 5,
        onStart: () => {
          inFlight++;
          peak = Math.max(peak, inFlight);
        },
        onEnd: () => inFlight--,
      }),
      { parallel: 3 },
    );
    expect(peak).toBe(3);
  });

  it('with more steps ready than --parallel, the longest chain of dependants starts first', async () => {
    // Declared first, the leaves p1..p4 would hold both steps while `r` (whose chain r -> t -> u is the
    // longest) waited: as writes waiting for a throttling bucket hold theirs.
    const spec = { p1: [], p2: [], p3: [], p4: [], r: [], t: ['r'], u: ['t'] };
    const order: string[] = [];
    await run(toyKinds(spec, new Map(), { delayMs: 5, onStart: (k) => order.push(k) }), { parallel: 2 });
    expect(order.slice(0, 2)).toEqual(['r', 'p1']);
    expect(order.indexOf('t')).toBeLessThan(order.indexOf('p4'));
  });

  it('a failure stops its dependants, lets in-flight steps finish and reports every failure', async () => {
    const world = new Map();
    const err = await run(toyKinds(diamond, world, { failCreate: 'b' })).catch((e) => e);
    expect(err).toBeInstanceOf(RunFailed);
    const actions = Object.fromEntries(
      err.report.events.map((e: { key: string; action: string }) => [e.key, e.action]),
    );
    expect(actions.b).toBe('failed');
    expect(actions.d).toBe('skipped');
    expect(err.failures[0].message).toMatch(/^b: create failed: InternalError: boom/);
    expect(world.has('d')).toBe(false);
  });

  it('updates a changed setting and refuses one that needs replacement', async () => {
    const world = new Map([['a', { v: 1 }]]);
    const { result } = await run(toyKinds({ a: [] }, world, { desired: 2 }));
    expect(result.events[0]).toMatchObject({ action: 'updated', changes: ['v'] });
    expect(world.get('a')!.v).toBe(2);
    const err = await run(toyKinds({ a: [] }, world, { desired: 9 })).catch((e) => e);
    expect(err.failures[0]).toBeInstanceOf(UserError);
    expect(err.failures[0].message).toMatch(/would have to be replaced to change v \(2 -> 9\)/);
    expect(world.get('a')!.v).toBe(2);
  });

  it('refuses to adopt a resource that is not ours', async () => {
    const world = new Map([['a', { v: 1, owned: false }]]);
    const err = await run(toyKinds({ a: [] }, world)).catch((e) => e);
    expect(err.failures[0].message).toMatch(
      /already exists but has no batchctl:stack tag: it is not part of stack 'sample-batch'/,
    );
  });

  it('refuses before its first write: a conflict anywhere in the graph creates nothing, not even independent nodes', async () => {
    const world = new Map([['c', { v: 1, owned: false }]]);
    const err = await run(toyKinds(diamond, world)).catch((e) => e);
    expect(err).toBeInstanceOf(RunFailed);
    expect(err.failures).toHaveLength(1);
    expect(err.failures[0]).toBeInstanceOf(UserError);
    expect([...world.keys()]).toEqual(['c']);
    expect(err.report.counts).toMatchObject({ created: 0, failed: 1 });
  });

  it('retries IAM propagation refusals with backoff on fake timers, saying which role it waits for', async () => {
    vi.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const world = new Map();
    const reporter = new RecordingReporter();
    const { result } = await settleWithFakeTimers(run(toyKinds({ a: [] }, world, { iamUntil: 9_000 }), { reporter }));
    expect(result.counts.created).toBe(1);
    expect(reporter.progress.some((m) => /waiting for IAM role r to propagate/.test(m.message))).toBe(true);
  });

  it('gives up on IAM propagation after the budget', async () => {
    vi.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const err = await settleWithFakeTimers(
      run(toyKinds({ a: [] }, new Map(), { iamUntil: 1e12 }), { iamRetryBudgetMs: 20_000 }),
    ).catch((e) => e);
    expect(err.failures[0].message).toMatch(/ValidationException/);
  });
});
