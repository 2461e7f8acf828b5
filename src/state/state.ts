/**
 * The state: which AWS resources belong to this stack, by id. It is a cache of identity, not the source
 * of truth (resources are also found by tags), so losing it is recoverable; but it is written after
 * every resource step so a crash loses at most the steps in flight.
 *
 * Where it lives is a backend (a local file, an S3 object): the engine only sees StateStore. Every
 * write is conditional on the version this run read or last wrote, so two writers never overwrite each
 * other silently; the stack's lock, in the account (lock.ts), keeps two converging runs apart in the first place.
 *
 * A write whose answer is lost (S3 applied it, the connection dropped) is sent again by the SDK and then
 * refused by its own precondition: each write carries a `writeId` unique to this run and write, so the
 * backend reads the object back and recognises its own write instead of reporting another writer.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, unlinkSync } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { isExiting, registerCleanup, untilExit } from '../base/cleanup.js';
import { dirname, join, resolve } from 'node:path';
import { UserError, awsStep, type ErrorCode } from '../base/errors.js';
import { parseStateLocation } from '../config/state-location.js';

/** What the state file keeps per resource: identifiers only, never a secret value. */
export interface ResourceRecord {
  /** The resource kind, e.g. `ec2.vpc`. */
  kind: string;
  /** The primary id (vpc-..., bucket name, role name, ARN where that is the only id). */
  id: string;
  arn?: string;
  /** Other identifiers dependants need (e.g. a repository URI, a task definition revision ARN). */
  attrs?: Record<string, string>;
}

export const STATE_SCHEMA_VERSION = 1;

/** What the state holds. Never a secret value: ids and ARNs only. */
export interface StateData {
  schemaVersion: number;
  stack: string;
  region: string;
  account: string;
  /** ISO time of the last write. */
  updatedAt: string;
  /** Per node key, the resource's identifiers. */
  resources: Record<string, ResourceRecord>;
  /**
   * The config's tag keys as of the last `up` that converged everything: a key later dropped from the
   * config is removed from the resources, while keys others add are left alone.
   */
  tagKeys?: string[];
  /**
   * Unique to the run and the write that stored this text: a write sent again after its answer was lost
   * finds this in what is stored and knows the stored state is its own (see the file's comment).
   */
  writeId?: string;
}

/**
 * What a state location holds after `batchctl state migrate` moved its state away: where it went. A
 * run that reads it stops (it must not start a second, empty state here). During the move it also
 * carries the state itself, so at every instant exactly one place holds the authoritative state.
 */
export interface MovedMarker {
  schemaVersion: number;
  movedTo: string;
  movedAt: string;
  movedBy: string;
  /** The state, only while the move is in progress (written before the destination). */
  state?: StateData;
  /** Unique to the write that stored this marker (see StateData.writeId). */
  writeId?: string;
}

/** A stored state: its text and an opaque version (S3 ETag, or the file's hash) for conditional writes. */
export interface StateSnapshot {
  text: string;
  version: string;
}

/** Where a state lives: how it is read and conditionally written (the lock is the account's: lock.ts). */
export interface StateBackend {
  readonly kind: 'local' | 's3';
  /** The path, or `s3://bucket/key`. */
  readonly location: string;
  /** The stored state, or undefined when there is none. */
  read(): Promise<StateSnapshot | undefined>;
  /**
   * Store `text` only if the stored version is still `expected` (undefined: only if nothing is stored).
   * Returns the new version; throws StateConflict when someone else wrote in between.
   */
  write(text: string, expected: string | undefined): Promise<string>;
  /** Warnings about how the state is stored (S3: versioning off), for `plan` and `state migrate`. */
  advice(): Promise<string[]>;
  /**
   * Fail now, with the reason, when the state could not be written (a directory nobody may write): a
   * changing command checks this before its first AWS call, not after creating what it could not record.
   */
  checkWritable?(): Promise<void>;
}

/** The stored state changed since this run read it: the write was refused, nothing was overwritten. */
export class StateConflict extends UserError {
  override name = 'StateConflict';
  override readonly code: ErrorCode = 'STATE_CONFLICT';
  constructor(location: string, detail = 'another writer changed it since this run read it') {
    super(
      `the state ${location} was not saved: ${detail}; nothing was overwritten`,
      'another batchctl run (or a hand edit) wrote it without the lock: let that finish, then run this command again (every resource carries its tags, so nothing is lost)',
    );
  }
}

/** The state at this location was moved elsewhere by `batchctl state migrate`. */
export class StateMoved extends UserError {
  override name = 'StateMoved';
  override readonly code: ErrorCode = 'STATE_MOVED';
  /**
   * `flags`: what a command needs to be pointed at `location` (`-c <config>`, `--state <location>`), so
   * the commands the hint names work as typed.
   */
  constructor(
    location: string,
    readonly marker: MovedMarker,
    flags = '',
  ) {
    const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(marker.movedTo);
    const cmd = `batchctl ${flags ? `${flags} ` : ''}state migrate --to`;
    super(
      marker.state
        ? `the state ${location} is being moved to ${marker.movedTo} (started ${marker.movedAt} by ${marker.movedBy}) and the move did not finish`
        : `the state ${location} was moved to ${marker.movedTo} on ${marker.movedAt} by ${marker.movedBy}`,
      marker.state
        ? `finish it: ${cmd} ${marker.movedTo} (or undo it: ${cmd} ${location})`
        : s3
          ? `point the config at it: state: { s3: { bucket: ${s3[1]}, key: ${s3[2]} } } (or pass --state ${marker.movedTo})`
          : `pass --state ${marker.movedTo}, or remove the config's state section if that is the default path`,
    );
  }
}

/** True for text that is a batchctl state or the marker of a move (whatever its stack): what a state file holds. */
export function looksLikeState(text: string): boolean {
  try {
    const v = JSON.parse(text) as Record<string, unknown> | null;
    return (
      !!v &&
      typeof v === 'object' &&
      typeof v.schemaVersion === 'number' &&
      (typeof v.resources === 'object' || typeof v.movedTo === 'string')
    );
  } catch {
    return false;
  }
}

/** What a stored text is: a state, or the marker of a move. Validates shape and identity. */
export function parseStateText(
  text: string,
  location: string,
  expect: { stack: string; region: string; account: string },
): { state: StateData } | { moved: MovedMarker } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new UserError(`the state ${location} is not valid JSON`, RECOVER_HINT);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new UserError(
      `the state ${location} is not a JSON object (it is ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw})`,
      RECOVER_HINT,
    );
  }
  const data = raw as Record<string, unknown>;
  if (data.format === 'batchctl-plan') {
    throw new UserError(
      `${location} is a saved plan (written by plan --out), not a state`,
      'pass --state the state file (by default .batchctl/<stack>.state.json beside the config)',
    );
  }
  if (data.schemaVersion === undefined && data.resources === undefined && data.movedTo === undefined) {
    throw new UserError(
      `${location} is not a batchctl state (it has no schemaVersion and no resources)`,
      'pass --state the state file (by default .batchctl/<stack>.state.json beside the config)',
    );
  }
  if (data.schemaVersion !== STATE_SCHEMA_VERSION) {
    throw new UserError(
      `the state ${location} has schema version ${JSON.stringify(data.schemaVersion)}; this batchctl reads ${STATE_SCHEMA_VERSION}`,
      'use the batchctl version that wrote it',
    );
  }
  if (typeof data.movedTo === 'string') {
    const marker = data as unknown as MovedMarker;
    if (marker.state !== undefined) parseStateText(JSON.stringify(marker.state), location, expect);
    return { moved: marker };
  }
  for (const k of ['stack', 'region', 'account'] as const) {
    if (typeof data[k] !== 'string' || !data[k]) {
      throw new UserError(
        `the state ${location} has ${data[k] === undefined ? 'no' : 'an empty or invalid'} '${k}' field`,
        RECOVER_HINT,
      );
    }
    if (data[k] !== expect[k]) {
      throw new UserError(
        `the state ${location} belongs to ${k} '${data[k]}', but the config and credentials say '${expect[k]}'`,
        'pass --state to use another state, or check --profile / --region',
      );
    }
  }
  const resources = data.resources;
  if (resources === null || typeof resources !== 'object' || Array.isArray(resources)) {
    throw new UserError(
      `the state ${location} has ${resources === undefined ? 'no' : 'a non-object'} 'resources' field`,
      RECOVER_HINT,
    );
  }
  for (const [key, rec] of Object.entries(resources as Record<string, unknown>)) {
    const r = rec as Partial<ResourceRecord> | null;
    if (!r || typeof r !== 'object' || typeof r.kind !== 'string' || typeof r.id !== 'string') {
      throw new UserError(
        `the state ${location} has an invalid record '${key}' (each needs a string kind and id)`,
        RECOVER_HINT,
      );
    }
  }
  return { state: data as unknown as StateData };
}

const RECOVER_HINT =
  'restore it from a backup (S3 versioning keeps every write), or move it aside: `up` finds existing resources by their tags and writes a new one';

/** The stored text of a state. */
export const serializeState = (data: StateData | MovedMarker): string => JSON.stringify(data, null, 2) + '\n';

/** Loads, updates and saves one state through its backend. */
export class StateStore {
  private writing: Promise<void> = Promise.resolve();
  /** A write that has not started yet: later saves join it. */
  private queued?: Promise<void>;
  private writes = 0;
  private failed?: Error;
  /** Names this run's writes (StateData.writeId). */
  private readonly runTag = randomBytes(6).toString('hex');

  /** What is stored (read or last written), but for its time; undefined while nothing is stored. */
  private stored: string | undefined;

  private constructor(
    readonly backend: StateBackend,
    readonly data: StateData,
    private version: string | undefined,
  ) {
    if (version !== undefined) this.stored = this.content();
  }

  /** Everything a save would write except when and by which write (records, tag keys...). */
  private content(): string {
    return JSON.stringify({ ...this.data, updatedAt: undefined, writeId: undefined });
  }

  /** Where the state lives (a path, or s3://bucket/key). */
  get path(): string {
    return this.backend.location;
  }

  /**
   * The version of the stored state this run read or last wrote (S3 ETag, or the file's hash); undefined
   * while nothing is stored. A saved plan is valid only against the version it read.
   */
  get storedVersion(): string | undefined {
    return this.version;
  }

  /**
   * Read the state from its backend, or start an empty one. Refuses a state of another
   * stack/region/account, a malformed one, and a location whose state was moved away.
   */
  static async open(
    backend: StateBackend,
    expect: { stack: string; region: string; account: string },
    /** The flags that point a command at this state, for the hints of a moved state. */
    flags = '',
  ): Promise<StateStore> {
    const snap = await backend.read();
    if (!snap) {
      return new StateStore(
        backend,
        { schemaVersion: STATE_SCHEMA_VERSION, ...expect, updatedAt: new Date().toISOString(), resources: {} },
        undefined,
      );
    }
    const parsed = parseStateText(snap.text, backend.location, expect);
    if ('moved' in parsed) throw new StateMoved(backend.location, parsed.moved, flags);
    return new StateStore(backend, parsed.state, snap.version);
  }

  get(key: string): ResourceRecord | undefined {
    return this.data.resources[key];
  }

  /** All records, keyed by node key. */
  records(): Map<string, ResourceRecord> {
    return new Map(Object.entries(this.data.resources));
  }

  put(key: string, record: ResourceRecord): void {
    this.data.resources[key] = record;
  }

  remove(key: string): void {
    delete this.data.resources[key];
  }

  /** The config tag keys applied by the last complete `up` (see StateData.tagKeys). */
  tagKeys(): string[] {
    return Array.isArray(this.data.tagKeys) ? this.data.tagKeys.filter((k) => typeof k === 'string') : [];
  }

  setTagKeys(keys: string[]): void {
    this.data.tagKeys = [...new Set(keys)].sort();
  }

  /** How many times the state was written (for tests and benchmarks). */
  get writeCount(): number {
    return this.writes;
  }

  /**
   * Write the state, conditional on the version read or last written. Writes are serialised, and saves
   * asked for while a write waits to start share it (it serialises the data when it starts, so it
   * carries every change made before): steps finishing together cost one write, not one each, which
   * matters when each is an S3 PUT. After a refused write every later save fails with the same error:
   * this run no longer owns the stored state.
   */
  save(): Promise<void> {
    if (this.queued) return this.queued;
    const run = async () => {
      this.queued = undefined;
      if (this.failed) throw this.failed;
      // Nothing but the time would change (a step that found its resource as recorded): no write, so a
      // no-op `up` leaves the state, and an S3 state's versions, as they were.
      const content = this.content();
      if (content === this.stored) return;
      this.data.updatedAt = new Date().toISOString();
      this.data.writeId = `${this.runTag}-${this.writes + 1}`;
      try {
        this.version = await awsStep(`saving the state ${this.backend.location}`, () =>
          this.backend.write(serializeState(this.data), this.version),
        );
      } catch (err) {
        if (err instanceof StateConflict) this.failed = err;
        throw err;
      }
      this.stored = content;
      this.writes += 1;
    };
    const next = this.writing.then(run, run);
    this.queued = next;
    this.writing = next;
    return next;
  }
}

/** Where the state of a command lives. */
export type StateLocation =
  | {
      kind: 'local';
      path: string;
      /** The pre-0.2 default (under the working directory), moved from automatically. */ legacyPath?: string;
    }
  | { kind: 's3'; bucket: string; key: string; region?: string };

/**
 * A location as typed (`--state`, `state migrate --to`), through the one parser (config/state-location.ts):
 * malformed S3 URLs, `.lock` keys and other schemes are user errors. A path is resolved against `cwd`; an
 * S3 location in the config's state bucket takes the config's region for it.
 */
export function stateLocationFrom(
  text: string,
  opts: { cwd?: string; s3?: { bucket: string; region?: string } } = {},
): StateLocation {
  const p = parseStateLocation(text);
  if (p.kind === 'local') return { kind: 'local', path: resolve(opts.cwd ?? process.cwd(), p.path) };
  return { ...p, ...(opts.s3?.bucket === p.bucket && opts.s3.region ? { region: opts.s3.region } : {}) };
}

/** The display form of a location. */
export function locationText(loc: StateLocation): string {
  return loc.kind === 's3' ? `s3://${loc.bucket}/${loc.key}` : loc.path;
}

/**
 * Where the state is: `--state` (a path or s3://bucket/key) wins, then the config's `state.s3`, then
 * `.batchctl/<stack>.state.json` beside the config file. Paths are resolved against the working directory.
 */
export function resolveStateLocation(opts: {
  flag?: string;
  stack: string;
  configPath: string;
  s3?: { bucket: string; key: string; region?: string };
  cwd?: string;
}): StateLocation {
  const cwd = opts.cwd ?? process.cwd();
  if (opts.flag) return stateLocationFrom(opts.flag, { cwd, s3: opts.s3 });
  if (opts.s3) return { kind: 's3', ...opts.s3 };
  const file = `${opts.stack}.state.json`;
  const path = join(dirname(resolve(cwd, opts.configPath)), '.batchctl', file);
  const legacyPath = join(resolve(cwd), '.batchctl', file);
  return { kind: 'local', path, ...(legacyPath !== path ? { legacyPath } : {}) };
}

/** temp + fsync + rename, mode 0600 (the state names every resource of the account's stack). */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  await withTemp(path, content, (tmp) => rename(tmp, path));
}

/**
 * Write `content` to a fresh temp file beside `path` (fsynced, 0600), hand it to `use` (which renames or
 * links it into place), then remove whatever is left of it. Stopped at any moment (Ctrl-C, SIGTERM), no
 * `*.tmp` is left beside the state:
 * - its cleanup is registered first, and the file is created (empty) synchronously, right after checking
 *   that the process is not exiting. A signal's handler runs between event-loop turns, so it finds either
 *   no file or one it removes; an async open would create the file on the thread pool, possibly after the
 *   cleanup ran, and the process exits without waiting for it (Node: process.exit does not wait for
 *   pending asynchronous work);
 * - the content goes in through a second, async open that cannot create the file: once the cleanup
 *   removed it, the write, the fsync and the rename fail instead of bringing it back;
 * - once the process is exiting, no new temp file is made: the write waits for the exit.
 */
export async function withTemp(path: string, content: string, use: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const unregister = registerCleanup(() => {
    try {
      unlinkSync(tmp);
    } catch {
      /* already renamed or removed */
    }
  });
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    if (isExiting()) return await untilExit();
    closeSync(openSync(tmp, 'wx', 0o600));
    const fh = await open(tmp, 'r+');
    try {
      await fh.writeFile(content, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await use(tmp);
  } finally {
    await unlink(tmp).catch(() => {});
    unregister();
  }
}
