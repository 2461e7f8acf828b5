/**
 * EventBridge schedule expressions: `cron(min hour day-of-month month day-of-week year)` and
 * `rate(N unit)`. The parser is strict (it rejects what EventBridge's PutRule rejects, with a message
 * naming the field); `nextRuns` lists upcoming fire times, in UTC or in an IANA zone.
 */

/** A day field: `?` (no constraint from this field), a value set, or one of the L / W / # forms. */
export type DaySpec =
  | { kind: 'unspecified' }
  | { kind: 'values'; values: number[] }
  /** Day-of-month `L`: the last day of the month. */
  | { kind: 'last' }
  /** Day-of-month `LW`: the last weekday (Mon-Fri) of the month. */
  | { kind: 'lastWeekday' }
  /** Day-of-month `15W`: the weekday nearest the 15th, without leaving the month. */
  | { kind: 'nearestWeekday'; day: number }
  /** Day-of-week `6L`: the last Friday of the month (1 = SUN ... 7 = SAT). */
  | { kind: 'lastOfMonth'; weekday: number }
  /** Day-of-week `3#2`: the second Tuesday of the month. */
  | { kind: 'nth'; weekday: number; n: number };

export interface CronFields {
  minutes: number[];
  hours: number[];
  dayOfMonth: DaySpec;
  months: number[];
  /** 1 = SUN ... 7 = SAT, as EventBridge numbers them. */
  dayOfWeek: DaySpec;
  years: number[];
}

export type RateUnit = 'minute' | 'hour' | 'day';

export type ScheduleExpression =
  { kind: 'cron'; fields: CronFields } | { kind: 'rate'; value: number; unit: RateUnit; intervalMs: number };

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const UNIT_MS: Record<RateUnit, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

interface FieldDef {
  name: string;
  min: number;
  max: number;
  names?: string[];
}
const F_MIN: FieldDef = { name: 'minutes', min: 0, max: 59 };
const F_HOUR: FieldDef = { name: 'hours', min: 0, max: 23 };
const F_DOM: FieldDef = { name: 'day-of-month', min: 1, max: 31 };
const F_MONTH: FieldDef = { name: 'month', min: 1, max: 12, names: MONTHS };
const F_DOW: FieldDef = { name: 'day-of-week', min: 1, max: 7, names: WEEKDAYS };
const F_YEAR: FieldDef = { name: 'year', min: 1970, max: 2199 };

function range(from: number, to: number, step = 1): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

function value(f: FieldDef, text: string): number {
  const named = f.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) return named + f.min;
  if (!/^\d+$/.test(text)) {
    const what = f.names ? `a number or ${f.names[0]}-${f.names[f.names.length - 1]}` : 'a number';
    throw new Error(`${f.name}: "${text}" is not ${what}`);
  }
  const n = Number(text);
  if (n < f.min || n > f.max) throw new Error(`${f.name}: ${n} is out of range ${f.min}-${f.max}`);
  return n;
}

/** A `,`-list of `*`, `a`, `a-b`, with an optional `/step`; returns the sorted set. */
function values(f: FieldDef, text: string): number[] {
  const out = new Set<number>();
  for (const item of text.split(',')) {
    if (item === '') throw new Error(`${f.name}: empty item in "${text}"`);
    const [base, stepText, extra] = item.split('/');
    if (extra !== undefined) throw new Error(`${f.name}: "${item}" has more than one /`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0)
        throw new Error(`${f.name}: the step in "${item}" must be a positive integer`);
      step = Number(stepText);
    }
    let from: number;
    let to: number;
    if (base === '*') [from, to] = [f.min, f.max];
    else if (base!.includes('-')) {
      const [a, b, more] = base!.split('-');
      if (more !== undefined || !a || !b) throw new Error(`${f.name}: "${item}" is not a range like a-b`);
      [from, to] = [value(f, a), value(f, b)];
    } else {
      from = value(f, base!);
      // `5/15` means "from 5, every 15" up to the field's maximum.
      to = stepText !== undefined ? f.max : from;
    }
    if (from <= to) range(from, to, step).forEach((v) => out.add(v));
    else {
      // A reversed range wraps around the field (Quartz semantics, which EventBridge follows): FRI-MON.
      const span = f.max - f.min + 1;
      for (let i = 0; i <= to + span - from; i += step) out.add(((from - f.min + i) % span) + f.min);
    }
  }
  return [...out].sort((a, b) => a - b);
}

function special(text: string): boolean {
  return /[LW#?]/i.test(text);
}

function dayOfMonth(text: string): DaySpec {
  if (text === '?') return { kind: 'unspecified' };
  if (text === 'L') return { kind: 'last' };
  if (text === 'LW') return { kind: 'lastWeekday' };
  const w = /^(\d+)W$/.exec(text);
  if (w) return { kind: 'nearestWeekday', day: value(F_DOM, w[1]!) };
  if (special(text))
    throw new Error(`day-of-month: "${text}" is not valid: use ?, L, LW, nW (e.g. 15W) alone, or numbers with , - * /`);
  return { kind: 'values', values: values(F_DOM, text) };
}

function dayOfWeek(text: string): DaySpec {
  if (text === '?') return { kind: 'unspecified' };
  // `L` alone is the last day of the week: Saturday.
  if (text === 'L') return { kind: 'values', values: [7] };
  const last = /^(\w+?)L$/i.exec(text);
  if (last && !text.includes(',')) return { kind: 'lastOfMonth', weekday: value(F_DOW, last[1]!) };
  if (text.includes('#')) {
    const m = /^(\w+)#(\d+)$/.exec(text);
    if (!m)
      throw new Error(
        `day-of-week: "${text}" is not valid: # takes one weekday and an instance, e.g. 3#2 (only one # expression per field)`,
      );
    const n = Number(m[2]);
    if (n < 1 || n > 5) throw new Error(`day-of-week: the instance in "${text}" must be 1-5`);
    return { kind: 'nth', weekday: value(F_DOW, m[1]!), n };
  }
  if (special(text.replace(/SUN|MON|TUE|WED|THU|FRI|SAT/g, '')))
    throw new Error(
      `day-of-week: "${text}" is not valid: use ?, L, nL (e.g. 6L), n#k (e.g. 3#2) alone, or days with , - * /`,
    );
  return { kind: 'values', values: values(F_DOW, text) };
}

function plain(f: FieldDef, text: string): number[] {
  if (text.includes('?')) throw new Error(`${f.name}: ? is only allowed in day-of-month or day-of-week`);
  if (/[LW#]/.test(text.replace(/[A-Z]{3}/gi, '')))
    throw new Error(`${f.name}: "${text}" uses L, W or #, which only the day fields accept`);
  return values(f, text);
}

/**
 * Parse an EventBridge schedule expression. Throws an Error whose message says exactly what is wrong
 * (the field, the value, what is allowed).
 */
export function parseScheduleExpression(expr: string): ScheduleExpression {
  const text = expr.trim();
  const rate = /^rate\((.*)\)$/.exec(text);
  if (rate) return parseRate(rate[1]!);
  const cron = /^cron\((.*)\)$/.exec(text);
  if (!cron) {
    const hint = /^[\d*?]/.test(text) ? `; wrap the fields: cron(${text})` : '';
    throw new Error(`expected cron(minutes hours day-of-month month day-of-week year) or rate(N unit)${hint}`);
  }
  const parts = cron[1]!.trim().split(/\s+/).filter(Boolean);
  if (parts.length !== 6) {
    const extra =
      parts.length === 5
        ? ': unlike Unix cron, EventBridge adds a year field and needs ? in one day field, e.g. cron(30 * * * ? *)'
        : '';
    throw new Error(
      `cron needs 6 fields (minutes hours day-of-month month day-of-week year), got ${parts.length}${extra}`,
    );
  }
  const [mi, ho, dom, mo, dow, yr] = parts as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?')) {
    throw new Error(
      dom === '?'
        ? 'day-of-month and day-of-week cannot both be ?: set one of them (e.g. cron(0 12 * * ? *))'
        : `exactly one of day-of-month (${dom}) and day-of-week (${dow}) must be ?: EventBridge cannot combine them (e.g. cron(0 12 * * ? *) or cron(0 12 ? * MON-FRI *))`,
    );
  }
  return {
    kind: 'cron',
    fields: {
      minutes: plain(F_MIN, mi),
      hours: plain(F_HOUR, ho),
      dayOfMonth: dayOfMonth(dom.toUpperCase()),
      months: plain(F_MONTH, mo),
      dayOfWeek: dayOfWeek(dow.toUpperCase()),
      years: plain(F_YEAR, yr),
    },
  };
}

function parseRate(body: string): ScheduleExpression {
  const m = /^\s*(\S+)\s+(\S+)\s*$/.exec(body);
  if (!m) throw new Error(`rate needs a value and a unit, e.g. rate(5 minutes), got rate(${body})`);
  const [, n, unit] = m as unknown as [string, string, string];
  if (!/^\d+$/.test(n) || Number(n) < 1) throw new Error(`rate value must be a positive integer, got "${n}"`);
  const value = Number(n);
  const singular = unit.replace(/s$/, '') as RateUnit;
  if (!(singular in UNIT_MS)) throw new Error(`rate unit must be minute(s), hour(s) or day(s), got "${unit}"`);
  // EventBridge rejects rate(1 minutes) and rate(5 minute): the unit's number must agree with the value.
  if (value === 1 && unit !== singular)
    throw new Error(`rate(1 ${unit}) must use the singular unit: rate(1 ${singular})`);
  if (value !== 1 && unit === singular)
    throw new Error(`rate(${value} ${unit}) must use the plural unit: rate(${value} ${singular}s)`);
  return { kind: 'rate', value, unit: singular, intervalMs: value * UNIT_MS[singular] };
}

function daysIn(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/** 1 = SUN ... 7 = SAT for a calendar date (weekday of a date does not depend on the zone). */
function weekday(y: number, m: number, d: number): number {
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 1;
}

function dayMatches(f: CronFields, y: number, m: number, d: number): boolean {
  const dim = daysIn(y, m);
  const dom = f.dayOfMonth;
  switch (dom.kind) {
    case 'values':
      return dom.values.includes(d);
    case 'last':
      return d === dim;
    case 'lastWeekday': {
      const wd = weekday(y, m, dim);
      return d === (wd === 1 ? dim - 2 : wd === 7 ? dim - 1 : dim);
    }
    case 'nearestWeekday': {
      if (dom.day > dim) return false;
      const wd = weekday(y, m, dom.day);
      let target = dom.day;
      // Saturday moves to Friday and Sunday to Monday, unless that leaves the month.
      if (wd === 7) target = dom.day === 1 ? 3 : dom.day - 1;
      if (wd === 1) target = dom.day === dim ? dom.day - 2 : dom.day + 1;
      return d === target;
    }
    default:
      break;
  }
  const dow = f.dayOfWeek;
  const wd = weekday(y, m, d);
  switch (dow.kind) {
    case 'values':
      return dow.values.includes(wd);
    case 'lastOfMonth':
      return wd === dow.weekday && d + 7 > dim;
    case 'nth':
      return wd === dow.weekday && Math.ceil(d / 7) === dow.n;
    default:
      return false;
  }
}

interface Wall {
  y: number;
  m: number;
  d: number;
  h: number;
  mi: number;
}

/** Wall-clock minutes matching the cron, in ascending order, from the start of day `start`. */
function* wallTimes(f: CronFields, start: { y: number; m: number; d: number }): Generator<Wall> {
  for (const y of f.years) {
    if (y < start.y) continue;
    for (const m of f.months) {
      if (y === start.y && m < start.m) continue;
      const dim = daysIn(y, m);
      for (let d = y === start.y && m === start.m ? start.d : 1; d <= dim; d++) {
        if (!dayMatches(f, y, m, d)) continue;
        for (const h of f.hours) for (const mi of f.minutes) yield { y, m, d, h, mi };
      }
    }
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's wall clock at instant `t`, as a UTC timestamp of the same wall-clock reading. */
function wallMs(t: number, timeZone: string): number {
  let fmt = formatters.get(timeZone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, fmt);
  }
  const p: Record<string, number> = {};
  for (const part of fmt.formatToParts(new Date(t))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
}

/**
 * The instant a wall-clock time happens in the zone, or undefined when it does not exist (the hour
 * skipped when clocks go forward). A repeated wall time (clocks going back) maps to its first
 * occurrence only: EventBridge Scheduler skips the missing hour and runs once in the repeated one.
 */
function instantOf(wall: number, timeZone: string): number | undefined {
  const day = 86_400_000;
  const offsets = new Set([wallMs(wall - day, timeZone) - (wall - day), wallMs(wall + day, timeZone) - (wall + day)]);
  const hits = [...offsets].map((o) => wall - o).filter((t) => wallMs(t, timeZone) === wall);
  return hits.length ? Math.min(...hits) : undefined;
}

/**
 * The next `count` times the schedule fires strictly after `from`. Cron fields are read as wall-clock
 * time in `timeZone` (default UTC, which is what EventBridge rules use). A rate runs every interval
 * counted from `from` (EventBridge counts from the rule's creation, which a caller may pass as `from`).
 * Returns fewer than `count` dates when the cron's years run out.
 */
export function nextRuns(expr: string, from: Date, count: number, timeZone = 'UTC'): Date[] {
  const parsed = parseScheduleExpression(expr);
  const out: Date[] = [];
  if (count <= 0) return out;
  const t0 = from.getTime();
  if (parsed.kind === 'rate') {
    const base = Math.floor(t0 / 60_000) * 60_000;
    for (let i = 1; i <= count; i++) out.push(new Date(base + i * parsed.intervalMs));
    return out;
  }
  const utc = timeZone === 'UTC' || timeZone === 'Etc/UTC';
  // Start a day early in wall-clock terms so an offset change near `from` cannot skip a match.
  const startWall = new Date((utc ? t0 : wallMs(t0, timeZone)) - 86_400_000);
  const start = { y: startWall.getUTCFullYear(), m: startWall.getUTCMonth() + 1, d: startWall.getUTCDate() };
  for (const w of wallTimes(parsed.fields, start)) {
    const wall = Date.UTC(w.y, w.m - 1, w.d, w.h, w.mi);
    const t = utc ? wall : instantOf(wall, timeZone);
    if (t === undefined || t <= t0) continue;
    out.push(new Date(t));
    if (out.length >= count) break;
  }
  return out;
}
