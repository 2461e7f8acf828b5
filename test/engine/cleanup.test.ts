/**
 * The cleanups an interrupt runs: the stack's lock (only while we hold it, and only if it is still ours)
 * and a state write's temp file (only while the write is in flight).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pendingCleanups, registerCleanup, runCleanups, runCleanupsNow } from '../../src/base/cleanup.js';
import { writeFileAtomic } from '../../src/state/state.js';
import { StackLock, lockParameterName } from '../../src/state/lock.js';
import { createAwsClients } from '../../src/aws/clients.js';
import { createFakeAws } from '../fake-aws/index.js';

const NAME = lockParameterName('s');
const acquire = async (command: string) =>
  new StackLock((await createAwsClients({ region: 'ap-northeast-1' }, ['ssm'])).ssm, 's', 'ap-northeast-1').lock({
    command,
  });

describe('cleanups on interrupt', () => {
  it('the lock is removed by an interrupt while held, and its cleanup is gone once released', async () => {
    const fake = createFakeAws();
    try {
      const before = pendingCleanups();
      const lock = await acquire('batchctl up');
      expect(pendingCleanups()).toBe(before + 1);
      await runCleanups(600);
      expect(fake.ssm.byNameOrArn(NAME)).toBeUndefined();
      await lock.release();
      expect(pendingCleanups()).toBe(before);
      // Released once: the interrupt's release and the command's own are one.
      expect(fake.core.calls.filter((c) => c.op === 'DeleteParameter')).toHaveLength(1);

      const again = await acquire('batchctl up');
      await again.release();
      expect(pendingCleanups()).toBe(before);
    } finally {
      fake.uninstall();
    }
  });

  it('a lock another process took over (--force-unlock) is not removed', async () => {
    const fake = createFakeAws();
    try {
      const lock = await acquire('batchctl up');
      const other = {
        ...lock.info,
        id: 'another-run',
        pid: process.pid + 1,
        host: 'elsewhere',
        command: 'batchctl down',
      };
      fake.ssm.addParameter({ name: NAME, value: JSON.stringify(other), type: 'String' });
      await runCleanups(600);
      expect(JSON.parse(fake.ssm.byNameOrArn(NAME)!.value).id).toBe('another-run');
      await lock.release();
    } finally {
      fake.uninstall();
    }
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
    registerCleanup(() => {
      ran.push('a');
    });
    registerCleanup(() => {
      throw new Error('already gone');
    });
    registerCleanup(
      () =>
        new Promise<void>(() => {
          ran.push('never settles');
        }),
    );
    const t0 = Date.now();
    await runCleanups(50);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(ran.sort()).toEqual(['a', 'never settles']);
    expect(pendingCleanups()).toBe(0);
  });

  it('what registers itself while the lock is being released (a state write the walk started) runs just before exit', async () => {
    const ran: string[] = [];
    // Releasing the lock takes two calls to AWS; the walk goes on meanwhile and starts a state write.
    registerCleanup(async () => {
      registerCleanup(() => {
        ran.push("the late write's temp file");
      });
      await new Promise((r) => setTimeout(r, 10));
    });
    await runCleanups(600);
    expect(ran).toEqual([]);
    runCleanupsNow();
    expect(ran).toEqual(["the late write's temp file"]);
    expect(pendingCleanups()).toBe(0);
  });
});
