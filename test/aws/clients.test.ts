import { describe, expect, it } from 'vitest';
import { clientConfig, createAwsClients, credentialError, DEFAULT_MAX_ATTEMPTS } from '../../src/aws/clients.js';
import { VERSION } from '../../src/version.js';

describe('AWS clients', () => {
  it('share region, standard retry with more attempts than the default, and a batchctl user agent', () => {
    const c = clientConfig('ec2', { region: 'ap-northeast-1', profile: 'dev' }, {});
    expect(c).toEqual({ region: 'ap-northeast-1', retryMode: 'standard', maxAttempts: DEFAULT_MAX_ATTEMPTS, customUserAgent: `batchctl/${VERSION}`, profile: 'dev' });
    expect(DEFAULT_MAX_ATTEMPTS).toBeGreaterThan(3);
  });

  it('honour --endpoint-url, then AWS_ENDPOINT_URL, with path-style S3', () => {
    expect(clientConfig('s3', { region: 'r', endpointUrl: 'http://localhost:4566' }, {})).toMatchObject({ endpoint: 'http://localhost:4566', forcePathStyle: true });
    expect(clientConfig('s3', { region: 'r' }, { AWS_ENDPOINT_URL: 'http://127.0.0.1:9000' })).toMatchObject({ endpoint: 'http://127.0.0.1:9000', forcePathStyle: true });
    expect(clientConfig('ecs', { region: 'r', endpointUrl: 'http://e' }, { AWS_ENDPOINT_URL: 'http://other' })).toMatchObject({ endpoint: 'http://e' });
    expect(clientConfig('ecs', { region: 'r' }, {})).not.toHaveProperty('endpoint');
  });

  it('IAM keeps the stack region, so the SDK resolves the partition\'s IAM endpoint (not us-east-1 everywhere)', async () => {
    const resolve = async (region: string) => {
      const aws = await createAwsClients({ region }, ['iam']);
      const ep = await aws.iam.config.endpointProvider({ Region: await aws.iam.config.region(), UseFIPS: false, UseDualStack: false } as never);
      return [ep.url.host, (ep.properties?.authSchemes as { signingRegion?: string }[] | undefined)?.[0]?.signingRegion];
    };
    expect(clientConfig('iam', { region: 'cn-north-1' }, {})).toMatchObject({ region: 'cn-north-1' });
    expect(await resolve('ap-northeast-1')).toEqual(['iam.amazonaws.com', 'us-east-1']);
    expect(await resolve('cn-north-1')).toEqual(['iam.cn-north-1.amazonaws.com.cn', 'cn-north-1']);
    expect(await resolve('us-gov-west-1')).toEqual(['iam.us-gov.amazonaws.com', 'us-gov-west-1']);
  });

  it('build only the clients a command asks for', async () => {
    const aws = await createAwsClients({ region: 'ap-northeast-1' }, ['logs']);
    expect(aws.logs.config.customUserAgent).toBeDefined();
    expect(() => aws.ec2).toThrow(/was not loaded/);
    const region = await aws.logs.config.region();
    expect(region).toBe('ap-northeast-1');
  });

  it('turn credential problems into one-line user errors', () => {
    const missing = credentialError(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), undefined, {});
    expect(missing?.message).toBe('no AWS credentials found');
    expect(missing?.hint).toMatch(/AWS_PROFILE/);
    expect(credentialError(Object.assign(new Error('The security token included in the request is expired'), { name: 'ExpiredToken' }))?.message).toMatch(/expired/);
    expect(credentialError(Object.assign(new Error('x'), { name: 'InvalidClientTokenId' }))?.message).toMatch(/rejected your credentials/);
    expect(credentialError(Object.assign(new Error('x'), { name: 'AccessDenied' }))).toBeUndefined();
  });

  it('a profile that yields no credentials is named, with where it came from (the SDK never says)', () => {
    const none = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    expect(credentialError(none, undefined, {})?.message).toBe('no AWS credentials found');
    const fromEnv = credentialError(none, undefined, { AWS_PROFILE: 'ghost', AWS_ACCESS_KEY_ID: 'AKIDTEST' });
    expect(fromEnv?.message).toBe('no AWS credentials from profile "ghost" (AWS_PROFILE)');
    expect(fromEnv?.hint).toMatch(/aws configure list-profiles.*aws sso login --profile ghost.*AWS_ACCESS_KEY_ID is set too, but the SDK uses the profile/);
    expect(credentialError(none, { name: 'dev', from: '--profile' }, { AWS_PROFILE: 'ghost' })?.message).toBe('no AWS credentials from profile "dev" (--profile)');
  });
});
