/**
 * The one grammar for durations, points in time and counts that users type, in flags and in the config:
 * `logs --since`, `history --since`, `cost --duration`, `task.timeout`, `--parallel`, `--runs`. Each
 * value has a range, and one outside it is refused naming the range: a typo such as `999999999d` must
 * not become a date 270,000 years back, an "Invalid time value" crash or an empty answer.
 *
 * Durations: one or more `<whole number><unit>`, units w (weeks), d, h, m, s, largest first, each once:
 * `90s`, `30m`, `1h30m`, `1d12h`, `2w`. A bare number is refused (seconds or minutes?).
 * Times: `2026-11-28`, `2026-11-28T03:00`, `2026-11-28 03:00:00`, `2026-11-28T03:00:00.5Z`,
 * `2026-11-28T12:00+09:00`. A time without a zone is UTC, in every command (as the AWS CLI reads
 * `aws logs tail --since`): the same text means the same moment on every machine, and in the scripts
 * that share it.
 */
import { UserError } from './errors.js';

/** Seconds in each unit, largest first (the order they must be written in). */
const UNITS: readonly (readonly [string, number])[] = [
  ['w', 604_800],
  ['d', 86_400],
  ['h', 3_600],
  ['m', 60],
  ['s', 1],
];

const DURATION = /^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** The forms, for help texts and hints. */
export const DURATION_FORMS = '90s, 30m, 1h30m, 1d12h, 2w';
export const TIME_FORMS = '2026-11-28, 2026-11-28T03:00, 2026-11-28T03:00:00+09:00 (no zone: UTC)';

/** `--since` in every command's help: the same forms, the same zone rule, the same range. */
export const SINCE_HELP = `a duration back from now (${DURATION_FORMS}) or a time (${TIME_FORMS}), at most 10 years back`;

/** Seconds of a duration such as `1h30m`; undefined when the text is not a duration. */
export function durationSeconds(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  const m = DURATION.exec(t);
  if (!t || !m) return undefined;
  let total = 0;
  UNITS.forEach(([, secs], i) => {
    total += Number(m[i + 1] ?? 0) * secs;
  });
  return Number.isSafeInteger(total) ? total : Number.POSITIVE_INFINITY;
}

/** A duration as people write it: `45m`, `2h`, `1h30m`, `1d2h`, `365d` (days at most, none empty). */
export function formatDurationText(seconds: number): string {
  let rest = Math.round(seconds);
  let out = '';
  for (const [unit, secs] of UNITS) {
    if (unit === 'w') continue;
    const n = Math.floor(rest / secs);
    if (n) out += `${n}${unit}`;
    rest -= n * secs;
  }
  return out || '0s';
}

/** A closed range of seconds with a reason for its ends, said when a value falls outside. */
export interface DurationRange {
  min: number;
  max: number;
  /** Why the upper end is where it is ("CloudWatch Logs keeps events at most 10 years"). */
  why?: string;
}

const quote = (t: string) => `"${t.length > 40 ? `${t.slice(0, 40)}...` : t}"`;

/** The accepted range in words: `1s to 365d`. */
export const rangeText = (r: DurationRange) => `${formatDurationText(r.min)} to ${formatDurationText(r.max)}`;

/** Parse a duration for `what` (a flag or config key) and check its range. */
export function parseDuration(text: string, what: string, range: DurationRange): number {
  const seconds = durationSeconds(text);
  if (seconds === undefined) {
    const bare = /^\s*\d+(\.\d+)?\s*$/.test(text);
    throw new UserError(
      `${what} ${quote(text.trim())} is not a duration`,
      bare
        ? `add a unit: ${text.trim()}s, ${text.trim()}m... (forms: ${DURATION_FORMS})`
        : `write it as ${DURATION_FORMS}: whole numbers, units w d h m s, largest first`,
    );
  }
  if (seconds < range.min || seconds > range.max) {
    throw new UserError(
      `${what} ${quote(text.trim())} is out of range: ${rangeText(range)}`,
      `give a duration from ${rangeText(range)}${range.why ? ` (${range.why})` : ''}`,
    );
  }
  return seconds;
}

const TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[t ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?(z|[+-]\d{2}(?::?\d{2})?)?$/;

/** The instant a time text names (UTC when it has no zone), or undefined when it is not a valid time. */
export function timeMillis(text: string): number | undefined {
  const m = TIME.exec(text.trim().toLowerCase());
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  // A zone on a bare date (`2026-11-28+09:00`) is not ISO 8601.
  if (zone && m[4] === undefined) return undefined;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, Math.floor(Number(`0${frac || '.0'}`) * 1000));
  // Date.UTC rolls 2026-02-30 over to March: refuse what is not a day of its month.
  if (new Date(utc).getUTCDate() !== day) return undefined;
  let offset = 0;
  if (zone && zone !== 'z') {
    const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    const mins = Number(z[2]) * 60 + Number(z[3] ?? 0);
    if (Number(z[2]) > 23 || Number(z[3] ?? 0) > 59) return undefined;
    offset = (z[1] === '+' ? 1 : -1) * mins * 60_000;
  }
  return utc - offset;
}

/**
 * `--since`: a duration back from `now`, or a time; within `range.max` seconds back and not in the
 * future. Returns the instant in milliseconds.
 */
export function parseSince(text: string, what: string, now: number, range: DurationRange): number {
  const seconds = durationSeconds(text);
  if (seconds !== undefined) return now - parseDuration(text, what, range) * 1000;
  const at = timeMillis(text);
  if (at === undefined) {
    throw new UserError(
      `${what} ${quote(text.trim())} is neither a duration nor a time`,
      `give a duration back from now (${DURATION_FORMS}) or a time (${TIME_FORMS})`,
    );
  }
  const earliest = now - range.max * 1000;
  if (at > now) {
    throw new UserError(
      `${what} ${quote(text.trim())} is in the future (now is ${new Date(now).toISOString().replace(/\.\d+Z$/, 'Z')})`,
      'give a time in the past, or a duration back from now such as 1h',
    );
  }
  if (at < earliest) {
    throw new UserError(
      `${what} ${quote(text.trim())} is out of range: at most ${formatDurationText(range.max)} back`,
      `give a time after ${new Date(earliest).toISOString().replace(/\.\d+Z$/, 'Z')}${range.why ? ` (${range.why})` : ''}`,
    );
  }
  return at;
}

/**
 * How far back `--since` may reach: 10 years, the longest retention CloudWatch Logs offers (3653 days);
 * nothing the stack keeps is older.
 */
export const SINCE_RANGE: DurationRange = {
  min: 1,
  max: 3653 * 86_400,
  why: 'CloudWatch Logs keeps events at most 10 years',
};

/** A whole number from `min` to `max` for `what`. */
export function parseCount(text: string, what: string, min: number, max: number, why?: string): number {
  const t = text.trim();
  const n = /^\d+$/.test(t) ? Number(t) : Number.NaN;
  if (!Number.isSafeInteger(n)) {
    throw new UserError(`${what} ${quote(t)} is not a whole number`, `give a whole number from ${min} to ${max}`);
  }
  if (n < min || n > max) {
    throw new UserError(
      `${what} ${quote(t)} is out of range: ${min} to ${max}`,
      `give a whole number from ${min} to ${max}${why ? ` (${why})` : ''}`,
    );
  }
  return n;
}
