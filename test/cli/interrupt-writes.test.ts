/**
 * A state write interrupted at any moment leaves no temporary file: `up` is stopped by a real SIGTERM at
 * every state write it makes, in one of the phases of the write (the temp file being created, fsynced,
 * renamed into place: each in turn, so every phase is hit several times), and each time the state's
 * folder holds no `*.tmp` and no lock, and the state file, when there is one, is whole. The moment is chosen by a
 * preload (test/helpers/kill-at-write.mjs), not by
 * timing, so the test does the same on a loaded machine.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { scratch } from '../helpers/stack.js';
import { ROOT } from '../helpers/ctx.js';
import { killLeftovers, spawnCli } from '../helpers/pty.js';

afterEach(killLeftovers);

const KILL_AT_WRITE = ['--import', join(ROOT, 'test/helpers/kill-at-write.mjs')];
const PHASES = ['create', 'sync', 'rename'] as const;
/** Children at once: each is a whole CLI process. */
const AT_ONCE = 4;

/** `up` on a fresh stack, killed at write `at` (0: never); its exit code, its writes, what is left. */
async function upKilledAt(at: number, phase: string) {
  const s = scratch();
  const child = spawnCli(['-c', s.configPath, '--state', s.statePath, 'up', '--yes'], {
    nodeOptions: KILL_AT_WRITE,
    env: { KILL_AT_WRITE: String(at), KILL_PHASE: phase },
  });
  const { code } = await child.exited();
  const out = child.output();
  const writes = Number(/state-writes: (\d+)/.exec(out)?.[1] ?? NaN);
  const dir = dirname(s.statePath);
  const left = existsSync(dir) ? readdirSync(dir).filter((f) => f !== 'state.json') : [];
  const state = existsSync(s.statePath) ? readFileSync(s.statePath, 'utf8') : undefined;
  return { s, code, writes, left, state, out };
}

/** Run `jobs` with at most AT_ONCE in flight. */
async function pool<T>(jobs: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: AT_ONCE }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]!();
      }
    }),
  );
  return out;
}

describe('a state write interrupted at any moment', () => {
  it('up stopped by SIGTERM at every state write, in each phase of a write, leaves no temp file and no lock', async () => {
    const full = await upKilledAt(0, 'none');
    expect(full.code, full.out.slice(-2000)).toBe(0);
    // Saves that come together share a write: how many there are varies a little from run to run.
    expect(full.writes).toBeGreaterThan(5);
    let fewest = full.writes;
    const cases = Array.from({ length: full.writes }, (_, i) => ({ at: i + 1, phase: PHASES[i % PHASES.length]! }));
    const results = await pool(
      cases.map(({ at, phase }) => async () => {
        for (let attempt = 0; attempt < 3; attempt++) {
          const r = await upKilledAt(at, phase);
          // A run that made fewer writes than `at` finished untouched: try again.
          if (r.code === 0 && r.writes < at) {
            fewest = Math.min(fewest, r.writes);
            continue;
          }
          return { at, phase, ...r };
        }
        return { at, phase, code: undefined, writes: 0, left: [], state: undefined, out: '', s: undefined };
      }),
    );
    const reached = results.filter((r) => r.code !== undefined);
    for (const r of reached) {
      const what = `write ${r.at}, ${r.phase}: ${r.out.slice(-600)}`;
      expect(r.code, what).toBe(143);
      expect(r.writes, what).toBe(r.at);
      expect(r.out, what).toMatch(/error: stopped by SIGTERM/);
      expect(r.left, what).toEqual([]);
      if (r.state !== undefined) expect(() => JSON.parse(r.state!), what).not.toThrow();
    }
    // Every write that every full run makes was reached, and every phase.
    const missed = results.filter((r) => r.code === undefined && r.at <= fewest).map((r) => `${r.at} ${r.phase}`);
    expect(missed).toEqual([]);
    expect(new Set(reached.map((r) => r.phase))).toEqual(new Set(PHASES));
    // What a stopped run leaves is where the next one starts: it finishes the stack.
    const middle = reached.find((r) => r.at >= full.writes / 2)!;
    const again = spawnCli(['-c', middle.s!.configPath, '--state', middle.s!.statePath, 'up', '--yes']);
    expect((await again.exited()).code, again.output().slice(-2000)).toBe(0);
    expect(Object.keys(JSON.parse(readFileSync(middle.s!.statePath, 'utf8')).resources)).toHaveLength(43);
  }, 600_000);
});
