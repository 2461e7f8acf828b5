import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  clientConfig,
  createAwsClients,
  credentialError,
  CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_ATTEMPTS,
  SOCKETS_PER_CLIENT,
} from '../../src/aws/clients.js';
import { configuredProfiles, profileRegion } from '../../src/aws/profiles.js';
import { VERSION } from '../../src/base/version.js';

describe('AWS clients', () => {
  it('share region, standard retry with more attempts than the default, and a batchctl user agent', () => {
    const c = clientConfig('ec2', { region: 'ap-northeast-1', profile: 'dev' }, {});
    expect(c).toEqual({
      region: 'ap-northeast-1',
      retryMode: 'standard',
      maxAttempts: DEFAULT_MAX_ATTEMPTS,
      customUserAgent: `batchctl/${VERSION}`,
      profile: 'dev',
      requestHandler: {
        connectionTimeout: CONNECT_TIMEOUT_MS,
        httpAgent: { keepAlive: true, maxSockets: SOCKETS_PER_CLIENT },
        httpsAgent: { keepAlive: true, maxSockets: SOCKETS_PER_CLIENT },
      },
    });
    expect(DEFAULT_MAX_ATTEMPTS).toBeGreaterThan(3);
  });

  it("keep connections alive, with more sockets per client than the SDK's 50: a walk sends up to two reads per step, 64 steps at once", async () => {
    const aws = await createAwsClients({ region: 'ap-northeast-1' }, ['iam']);
    type Agent = { keepAlive: boolean; maxSockets: number };
    const handler = aws.iam.config.requestHandler as unknown as {
      configProvider: Promise<{ httpsAgent: Agent; httpAgentProvider(): Promise<Agent> }>;
    };
    const config = await handler.configProvider;
    for (const agent of [config.httpsAgent, await config.httpAgentProvider()]) {
      expect(agent).toMatchObject({ keepAlive: true, maxSockets: SOCKETS_PER_CLIENT });
    }
    expect(SOCKETS_PER_CLIENT).toBeGreaterThanOrEqual(128);
  });

  it('AWS_MAX_ATTEMPTS is honoured, as the SDK and the AWS CLI do; a bad value is refused, naming it', () => {
    expect(clientConfig('sts', { region: 'r' }, { AWS_MAX_ATTEMPTS: '2' })).toMatchObject({ maxAttempts: 2 });
    expect(clientConfig('sts', { region: 'r', maxAttempts: 5 }, { AWS_MAX_ATTEMPTS: '2' })).toMatchObject({
      maxAttempts: 5,
    });
    expect(() => clientConfig('sts', { region: 'r' }, { AWS_MAX_ATTEMPTS: 'lots' })).toThrow(
      /AWS_MAX_ATTEMPTS "lots" is not a whole number/,
    );
    expect(clientConfig('sts', { region: 'r' }, { AWS_MAX_ATTEMPTS: '20' })).toMatchObject({ maxAttempts: 20 });
    for (const bad of ['0', '21', '999999999']) {
      expect(() => clientConfig('sts', { region: 'r' }, { AWS_MAX_ATTEMPTS: bad }), bad).toThrow(
        `AWS_MAX_ATTEMPTS "${bad}" is out of range: 1 to 20`,
      );
    }
  });

  it('honour --endpoint-url, then AWS_ENDPOINT_URL, with path-style S3', () => {
    expect(clientConfig('s3', { region: 'r', endpointUrl: 'http://localhost:4566' }, {})).toMatchObject({
      endpoint: 'http://localhost:4566',
      forcePathStyle: true,
    });
    expect(clientConfig('s3', { region: 'r' }, { AWS_ENDPOINT_URL: 'http://127.0.0.1:9000' })).toMatchObject({
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
    });
    expect(
      clientConfig('ecs', { region: 'r', endpointUrl: 'http://e' }, { AWS_ENDPOINT_URL: 'http://other' }),
    ).toMatchObject({ endpoint: 'http://e' });
    expect(clientConfig('ecs', { region: 'r' }, {})).not.toHaveProperty('endpoint');
  });

  it("IAM keeps the stack region, so the SDK resolves the partition's IAM endpoint (not us-east-1 everywhere)", async () => {
    const resolve = async (region: string) => {
      const aws = await createAwsClients({ region }, ['iam']);
      const ep = await aws.iam.config.endpointProvider({
        Region: await aws.iam.config.region(),
        UseFIPS: false,
        UseDualStack: false,
      } as never);
      return [
        ep.url.host,
        (ep.properties?.authSchemes as { signingRegion?: string }[] | undefined)?.[0]?.signingRegion,
      ];
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
    const missing = credentialError(
      Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }),
      undefined,
      {},
    );
    expect(missing?.message).toBe('no AWS credentials found');
    expect(missing?.hint).toMatch(/AWS_PROFILE/);
    expect(
      credentialError(
        Object.assign(new Error('The security token included in the request is expired'), { name: 'ExpiredToken' }),
      )?.message,
    ).toMatch(/expired/);
    expect(credentialError(Object.assign(new Error('x'), { name: 'InvalidClientTokenId' }))?.message).toMatch(
      /rejected your credentials/,
    );
    expect(credentialError(Object.assign(new Error('x'), { name: 'AccessDenied' }))).toBeUndefined();
  });

  it('a profile that yields no credentials is named, with where it came from (the SDK never says)', () => {
    const none = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    const files = sharedFiles('[profile ghost]\nregion = eu-west-1\n[profile dev]\n', '');
    expect(credentialError(none, undefined, files)?.message).toBe('no AWS credentials found');
    const fromEnv = credentialError(none, undefined, { ...files, AWS_PROFILE: 'ghost', AWS_ACCESS_KEY_ID: 'AKIDTEST' });
    expect(fromEnv?.message).toBe('no AWS credentials from profile "ghost" (AWS_PROFILE)');
    expect(fromEnv?.hint).toMatch(
      /the profile exists but gave no credentials.*aws sso login --profile ghost.*AWS_ACCESS_KEY_ID is set too, but the SDK uses the profile/,
    );
    expect(credentialError(none, { name: 'dev', from: '--profile' }, { ...files, AWS_PROFILE: 'ghost' })?.message).toBe(
      'no AWS credentials from profile "dev" (--profile)',
    );
  });

  it('a profile that does not exist is named, with the configured ones listed (names only, never a value)', () => {
    const none = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    const files = sharedFiles(
      '[default]\nregion = eu-west-1\n[profile dev] # team account\nregion = us-east-1\n[sso-session corp]\nsso_region = us-east-1\n[services local]\n',
      '[ci]\naws_access_key_id = AKIAEXAMPLEKEYID\naws_secret_access_key = SECRETVALUE123\n[ default ]\n',
    );
    const err = credentialError(none, { name: 'prod', from: '--profile' }, files)!;
    expect(err.message).toBe('profile "prod" (--profile) is not configured');
    expect(err.details[0]).toBe('configured profiles: ci, default, dev');
    expect(err.details[1]).toContain(files.AWS_CONFIG_FILE);
    expect(err.hint).toMatch(/aws configure --profile prod/);
    expect(JSON.stringify(err)).not.toMatch(/AKIAEXAMPLEKEYID|SECRETVALUE123|eu-west-1|corp|local/);
    // From AWS_PROFILE: unsetting it is the other way out.
    expect(credentialError(none, undefined, { ...files, AWS_PROFILE: 'prd' })?.hint).toMatch(
      /^use one of the configured profiles \(unset AWS_PROFILE, or pass --profile\)/,
    );
    // No files at all: said, with where they were looked for.
    const empty = { AWS_CONFIG_FILE: '/nonexistent/config', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials' };
    expect(credentialError(none, { name: 'prod', from: '--profile' }, empty)?.details).toEqual([
      'no profiles are configured: neither /nonexistent/config nor /nonexistent/credentials has one',
    ]);
    expect(configuredProfiles(files).names).toEqual(['ci', 'default', 'dev']);
    expect(profileRegion('dev', files)).toBe('us-east-1');
    expect(profileRegion('default', files)).toBe('eu-west-1');
    expect(profileRegion('corp', files)).toBeUndefined();
  });
});

/** Shared config and credentials files with this text, as the variables that point the SDK at them. */
function sharedFiles(
  config: string,
  credentials: string,
): { AWS_CONFIG_FILE: string; AWS_SHARED_CREDENTIALS_FILE: string } {
  const dir = mkdtempSync(join(tmpdir(), 'aws-files-'));
  writeFileSync(join(dir, 'config'), config);
  writeFileSync(join(dir, 'credentials'), credentials);
  return { AWS_CONFIG_FILE: join(dir, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials') };
}
