/**
 * The state file: which AWS resources belong to this stack, by id. It is a cache of identity, not the
 * source of truth (resources are also found by tags), so losing it is recoverable; but it is written
 * after every resource step so a crash loses at most the steps in flight.
 */
import { mkdir, open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { hostname } from 'node:os';
import { UserError } from './errors.js';
import type { ResourceRecord } from './types.js';

export const STATE_SCHEMA_VERSION = 1;

/** What the state file holds. Never a secret value: ids and ARNs only. */
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
}

/** The default state path for a stack. */
export function defaultStatePath(stack: string, cwd = process.cwd()): string {
  return join(cwd, '.batchctl', `${stack}.state.json`);
}

/** Loads, updates and atomically saves one state file. */
export class StateStore {
  private writing: Promise<void> = Promise.resolve();
  private writes = 0;

  private constructor(readonly path: string, readonly data: StateData) {}

  /** Read the state at `path`, or start an empty one. Refuses a state of another stack/region/account. */
  static async load(path: string, expect: { stack: string; region: string; account: string }): Promise<StateStore> {
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text === undefined) {
      return new StateStore(path, {
        schemaVersion: STATE_SCHEMA_VERSION, ...expect, updatedAt: new Date().toISOString(), resources: {},
      });
    }
    let data: StateData;
    try {
      data = JSON.parse(text) as StateData;
    } catch {
      throw new UserError(`state file ${path} is not valid JSON`, 'restore it from a backup or delete it: `up` finds existing resources by their tags');
    }
    if (data.schemaVersion !== STATE_SCHEMA_VERSION) {
      throw new UserError(`state file ${path} has schema version ${data.schemaVersion}; this batchctl reads ${STATE_SCHEMA_VERSION}`, 'use the batchctl version that wrote it');
    }
    for (const k of ['stack', 'region', 'account'] as const) {
      if (data[k] && data[k] !== expect[k]) {
        throw new UserError(
          `state file ${path} belongs to ${k} '${data[k]}', but the config and credentials say '${expect[k]}'`,
          'pass --state to use another state file, or check --profile / --region',
        );
      }
    }
    data.resources ??= {};
    return new StateStore(path, data);
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

  /** How many times the file was written (for tests and benchmarks). */
  get writeCount(): number {
    return this.writes;
  }

  /**
   * Write the file atomically: temp file in the same directory, fsync, rename. Saves are serialised so
   * two steps finishing together cannot interleave their writes; the last save carries both.
   */
  save(): Promise<void> {
    const run = async () => {
      this.data.updatedAt = new Date().toISOString();
      await writeFileAtomic(this.path, JSON.stringify(this.data, null, 2) + '\n');
      this.writes += 1;
    };
    this.writing = this.writing.then(run, run);
    return this.writing;
  }
}

/** temp + fsync + rename, mode 0600 (the state names every resource of the account's stack). */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(content, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

/** Who holds a lock. */
export interface LockInfo {
  pid: number;
  host: string;
  command: string;
  startedAt: string;
}

/**
 * An exclusive lock next to the state file, so two `up`/`down` runs never converge the same stack at
 * once. Created with O_EXCL; a lock whose process is gone (same host, dead PID) is taken over.
 */
export class StateLock {
  private constructor(readonly path: string) {}

  static pathFor(statePath: string): string {
    return `${statePath}.lock`;
  }

  /** Take the lock or throw a UserError naming the holder. */
  static async acquire(statePath: string, command: string, opts: { forceUnlock?: boolean; onStale?: (info: LockInfo) => void } = {}): Promise<StateLock> {
    const path = StateLock.pathFor(statePath);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    if (opts.forceUnlock) await unlink(path).catch(() => {});
    const info: LockInfo = { pid: process.pid, host: hostname(), command, startedAt: new Date().toISOString() };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await writeFile(path, JSON.stringify(info) + '\n', { flag: 'wx', mode: 0o600 });
        return new StateLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = await readLock(path);
      if (holder && holder.host === hostname() && !processAlive(holder.pid)) {
        opts.onStale?.(holder);
        await unlink(path).catch(() => {});
        continue;
      }
      const who = holder
        ? `'${holder.command}' (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt})`
        : 'another batchctl run (unreadable lock file)';
      throw new UserError(
        `the state ${statePath} is locked by ${who}`,
        `wait for it to finish; if that run is gone, pass --force-unlock (lock file: ${path})`,
      );
    }
    throw new UserError(`could not take the lock ${path}`, 'pass --force-unlock if no other batchctl runs');
  }

  async release(): Promise<void> {
    await unlink(this.path).catch(() => {});
  }
}

async function readLock(path: string): Promise<LockInfo | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
