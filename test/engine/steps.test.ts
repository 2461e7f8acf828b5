/**
 * The one step walker `up`, its clean-up and `down` share: order, the bound on steps in flight, and how
 * every step is reported (its event, `failed`, `skipped` naming the failed steps it waited for).
 */
import { describe, expect, it } from 'vitest';
import { runSteps, type StepEvent, type StepWalk } from '../../src/engine/steps.js';
import { RecordingReporter, type ResourceEvent } from '../../src/engine/reporter.js';

/** a <- b <- c (c needs b needs a), and d alone. */
const DEPS: Record<string, string[]> = { a: [], b: ['a'], c: ['b'], d: [] };

function walk(run: (key: string) => Promise<StepEvent | undefined>, over: Partial<StepWalk> = {}) {
  const reporter = new RecordingReporter();
  const events: ResourceEvent[] = [];
  let now = 0;
  const w: StepWalk = {
    keys: Object.keys(DEPS),
    prereqs: (k) => DEPS[k] ?? [],
    parallel: 8,
    subject: (k) => ({ kind: 'test.kind', label: 'Thing', id: `id-${k}` }),
    run: async (k) => {
      now += 5;
      return run(k);
    },
    notStarted: (by) => (by.length ? `needs ${by.join(', ')}` : 'not started after an earlier failure'),
    reporter,
    clock: { now: () => now },
    emit: (e) => events.push(e),
    ...over,
  };
  return { reporter, events, outcome: runSteps(w) };
}

describe('runSteps', () => {
  it('runs every step after its prerequisites and reports each with its subject and duration', async () => {
    const order: string[] = [];
    const { reporter, events, outcome } = walk(async (k) => {
      order.push(k);
      return { action: 'created' };
    });
    const { done, failures } = await outcome;
    expect(failures).toEqual([]);
    expect([...done].sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(order.indexOf('a')).toBeLessThan(order.indexOf('b'));
    expect(order.indexOf('b')).toBeLessThan(order.indexOf('c'));
    expect(reporter.started.sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(events.find((e) => e.key === 'c')).toEqual({
      key: 'c',
      kind: 'test.kind',
      label: 'Thing',
      id: 'id-c',
      action: 'created',
      durationMs: 5,
    });
  });

  it('a step that reports nothing has no event', async () => {
    const { events, outcome } = walk(async (k) => (k === 'd' ? undefined : { action: 'deleted' }));
    await outcome;
    expect(events.map((e) => e.key).sort()).toEqual(['a', 'b', 'c']);
  });

  it('a failure is reported, nothing new starts, and each step never started names the failure it waited for', async () => {
    const { events, outcome } = walk(
      async (k) => {
        if (k === 'a') throw new Error('boom');
        return { action: 'created' };
      },
      { parallel: 1 },
    );
    const { done, failures } = await outcome;
    expect(failures.map((f) => f.message)).toEqual(['boom']);
    expect(done.size).toBe(0);
    expect(events).toEqual([
      { key: 'a', kind: 'test.kind', label: 'Thing', id: 'id-a', action: 'failed', message: 'boom' },
      {
        key: 'b',
        kind: 'test.kind',
        label: 'Thing',
        id: 'id-b',
        action: 'skipped',
        message: 'needs a',
        notStarted: { after: ['a'] },
      },
      // c waited for b, which never started because of a.
      {
        key: 'c',
        kind: 'test.kind',
        label: 'Thing',
        id: 'id-c',
        action: 'skipped',
        message: 'needs b',
        notStarted: { after: ['a'] },
      },
      // d needed nothing: it was simply not started once a had failed.
      {
        key: 'd',
        kind: 'test.kind',
        label: 'Thing',
        id: 'id-d',
        action: 'skipped',
        message: 'not started after an earlier failure',
        notStarted: { after: [] },
      },
    ]);
  });

  it('never more than `parallel` steps at once', async () => {
    let inFlight = 0;
    let most = 0;
    const { outcome } = walk(
      async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        return { action: 'unchanged' };
      },
      { keys: ['p', 'q', 'r', 's', 't'], prereqs: () => [], parallel: 2 },
    );
    await outcome;
    expect(most).toBe(2);
  });

  it('steps that can never start although nothing failed (a cycle) are a failure, not a silent success', async () => {
    const { events, outcome } = walk(async () => ({ action: 'deleted' }), {
      keys: ['x', 'y'],
      prereqs: (k) => (k === 'x' ? ['y'] : ['x']),
    });
    const { failures } = await outcome;
    expect(failures.map((f) => f.message)).toEqual(['internal: 2 steps could not be ordered (x, y)']);
    expect(events.map((e) => [e.key, e.action])).toEqual([
      ['x', 'skipped'],
      ['y', 'skipped'],
    ]);
  });
});
