/**
 * The state as a local file. Writes are atomic (temp file, fsync, rename) and conditional on the hash
 * of what this run read, so a hand edit or a second writer without the lock is refused rather than
 * overwritten. A symlinked state path is written through to its target. The lock is not a file: it is
 * the stack's, in the account (lock.ts), so two machines with two state files still meet on it.
 */
import { createHash } from 'node:crypto';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { link, lstat, mkdir, readFile, readlink, realpath, rename, rmdir, symlink, unlink } from 'node:fs/promises';
import { isExiting, untilExit } from '../base/cleanup.js';
import { basename, dirname, join, resolve } from 'node:path';
import { hostname } from 'node:os';
import { UserError } from '../base/errors.js';
import {
  StateConflict,
  StateStore,
  writeFileAtomic,
  withTemp,
  type StateBackend,
  type StateSnapshot,
} from './state.js';
import { heldLock, newLockInfo, parseLock, type HeldLock, type LockInfo } from './lock.js';

const hash = (text: string) => createHash('sha256').update(text).digest('hex');

/** Turn a file-system error on the state into a user error with a hint; rethrow anything else. */
export function stateFileError(err: unknown, path: string, doing: 'read' | 'write' | 'lock'): never {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const what = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on the device',
    EISDIR: 'it is a directory',
    ENOTDIR: 'a parent is not a directory',
    ELOOP: 'too many symbolic links',
  }[code];
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
    if (hops > 32)
      throw new UserError(
        `the state path ${path} is a loop of symbolic links`,
        'point it at a file, or pass --state <file>',
      );
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
        throw new StateConflict(
          this.location,
          current ? 'the file changed since this run read it' : 'the file was removed since this run read it',
        );
      }
      if (expected === undefined) await createExclusive(file, text, this.location);
      else await writeFileAtomic(file, text);
    } catch (err) {
      if (err instanceof UserError) throw err;
      stateFileError(err, this.location, 'write');
    }
    return hash(text);
  }

  async advice(): Promise<string[]> {
    return [];
  }

  /** Create the directory and a temp file beside the state (removed at once): both must be possible. */
  async checkWritable(): Promise<void> {
    const file = await this.file();
    try {
      await withTemp(file, '', async () => {});
    } catch (err) {
      stateFileError(err, this.location, 'write');
    }
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

/** The file mutex held while the state file at `target` is moved (see adoptLegacyState). */
export const moveMutexPath = (target: string) => `${target}.moving`;

async function readMutex(path: string): Promise<LockInfo | undefined> {
  try {
    return parseLock(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Hold the move mutex of a state file: a file created with O_EXCL. One left by a dead process of this
 * machine (only this machine's processes move this machine's files) is taken over; a live holder is waited
 * for (a move takes milliseconds).
 */
async function holdFile(target: string, command: string, warn: (m: string) => void): Promise<HeldLock> {
  const path = moveMutexPath(target);
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  } catch (err) {
    stateFileError(err, path, 'lock');
  }
  const info = newLockInfo({ command });
  for (let attempt = 0; attempt < 50; attempt++) {
    // No mutex is taken once the process is exiting: no cleanup would remove it.
    if (isExiting()) return untilExit();
    try {
      // Created and its release registered in one synchronous step: a signal's handler finds either no
      // file or one it removes (an asynchronous write could land after the cleanups ran).
      writeFileSync(path, JSON.stringify(info) + '\n', { flag: 'wx', mode: 0o600 });
      return heldLock(
        info,
        async () => {
          if ((await readMutex(path))?.id === info.id) await unlink(path).catch(() => {});
        },
        () => releaseIfOursNow(path, info.id),
      );
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') stateFileError(err, path, 'lock');
    }
    const holder = await readMutex(path);
    if (holder && holder.host === hostname() && !processAlive(holder.pid)) {
      warn(`took over ${path}, left by pid ${holder.pid} (${holder.command}, ${holder.startedAt}), which is gone`);
      await unlink(path).catch(() => {});
      continue;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new UserError(
    `could not hold ${path}: another batchctl run keeps moving the state file`,
    'wait for it to finish, then run the command again',
  );
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
 * moved once, holding both files (a file mutex, moveMutexPath: this is a move of files on this machine,
 * not a change of the stack, which the account lock guards), and said. rename(2) moves it atomically (never two states,
 * never
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
  const newLock = await holdFile(await nowBackend.file(), command, warn);
  try {
    const oldLock = await holdFile(await oldBackend.file(), command, warn);
    try {
      const [now, old] = await Promise.all([nowBackend.read(), oldBackend.read()]);
      if (!old) return;
      if (now) {
        if (now.text === old.text) {
          await unlink(legacyTarget).catch((err) => stateFileError(err, legacyPath, 'write'));
          warn(`removed ${legacyPath}: an identical copy of the state ${path}`);
        } else {
          warn(
            `an older state file ${legacyPath} (under the working directory) is not used: the state is ${path}, beside the config; remove the old one once you have checked it`,
          );
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
export async function loadLocalState(
  path: string,
  expect: { stack: string; region: string; account: string },
): Promise<StateStore> {
  return StateStore.open(new LocalStateBackend(path), expect);
}
