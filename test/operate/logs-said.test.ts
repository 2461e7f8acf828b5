/**
 * `logs` never answers with silence: when it prints no event it says (on stderr) what it looked at, the
 * window, the streams, the filter, and where the latest events are; `--task` finds the run `run-now`
 * just started, by its short or whole id, and says whether it is still starting or never started.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { scratch, upOn, type Scratch } from '../helpers/stack.js';
import { captureCli } from '../helpers/cli.js';
import { DEFAULT_CONFIG_PATH } from '../helpers/ctx.js';
import { readFileSync } from 'node:fs';
import { emptyLines, sinceToReach } from '../../src/cli/commands/logs.js';

const io = captureCli();
const { out, err } = io;
const START = Date.parse('2026-03-01T12:00:00Z');
let fake: FakeAws;
beforeEach(() => {
  vi.useFakeTimers({ now: START, toFake: ['Date'] });
  fake = createFakeAws();
});
afterEach(() => {
  fake.uninstall();
  vi.useRealTimers();
});

const cli = (s: Scratch, ...args: string[]) => io.run('-c', s.configPath, '--state', s.statePath, ...args);
/** Move the clock (tasks and log events follow it). */
const at = (ms: number) => vi.setSystemTime(START + ms);

async function stack(text?: string): Promise<Scratch> {
  const s = scratch(text);
  await upOn(s);
  fake.ecr.addImage('sample-batch', 'latest');
  fake.ecs.taskTimings = { provisioningMs: 10_000, pendingMs: 10_000, runningMs: 60_000 };
  fake.ecs.taskLogLines = [
    { afterMs: 1000, message: 'listing s3://bucket' },
    { afterMs: 2000, message: 'listed 0 objects' },
  ];
  return s;
}

describe('logs with nothing to print', () => {
  it('says the window, the streams and that no run wrote yet (exit 0, stdout empty)', async () => {
    const s = await stack();
    expect(await cli(s, 'logs', '--utc')).toBe(0);
    expect(out.join('')).toBe('');
    expect(err.join('')).toBe(
      [
        "no log events in /ecs/SampleBatch since 2026-03-01T11:00:00.000Z (the last hour, the default: --since goes further back), in the job's streams (ecs/*)",
        'no run has written to this log group yet: `batchctl run-now` starts one',
        '',
      ].join('\n'),
    );
  });

  it('a run older than the window: names its stream and the --since that reaches it; --filter is said too', async () => {
    const s = await stack();
    expect(await cli(s, 'run-now', '--no-wait')).toBe(0);
    const id = out.join('').trim().split('/').pop()!;
    at(3 * 3_600_000);
    expect(await cli(s, 'logs', '--utc')).toBe(0);
    expect(err.join('')).toBe(
      [
        "no log events in /ecs/SampleBatch since 2026-03-01T14:00:00.000Z (the last hour, the default: --since goes further back), in the job's streams (ecs/*)",
        `the latest run's stream, ecs/batch/${id}, last wrote at 2026-03-01T12:00:22.000Z: \`batchctl logs --since 4h\` reaches it`,
        '',
      ].join('\n'),
    );
    expect(await cli(s, 'logs', '--since', '4h')).toBe(0);
    expect(out.join('')).toContain('listed 0 objects');
    expect(await cli(s, 'logs', '--since', '4h', '--filter', 'ERROR', '--utc')).toBe(0);
    expect(err.join('')).toMatch(
      /^no log events in \/ecs\/SampleBatch since 2026-03-01T11:00:00\.000Z \(--since\) matching "ERROR", in the job's streams \(ecs\/\*\)\n/,
    );
  });

  it('sinceToReach: whole hours, then days', () => {
    expect(sinceToReach(START - 30 * 60_000, START)).toBe('2h');
    expect(sinceToReach(START - 5 * 86_400_000, START)).toBe('6d');
    expect(emptyLines({ group: 'g', sinceFrom: 'task', streams: 's' }, String, START)).toEqual([
      'no log events in g from the first event, in s',
    ]);
  });
});

describe('logs --task for the run run-now just started', () => {
  it('still starting: says so and how to wait; then its events, by short and whole id', async () => {
    const s = await stack();
    expect(await cli(s, 'run-now', '--no-wait')).toBe(0);
    const id = out.join('').trim().split('/').pop()!;
    expect(await cli(s, 'logs', '--task', id.slice(0, 8))).toBe(0);
    expect(err.join('')).toBe(
      `no log events yet: run ${id} is PROVISIONING, and its log stream appears when its container starts; \`batchctl logs --task ${id.slice(0, 8)} --tail\` waits for it\n`,
    );
    at(25_000);
    for (const ref of [id.slice(0, 8), id, `arn:aws:ecs:ap-northeast-1:123456789012:task/sample-batch/${id}`]) {
      expect(await cli(s, 'logs', '--task', ref), ref).toBe(0);
      expect(out.join('')).toMatch(/listing s3:\/\/bucket\n.*listed 0 objects\n$/);
      expect(err.join('')).toBe('');
    }
  });

  it('a run that stopped before its container started: says why it wrote no log', async () => {
    const s = await stack();
    fake.ecs.taskExitCode = null;
    fake.ecs.taskStopCode = 'TaskFailedToStart';
    fake.ecs.taskStoppedReason = 'CannotPullContainerError: pull image manifest has been retried 5 time(s): not found';
    expect(await cli(s, 'run-now', '--no-wait')).toBe(0);
    const id = out.join('').trim().split('/').pop()!;
    at(30_000);
    expect(await cli(s, 'logs', '--task', id.slice(0, 8))).toBe(0);
    expect(err.join('')).toBe(
      `run ${id} stopped before its container started, so it wrote no log: TaskFailedToStart: CannotPullContainerError: pull image manifest has been retried 5 time(s): not found\n`,
    );
  });

  it('several jobs: a short id is found through ECS, without naming the job', async () => {
    const base = readFileSync(DEFAULT_CONFIG_PATH, 'utf8');
    const s = await stack(
      `${base}\njobs:\n  lister: { original: true }\n  report:\n    schedule: { expression: rate(6 hours) }\n`,
    );
    expect(await cli(s, 'run-now', 'report', '--no-wait')).toBe(0);
    const id = out.join('').trim().split('/').pop()!;
    at(25_000);
    expect(await cli(s, 'logs', '--task', id.slice(0, 8))).toBe(0);
    expect(out.join('')).toContain('listed 0 objects');
    expect(await cli(s, 'logs', '--task', 'ffffffff')).toBe(2);
    expect(err.join('')).toContain('--task ffffffff is not a whole task id, and stack sample-batch has 2 jobs');
  });
});
