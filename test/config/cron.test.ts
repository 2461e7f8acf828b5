import { describe, expect, it } from 'vitest';
import { nextRuns, parseScheduleExpression } from '../../src/config/cron.js';

const iso = (ds: Date[]) => ds.map((d) => d.toISOString().replace(':00.000Z', 'Z'));

describe('parseScheduleExpression', () => {
  it('parses the article cron', () => {
    const p = parseScheduleExpression('cron(30 * * * ? *)');
    expect(p.kind).toBe('cron');
    if (p.kind !== 'cron') return;
    expect(p.fields.minutes).toEqual([30]);
    expect(p.fields.hours).toHaveLength(24);
    expect(p.fields.dayOfMonth).toEqual({ kind: 'values', values: Array.from({ length: 31 }, (_, i) => i + 1) });
    expect(p.fields.dayOfWeek).toEqual({ kind: 'unspecified' });
    expect(p.fields.years[0]).toBe(1970);
    expect(p.fields.years[p.fields.years.length - 1]).toBe(2199);
  });

  it.each([
    [
      'cron(0/15 8-17 ? * MON-FRI *)',
      {
        minutes: [0, 15, 30, 45],
        hours: [8, 9, 10, 11, 12, 13, 14, 15, 16, 17],
        dayOfWeek: { kind: 'values', values: [2, 3, 4, 5, 6] },
      },
    ],
    [
      'cron(5,35 */6 1,15 JAN,jul ? 2027-2028)',
      {
        minutes: [5, 35],
        hours: [0, 6, 12, 18],
        dayOfMonth: { kind: 'values', values: [1, 15] },
        months: [1, 7],
        years: [2027, 2028],
      },
    ],
    ['cron(0 22 ? * FRI-MON *)', { dayOfWeek: { kind: 'values', values: [1, 2, 6, 7] } }],
    ['cron(0 12 L * ? *)', { dayOfMonth: { kind: 'last' } }],
    ['cron(0 12 LW * ? *)', { dayOfMonth: { kind: 'lastWeekday' } }],
    ['cron(0 12 15W * ? *)', { dayOfMonth: { kind: 'nearestWeekday', day: 15 } }],
    ['cron(0 12 ? * 6L *)', { dayOfWeek: { kind: 'lastOfMonth', weekday: 6 } }],
    ['cron(0 12 ? * 3#2 *)', { dayOfWeek: { kind: 'nth', weekday: 3, n: 2 } }],
    ['cron(0 12 ? * TUE,WED *)', { dayOfWeek: { kind: 'values', values: [3, 4] } }],
    ['cron(0 12 ? * L *)', { dayOfWeek: { kind: 'values', values: [7] } }],
  ])('%s', (expr, fields) => {
    const p = parseScheduleExpression(expr);
    expect(p).toMatchObject({ kind: 'cron', fields });
  });

  it.each([
    ['rate(1 minute)', 'minute', 60_000],
    ['rate(5 minutes)', 'minute', 300_000],
    ['rate(1 hour)', 'hour', 3_600_000],
    ['rate(12 hours)', 'hour', 43_200_000],
    ['rate(1 day)', 'day', 86_400_000],
    ['rate(7 days)', 'day', 604_800_000],
  ])('%s', (expr, unit, intervalMs) => {
    expect(parseScheduleExpression(expr)).toMatchObject({ kind: 'rate', unit, intervalMs });
  });

  it.each([
    ['0 * * * ? *', 'wrap the fields: cron(0 * * * ? *)'],
    ['every hour', 'expected cron('],
    ['cron(30 * * * *)', 'cron needs 6 fields (minutes hours day-of-month month day-of-week year), got 5'],
    ['cron(0 12 * * ? * *)', 'got 7'],
    ['cron(0 9 * * MON *)', 'exactly one of day-of-month (*) and day-of-week (MON) must be ?'],
    ['cron(0 9 ? * ? *)', 'cannot both be ?'],
    ['cron(60 * * * ? *)', 'minutes: 60 is out of range 0-59'],
    ['cron(0 24 * * ? *)', 'hours: 24 is out of range 0-23'],
    ['cron(0 0 32 * ? *)', 'day-of-month: 32 is out of range 1-31'],
    ['cron(0 0 0 * ? *)', 'day-of-month: 0 is out of range 1-31'],
    ['cron(0 0 * 13 ? *)', 'month: 13 is out of range 1-12'],
    ['cron(0 0 * JANUARY ? *)', 'month: "JANUARY" is not a number or JAN-DEC'],
    ['cron(0 0 ? * 8 *)', 'day-of-week: 8 is out of range 1-7'],
    ['cron(0 0 ? * 0 *)', 'day-of-week: 0 is out of range 1-7'],
    ['cron(0 0 * * ? 1969)', 'year: 1969 is out of range 1970-2199'],
    ['cron(0 0 * * ? 2200)', 'year: 2200 is out of range 1970-2199'],
    ['cron(*/0 * * * ? *)', 'minutes: the step in "*/0" must be a positive integer'],
    ['cron(1-2-3 * * * ? *)', 'minutes: "1-2-3" is not a range'],
    ['cron(0,,5 * * * ? *)', 'minutes: empty item'],
    ['cron(0 ? * * ? *)', 'hours: ? is only allowed in day-of-month or day-of-week'],
    ['cron(0 L * * ? *)', 'hours: "L" uses L, W or #'],
    ['cron(0 0 ? * 3#6 *)', 'the instance in "3#6" must be 1-5'],
    ['cron(0 0 ? * 3#1,6#3 *)', 'only one # expression per field'],
    ['cron(0 0 L-3 * ? *)', 'day-of-month: "L-3" is not valid'],
    ['cron(0 0 ? * 2W *)', 'day-of-week: "2W" is not valid'],
    ['rate(5 mins)', 'rate unit must be minute(s), hour(s) or day(s), got "mins"'],
    ['rate(1 hours)', 'rate(1 hours) must use the singular unit: rate(1 hour)'],
    ['rate(5 minute)', 'rate(5 minute) must use the plural unit: rate(5 minutes)'],
    ['rate(0 minutes)', 'rate value must be a positive integer, got "0"'],
    ['rate(1.5 hours)', 'rate value must be a positive integer, got "1.5"'],
    ['rate(-5 minutes)', 'rate value must be a positive integer'],
    ['rate(5)', 'rate needs a value and a unit'],
  ])('rejects %s', (expr, message) => {
    expect(() => parseScheduleExpression(expr)).toThrow(message);
  });
});

describe('nextRuns in UTC', () => {
  it('runs the article schedule at :30 every hour', () => {
    expect(iso(nextRuns('cron(30 * * * ? *)', new Date('2027-03-14T05:10:00Z'), 3))).toEqual([
      '2027-03-14T05:30Z',
      '2027-03-14T06:30Z',
      '2027-03-14T07:30Z',
    ]);
  });

  it('starts strictly after `from`', () => {
    expect(iso(nextRuns('cron(30 * * * ? *)', new Date('2027-03-14T05:30:00Z'), 1))).toEqual(['2027-03-14T06:30Z']);
  });

  it('crosses month and year ends', () => {
    expect(iso(nextRuns('cron(0 0 1 * ? *)', new Date('2027-11-15T00:00:00Z'), 3))).toEqual([
      '2027-12-01T00:00Z',
      '2028-01-01T00:00Z',
      '2028-02-01T00:00Z',
    ]);
  });

  it('handles weekdays, L, LW, W and #', () => {
    const from = new Date('2027-01-01T00:00:00Z');
    expect(iso(nextRuns('cron(0 9 ? * MON-FRI *)', from, 3))).toEqual([
      '2027-01-01T09:00Z',
      '2027-01-04T09:00Z',
      '2027-01-05T09:00Z',
    ]);
    expect(iso(nextRuns('cron(0 0 L * ? *)', new Date('2028-02-01T00:00:00Z'), 2))).toEqual([
      '2028-02-29T00:00Z',
      '2028-03-31T00:00Z',
    ]);
    // 31 Jan 2027 and 28 Feb 2027 are Sundays.
    expect(iso(nextRuns('cron(0 23 LW * ? *)', from, 2))).toEqual(['2027-01-29T23:00Z', '2027-02-26T23:00Z']);
    // 15 May 2027 is a Saturday (-> Friday 14th); 1 May 2027 is a Saturday (-> Monday 3rd, not April).
    expect(iso(nextRuns('cron(0 0 15W 5 ? *)', from, 1))).toEqual(['2027-05-14T00:00Z']);
    expect(iso(nextRuns('cron(0 0 1W 5 ? *)', from, 1))).toEqual(['2027-05-03T00:00Z']);
    expect(iso(nextRuns('cron(0 0 ? 3 3#2 *)', from, 1))).toEqual(['2027-03-09T00:00Z']);
    expect(iso(nextRuns('cron(0 0 ? 3 6L *)', from, 1))).toEqual(['2027-03-26T00:00Z']);
  });

  it('counts a rate from `from`', () => {
    expect(iso(nextRuns('rate(20 minutes)', new Date('2027-03-14T05:10:30Z'), 3))).toEqual([
      '2027-03-14T05:30Z',
      '2027-03-14T05:50Z',
      '2027-03-14T06:10Z',
    ]);
  });

  it('returns nothing for a cron that can never fire, and stops when the years run out', () => {
    expect(nextRuns('cron(0 0 30 FEB ? *)', new Date('2027-01-01T00:00:00Z'), 3)).toEqual([]);
    expect(nextRuns('cron(0 0 1 1 ? 2020)', new Date('2027-01-01T00:00:00Z'), 3)).toEqual([]);
    expect(iso(nextRuns('cron(0 0 1 1 ? 2198-2199)', new Date('2198-06-01T00:00:00Z'), 3))).toEqual([
      '2199-01-01T00:00Z',
    ]);
    // Feb 29 exists, but only in leap years.
    expect(iso(nextRuns('cron(0 0 29 2 ? *)', new Date('2027-01-01T00:00:00Z'), 2))).toEqual([
      '2028-02-29T00:00Z',
      '2032-02-29T00:00Z',
    ]);
  });
});

describe('nextRuns in an IANA zone', () => {
  it('keeps wall-clock time across the March 2027 change in America/New_York', () => {
    // Clocks go from 02:00 EST to 03:00 EDT on Sunday 14 March 2027.
    expect(iso(nextRuns('cron(0 12 * * ? *)', new Date('2027-03-12T00:00:00Z'), 4, 'America/New_York'))).toEqual([
      '2027-03-12T17:00Z',
      '2027-03-13T17:00Z',
      '2027-03-14T16:00Z',
      '2027-03-15T16:00Z',
    ]);
  });

  it('skips a wall time the spring change removes', () => {
    expect(iso(nextRuns('cron(30 2 * * ? *)', new Date('2027-03-13T00:00:00Z'), 2, 'America/New_York'))).toEqual([
      '2027-03-13T07:30Z',
      '2027-03-15T06:30Z',
    ]);
  });

  it('runs once in the hour the autumn change repeats', () => {
    // 7 November 2027: 01:00-01:59 happens twice (EDT, then EST).
    expect(iso(nextRuns('cron(30 1 * * ? *)', new Date('2027-11-06T12:00:00Z'), 2, 'America/New_York'))).toEqual([
      '2027-11-07T05:30Z',
      '2027-11-08T06:30Z',
    ]);
    expect(iso(nextRuns('cron(0,30 * * * ? *)', new Date('2027-11-07T04:45:00Z'), 4, 'America/New_York'))).toEqual([
      '2027-11-07T05:00Z',
      '2027-11-07T05:30Z',
      '2027-11-07T07:00Z',
      '2027-11-07T07:30Z',
    ]);
  });

  it('converts a zone without daylight saving', () => {
    expect(iso(nextRuns('cron(0 9 ? * MON *)', new Date('2027-03-14T00:00:00Z'), 2, 'Asia/Tokyo'))).toEqual([
      '2027-03-15T00:00Z',
      '2027-03-22T00:00Z',
    ]);
  });

  it('treats Etc/UTC like UTC', () => {
    const from = new Date('2027-03-14T05:10:00Z');
    expect(nextRuns('cron(30 * * * ? *)', from, 3, 'Etc/UTC')).toEqual(nextRuns('cron(30 * * * ? *)', from, 3));
  });
});
