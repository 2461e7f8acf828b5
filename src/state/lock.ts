/**
 * One stack, one writer, whatever the state backend: the lock lives in the account, not beside the state.
 * Two laptops with two local state files (or a local state and an S3 one) still meet on it, so they can
 * never build two of anything.
 *
 * The lock is the Parameter Store parameter `/batchctl/<stack>/lock` in the stack's account and region,
 * created with PutParameter and Overwrite false: that create-if-absent is atomic (a second one answers
 * ParameterAlreadyExists; two at once, TooManyUpdates for one of them). Its value names the holder. It is
 * a standard-tier String parameter (no charge: SSM user guide, "Managing parameter tiers"), tagged
 * `batchctl:stack` at creation (tags and Overwrite cannot go together), and exists only while a command
 * runs.
 *
 * SSM has no conditional delete: a release reads the lock first and deletes it only when it still carries
 * this run's id (a run whose lock was forced away must not remove the next holder's). Three calls per
 * locked command: PutParameter, GetParameter, DeleteParameter.
 *
 * Lost answers: a PutParameter applied whose answer was lost is resent by the SDK and meets its own lock
 * (ParameterAlreadyExists): the lock is read back and, carrying this run's id, held. A DeleteParameter
 * resent after a lost answer meets ParameterNotFound: released.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname, uptime, userInfo } from 'node:os';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { registerCleanup } from '../base/cleanup.js';
import { UserError, awsErrorCode, type ErrorCode } from '../base/errors.js';
import { VERSION } from '../base/version.js';

/** Who holds a lock, where and since when, and its id (what `--force-unlock <id>` names). */
export interface LockInfo {
  id: string;
  command: string;
  /** OS user name. */
  user: string;
  host: string;
  pid: number;
  /** ISO time the lock was taken. */
  startedAt: string;
  /** AWS identity of the holder (STS caller ARN), when known. */
  caller?: string;
  /** batchctl version of the holder. */
  version?: string;
  /** This boot of the holder's machine (with `host`, tells a dead run of this machine from another machine's). */
  machine?: string;
}

/** What taking a lock needs. */
export interface LockRequest {
  command: string;
  caller?: string;
  /** Remove the lock with exactly this id first (a run that died holding it). */
  forceUnlock?: string;
  /** Told when a stale lock was taken over, a forced unlock found nothing, or a release could not be made. */
  warn?: (message: string) => void;
}

/** A lock this run holds. */
export interface HeldLock {
  info: LockInfo;
  release(): Promise<void>;
}

/**
 * A held lock that an interrupt (Ctrl-C, SIGTERM) releases before the process exits, so the next run
 * needs no --force-unlock. `release` removes only this run's lock.
 */
export function heldLock(info: LockInfo, release: () => Promise<void>, releaseAtExit?: () => void): HeldLock {
  let done: Promise<void> | undefined;
  const once = () => (done ??= release());
  // What an interrupt runs: synchronous where it can be (an asynchronous one gets only a short deadline).
  const unregister = registerCleanup(releaseAtExit ?? once);
  return {
    info,
    release: async () => {
      unregister();
      await once();
    },
  };
}

/** The lock is taken by another run. */
export class LockHeld extends UserError {
  override name = 'LockHeld';
  override readonly code: ErrorCode = 'LOCK_HELD';
  constructor(
    what: string,
    readonly holder: LockInfo,
    now = Date.now(),
  ) {
    super(
      `${what} is locked by ${describeHolder(holder, now)}`,
      `wait for that run to finish; if it is gone (killed, machine lost), remove exactly its lock with --force-unlock ${holder.id}`,
    );
  }
}

/** "'batchctl up' by alice (arn:...) on host-a, pid 123, since 2026-... (2h05m ago), lock id 3f2a..." */
export function describeHolder(h: LockInfo, now = Date.now()): string {
  const started = Date.parse(h.startedAt);
  const age = Number.isFinite(started) ? ` (${formatAge(Math.max(0, now - started))} ago)` : '';
  const who = [h.user, h.caller && `(${h.caller})`].filter(Boolean).join(' ');
  return `'${h.command}'${who ? ` by ${who}` : ''} on ${h.host}, pid ${h.pid}, since ${h.startedAt}${age}, lock id ${h.id}`;
}

/** 45s, 12m, 2h05m, 3d04h. */
export function formatAge(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${String(Math.floor((s % 86_400) / 3600)).padStart(2, '0')}h`;
}

/**
 * This boot of this machine: Linux's boot id, else the boot time to the minute. Two containers on one
 * host share it but not their host name; two machines share neither.
 */
export function machineId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return `boot-${Math.round((Date.now() - uptime() * 1000) / 60_000)}`;
  }
}

/** A fresh lock for this process. */
export function newLockInfo(req: Pick<LockRequest, 'command' | 'caller'>): LockInfo {
  let user = process.env.USER ?? '';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (containers running as an arbitrary uid): keep $USER.
  }
  return {
    id: randomBytes(6).toString('hex'),
    command: req.command,
    user,
    host: hostname(),
    pid: process.pid,
    startedAt: new Date().toISOString(),
    ...(req.caller ? { caller: req.caller } : {}),
    version: VERSION,
    machine: machineId(),
  };
}

/**
 * Read a lock's JSON. A lock without an id (written by hand, or by an older batchctl) gets one derived
 * from its content, so it too can be named to --force-unlock.
 */
export function parseLock(text: string): LockInfo {
  let v: Partial<LockInfo> | null = null;
  try {
    v = JSON.parse(text) as Partial<LockInfo> | null;
  } catch {
    v = null;
  }
  const derived = createHash('sha256').update(text).digest('hex').slice(0, 12);
  if (!v || typeof v !== 'object') {
    return { id: derived, command: 'batchctl (unreadable lock)', user: '', host: '?', pid: 0, startedAt: '?' };
  }
  return {
    id: typeof v.id === 'string' && v.id ? v.id : derived,
    command: String(v.command ?? 'batchctl'),
    user: String(v.user ?? ''),
    host: String(v.host ?? '?'),
    pid: Number(v.pid ?? 0),
    startedAt: String(v.startedAt ?? '?'),
    ...(v.caller ? { caller: String(v.caller) } : {}),
    ...(v.version ? { version: String(v.version) } : {}),
    ...(v.machine ? { machine: String(v.machine) } : {}),
  };
}

/** True when `pid` is a live process of this machine (EPERM: it exists but is someone else's). */
function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A lock left by a process of this very machine (same host name and boot) that is gone: that run died. */
export function deadHereHolder(h: LockInfo): boolean {
  return (
    h.host === hostname() && !!h.machine && h.machine === machineId() && h.pid !== process.pid && !processAlive(h.pid)
  );
}

/** How often a put refused by TooManyUpdates (another put on the name in flight) is sent again. */
const UPDATE_RETRIES = 6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The name of a stack's lock parameter. */
export const lockParameterName = (stack: string): string => `/batchctl/${stack}/lock`;

/** The account lock of one stack (see the file's comment). */
export class StackLock {
  readonly name: string;
  /** What a refusal names: "stack <stack> in <region>". */
  readonly what: string;

  constructor(
    private readonly ssm: SSMClient,
    readonly stack: string,
    readonly region: string,
  ) {
    this.name = lockParameterName(stack);
    this.what = `stack ${stack} in ${region}`;
  }

  /** Take the lock or throw LockHeld naming the holder. */
  async lock(req: LockRequest): Promise<HeldLock> {
    if (req.forceUnlock) await this.forceUnlock(req.forceUnlock, req.warn);
    const info = newLockInfo(req);
    const value = JSON.stringify(info);
    for (let attempt = 0; attempt < 3; attempt++) {
      let failure: unknown;
      try {
        await this.put(value);
        return this.held(info, req.warn);
      } catch (err) {
        failure = err;
      }
      const code = awsErrorCode(failure);
      // Anything but "it exists" may still have been applied (a lost answer the SDK gave up on): look.
      const holder = await this.holder().catch(() => undefined);
      if (holder?.id === info.id) return this.held(info, req.warn);
      if (code !== 'ParameterAlreadyExists') throw this.accessError(failure, 'take') ?? failure;
      if (!holder) continue; // released between our attempt and the read
      if (deadHereHolder(holder)) {
        req.warn?.(
          `took over the lock of a run of this machine that is gone: pid ${holder.pid} (${holder.command}, ${holder.startedAt}, lock id ${holder.id})`,
        );
        await this.remove(holder.id);
        continue;
      }
      throw new LockHeld(this.what, holder);
    }
    throw new UserError(
      `could not take the lock of ${this.what}`,
      'another batchctl run keeps taking it: wait for it to finish',
    );
  }

  /** The current holder, or undefined when nobody holds the lock. */
  async holder(): Promise<LockInfo | undefined> {
    const { GetParameterCommand } = await import('../aws/sdk/ssm.js');
    try {
      const out = await this.ssm.send(new GetParameterCommand({ Name: this.name }));
      return parseLock(out.Parameter?.Value ?? '');
    } catch (err) {
      if (awsErrorCode(err) === 'ParameterNotFound') return undefined;
      throw this.accessError(err, 'read') ?? err;
    }
  }

  private held(info: LockInfo, warn?: (m: string) => void): HeldLock {
    return heldLock(info, () => this.release(info, warn));
  }

  private async put(value: string): Promise<void> {
    const { PutParameterCommand } = await import('../aws/sdk/ssm.js');
    for (let attempt = 0; ; attempt++) {
      try {
        await this.ssm.send(
          new PutParameterCommand({
            Name: this.name,
            Value: value,
            Type: 'String',
            Tier: 'Standard',
            Overwrite: false,
            Description: `batchctl: the lock of stack ${this.stack} (held while a command changes the stack)`,
            Tags: [{ Key: 'batchctl:stack', Value: this.stack }],
          }),
        );
        return;
      } catch (err) {
        // Another put on the name was in flight: its outcome decides; ask again (then: exists, or ours).
        if (awsErrorCode(err) !== 'TooManyUpdates' || attempt >= UPDATE_RETRIES) throw err;
        await sleep(50 * 2 ** attempt + Math.random() * 50);
      }
    }
  }

  /** Delete the lock if it still carries `id`; false when it did not (gone, or another run's). */
  private async remove(id: string): Promise<boolean> {
    const holder = await this.holder();
    if (holder?.id !== id) return false;
    const { DeleteParameterCommand } = await import('../aws/sdk/ssm.js');
    try {
      await this.ssm.send(new DeleteParameterCommand({ Name: this.name }));
    } catch (err) {
      // Resent after a lost answer: the first attempt deleted it.
      if (awsErrorCode(err) !== 'ParameterNotFound') throw this.accessError(err, 'remove') ?? err;
    }
    return true;
  }

  private async release(info: LockInfo, warn?: (m: string) => void): Promise<void> {
    try {
      if (!(await this.remove(info.id))) {
        warn?.(
          `the lock ${info.id} of ${this.what} was removed by someone else (--force-unlock) while this run held it`,
        );
      }
    } catch (err) {
      warn?.(
        `could not release the lock ${info.id} of ${this.what} (${awsErrorCode(err)}): remove it with --force-unlock ${info.id}`,
      );
    }
  }

  private async forceUnlock(id: string, warn?: (m: string) => void): Promise<void> {
    const holder = await this.holder();
    if (!holder) {
      warn?.(`--force-unlock ${id}: ${this.what} is not locked (the other run may have finished)`);
      return;
    }
    if (holder.id !== id) {
      throw new UserError(
        `--force-unlock ${id} does not name the lock of ${this.what}: nothing was removed`,
        `the lock there now is ${holder.id}, held by '${holder.command}' on ${holder.host} (pid ${holder.pid}) since ${holder.startedAt}`,
      );
    }
    if (!(await this.remove(id))) {
      throw new UserError(
        `the lock of ${this.what} changed while removing it: nothing was removed`,
        'run the command again to see who holds it now',
      );
    }
    warn?.(`removed lock ${id} ('${holder.command}' on ${holder.host}, pid ${holder.pid}, since ${holder.startedAt})`);
  }

  /** A user error for a refused request; undefined for anything else. */
  private accessError(err: unknown, doing: 'take' | 'read' | 'remove'): UserError | undefined {
    const code = awsErrorCode(err);
    if (code !== 'AccessDeniedException' && code !== 'AccessDenied') return undefined;
    return new UserError(
      `access denied to the lock of ${this.what} (${doing}: the Parameter Store parameter ${this.name})`,
      '`batchctl policy` prints what the operator role needs: ssm:PutParameter, ssm:AddTagsToResource, ssm:GetParameter and ssm:DeleteParameter on that parameter',
    );
  }
}
