/**
 * The AWS-call helpers every kind uses: "gone" is decided by the error's code (any NotFound spelling, or
 * the codes a service uses instead), anything else is thrown; tags converge with at most one call each way.
 */
import { describe, expect, it } from 'vitest';
import { convergeTags, ifExists, unlessGone } from '../../src/resources/lib/aws-calls.js';
import { SQS_QUEUE_GONE } from '../../src/model/aws-errors.js';

const awsError = (name: string) => Object.assign(new Error(`${name}: injected`), { name, $metadata: {} });

describe('ifExists and unlessGone', () => {
  it('answer undefined (or done) for a NotFound of any spelling, and for the codes given', async () => {
    expect(await ifExists(Promise.resolve(3))).toBe(3);
    expect(await ifExists(async () => 4)).toBe(4);
    for (const code of [
      'NoSuchEntity',
      'ResourceNotFoundException',
      'InvalidVpcID.NotFound',
      'RepositoryNotFoundException',
    ]) {
      expect(await ifExists(Promise.reject(awsError(code))), code).toBeUndefined();
      await expect(unlessGone(Promise.reject(awsError(code)))).resolves.toBeUndefined();
    }
    // SQS says it otherwise, in two protocols: only the codes given make it "gone".
    for (const code of SQS_QUEUE_GONE) {
      await expect(ifExists(Promise.reject(awsError(code)))).rejects.toThrow(code);
      expect(await ifExists(Promise.reject(awsError(code)), SQS_QUEUE_GONE)).toBeUndefined();
      await expect(unlessGone(Promise.reject(awsError(code)), SQS_QUEUE_GONE)).resolves.toBeUndefined();
    }
  });

  it('throw anything else as it is', async () => {
    for (const code of ['AccessDenied', 'ThrottlingException', 'ValidationException']) {
      await expect(ifExists(Promise.reject(awsError(code)), SQS_QUEUE_GONE)).rejects.toMatchObject({ name: code });
      await expect(unlessGone(Promise.reject(awsError(code)))).rejects.toMatchObject({ name: code });
    }
  });
});

describe('convergeTags', () => {
  it('tags what is added or changed, then untags what the config dropped; no call when converged', async () => {
    const calls: string[] = [];
    const record = {
      tag: async (set: Record<string, string>) => calls.push(`tag ${JSON.stringify(set)}`),
      untag: async (keys: string[]) => calls.push(`untag ${keys.join(',')}`),
    };
    await convergeTags({ a: '1', b: '2' }, { a: '1', b: 'old', c: '3' }, record);
    expect(calls).toEqual(['tag {"b":"2"}', 'untag c']);
    calls.length = 0;
    await convergeTags({ a: '1' }, { a: '1' }, record);
    await convergeTags(undefined, undefined, record);
    expect(calls).toEqual([]);
  });
});
