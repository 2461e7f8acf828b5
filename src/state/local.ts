/**
 * The state as a local file. Writes are atomic (temp file, fsync, rename) and conditional on the hash
 * of what this run read, so a hand edit or a second writer without the lock is refused rather than
 * overwritten. A symlinked state path is written through to its target, and the lock is taken beside
 * the target, so two links to one state share one lock. The lock is a file created with O_EXCL.
 */
import { createHash } from 'node:crypto';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { link, lstat, mkdir, readFile, readlink, realpath, rename, rmdir, symlink, unlink } from 'node:fs/promises';
import { isExiting, untilExit } from '../base/cleanup.js';
import { basename, dirname, join, resolve } from 'node:path';
import { hostname } from 'node:os';
import { UserError } from '../base/errors.js';
import {
  LockHeld, StateConflict, StateStore, heldLock, newLockInfo, parseLock, writeFileAtomic, withTemp,
  type HeldLock, type LockInfo, type LockRequest, type StateBackend, type StateSnapshot,
} from './state.js';

const hash = (text: string) => createHash('sha256').update(text).digest('hex');

/** The lock file of a state file (beside its resolved target). */
export const localLockPath = (target: string) => `${target}.lock`;

/** Turn a file-system error on the state into a user error with a hint; rethrow anything else. */
export function stateFileError(err: unknown, path: string, doing: 'read' | 'write' | 'lock'): never {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const what = { EACCES: 'permission denied', EPERM: 'operation not permitted', EROFS: 'read-only file system', ENOSPC: 'no space left on the device', EISDIR: 'it is a directory', ENOTDIR: 'a parent is not a directory', ELOOP: 'too many symbolic links' }[code];
  if (what) {
    throw new UserError(
      `cannot ${doing === 'read' ? 'read' : 'write'} the state ${doing === 'lock' ? 'lock' : 'file'} ${path}: ${what} (${code})`,
      doing === 'read'
        ? 'check the file and its permissions, or pass --state <file>'
        : 'make the directory writable, pass --state <writable file>, or keep the state in S3 (state.s3 in the config, or --state s3://bucket/key)',
    );
  }
  throw err;
}

/**
 * Follow `path` through symbolic links to the file that holds the state (it may not exist yet), with
 * its directory canonicalised: the lock must be the same file whichever link a run was given.
 */
export async function resolveStateTarget(path: string): Promise<string> {
  let p = resolve(path);
  for (let hops = 0; ; hops++) {
    if (hops > 32) throw new UserError(`the state path ${path} is a loop of symbolic links`, 'point it at a file, or pass --state <file>');
    let isLink = false;
    try {
      isLink = (await lstat(p)).isSymbolicLink();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') stateFileError(err, path, 'read');
    }
    if (!isLink) break;
    p = resolve(dirname(p), await readlink(p));
  }
  try {
    return join(await realpath(dirname(p)), basename(p));
  } catch {
    return p;
  }
}

export class LocalStateBackend implements StateBackend {
  readonly kind = 'local' as const;
  private target?: Promise<string>;

  /** `location` is the path as given (shown in messages); the file written is its symlink target. */
  constructor(readonly location: string) {}

  /** The file that really holds the state. */
  file(): Promise<string> {
    this.target ??= resolveStateTarget(this.location);
    return this.target;
  }

  async read(): Promise<StateSnapshot | undefined> {
    const file = await this.file();
    try {
      const text = await readFile(file, 'utf8');
      return { text, version: hash(text) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      stateFileError(err, this.location, 'read');
    }
  }

  async write(text: string, expected: string | undefined): Promise<string> {
    const file = await this.file();
    try {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      const current = await this.read();
      if (current?.version !== expected) {
        throw new StateConflict(this.location, current ? 'the file changed since this run read it' : 'the file was removed since this run read it');
      }
      if (expected === undefined) await createExclusive(file, text, this.location);
      else await writeFileAtomic(file, text);
    } catch (err) {
      if (err instanceof UserError) throw err;
      stateFileError(err, this.location, 'write');
    }
    return hash(text);
  }

  async lock(req: LockRequest): Promise<HeldLock> {
    const path = localLockPath(await this.file());
    try {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    } catch (err) {
      stateFileError(err, path, 'lock');
    }
    if (req.forceUnlock) await this.forceUnlock(path, req.forceUnlock, req.warn);
    const info = newLockInfo(req);
    for (let attempt = 0; attempt < 3; attempt++) {
      // No lock is taken once the process is exiting: no cleanup would remove it.
      if (isExiting()) return untilExit();
      try {
        // Created and its release registered in one synchronous step: a signal's handler finds either
        // no lock file or one it removes (an async write could land after the cleanups ran).
        writeFileSync(path, JSON.stringify(info) + '\n', { flag: 'wx', mode: 0o600 });
        return heldLock(info, () => releaseIfOurs(path, info.id), () => releaseIfOursNow(path, info.id));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') stateFileError(err, path, 'lock');
      }
      const holder = await readLockFile(path);
      if (!holder) continue; // released between our attempt and the read
      // A lock of a process of this machine that is gone: that run died; nobody else can hold it.
      if (holder.host === hostname() && !processAlive(holder.pid)) {
        req.warn?.(`took over a stale lock left by pid ${holder.pid} (${holder.command}, ${holder.startedAt}, lock id ${holder.id})`);
        await unlink(path).catch(() => {});
        continue;
      }
      throw new LockHeld(this.location, holder);
    }
    throw new UserError(`could not take the lock ${path}`, 'another batchctl run keeps taking it: wait for it to finish');
  }

  private async forceUnlock(path: string, id: string, warn?: (m: string) => void): Promise<void> {
    const holder = await readLockFile(path);
    if (!holder) {
      warn?.(`--force-unlock ${id}: the state is not locked (the other run may have finished)`);
      return;
    }
    if (holder.id !== id) {
      throw new UserError(
        `--force-unlock ${id} does not name the lock held on ${this.location}: nothing was removed`,
        `the lock there now is ${holder.id}, held by '${holder.command}' on ${holder.host} (pid ${holder.pid}) since ${holder.startedAt}`,
      );
    }
    await unlink(path).catch(() => {});
    warn?.(`removed lock ${id} ('${holder.command}' on ${holder.host}, pid ${holder.pid}, since ${holder.startedAt})`);
  }

  async advice(): Promise<string[]> {
    return [];
  }
}

/**
 * Create `file` only if it does not exist, atomically and with complete content: the temp file is
 * hard-linked into place (link fails with EEXIST instead of replacing), then removed.
 */
async function createExclusive(file: string, text: string, location: string): Promise<void> {
  await withTemp(file, text, async (tmp) => {
    try {
      await link(tmp, file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new StateConflict(location, 'another writer created it since this run looked');
      // File systems without hard links: a rename, after the check above (the lock covers the gap).
      if (code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS' || code === 'EXDEV') {
        await rename(tmp, file);
        return;
      }
      throw err;
    }
  });
}

async function readLockFile(path: string): Promise<LockInfo | undefined> {
  try {
    return parseLock(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Remove the lock only if it is still ours (a --force-unlock may have handed it to another run). */
async function releaseIfOurs(path: string, id: string): Promise<void> {
  const holder = await readLockFile(path);
  if (holder?.id === id) await unlink(path).catch(() => {});
}

/** The same, at once: what an interrupt runs just before the process exits. */
function releaseIfOursNow(path: string, id: string): void {
  try {
    if (parseLock(readFileSync(path, 'utf8'))?.id === id) unlinkSync(path);
  } catch {
    // Gone already, or unreadable: nothing of ours to remove.
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

/**
 * Until 0.2 the default state lived under the working directory (`./.batchctl/`), so two directories
 * meant two states of one stack. It now lives beside the config; a state found at the old place is
 * moved once, under both locks, and said. rename(2) moves it atomically (never two states, never
 * none); across file systems it is copied first and the old file removed after, and a run that finds
 * both identical finishes that. An old file that differs from the new one is left alone and named.
 */
export async function adoptLegacyState(path: string, legacyPath: string, warn: (m: string) => void): Promise<void> {
  try {
    await lstat(legacyPath);
  } catch {
    return; // the common case: nothing at the old place
  }
  const [target, legacyTarget] = await Promise.all([resolveStateTarget(path), resolveStateTarget(legacyPath)]);
  if (target === legacyTarget) return;
  const nowBackend = new LocalStateBackend(path);
  const oldBackend = new LocalStateBackend(legacyPath);
  const command = 'batchctl (moving the state beside the config)';
  let moved = false;
  const newLock = await nowBackend.lock({ command, warn });
  try {
    const oldLock = await oldBackend.lock({ command, warn });
    try {
      const [now, old] = await Promise.all([nowBackend.read(), oldBackend.read()]);
      if (!old) return;
      if (now) {
        if (now.text === old.text) {
          await unlink(legacyTarget).catch((err) => stateFileError(err, legacyPath, 'write'));
          warn(`removed ${legacyPath}: an identical copy of the state ${path}`);
        } else {
          warn(`an older state file ${legacyPath} (under the working directory) is not used: the state is ${path}, beside the config; remove the old one once you have checked it`);
        }
        return;
      }
      try {
        await mkdir(dirname(target), { recursive: true, mode: 0o700 });
        // A symlink at the old place points at a state kept elsewhere on purpose: move the link, not the file.
        if ((await lstat(legacyPath)).isSymbolicLink()) {
          await symlink(legacyTarget, target);
          await unlink(legacyPath);
        } else {
          await rename(legacyTarget, target);
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') stateFileError(err, path, 'write');
        await nowBackend.write(old.text, undefined);
        await unlink(legacyTarget).catch((e) => stateFileError(e, legacyPath, 'write'));
      }
      moved = true;
      warn(`moved the state from ${legacyPath} to ${path}: states now live beside their config (--state overrides)`);
    } finally {
      await oldLock.release();
    }
  } finally {
    await newLock.release();
  }
  if (moved) await rmdir(dirname(legacyPath)).catch(() => {}); // only if it is empty now
}

/** Read a local state file at `path`, or start an empty one (a shortcut for tests and tools). */
export async function loadLocalState(path: string, expect: { stack: string; region: string; account: string }): Promise<StateStore> {
  return StateStore.open(new LocalStateBackend(path), expect);
}
