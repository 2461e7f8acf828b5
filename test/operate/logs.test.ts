/**
 * `batchctl logs`: selection (--since, --filter, --task), following with polling and with Live Tail
 * (each event exactly once, in order, across pages and overlapping polls), and the CLI around it.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CloudWatchLogsClient, CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { scratch, type Scratch } from '../helpers/stack.js';
import { ROOT } from '../helpers/ctx.js';
import { Dedupe, LogPoller, formatEvent, runLogs, type LogEvent, type LogsOptions } from '../../src/runs/logs.js';
import { buildProgram } from '../../src/cli/main.js';

const GROUP = '/ecs/SampleBatch';
const T1 = 'ecs/batch/aaaaaaaa11112222333344445555';
const T2 = 'ecs/batch/bbbbbbbb66667777888899990000';
const START = Date.parse('2026-03-01T00:00:00Z');

let fake: FakeAws;
let s: Scratch;
beforeEach(async () => {
  vi.useFakeTimers({ now: START, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  fake = createFakeAws();
  s = scratch();
  await new CloudWatchLogsClient({ region: 'ap-northeast-1' }).send(new CreateLogGroupCommand({ logGroupName: GROUP }));
});
afterEach(() => {
  fake.uninstall();
  vi.useRealTimers();
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

/**
 * Let real I/O (reading the config) and pending promises run, without moving fake time. Bounded by real
 * time (hrtime is not faked here), not by a count of turns: on a loaded machine a file read can take
 * more turns than an idle one.
 */
async function until(cond: () => boolean): Promise<void> {
  const start = process.hrtime.bigint();
  while (!cond()) {
    if (process.hrtime.bigint() - start > 10_000_000_000n) throw new Error('condition never became true');
    await new Promise((r) => setImmediate(r));
  }
}

const add = (stream: string, ...messages: string[]) =>
  fake.logs.addEvents(
    GROUP,
    stream,
    messages.map((message) => ({ timestamp: Date.now(), message })),
  );

function follow(extra: Partial<LogsOptions> = {}) {
  const got: LogEvent[] = [];
  const modes: string[] = [];
  const ac = new AbortController();
  const done = runLogs(
    {
      configPath: s.configPath,
      tail: true,
      signal: ac.signal,
      onMode: (m, why) => modes.push(`${m}: ${why}`),
      ...extra,
    },
    (e) => got.push(e),
  );
  return {
    got,
    modes,
    done,
    stop: async () => {
      ac.abort();
      await done;
    },
    msgs: () => got.map((e) => e.message),
  };
}

describe('logs: selection', () => {
  it('--since, --filter and --task pick the right events, in time order', async () => {
    fake.logs.addEvents(GROUP, T1, [{ timestamp: START - 3 * 3600_000, message: 'old run' }]);
    fake.logs.addEvents(GROUP, T1, [
      { timestamp: START - 20 * 60_000, message: 'ERROR one' },
      { timestamp: START - 10 * 60_000, message: 'fine one' },
    ]);
    fake.logs.addEvents(GROUP, T2, [{ timestamp: START - 15 * 60_000, message: 'ERROR two' }]);
    const read = async (o: Partial<LogsOptions>) => {
      const got: string[] = [];
      await runLogs({ configPath: s.configPath, ...o }, (e) => got.push(e.message));
      return got;
    };
    expect(await read({})).toEqual(['ERROR one', 'ERROR two', 'fine one']); // default: the last hour
    expect(await read({ since: '4h' })).toEqual(['old run', 'ERROR one', 'ERROR two', 'fine one']);
    expect(await read({ since: '2026-02-28T23:45:00Z' })).toEqual(['ERROR two', 'fine one']);
    expect(await read({ since: '1d', filter: 'ERROR' })).toEqual(['ERROR one', 'ERROR two']);
    // --task: the whole run by default (no --since cut-off), by full id, short id or ARN.
    expect(await read({ task: 'aaaaaaaa' })).toEqual(['old run', 'ERROR one', 'fine one']);
    expect(
      await read({ task: 'arn:aws:ecs:ap-northeast-1:123456789012:task/sample-batch/bbbbbbbb66667777888899990000' }),
    ).toEqual(['ERROR two']);
    expect(await read({ task: 'aaaaaaaa', since: '30m', filter: 'ERROR' })).toEqual(['ERROR one']);
  });

  it('a missing log group says to run up first', async () => {
    fake.logs.groups.clear();
    await expect(runLogs({ configPath: s.configPath }, () => {})).rejects.toThrow(
      /log group \/ecs\/SampleBatch does not exist/,
    );
  });
});

describe('logs --tail by polling (Live Tail unsupported, as in local emulators)', () => {
  beforeEach(() => {
    fake.logs.liveTailSupported = false;
  });

  it('falls back to polling; events appended later appear exactly once and in order, across pages and same-millisecond events', async () => {
    fake.logs.filterPageLimit = 2;
    add(T1, 'before 1', 'before 2', 'before 3');
    const f = follow();
    await until(() => f.got.length === 3);
    expect(f.modes[0]).toMatch(/^polling: Live Tail is not available here \(InternalFailure\)/);
    for (let n = 0; n < 5; n++) {
      await vi.advanceTimersByTimeAsync(700);
      // Two events of the same millisecond in different streams, and a burst larger than a page.
      add(T1, `t1 ${n}`);
      add(T2, `t2 ${n}`);
      if (n === 2) add(T1, 'burst a', 'burst b', 'burst c', 'burst d', 'burst e');
    }
    await vi.advanceTimersByTimeAsync(3000);
    await f.stop();
    const expected = ['before 1', 'before 2', 'before 3'];
    for (let n = 0; n < 5; n++)
      expected.push(`t1 ${n}`, `t2 ${n}`, ...(n === 2 ? ['burst a', 'burst b', 'burst c', 'burst d', 'burst e'] : []));
    expect(f.msgs()).toEqual(expected);
    expect(new Set(f.got.map((e) => e.id)).size).toBe(f.got.length);
    // Polled at least every 2 s, and the fake really paged.
    expect(fake.core.count({ op: 'FilterLogEvents' })).toBeGreaterThanOrEqual(1 + Math.floor(6500 / 2000));
    expect(fake.core.calls.some((c) => c.op === 'FilterLogEvents' && c.input.nextToken)).toBe(true);
  });

  it('an event ingested late, older than what was already printed, is still printed once (the poll overlap)', async () => {
    const f = follow();
    await until(() => fake.core.count({ op: 'FilterLogEvents' }) >= 1);
    await vi.advanceTimersByTimeAsync(5000);
    add(T1, 'on time');
    await vi.advanceTimersByTimeAsync(2000);
    fake.logs.addEvents(GROUP, T1, [{ timestamp: Date.now() - 4000, message: 'late' }]);
    await vi.advanceTimersByTimeAsync(5000);
    await f.stop();
    expect(f.msgs()).toEqual(['on time', 'late']);
  });

  it('remembers event ids for the recent window only', async () => {
    const client = new CloudWatchLogsClient({ region: 'ap-northeast-1' });
    const poller = new LogPoller(client, { group: GROUP, since: START }, 10_000);
    let total = 0;
    for (let n = 0; n < 300; n++) {
      add(T1, `line ${n}`, `line ${n} again`);
      total += (await poller.poll()).length;
      vi.setSystemTime(Date.now() + 1000);
    }
    expect(total).toBe(600);
    expect(poller.dedupe.size).toBeLessThan(50);
  });
});

describe('logs --tail with Live Tail', () => {
  it('backfills, then prints pushed events once and in order; no polling while the session lives', async () => {
    add(T1, 'before');
    const f = follow();
    await until(() => f.got.length === 1);
    for (let n = 0; n < 4; n++) {
      add(T1, `live ${n}a`, `live ${n}b`);
      await vi.advanceTimersByTimeAsync(1000);
    }
    await until(() => f.got.length === 9);
    await f.stop();
    expect(f.msgs()).toEqual([
      'before',
      'live 0a',
      'live 0b',
      'live 1a',
      'live 1b',
      'live 2a',
      'live 2b',
      'live 3a',
      'live 3b',
    ]);
    expect(fake.core.count({ op: 'StartLiveTail' })).toBe(1);
    expect(fake.core.count({ op: 'FilterLogEvents' })).toBe(1);
    expect(f.modes).toEqual([]);
    const start = fake.core.calls.find((c) => c.op === 'StartLiveTail')!.input;
    expect(start.logGroupIdentifiers).toEqual([fake.logs.arn(GROUP)]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(fake.logs.liveTailSessions).toBe(0);
  });

  it('an event both the backfill and the session saw is printed once; identical lines of one millisecond both are', async () => {
    fake.core.latencyMs = 100;
    const warnings: string[] = [];
    const f = follow({ task: 'aaaaaaaa', filter: 'x', warn: (m) => warnings.push(m) });
    // --task: first, whether the run has a stream (it has none yet: a warning, and the follow goes on).
    await until(() => fake.core.count({ op: 'DescribeLogStreams' }) === 1);
    await vi.advanceTimersByTimeAsync(100);
    await until(() => fake.core.count({ op: 'DescribeLogGroups' }) === 1);
    await vi.advanceTimersByTimeAsync(100);
    await until(() => fake.core.count({ op: 'StartLiveTail' }) === 1);
    await vi.advanceTimersByTimeAsync(100);
    await until(() => fake.core.count({ op: 'FilterLogEvents' }) === 1);
    // Ingested after the session started and before the backfill read: both will return it.
    add(T1, 'x in both', 'x twin', 'x twin');
    add(T2, 'x other task');
    add(T1, 'not matching');
    await vi.advanceTimersByTimeAsync(100);
    await until(() => f.got.length === 3);
    await vi.advanceTimersByTimeAsync(1500);
    add(T1, 'x after');
    await vi.advanceTimersByTimeAsync(1500);
    await until(() => f.got.length >= 4);
    await f.stop();
    expect(warnings).toEqual([
      `no run aaaaaaaa in log group ${GROUP} yet: waiting for its log stream (a task still starting has none); Ctrl-C to stop`,
    ]);
    expect(f.msgs()).toEqual(['x in both', 'x twin', 'x twin', 'x after']);
    const start = fake.core.calls.find((c) => c.op === 'StartLiveTail')!.input;
    expect(start).toMatchObject({ logStreamNamePrefixes: ['ecs/batch/aaaaaaaa'], logEventFilterPattern: 'x' });
  });

  it('Dedupe matches Live Tail events to polled ones by content, counting duplicates', () => {
    const d = new Dedupe(10_000);
    const e = (id: string | undefined, message: string, timestamp = START): LogEvent => ({
      id,
      message,
      timestamp,
      ingestionTime: timestamp,
      stream: T1,
    });
    expect(d.acceptPolled(e('1', 'a'))).toBe(true);
    expect(d.acceptPolled(e('1', 'a'))).toBe(false);
    expect(d.acceptPolled(e('2', 'a'))).toBe(true);
    expect(d.acceptLive(e(undefined, 'a'))).toBe(false);
    expect(d.acceptLive(e(undefined, 'a'))).toBe(false);
    expect(d.acceptLive(e(undefined, 'a'))).toBe(true);
    // After a fall back to polling, the line Live Tail printed is not printed again.
    expect(d.acceptPolled(e('3', 'a'))).toBe(false);
    d.prune(START + 60_000);
    expect(d.size).toBe(0);
  });
});

describe('batchctl logs (CLI)', () => {
  let out: string[];
  let err: string[];
  beforeEach(() => {
    out = [];
    err = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((x) => {
      out.push(String(x));
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((x) => {
      err.push(String(x));
      return true;
    });
    process.exitCode = undefined;
  });
  const cli = (...args: string[]) => buildProgram().parseAsync(['node', 'batchctl', '-c', s.configPath, ...args]);

  it('prints time, short id and message; --utc; --json gives one object per event', async () => {
    fake.logs.addEvents(GROUP, T1, [{ timestamp: START - 1000, message: 'hello\n' }]);
    await cli('logs', '--utc');
    expect(out.join('')).toBe('2026-02-28T23:59:59.000Z  aaaaaaaa  hello\n');
    out.length = 0;
    await cli('logs');
    expect(out.join('')).toBe(
      formatEvent({ timestamp: START - 1000, ingestionTime: 0, stream: T1, message: 'hello' }, false) + '\n',
    );
    expect(out.join('')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.000  aaaaaaaa  hello\n$/);
    out.length = 0;
    await cli('--json', 'logs');
    expect(
      out
        .join('')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      expect.objectContaining({
        time: '2026-02-28T23:59:59.000Z',
        task: 'aaaaaaaa11112222333344445555',
        message: 'hello',
        stream: T1,
      }),
    ]);
    expect(process.exitCode).toBe(0);
  });

  it('-f follows until Ctrl-C, which ends cleanly with exit 0', async () => {
    fake.logs.liveTailSupported = false;
    const done = cli('logs', '-f');
    await until(() => fake.core.count({ op: 'FilterLogEvents' }) >= 1);
    add(T2, 'while following');
    await vi.advanceTimersByTimeAsync(1500);
    await until(() => out.length === 1);
    process.emit('SIGINT');
    await done;
    expect(out.join('')).toMatch(/bbbbbbbb  while following\n$/);
    expect(process.exitCode).toBe(0);
    expect(process.listenerCount('SIGINT')).toBe(0);
  });

  it('a bad --since is a user error (exit 2) before any AWS call', async () => {
    await cli('logs', '--since', 'last tuesday');
    expect(process.exitCode).toBe(2);
    expect(err.join('')).toMatch(/--since "last tuesday" is neither a duration nor a time\nhint: /);
    expect(fake.core.calls.filter((c) => c.service === 'logs' && c.op !== 'CreateLogGroup')).toEqual([]);
  });
});

describe('the built bin', () => {
  it('logs loads only the CloudWatch Logs client (no STS, no state)', async () => {
    vi.useRealTimers();
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(
          JSON.stringify({
            events: [
              { logStreamName: T1, timestamp: START, ingestionTime: START, message: 'from the endpoint', eventId: '1' },
            ],
            searchedLogStreams: [],
          }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const env = { ...process.env };
    delete env.AWS_PROFILE;
    delete env.AWS_ENDPOINT_URL;
    try {
      const child = spawn(
        process.execPath,
        [
          '--import',
          join(ROOT, 'bench/import-trace.mjs'),
          join(ROOT, 'bin/batchctl'),
          '-c',
          s.configPath,
          '--endpoint-url',
          url,
          'logs',
          '--utc',
        ],
        {
          cwd: s.dir,
          env: {
            ...env,
            AWS_ACCESS_KEY_ID: 'AKIDTEST',
            AWS_SECRET_ACCESS_KEY: 'test',
            AWS_CONFIG_FILE: '/nonexistent',
            AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
          },
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const status = await new Promise<number | null>((r) => child.on('close', r));
      expect(stdout, stderr).toBe('2026-03-01T00:00:00.000Z  aaaaaaaa  from the endpoint\n');
      expect(status).toBe(0);
      const line = stderr.split('\n').find((l) => l.startsWith('aws-clients-loaded:'))!;
      expect(JSON.parse(line.slice('aws-clients-loaded: '.length))).toEqual(['client-cloudwatch-logs']);
    } finally {
      server.close();
    }
  });
});
