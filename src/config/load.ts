/**
 * Reading `batch.config.yaml`: YAML (with positions) -> zod -> cross-field checks -> names filled.
 * Every problem found is reported at once as `file:line:col  key.path  what was expected`; nothing
 * here calls AWS.
 */
import { readFile } from 'node:fs/promises';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type * as z from 'zod/mini';
import { ConfigError, UserError, type LocatedProblem } from '../base/errors.js';
import { printable } from '../base/format.js';
import { docPath } from '../base/docs.js';
import { configSchema, fillNames, type StackConfig } from './schema.js';
import { REGION_SHAPE } from './names.js';
import { validateConfig, type PathKey, type Problem } from './validate.js';
import { nearest } from '../base/suggest.js';
import { unknownRegionMessage } from './regions.js';
import { indentationProblems } from './indent.js';

export interface LoadOptions {
  /** The --region flag: wins over the config's `region` and the environment. */
  region?: string;
  /** Defaults to process.env (AWS_REGION, then AWS_DEFAULT_REGION). */
  env?: NodeJS.ProcessEnv;
  /** "Now" for the check that the schedule can still fire; defaults to the current time. */
  now?: Date;
  /** Told what is not wrong but worth saying (AWS_REGION differs from the config's region). */
  warn?: (message: string) => void;
  /**
   * The region of the AWS profile in force (aws/profiles.ts profileRegionInForce, given by the caller:
   * the config layer reads no AWS file): used after AWS_DEFAULT_REGION, as the AWS CLI does.
   */
  profileRegion?: { profile: string; region: string };
}

/** A config larger than this is not a batchctl config (the default one is about 1.3 KB). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** Read, validate and resolve a config file. Throws UserError (missing file) or ConfigError. */
export async function loadConfig(path: string, opts: LoadOptions = {}): Promise<StackConfig> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new UserError(
        `config file not found: ${printable(path)}`,
        `create one with \`batchctl init\` (every key: ${docPath('configuration.md')}), or pass --config`,
      );
    if (code === 'EISDIR')
      throw new UserError(`${printable(path)} is a directory, not a config file`, 'pass the YAML file with --config');
    throw new UserError(
      `cannot read config file ${printable(path)}: ${code ?? (err as Error).message}`,
      'check the path and its permissions, or pass --config',
    );
  }
  return parseConfigText(decodeConfig(bytes, path), path, opts);
}

/**
 * The file's text, or a ConfigError for what is not a YAML text file at all (too big, binary, not
 * UTF-8): one problem saying so, instead of hundreds of YAML errors quoting the bytes.
 */
export function decodeConfig(bytes: Buffer, file: string): string {
  const at = (offset: number, message: string): never => {
    const before = bytes.subarray(0, offset).toString('utf8');
    const line = before.split('\n').length;
    throw new ConfigError(file, [{ line, col: before.length - before.lastIndexOf('\n'), path: '(root)', message }]);
  };
  if (bytes.length > MAX_CONFIG_BYTES) {
    at(
      0,
      `the file is ${(bytes.length / 1024 / 1024).toFixed(1)} MiB: a batchctl config is a few KB of YAML; is this the right file?`,
    );
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0)
    at(nul, 'the file is binary (it contains a NUL byte here), not YAML text; if it is UTF-16, save it as UTF-8');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // Where the first byte that is not UTF-8 is: the lenient decoder turns it into U+FFFD.
    const lenient = bytes.toString('utf8');
    const bad = Buffer.byteLength(lenient.slice(0, lenient.indexOf('\ufffd')), 'utf8');
    return at(
      bad,
      'the file is not UTF-8 text here (YAML is Unicode text): is it binary, or saved in another encoding?',
    );
  }
}

/**
 * A ConfigError for problems found once the config was loaded (the preflight checks it against the
 * account), each located in the file as `validate` locates its own.
 */
export async function configErrorAt(file: string, problems: Problem[], hint?: string): Promise<ConfigError> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const locate = locator(lineCounter);
  return new ConfigError(file, sortProblems(problems.map((p) => locate(offsetOf(doc, p), p.path, p.message))), hint);
}

function locator(lineCounter: LineCounter) {
  return (offset: number, path: PathKey[], message: string): LocatedProblem => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, col, path: path.length ? path.join('.') : '(root)', message };
  };
}

/** Parse and validate config text; `file` names it in messages. Pure apart from reading the clock. */
export function parseConfigText(text: string, file: string, opts: LoadOptions = {}): StackConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const locate = locator(lineCounter);

  // A syntax error leaves the structure uncertain; checking the rest would report knock-on noise.
  if (doc.errors.length) {
    // An indentation mistake makes the parser fail on the lines after it, once per line: name the line.
    const indentation = indentationProblems(text);
    if (indentation.length) {
      throw new ConfigError(
        file,
        indentation.map((p) => ({
          line: p.line,
          col: p.col,
          path: p.path.length ? p.path.join('.') : '(root)',
          message: p.message,
        })),
      );
    }
    throw new ConfigError(
      file,
      sortProblems(
        doc.errors.map((e) => {
          // The parser points at the indentation before the line it failed on: point at what is there.
          let at = e.pos[0];
          while (text[at] === ' ' || text[at] === '\t') at++;
          if (text[at] === '\n' || text[at] === '\r' || at >= text.length) at = e.pos[0];
          const path = pathAt(doc, at);
          const message =
            e.code === 'DUPLICATE_KEY'
              ? `duplicate key "${String(path[path.length - 1])}": each key may appear only once in a mapping`
              : `YAML syntax: ${e.message}`;
          return locate(at, path, message);
        }),
      ),
    );
  }

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError(file, [locate(0, [], `YAML: ${(err as Error).message}`)]);
  }
  const at = (p: Problem) => locate(offsetOf(doc, p), p.path, p.message);
  if (raw === null || raw === undefined || typeof raw !== 'object' || Array.isArray(raw)) {
    const what = raw === null || raw === undefined ? 'the file is empty' : `got ${kindOf(raw)}`;
    throw new ConfigError(file, [
      at({
        path: [],
        message: `${what}: expected a mapping with at least stack and network (batchctl init writes one; every key: ${docPath('configuration.md')})`,
      }),
    ]);
  }

  // `jobs: { lister: }` (a job that changes nothing) is YAML null: the same as `lister: {}`.
  const jobs = (raw as Record<string, unknown>).jobs;
  if (jobs && typeof jobs === 'object' && !Array.isArray(jobs)) {
    for (const [name, job] of Object.entries(jobs)) if (job === null) (jobs as Record<string, unknown>)[name] = {};
  }

  const problems: Problem[] = [];
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) for (const issue of parsed.error.issues) problems.push(...fromIssue(issue, raw));

  const region = resolveRegion(raw as Record<string, unknown>, opts, problems);
  const checked = validateConfig(raw, { region, now: opts.now });
  if (region) checkOverride(raw as Record<string, unknown>, region, opts, checked);
  problems.push(...checked.filter((p) => !p.warning));

  if (problems.length || !parsed.success || !region) throw new ConfigError(file, sortProblems(problems.map(at)));
  // Warnings are told once the config loads, located like problems, so they point at what to change.
  for (const w of sortProblems(checked.filter((p) => p.warning).map(at))) {
    opts.warn?.(`${printable(file)}:${w.line}:${w.col}  ${printable(w.path, 100)}  ${printable(w.message, 400)}`);
  }
  return fillNames(parsed.data, region);
}

function resolveRegion(raw: Record<string, unknown>, opts: LoadOptions, problems: Problem[]): string | undefined {
  const env = opts.env ?? process.env;
  const fromFile = raw.region;
  const [value, source] = opts.region
    ? [opts.region, '--region']
    : fromFile !== undefined
      ? [fromFile, 'config']
      : env.AWS_REGION
        ? [env.AWS_REGION, 'AWS_REGION']
        : env.AWS_DEFAULT_REGION
          ? [env.AWS_DEFAULT_REGION, 'AWS_DEFAULT_REGION']
          : opts.profileRegion
            ? [opts.profileRegion.region, `the region of profile ${printable(opts.profileRegion.profile, 64)}`]
            : [undefined, ''];
  if (value === undefined) {
    problems.push({
      path: ['region'],
      message: 'no region: set region in the config, --region, AWS_REGION, or a region in your AWS profile',
    });
    return undefined;
  }
  // A bad `region:` in the file is zod's to report; a bad flag or variable is the flag's (or variable's)
  // mistake, not the file's: said as such, without a file position.
  if (typeof value !== 'string' || !REGION_SHAPE.test(value)) {
    if (source !== 'config')
      throw new UserError(
        `${source} "${printable(String(value), 40)}" is not an AWS region such as ap-northeast-1`,
        regionHint(source),
      );
    return undefined;
  }
  const unknown = unknownRegionMessage(value, source === 'config' ? undefined : source);
  if (unknown && source !== 'config') throw new UserError(unknown, regionHint(source));
  if (unknown) {
    problems.push({ path: ['region'], message: unknown });
    return undefined;
  }
  // The SDK and the AWS CLI let AWS_REGION win; here the config does, since it names the stack's home
  // (a stack created in one region is not found in another). Say so when the two disagree.
  if (source === 'config' && env.AWS_REGION && env.AWS_REGION !== value) {
    opts.warn?.(
      `AWS_REGION is ${printable(env.AWS_REGION, 40)} but the config's region is ${value}: batchctl uses ${value}, because the config's region wins over the environment (pass --region to choose another)`,
    );
  }
  return value;
}

const regionHint = (source: string) =>
  source === '--region'
    ? "pass --region with an AWS region, or leave it out to use the config's"
    : `set ${source} to an AWS region, or set region in the config`;

/** The subnets' zones: what `--region` (or the environment) must match for the config to make sense. */
function configZones(raw: Record<string, unknown>): string[] {
  const network = raw.network as Record<string, unknown> | undefined;
  const zones = ['batchSubnets', 'endpointSubnets']
    .flatMap((k) => (Array.isArray(network?.[k]) ? (network[k] as { az?: unknown }[]) : []))
    .map((s) => s?.az)
    .filter((z): z is string => typeof z === 'string');
  return [...new Set(zones)];
}

/**
 * A region from --region (or the environment) whose zones the config's subnets are not in, when they are
 * all in the config's own region: one mistake, the override's, said once and naming the flag, instead of
 * one problem per subnet blamed on the file.
 */
function checkOverride(raw: Record<string, unknown>, region: string, opts: LoadOptions, checked: Problem[]): void {
  const own = raw.region;
  const zones = configZones(raw);
  if (typeof own !== 'string' || own === region || !zones.length) return;
  if (zones.some((z) => z.startsWith(region)) || !zones.every((z) => new RegExp(`^${own}[a-z]$`).test(z))) return;
  const source = opts.region ? '--region' : 'AWS_REGION';
  // The problems `validate` made of it, one per subnet, are this one mistake.
  if (!checked.some((p) => p.path.at(-1) === 'az')) return;
  throw new UserError(
    `${source} ${region} does not match the config: its subnets are in ${zones.join(', ')}, zones of ${own} (the config's region)`,
    `leave out ${source} to use ${own}, or give the subnets zones of ${region} (named ${region} plus a letter; \`batchctl plan\` checks which your account has)`,
  );
}

function sortProblems(ps: LocatedProblem[]): LocatedProblem[] {
  return ps.sort(
    (a, b) => a.line - b.line || a.col - b.col || a.path.localeCompare(b.path) || a.message.localeCompare(b.message),
  );
}

function kindOf(v: unknown): string {
  if (v === null || v === undefined) return 'nothing (an empty value)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  return `${typeof v === 'number' && Number.isInteger(v) ? 'the integer' : `a ${typeof v}`} ${String(v)}`;
}

const EXPECTED: Record<string, string> = {
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
};

function getRaw(raw: unknown, path: PathKey[]): unknown {
  return path.reduce<unknown>(
    (v, k) => (v !== null && typeof v === 'object' ? (v as Record<PathKey, unknown>)[k] : undefined),
    raw,
  );
}

/** zod's issue, reworded for a person editing YAML. Unknown keys become one problem per key. */
function fromIssue(issue: z.core.$ZodIssue, raw: unknown): Problem[] {
  const path = issue.path.filter((k): k is PathKey => typeof k !== 'symbol');
  const value = getRaw(raw, path);
  const custom = !/^(Invalid|Too (small|big)|Unrecognized)/.test(issue.message);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeys(path);
      return issue.keys.map((key) => {
        const near = nearest(key, allowed);
        return {
          path: [...path, key],
          atKey: true,
          message: `unknown key "${key}"${near ? `: did you mean ${near}?` : ''} (allowed: ${allowed.join(', ')})`,
        };
      });
    }
    case 'invalid_type': {
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      if (value === undefined)
        return [{ path, message: `missing required key "${String(path[path.length - 1])}" (${expected})` }];
      const quote =
        issue.expected === 'string' && (typeof value === 'number' || typeof value === 'boolean')
          ? `; quote it: "${String(value)}"`
          : '';
      return [{ path, message: `expected ${expected}, got ${kindOf(value)}${quote}` }];
    }
    case 'invalid_value': {
      const opts = issue.values.map(String);
      const near = typeof value === 'string' ? nearest(value, opts) : undefined;
      return [
        {
          path,
          message: `expected one of ${opts.join(', ')}, got ${kindOf(value)}${near ? `: did you mean ${near}?` : ''}`,
        },
      ];
    }
    case 'invalid_format':
      return [{ path, message: `expected ${custom ? issue.message : issue.format}, got ${kindOf(value)}` }];
    case 'too_small':
    case 'too_big': {
      if (custom)
        return [
          {
            path,
            message: `expected ${issue.message}, got ${issue.origin === 'array' ? `${(value as unknown[]).length} entries` : kindOf(value)}`,
          },
        ];
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const cmp = issue.code === 'too_small' ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
      const unit = issue.origin === 'array' ? ' entries' : issue.origin === 'string' ? ' characters' : '';
      return [{ path, message: `expected ${cmp} ${String(bound)}${unit}, got ${kindOf(value)}` }];
    }
    default:
      return [{ path, message: issue.message }];
  }
}

/** The keys the schema accepts at an object path (unwrapping defaults, optionals and arrays). */
function allowedKeys(path: PathKey[]): string[] {
  type Def = {
    type: string;
    shape?: Record<string, unknown>;
    innerType?: unknown;
    element?: unknown;
    valueType?: unknown;
  };
  const def = (s: unknown) => (s as { _zod: { def: Def } })._zod.def;
  const unwrap = (s: unknown): unknown => {
    const d = def(s);
    return d.innerType ? unwrap(d.innerType) : s;
  };
  let s = unwrap(configSchema);
  for (const k of path) {
    const d = def(s);
    if (d.type === 'array' && typeof k === 'number') s = unwrap(d.element);
    else if (d.type === 'record' && typeof k === 'string') s = unwrap(d.valueType);
    else if (d.type === 'object' && typeof k === 'string' && d.shape?.[k]) s = unwrap(d.shape[k]);
    else return [];
  }
  return Object.keys(def(s).shape ?? {});
}

/**
 * Where a problem points: the value at its path, or its key when the problem is about the key (or the
 * value is empty); for a missing key, the closest existing parent (its key when it has one).
 */
function offsetOf(doc: Document, p: Problem): number {
  let node: unknown = doc.contents;
  let key: Node | undefined;
  let depth = 0;
  for (const k of p.path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => (isScalar(it.key) ? String(it.key.value) : String(it.key)) === String(k));
      if (!pair) break;
      [node, key] = [pair.value, pair.key as Node];
    } else if (isSeq(node) && typeof k === 'number' && k < node.items.length) {
      [node, key] = [node.items[k], undefined];
    } else break;
    depth++;
  }
  const complete = depth === p.path.length;
  const n = node as Node | null | undefined;
  const empty = !n || (isScalar(n) && n.value === null && !n.source);
  if (key?.range && (p.atKey || !complete || empty)) return key.range[0];
  return n?.range?.[0] ?? 0;
}

/** The key path of the deepest node containing `offset` (for YAML errors). */
function pathAt(doc: Document, offset: number): PathKey[] {
  const path: PathKey[] = [];
  let node: unknown = doc.contents;
  const within = (n: unknown) => {
    const r = (n as Node | null)?.range;
    return !!r && offset >= r[0] && offset <= r[2];
  };
  for (;;) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && (within(it.key) || within(it.value)));
      if (!pair) break;
      path.push(isScalar(pair.key) ? String(pair.key.value) : String(pair.key));
      if (within(pair.key)) break;
      node = pair.value;
    } else if (isSeq(node)) {
      const i = node.items.findIndex(within);
      if (i < 0) break;
      path.push(i);
      node = node.items[i];
    } else break;
  }
  return path;
}
