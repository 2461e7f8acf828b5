/**
 * Running whole commands against the fake AWS: a temp directory with a config and a state path.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runUp, type UpReport } from '../../src/stack/up.js';
import type { Pacer } from '../../src/aws/pacing.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import { afterEach, vi } from 'vitest';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { DEFAULT_CONFIG_PATH } from './ctx.js';
import { lockParameterName, machineId } from '../../src/state/lock.js';

/** A scratch stack: its own directory, config file and state path. */
export interface Scratch {
  dir: string;
  configPath: string;
  statePath: string;
  /** Rewrite the config (text transform of the current one). */
  editConfig(fn: (text: string) => string): void;
}

export function scratch(configText = readFileSync(DEFAULT_CONFIG_PATH, 'utf8')): Scratch {
  const dir = mkdtempSync(join(tmpdir(), 'batchctl-'));
  const configPath = join(dir, 'batch.config.yaml');
  writeFileSync(configPath, configText);
  return {
    dir,
    configPath,
    statePath: join(dir, '.batchctl', 'state.json'),
    editConfig(fn) {
      writeFileSync(configPath, fn(readFileSync(configPath, 'utf8')));
    },
  };
}

/** `up` on the fake; resolves with the report and the recording reporter (rejects like the CLI would). */
export async function upOn(
  s: Scratch,
  opts: { parallel?: number; reporter?: RecordingReporter; forceUnlock?: string; pacer?: Pacer } = {},
): Promise<UpReport & { reporter: RecordingReporter }> {
  const reporter = opts.reporter ?? new RecordingReporter();
  const report = await runUp({
    configPath: s.configPath,
    statePath: s.statePath,
    reporter,
    parallel: opts.parallel,
    forceUnlock: opts.forceUnlock,
    pacer: opts.pacer,
  });
  return { ...report, reporter };
}

/**
 * Drive a promise to completion under vitest fake timers. Fake time moves only when everything in
 * flight is asleep on a timer, so real I/O (the state file) never makes fake time run ahead.
 * Needs setImmediate left real (fake only setTimeout/setInterval/Date).
 */
export async function settleWithFakeTimers<T>(p: Promise<T>): Promise<T> {
  let settled = false;
  p.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  let idle = 0;
  while (!settled) {
    await new Promise((r) => setImmediate(r));
    if (vi.getTimerCount() === 0) continue;
    // Several turns with nothing but timers pending: everyone is asleep, jump to the next timer.
    if (++idle < 3) continue;
    idle = 0;
    await vi.advanceTimersToNextTimerAsync();
  }
  return p;
}

/**
 * One fake AWS per test: `fresh()` installs a new one (uninstalling the previous), and it is uninstalled
 * (and real timers restored) after each test. Call at the top level of a test file.
 */
export function freshFakeAws(): () => FakeAws {
  let fake: FakeAws | undefined;
  afterEach(() => {
    fake?.uninstall();
    fake = undefined;
    vi.useRealTimers();
  });
  return () => {
    fake?.uninstall();
    fake = createFakeAws();
    return fake;
  };
}

/**
 * What a run killed while holding the stack's lock leaves: the lock parameter, naming a process of this
 * machine that is gone (the next run takes it over). `elsewhere`: a run of another machine (refused).
 */
export function leaveDeadLock(
  fake: FakeAws,
  stack = 'sample-batch',
  opts: { elsewhere?: boolean } = {},
): { id: string } {
  const id = 'dead00000000';
  const value = JSON.stringify({
    id,
    command: 'batchctl up',
    user: 'me',
    host: opts.elsewhere ? 'another-laptop' : hostname(),
    pid: 2 ** 30,
    startedAt: new Date(Date.now() - 60_000).toISOString(),
    machine: opts.elsewhere ? 'another-boot' : machineId(),
  });
  fake.ssm.addParameter({ name: lockParameterName(stack), value, type: 'String', tags: { 'batchctl:stack': stack } });
  return { id };
}
