/**
 * The one grammar for what users type as a duration, a point in time or a count, with its ranges
 * (src/base/duration.ts), and the flags that use it: every form accepted the same way by `logs --since`
 * and `history --since`, every value outside its range refused with exit 2 naming the range.
 */
import { describe, expect, it } from 'vitest';
import {
  durationSeconds,
  formatDurationText,
  parseCount,
  parseDuration,
  parseSince,
  SINCE_RANGE,
  timeMillis,
} from '../../src/base/duration.js';
import { UserError } from '../../src/base/errors.js';
import { captureCli } from '../helpers/cli.js';
import { scratch, upOn } from '../helpers/stack.js';
import { createFakeAws } from '../fake-aws/index.js';
import { afterEach } from 'vitest';

const NOW = Date.parse('2026-11-28T12:00:00Z');
const RANGE = { min: 1, max: 365 * 86_400 };

describe('durations', () => {
  it('whole numbers with units w d h m s, largest first, each once', () => {
    expect(durationSeconds('90s')).toBe(90);
    expect(durationSeconds('30m')).toBe(1800);
    expect(durationSeconds('1h30m')).toBe(5400);
    expect(durationSeconds('1d12h')).toBe(129_600);
    expect(durationSeconds('2w')).toBe(1_209_600);
    expect(durationSeconds('1w2d3h4m5s')).toBe(604_800 + 2 * 86_400 + 3 * 3600 + 4 * 60 + 5);
    expect(durationSeconds(' 5M ')).toBe(300);
    expect(durationSeconds('0m')).toBe(0);
    for (const bad of ['', '30', 'm', '30 m', '1m1h', '1h1h', '-5m', '1.5h', 'PT30M', '5 minutes', '1y']) {
      expect(durationSeconds(bad), bad).toBeUndefined();
    }
  });

  it('printed with the largest units, days at most', () => {
    expect(formatDurationText(5400)).toBe('1h30m');
    expect(formatDurationText(93_630)).toBe('1d2h30s');
    expect(formatDurationText(365 * 86_400)).toBe('365d');
    expect(formatDurationText(0)).toBe('0s');
  });

  it('out of range or not a duration: a user error naming the flag and the range', () => {
    expect(parseDuration('1d', '--duration', RANGE)).toBe(86_400);
    expect(() => parseDuration('0s', '--duration', RANGE)).toThrow(/--duration "0s" is out of range: 1s to 365d/);
    expect(() => parseDuration('366d', '--duration', RANGE)).toThrow(/out of range: 1s to 365d/);
    expect(() => parseDuration('99999999999999999999d', '--duration', RANGE)).toThrow(/out of range/);
    const bare = (() => {
      try {
        parseDuration('300', '--duration', RANGE);
      } catch (e) {
        return e as UserError;
      }
    })();
    expect(bare).toBeInstanceOf(UserError);
    expect(bare?.message).toBe('--duration "300" is not a duration');
    expect(bare?.hint).toMatch(/add a unit: 300s, 300m/);
  });
});

describe('times', () => {
  it('ISO dates and date-times; without a zone, UTC', () => {
    expect(timeMillis('2026-11-20')).toBe(Date.parse('2026-11-20T00:00:00Z'));
    expect(timeMillis('2026-11-20T03:00')).toBe(Date.parse('2026-11-20T03:00:00Z'));
    expect(timeMillis('2026-11-20 03:00:00')).toBe(Date.parse('2026-11-20T03:00:00Z'));
    expect(timeMillis('2026-11-20T03:00:00.250Z')).toBe(Date.parse('2026-11-20T03:00:00.250Z'));
    expect(timeMillis('2026-11-20T03:00:00+09:00')).toBe(Date.parse('2026-11-19T18:00:00Z'));
    expect(timeMillis('2026-11-20T03:00-0530')).toBe(Date.parse('2026-11-20T08:30:00Z'));
    for (const bad of [
      '2026-13-01',
      '2026-02-30',
      '2026-11-20T24:00',
      '2026-11-20+09:00',
      '20261120',
      'yesterday',
      '',
    ]) {
      expect(timeMillis(bad), bad).toBeUndefined();
    }
  });

  it('--since: back from now, or a time; not in the future, at most 10 years back', () => {
    const since = (t: string) => parseSince(t, '--since', NOW, SINCE_RANGE);
    expect(since('30m')).toBe(NOW - 1_800_000);
    expect(since('1h30m')).toBe(NOW - 5_400_000);
    expect(since('2026-11-28T03:00:00')).toBe(Date.parse('2026-11-28T03:00:00Z'));
    expect(since('3653d')).toBe(NOW - 3653 * 86_400_000);
    expect(() => since('999999999d')).toThrow(/--since "999999999d" is out of range: 1s to 3653d/);
    expect(() => since('100000001d')).toThrow(/out of range/);
    expect(() => since('2030-01-01')).toThrow(/is in the future/);
    expect(() => since('1990-01-01')).toThrow(/at most 3653d back/);
    expect(() => since('yesterday')).toThrow(/neither a duration nor a time/);
  });
});

describe('counts', () => {
  it('whole numbers within the range', () => {
    expect(parseCount('64', '--parallel', 1, 256)).toBe(64);
    for (const bad of ['0', '257', '1e3', '-1', '1.5', 'x', '', '99999999999999999999']) {
      expect(() => parseCount(bad, '--parallel', 1, 256), bad).toThrow(UserError);
    }
    expect(() => parseCount('0', '--parallel', 1, 256)).toThrow('--parallel "0" is out of range: 1 to 256');
  });
});

describe('the flags', () => {
  const cli = captureCli();
  afterEach(() => {
    fake?.uninstall();
  });
  let fake: ReturnType<typeof createFakeAws> | undefined;

  it('logs and history accept the same --since forms', async () => {
    fake = createFakeAws();
    const s = scratch();
    await upOn(s);
    const day = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10);
    for (const since of [
      '90s',
      '30m',
      '1h30m',
      '1d12h',
      '2w',
      day,
      `${day}T03:00`,
      `${day} 03:00:00`,
      `${day}T03:00:00+09:00`,
    ]) {
      for (const command of ['logs', 'history']) {
        const code = await cli.run('-c', s.configPath, '--state', s.statePath, command, '--since', since);
        // No complaint about the flag (an empty `logs` says which window it read, --since included).
        expect(cli.err.join(''), `${command} --since ${since}`).not.toMatch(/^error:.*--since/m);
        expect(code, `${command} --since ${since}: ${cli.err.join('')}`).toBe(0);
      }
    }
  });

  it('a value out of its range: exit 2, the flag and the range named, nothing sent to AWS', async () => {
    fake = createFakeAws();
    const s = scratch();
    const cases: [string[], RegExp][] = [
      [['history', '--since', '999999999d'], /--since "999999999d" is out of range: 1s to 3653d/],
      [['logs', '--since', '999999999d'], /--since "999999999d" is out of range: 1s to 3653d/],
      [['logs', '--since', '100000001d'], /out of range/],
      [['cost', '--duration', '400d'], /--duration "400d" is out of range: 1s to 365d/],
      [['up', '--parallel', '0'], /--parallel "0" is out of range: 1 to 256/],
      [['plan', '--parallel', '100000'], /--parallel "100000" is out of range: 1 to 256/],
      [['down', '--parallel', '-3'], /--parallel "-3" is not a whole number/],
      [['down', '--recovery-window', '31'], /--recovery-window "31" is out of range: 7 to 30/],
      [['status', '--runs', '1000'], /--runs "1000" is out of range: 1 to 100/],
    ];
    for (const [args, message] of cases) {
      const code = await cli.run('-c', s.configPath, '--state', s.statePath, ...args);
      expect(code, args.join(' ')).toBe(2);
      expect(cli.err.join(''), args.join(' ')).toMatch(message);
      expect(cli.err.join(''), args.join(' ')).toMatch(/hint: give /);
    }
    expect(fake.core.count()).toBe(0);
  });

  it('with --json the refusal is the JSON error document', async () => {
    const s = scratch();
    const code = await cli.run('-c', s.configPath, '--json', 'history', '--since', '999999999d');
    expect(code).toBe(2);
    expect(JSON.parse(cli.out.join(''))).toMatchObject({ ok: false, exitCode: 2 });
  });
});
