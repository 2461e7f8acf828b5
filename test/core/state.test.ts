import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { StateLock, StateStore } from '../../src/core/state.js';
import { UserError } from '../../src/core/errors.js';

const who = { stack: 's', region: 'ap-northeast-1', account: '123456789012' };

describe('state file', () => {
  it('is written atomically with mode 0600 and read back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'state-'));
    const path = join(dir, 'nested', 's.state.json');
    const st = await StateStore.load(path, who);
    st.put('vpc', { kind: 'ec2.vpc', id: 'vpc-1' });
    await Promise.all([st.save(), st.save(), st.save()]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'nested')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const again = await StateStore.load(path, who);
    expect(again.get('vpc')).toEqual({ kind: 'ec2.vpc', id: 'vpc-1' });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ schemaVersion: 1, ...who });
  });

  it('refuses a state of another account, stack or region, and a corrupt file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'state-'));
    const path = join(dir, 's.json');
    const st = await StateStore.load(path, who);
    await st.save();
    await expect(StateStore.load(path, { ...who, account: '999999999999' })).rejects.toThrow(/belongs to account '123456789012'/);
    writeFileSync(path, '{nope');
    await expect(StateStore.load(path, who)).rejects.toBeInstanceOf(UserError);
  });
});

describe('state lock', () => {
  it('a second holder gets a clear error naming the first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lock-'));
    const path = join(dir, 's.json');
    const lock = await StateLock.acquire(path, 'batchctl up');
    const err = await StateLock.acquire(path, 'batchctl down').catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(new RegExp(`locked by 'batchctl up' \\(pid ${process.pid} on ${hostname()}`));
    expect(err.hint).toMatch(/--force-unlock/);
    await lock.release();
    const again = await StateLock.acquire(path, 'batchctl down');
    await again.release();
  });

  it('takes over a stale lock whose process is dead, and --force-unlock removes a live one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lock-'));
    const path = join(dir, 's.json');
    // PIDs above the kernel's pid_max cannot exist.
    writeFileSync(StateLock.pathFor(path), JSON.stringify({ pid: 2 ** 30, host: hostname(), command: 'batchctl up', startedAt: 'x' }));
    const stale: unknown[] = [];
    const lock = await StateLock.acquire(path, 'batchctl up', { onStale: (h) => stale.push(h) });
    expect(stale).toHaveLength(1);
    const forced = await StateLock.acquire(path, 'batchctl up', { forceUnlock: true });
    await forced.release();
    await lock.release();
  });
});
