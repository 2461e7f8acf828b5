/**
 * The state as an S3 object, shared by a team and its CI. S3's conditional writes are the whole engine:
 * - the state is written with If-Match on the ETag this run read (If-None-Match: * for the first
 *   write), so a racing writer gets 412 and never overwrites silently;
 * - the lock is a second object, `<key>.lock`, created with If-None-Match: *: whoever creates it holds
 *   the lock, from any machine. It names its holder and carries an id; it is deleted with If-Match on
 *   its own ETag, so a run never deletes a lock that was forced away and re-taken by someone else.
 * S3 answers 409 ConditionalRequestConflict when two conditional requests on one key overlap; it asks
 * for a retry, after which the answer is a clean 412 or success.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { DeleteObjectCommand, GetBucketVersioningCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { UserError, awsErrorCode } from '../base/errors.js';
import {
  LockHeld, StateConflict, heldLock, newLockInfo, parseLock,
  type HeldLock, type LockInfo, type LockRequest, type StateBackend, type StateSnapshot,
} from './state.js';

const CONFLICT_RETRIES = 6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class S3StateBackend implements StateBackend {
  readonly kind = 's3' as const;
  readonly location: string;
  readonly lockKey: string;

  /** `region`: where the bucket is, or is to be created (for the `aws` commands messages suggest). */
  constructor(private readonly s3: S3Client, readonly bucket: string, readonly key: string, readonly region = 'us-east-1') {
    this.location = `s3://${bucket}/${key}`;
    this.lockKey = `${key}.lock`;
  }

  async read(): Promise<StateSnapshot | undefined> {
    const got = await this.get(this.key);
    return got && { text: got.text, version: got.etag };
  }

  async write(text: string, expected: string | undefined): Promise<string> {
    try {
      const out = await this.retryConflicts(() => this.s3.send(new PutObjectCommand({
        Bucket: this.bucket, Key: this.key, Body: text, ContentType: 'application/json',
        ...(expected === undefined ? { IfNoneMatch: '*' } : { IfMatch: expected }),
      })));
      if (!out.ETag) throw new Error(`S3 returned no ETag for ${this.location}`);
      return out.ETag;
    } catch (err) {
      const code = awsErrorCode(err);
      if (code === 'PreconditionFailed') throw new StateConflict(this.location, expected === undefined ? 'another writer created it since this run looked' : 'another writer changed it since this run read it (its ETag moved)');
      if (code === 'NoSuchKey') throw new StateConflict(this.location, 'it was deleted since this run read it');
      throw this.accessError(err, 'write') ?? err;
    }
  }

  async lock(req: LockRequest): Promise<HeldLock> {
    if (req.forceUnlock) await this.forceUnlock(req.forceUnlock, req.warn);
    const info = newLockInfo(req);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const out = await this.retryConflicts(() => this.s3.send(new PutObjectCommand({
          Bucket: this.bucket, Key: this.lockKey, Body: JSON.stringify(info, null, 2) + '\n', ContentType: 'application/json', IfNoneMatch: '*',
        })));
        const etag = out.ETag;
        return heldLock(info, () => this.release(info, etag, req.warn));
      } catch (err) {
        if (awsErrorCode(err) !== 'PreconditionFailed') throw this.accessError(err, 'lock') ?? err;
      }
      const holder = await this.holder();
      if (holder) throw new LockHeld(this.location, holder.info);
      // Released between our attempt and the read: try again.
    }
    throw new UserError(`could not take the lock s3://${this.bucket}/${this.lockKey}`, 'another batchctl run keeps taking it: wait for it to finish');
  }

  async advice(): Promise<string[]> {
    try {
      const out = await this.s3.send(new GetBucketVersioningCommand({ Bucket: this.bucket }));
      if (out.Status === 'Enabled') return [];
      return [
        `versioning is ${out.Status === 'Suspended' ? 'suspended' : 'off'} on the state bucket ${this.bucket}: turn it on so every earlier state can be restored ` +
          `(aws s3api put-bucket-versioning --bucket ${this.bucket} --versioning-configuration Status=Enabled --region ${this.region})`,
      ];
    } catch (err) {
      return [`could not check versioning on the state bucket ${this.bucket} (${awsErrorCode(err)}): versioning is recommended so every earlier state can be restored`];
    }
  }

  /** The current lock, with its ETag. */
  async holder(): Promise<{ info: LockInfo; etag: string } | undefined> {
    const got = await this.get(this.lockKey);
    if (!got) return undefined;
    return { info: parseLock(got.text) ?? { id: '?', command: 'batchctl (unreadable lock)', user: '', host: '?', pid: 0, startedAt: '?' }, etag: got.etag };
  }

  private async forceUnlock(id: string, warn?: (m: string) => void): Promise<void> {
    const held = await this.holder();
    if (!held) {
      warn?.(`--force-unlock ${id}: the state is not locked (the other run may have finished)`);
      return;
    }
    if (held.info.id !== id) {
      throw new UserError(
        `--force-unlock ${id} does not name the lock held on ${this.location}: nothing was removed`,
        `the lock there now is ${held.info.id}, held by '${held.info.command}' on ${held.info.host} (pid ${held.info.pid}) since ${held.info.startedAt}`,
      );
    }
    try {
      // If-Match: remove exactly the lock we read, not one taken in the meantime.
      await this.retryConflicts(() => this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.lockKey, IfMatch: held.etag })));
    } catch (err) {
      const code = awsErrorCode(err);
      if (code !== 'PreconditionFailed' && code !== 'NoSuchKey') throw this.accessError(err, 'lock') ?? err;
      throw new UserError(`the lock on ${this.location} changed while removing it: nothing was removed`, 'run the command again to see who holds it now');
    }
    warn?.(`removed lock ${id} ('${held.info.command}' on ${held.info.host}, pid ${held.info.pid}, since ${held.info.startedAt})`);
  }

  private async release(info: LockInfo, etag: string | undefined, warn?: (m: string) => void): Promise<void> {
    try {
      await this.retryConflicts(() => this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.lockKey, ...(etag ? { IfMatch: etag } : {}) })));
    } catch (err) {
      const code = awsErrorCode(err);
      if (code === 'PreconditionFailed' || code === 'NoSuchKey') {
        warn?.(`the lock ${info.id} on ${this.location} was removed by someone else (--force-unlock) while this run held it`);
        return;
      }
      warn?.(`could not release the lock ${info.id} on ${this.location} (${code}): remove it with --force-unlock ${info.id}`);
    }
  }

  private async get(key: string): Promise<{ text: string; etag: string } | undefined> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const text = (await out.Body?.transformToString('utf-8')) ?? '';
      return { text, etag: out.ETag ?? '' };
    } catch (err) {
      if (awsErrorCode(err) === 'NoSuchKey') return undefined;
      throw this.accessError(err, 'read') ?? err;
    }
  }

  /** 409 ConditionalRequestConflict: S3 asks for a retry (short backoff, bounded). */
  private async retryConflicts<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (awsErrorCode(err) !== 'ConditionalRequestConflict' || attempt >= CONFLICT_RETRIES) throw err;
        await sleep(50 * 2 ** attempt + Math.random() * 50);
      }
    }
  }

  /** A user error for a missing bucket or a refused request; undefined for anything else. */
  private accessError(err: unknown, doing: 'read' | 'write' | 'lock'): UserError | undefined {
    const code = awsErrorCode(err);
    if (code === 'NoSuchBucket') {
      return new UserError(
        `the state bucket ${this.bucket} does not exist`,
        `create it once, with versioning: aws s3api create-bucket --bucket ${this.bucket} --region ${this.region}${this.region === 'us-east-1' ? '' : ` --create-bucket-configuration LocationConstraint=${this.region}`} && aws s3api put-bucket-versioning --bucket ${this.bucket} --versioning-configuration Status=Enabled --region ${this.region}`,
      );
    }
    if (code === 'AccessDenied' || code === 'Forbidden' || code === 'AllAccessDisabled') {
      const key = doing === 'lock' ? this.lockKey : this.key;
      return new UserError(
        `access denied to the state s3://${this.bucket}/${key} (${doing})`,
        '`batchctl policy` prints what the operator role needs: s3:GetObject, s3:PutObject and s3:ListBucket on the state, s3:DeleteObject on its lock',
      );
    }
    return undefined;
  }
}
