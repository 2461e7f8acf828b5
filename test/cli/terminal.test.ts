/**
 * Terminals and signals, with the CLI in a child process against the fake AWS: a pseudo-terminal with 0
 * columns (or resized to 0 mid-run) must not make `up` spin forever writing cursor codes; Ctrl-C must
 * stop any command within a second, release the lock, leave no temp file and say what to run next;
 * run-now on a terminal must detach with its follow/stop lines.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { scratch } from '../helpers/stack.js';
import { ROOT } from '../helpers/ctx.js';
import { killLeftovers, ptyLauncher, spawnCli, spawnOnPty, type Child } from '../helpers/pty.js';
import { canAnimate, outputMode } from '../../src/cli/lib/output.js';

afterEach(killLeftovers);

const SLOW_FSYNC = ['--import', join(ROOT, 'test/helpers/slow-fsync.mjs')];
const SPINNER_FRAME = '\x1b[?2026h';

function leftovers(statePath: string): string[] {
  const dir = dirname(statePath);
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.tmp') || f.endsWith('.lock')) : [];
}

/** Wait until a state write of `child` has its temp file on disk. */
async function untilTempFile(statePath: string, child: Child): Promise<void> {
  for (let n = 0; !leftovers(statePath).some((f) => f.endsWith('.tmp')); n++) {
    if (n > 1500) throw new Error(`no temp file appeared: ${leftovers(statePath)}\n${child.output()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Where the child's fake writes, as it exits, the stack locks still held and how many were taken. */
const locksFile = (statePath: string) => join(dirname(dirname(statePath)), 'locks.json');
const locksAtExit = (statePath: string): { held: string[]; taken: number } =>
  JSON.parse(readFileSync(locksFile(statePath), 'utf8'));

describe('output mode', () => {
  const tty = (columns: number | undefined) => ({ isTTY: true, columns }) as NodeJS.WriteStream;
  it('a spinner only on a TTY of known, non-zero width, not dumb, not CI', () => {
    expect(canAnimate(tty(120), {})).toBe(true);
    expect(canAnimate(tty(0), {})).toBe(false);
    expect(canAnimate(tty(undefined), {})).toBe(false);
    expect(canAnimate(tty(120), { TERM: 'dumb' })).toBe(false);
    expect(canAnimate(tty(120), { CI: 'true' })).toBe(false);
    expect(canAnimate({ isTTY: false, columns: 120 } as unknown as NodeJS.WriteStream, {})).toBe(false);
    expect(outputMode(false, tty(0), {})).toBe('plain');
    expect(outputMode(true, tty(120), {})).toBe('json');
  });
});

describe('a real pseudo-terminal', () => {
  it('is available on this machine (script from util-linux, or python3)', () => {
    expect(ptyLauncher()).toBeDefined();
  });

  it('0 columns: up finishes with plain lines instead of writing cursor codes forever', async () => {
    const s = scratch();
    const child = spawnOnPty(['-c', s.configPath, '--state', s.statePath, 'up', '--yes'], { cols: 0 });
    const { code, ms } = await child.exited();
    const out = child.output();
    expect(code, out.slice(-2000)).toBe(0);
    expect(out).toMatch(/Done: 43 created, 0 updated, 0 unchanged in /);
    expect(out).not.toContain(SPINNER_FRAME);
    expect(out.length).toBeLessThan(20_000);
    expect(ms).toBeLessThan(25_000);
    expect(Object.keys(JSON.parse(readFileSync(s.statePath, 'utf8')).resources)).toHaveLength(43);
    expect(leftovers(s.statePath)).toEqual([]);
  });

  it('resized to 0 columns mid-run: the spinner stops and up finishes', async () => {
    const s = scratch();
    const child = spawnOnPty(['-c', s.configPath, '--state', s.statePath, 'up', '--yes'], {
      cols: 100,
      env: { FAKE_LATENCY_MS: '150' },
      setup: 'tty;',
    });
    await child.waitFor(/created {4}[^]*created {4}/);
    // What a window resize does: the kernel sets the size and sends SIGWINCH to the foreground job.
    const pts = /\/dev\/pts\/\d+/.exec(child.output())![0];
    expect(spawnSync('stty', ['-F', pts, 'cols', '0']).status).toBe(0);
    const { code } = await child.exited();
    const out = child.output();
    expect(code, out.slice(-2000)).toBe(0);
    expect(out).toMatch(/Done: 43 created/);
    expect(out).toContain(SPINNER_FRAME);
    expect(out.length).toBeLessThan(200_000);
    // After the last spinner frame, resources still finished: printed as plain lines.
    const after = out.slice(out.lastIndexOf(SPINNER_FRAME) + 1);
    expect(after.match(/created {4}/g)?.length ?? 0).toBeGreaterThan(3);
  });

  it('run-now: Ctrl-C on the terminal detaches within a second and prints how to follow and stop the task', async () => {
    const s = scratch();
    const child = spawnOnPty(
      [
        '-c',
        s.configPath,
        '--state',
        s.statePath,
        'up',
        '--yes',
        '--then',
        '-c',
        s.configPath,
        '--state',
        s.statePath,
        'run-now',
      ],
      { cols: 120, env: { FAKE_IMAGES: 'sample-batch:latest' } },
    );
    await child.waitFor(/started task [0-9a-f]+/);
    const sent = Date.now();
    child.proc.stdin!.write('\x03');
    const { code, ms } = await child.exited(sent);
    const out = child.output();
    expect(code, out.slice(-2000)).toBe(130);
    expect(ms).toBeLessThan(1000);
    const id = /started task ([0-9a-f]+)/.exec(out)![1];
    expect(out).toContain(`detached: task ${id} keeps running`);
    expect(out).toContain(`follow its log: batchctl logs --task ${id} --tail`);
    expect(out).toMatch(
      new RegExp(
        `stop it: +aws ecs stop-task --cluster sample-batch --task arn:aws:ecs:ap-northeast-1:123456789012:task/sample-batch/${id}`,
      ),
    );
    expect(leftovers(s.statePath)).toEqual([]);
  });
});

describe('Ctrl-C typed at a prompt', () => {
  it("down's confirmation: exit 130, nothing deleted, lock released", async () => {
    const s = scratch();
    const child = spawnOnPty(
      [
        '-c',
        s.configPath,
        '--state',
        s.statePath,
        'up',
        '--yes',
        '--then',
        '-c',
        s.configPath,
        '--state',
        s.statePath,
        'down',
      ],
      { cols: 100 },
    );
    await child.waitFor(/Delete these 43 resources\? \[y\/N\]/);
    const sent = Date.now();
    child.proc.stdin!.write('\x03');
    const { code, ms } = await child.exited(sent);
    expect(code).toBe(130);
    expect(ms).toBeLessThan(1000);
    expect(child.output()).toMatch(/error: interrupted\r?\nhint: nothing was deleted/);
    expect(child.output()).not.toMatch(/^deleted /m);
    expect(Object.keys(JSON.parse(readFileSync(s.statePath, 'utf8')).resources)).toHaveLength(43);
    expect(leftovers(s.statePath)).toEqual([]);
  });
});

describe('answering the confirmation', () => {
  /** up, then down on a terminal, answering its prompt with `keys`: the exit code and the output. */
  async function answerDown(keys: string): Promise<{ code: number | null; out: string; statePath: string }> {
    const s = scratch();
    const child = spawnOnPty(
      [
        '-c',
        s.configPath,
        '--state',
        s.statePath,
        'up',
        '--yes',
        '--then',
        '-c',
        s.configPath,
        '--state',
        s.statePath,
        'down',
      ],
      { cols: 100 },
    );
    await child.waitFor(/Delete these 43 resources\? \[y\/N\]/);
    child.proc.stdin!.write(keys);
    const { code } = await child.exited();
    return { code, out: child.output(), statePath: s.statePath };
  }

  it('no: exit 1 (cancelled, not success), nothing deleted, lock released', async () => {
    const { code, out, statePath } = await answerDown('n\r');
    expect(code).toBe(1);
    expect(out).toMatch(/Cancelled: nothing was deleted\./);
    expect(out).not.toMatch(/^deleted /m);
    expect(Object.keys(JSON.parse(readFileSync(statePath, 'utf8')).resources)).toHaveLength(43);
    expect(leftovers(statePath)).toEqual([]);
  });

  it('Ctrl-D (no answer at all) is a no', async () => {
    const { code, out } = await answerDown('\x04');
    expect(code).toBe(1);
    expect(out).toMatch(/Cancelled: nothing was deleted\./);
  });

  it('yes: deleted, exit 0', async () => {
    const { code, out, statePath } = await answerDown('yes\r');
    expect(code).toBe(0);
    expect(out).toMatch(/Done: 43 deleted/);
    expect(JSON.parse(readFileSync(statePath, 'utf8')).resources).toEqual({});
  });
});

describe('Ctrl-C (a real SIGINT to the CLI process)', () => {
  /** SIGINT now: exit 130 within a second, no lock or temp file left, and `says` on the output. */
  async function interruptsCleanly(child: Child, statePath: string, says: RegExp) {
    const sent = Date.now();
    child.proc.kill('SIGINT');
    const { code, ms } = await child.exited(sent);
    expect(code).toBe(130);
    expect(ms).toBeLessThan(1000);
    expect(leftovers(statePath)).toEqual([]);
    // The stack's lock was taken and released before the process exited.
    expect(locksAtExit(statePath)).toEqual({ held: [], taken: expect.any(Number) });
    expect(locksAtExit(statePath).taken).toBeGreaterThan(0);
    expect(child.output()).toMatch(says);
  }

  it('during up, with a state write in flight: exit 130 within a second, lock released, no temp file, says to run up again', async () => {
    const s = scratch();
    const child = spawnCli(['-c', s.configPath, '--state', s.statePath, 'up', '--yes'], {
      nodeOptions: SLOW_FSYNC,
      env: { SLOW_FSYNC_MS: '5000', FAKE_LOCKS_FILE: locksFile(s.statePath) },
    });
    // A state write has its temp file on disk (each fsync takes 5 s here), and we hold the lock.
    await untilTempFile(s.statePath, child);
    await interruptsCleanly(
      child,
      s.statePath,
      /error: interrupted\nhint: nothing more is sent to AWS; run `batchctl up` again to finish/,
    );
  });

  it('during down: the same, pointing at down', async () => {
    const s = scratch();
    const child = spawnCli(
      [
        '-c',
        s.configPath,
        '--state',
        s.statePath,
        'up',
        '--yes',
        '--then',
        '-c',
        s.configPath,
        '--state',
        s.statePath,
        'down',
        '--yes',
      ],
      { env: { FAKE_LATENCY_MS: '60', FAKE_LOCKS_FILE: locksFile(s.statePath) } },
    );
    await child.waitFor(/^deleted /m);
    await interruptsCleanly(
      child,
      s.statePath,
      /error: interrupted\nhint: nothing more is sent to AWS; run `batchctl down` again/,
    );
  });

  it('SIGTERM stops the same way, with 143', async () => {
    const s = scratch();
    const child = spawnCli(['-c', s.configPath, '--state', s.statePath, 'up', '--yes'], {
      nodeOptions: SLOW_FSYNC,
      env: { SLOW_FSYNC_MS: '5000' },
    });
    // Sent at a known moment, not after some output under some load: while a state write is in flight
    // (its temp file on disk, its fsync taking 5 s) and the lock is held. Any other moment of a write:
    // interrupt-writes.test.ts.
    await untilTempFile(s.statePath, child);
    child.proc.kill('SIGTERM');
    const { code } = await child.exited();
    expect(code).toBe(143);
    expect(leftovers(s.statePath)).toEqual([]);
    expect(child.output()).toMatch(
      /error: stopped by SIGTERM\nhint: nothing more is sent to AWS; run `batchctl up` again/,
    );
  });
});
