/**
 * The state as an S3 object, shared by a team and its CI. S3's conditional writes keep writers apart:
 * the state is written with If-Match on the ETag this run read (If-None-Match: * for the first write),
 * so a racing writer gets 412 and never overwrites silently. The lock is not here but in the account
 * (lock.ts): one lock whatever the backend.
 *
 * A write S3 applied whose answer was lost (a reset connection, a proxy's 5xx) is sent again by the SDK's
 * retry and then answered 412 by its own precondition: the object no longer has the ETag it was
 * conditional on, because this very write replaced it. Any refusal or failure of a write therefore reads
 * the object back: when it holds exactly the text this write sent (which carries the write's own id,
 * StateData.writeId), the write happened and its ETag is the new version. Only another writer's object
 * is a conflict.
 *
 * S3 answers 409 ConditionalRequestConflict when two conditional requests on one key overlap; it asks
 * for a retry, after which the answer is a clean 412 or success.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { GetBucketVersioningCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { UserError, awsErrorCode } from '../base/errors.js';
import { StateConflict, type StateBackend, type StateSnapshot } from './state.js';

const CONFLICT_RETRIES = 6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class S3StateBackend implements StateBackend {
  readonly kind = 's3' as const;
  readonly location: string;

  /** `region`: where the bucket is, or is to be created (for the `aws` commands messages suggest). */
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    readonly key: string,
    readonly region = 'us-east-1',
  ) {
    this.location = `s3://${bucket}/${key}`;
  }

  async read(): Promise<StateSnapshot | undefined> {
    const got = await this.get(this.key);
    return got && { text: got.text, version: got.etag };
  }

  async write(text: string, expected: string | undefined): Promise<string> {
    let failure: unknown;
    try {
      const out = await this.retryConflicts(() =>
        this.s3.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.key,
            Body: text,
            ContentType: 'application/json',
            ...(expected === undefined ? { IfNoneMatch: '*' } : { IfMatch: expected }),
          }),
        ),
      );
      if (out.ETag) return out.ETag;
      failure = new Error(`S3 returned no ETag for ${this.location}`);
    } catch (err) {
      failure = err;
    }
    // Refused or failed: is what is stored now this very write (applied, its answer lost)?
    const now = await this.get(this.key).catch(() => undefined);
    if (now?.text === text && now.etag) return now.etag;
    const code = awsErrorCode(failure);
    if (code === 'PreconditionFailed')
      throw new StateConflict(
        this.location,
        expected === undefined
          ? 'another writer created it since this run looked'
          : 'another writer changed it since this run read it (its ETag moved)',
      );
    if (code === 'NoSuchKey') throw new StateConflict(this.location, 'it was deleted since this run read it');
    throw this.accessError(failure, 'write') ?? failure;
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
      return [
        `could not check versioning on the state bucket ${this.bucket} (${awsErrorCode(err)}): versioning is recommended so every earlier state can be restored`,
      ];
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
  private accessError(err: unknown, doing: 'read' | 'write'): UserError | undefined {
    const code = awsErrorCode(err);
    if (code === 'NoSuchBucket') {
      return new UserError(
        `the state bucket ${this.bucket} does not exist`,
        `create it once, with versioning: aws s3api create-bucket --bucket ${this.bucket} --region ${this.region}${this.region === 'us-east-1' ? '' : ` --create-bucket-configuration LocationConstraint=${this.region}`} && aws s3api put-bucket-versioning --bucket ${this.bucket} --versioning-configuration Status=Enabled --region ${this.region}`,
      );
    }
    if (code === 'AccessDenied' || code === 'Forbidden' || code === 'AllAccessDisabled') {
      return new UserError(
        `access denied to the state s3://${this.bucket}/${this.key} (${doing})`,
        '`batchctl policy` prints what the operator role needs: s3:GetObject, s3:PutObject and s3:ListBucket on the state',
      );
    }
    return undefined;
  }
}
