/**
 * EventBridge content filtering, for the fake: validate an event pattern like PutRule does and match an
 * event against it. Covers what EventBridge documents for event buses: exact values (strings, numbers,
 * booleans, null), prefix, suffix, equals-ignore-case, anything-but (a value, a list, a prefix or a
 * suffix), numeric ranges, exists, `$or`, and arrays in the event matched element by element.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

const NUMERIC_OPS = ['<', '<=', '=', '>', '>='];

/** Why a pattern is invalid, or undefined when EventBridge would accept it. */
export function patternProblem(pattern: unknown, path = ''): string | undefined {
  if (!isObj(pattern)) return `${path || 'pattern'} must be an object`;
  if (path === '' && Object.keys(pattern).length === 0) return 'empty pattern';
  for (const [k, v] of Object.entries(pattern)) {
    const at = path ? `${path}.${k}` : k;
    if (k === '$or') {
      if (!Array.isArray(v) || v.length < 2) return `${at} must be an array of at least 2 patterns`;
      for (const alt of v) {
        const p = patternProblem(alt, at);
        if (p) return p;
      }
    } else if (Array.isArray(v)) {
      if (!v.length) return `${at}: empty arrays are not allowed`;
      for (const m of v) {
        const p = matcherProblem(m, at);
        if (p) return p;
      }
    } else if (isObj(v)) {
      const p = patternProblem(v, at);
      if (p) return p;
    } else {
      return `"${at}" must be an object or an array`;
    }
  }
  return undefined;
}

function matcherProblem(m: unknown, at: string): string | undefined {
  if (!isObj(m)) return undefined;
  const keys = Object.keys(m);
  if (keys.length !== 1) return `${at}: a matcher object has exactly one key`;
  const [op] = keys as [string];
  const v = m[op];
  switch (op) {
    case 'prefix':
    case 'suffix':
      return typeof v === 'string' || (isObj(v) && typeof v['equals-ignore-case'] === 'string')
        ? undefined
        : `${at}: ${op} must be a string`;
    case 'equals-ignore-case':
      return typeof v === 'string' ? undefined : `${at}: equals-ignore-case must be a string`;
    case 'exists':
      return typeof v === 'boolean' ? undefined : `${at}: exists must be true or false`;
    case 'anything-but':
      if (typeof v === 'string' || typeof v === 'number') return undefined;
      if (
        Array.isArray(v) &&
        v.length &&
        (v.every((x) => typeof x === 'string') || v.every((x) => typeof x === 'number'))
      )
        return undefined;
      if (
        isObj(v) &&
        Object.keys(v).length === 1 &&
        ['prefix', 'suffix', 'equals-ignore-case'].includes(Object.keys(v)[0]!)
      )
        return undefined;
      return `${at}: unsupported anything-but value`;
    case 'numeric': {
      if (!Array.isArray(v) || (v.length !== 2 && v.length !== 4)) return `${at}: numeric takes one or two comparisons`;
      for (let i = 0; i < v.length; i += 2) {
        if (!NUMERIC_OPS.includes(v[i] as string) || typeof v[i + 1] !== 'number')
          return `${at}: bad numeric comparison`;
      }
      return undefined;
    }
    default:
      return `${at}: unrecognized match type ${op}`;
  }
}

/** One leaf matcher against one scalar value (undefined: the field is absent). */
function matchLeaf(m: unknown, v: unknown, present: boolean): boolean {
  if (!isObj(m)) {
    if (!present) return false;
    return m === v;
  }
  const [op] = Object.keys(m) as [string];
  const arg = m[op];
  if (op === 'exists') return arg === present;
  if (!present) return false;
  const ci = (s: unknown) => (isObj(s) ? String(s['equals-ignore-case']).toLowerCase() : undefined);
  switch (op) {
    case 'prefix':
      return typeof v === 'string' && (isObj(arg) ? v.toLowerCase().startsWith(ci(arg)!) : v.startsWith(arg as string));
    case 'suffix':
      return typeof v === 'string' && (isObj(arg) ? v.toLowerCase().endsWith(ci(arg)!) : v.endsWith(arg as string));
    case 'equals-ignore-case':
      return typeof v === 'string' && v.toLowerCase() === (arg as string).toLowerCase();
    case 'anything-but': {
      if (isObj(arg)) return typeof v === 'string' && !matchLeaf(arg, v, true);
      const list = Array.isArray(arg) ? arg : [arg];
      // Like EventBridge: a string list only excludes strings and a number list only numbers; any other
      // value (another type, null) is "anything but" those and matches.
      return !list.includes(v as never);
    }
    case 'numeric': {
      if (typeof v !== 'number') return false;
      const a = arg as (string | number)[];
      for (let i = 0; i < a.length; i += 2) {
        const n = a[i + 1] as number;
        const ok = { '<': v < n, '<=': v <= n, '=': v === n, '>': v > n, '>=': v >= n }[a[i] as string];
        if (!ok) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/** A list of matchers against a field: any matcher against any element when the field is an array. */
function matchField(matchers: unknown[], v: unknown, present: boolean): boolean {
  const values = Array.isArray(v) ? v : [v];
  if (Array.isArray(v) && v.length === 0) return matchers.some((m) => matchLeaf(m, undefined, false));
  return values.some((x) => matchers.some((m) => matchLeaf(m, x, present)));
}

/** True when the event (or part of it) matches the pattern (or sub-pattern). */
export function matchPattern(pattern: Record<string, unknown>, event: unknown): boolean {
  return Object.entries(pattern).every(([k, p]) => {
    if (k === '$or') return (p as Record<string, unknown>[]).some((alt) => matchPattern(alt, event));
    const present = isObj(event) && k in event;
    const v = present ? (event as Record<string, unknown>)[k] : undefined;
    if (Array.isArray(p)) return matchField(p, v, present);
    // A nested pattern against an array of objects matches when any element matches it.
    if (Array.isArray(v)) return v.some((el) => matchPattern(p as Record<string, unknown>, el));
    return matchPattern(p as Record<string, unknown>, present ? v : undefined);
  });
}

/**
 * Evaluate an input path (`$.detail.containers[0].exitCode`): dot notation and array indices, the forms
 * EventBridge input transformers accept. Undefined when the path does not resolve.
 */
export function evalPath(event: unknown, path: string): Json | undefined {
  const parts = path.replace(/^\$/, '').match(/\.[^.[\]]+|\[\d+\]/g) ?? [];
  let v: unknown = event;
  for (const p of parts) {
    if (v === null || typeof v !== 'object') return undefined;
    v = p.startsWith('[') ? (v as unknown[])[Number(p.slice(1, -1))] : (v as Record<string, unknown>)[p.slice(1)];
  }
  return v as Json | undefined;
}
