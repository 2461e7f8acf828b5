/**
 * The cleanups an interrupt runs: our lock (only while we hold it, and only if it is still ours) and a
 * state write's temp file (only while the write is in flight).
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pendingCleanups, registerCleanup, runCleanups } from '../../src/base/cleanup.js';
import { writeFileAtomic } from '../../src/state/state.js';
import { LocalStateBackend } from '../../src/state/local.js';

const acquire = (state: string, command: string) => new LocalStateBackend(state).lock({ command });

describe('cleanups on interrupt', () => {
  it('the lock is removed by an interrupt while held, and its cleanup is gone once released', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'batchctl-cleanup-'));
    const state = join(dir, 'state.json');
    const before = pendingCleanups();
    const lock = await acquire(state, 'batchctl up');
    expect(pendingCleanups()).toBe(before + 1);
    await runCleanups(100);
    expect(existsSync(`${state}.lock`)).toBe(false);
    await lock.release();
    expect(pendingCleanups()).toBe(before);

    const again = await acquire(state, 'batchctl up');
    await again.release();
    expect(pendingCleanups()).toBe(before);
  });

  it("a lock another process took over (--force-unlock) is not removed", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'batchctl-cleanup-'));
    const state = join(dir, 'state.json');
    const lock = await acquire(state, 'batchctl up');
    writeFileSync(`${state}.lock`, JSON.stringify({ ...lock.info, id: 'another-run', pid: process.pid + 1, host: 'elsewhere', command: 'batchctl down' }));
    await runCleanups(100);
    expect(existsSync(`${state}.lock`)).toBe(true);
    await lock.release();
  });

  it('a state write registers its temp file only while in flight', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'batchctl-cleanup-'));
    const before = pendingCleanups();
    const write = writeFileAtomic(join(dir, 'state.json'), '{}\n');
    expect(pendingCleanups()).toBe(before + 1);
    await write;
    expect(pendingCleanups()).toBe(before);
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('one failing cleanup does not stop the others; async ones get a deadline', async () => {
    const ran: string[] = [];
    registerCleanup(() => { ran.push('a'); });
    registerCleanup(() => { throw new Error('already gone'); });
    registerCleanup(() => new Promise<void>(() => { ran.push('never settles'); }));
    const t0 = Date.now();
    await runCleanups(50);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(ran.sort()).toEqual(['a', 'never settles']);
    expect(pendingCleanups()).toBe(0);
  });
});
