/**
 * `task.secrets`, `task.capacity` and `task.ephemeralStorageGiB` in the config: each reference form
 * parsed, every limit and what AWS refuses reported with its line (Fargate Spot with ARM64, storage
 * outside 21-200 GiB, a secret in another region, the ssm endpoint a parameter needs in private subnets),
 * a job's secret replacing the default's whole.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/base/errors.js';
import { parseConfigText } from '../../src/config/load.js';
import { parseSecretRef } from '../../src/config/secret-ref.js';
import { DEFAULT_CONFIG_PATH } from '../helpers/ctx.js';

const base = readFileSync(DEFAULT_CONFIG_PATH, 'utf8');
const load = (text: string) => parseConfigText(text, 'batch.config.yaml', { env: {} });
/** The default config with these lines in its task section. */
const withTask = (lines: string, text = base) => text.replace(/^ {2}command: .*$/m, (l) => `${l}\n${lines}`);
const withSsm = (text: string) =>
  text.replace(/interfaceEndpoints: \[[^\]]*\]/, 'interfaceEndpoints: [ecr.api, ecr.dkr, logs, secretsmanager, ssm]');

function problems(text: string): string[] {
  try {
    load(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).details;
  }
  throw new Error('expected a ConfigError');
}

const ARN = 'arn:aws:secretsmanager:ap-northeast-1:210987654321:secret:team/db-AbCdEf';

describe('secret references', () => {
  it('parses every form: a name or an ARN, with or without a JSON key; a parameter by name or ARN; a KMS key', () => {
    expect(parseSecretRef('secretsmanager:prod/db')).toEqual({
      source: 'secretsmanager',
      text: 'secretsmanager:prod/db',
      name: 'prod/db',
    });
    expect(parseSecretRef('secretsmanager:prod/db:password')).toMatchObject({ name: 'prod/db', jsonKey: 'password' });
    expect(parseSecretRef(`secretsmanager:${ARN}:password`)).toMatchObject({
      name: 'team/db-AbCdEf',
      arn: ARN,
      account: '210987654321',
      region: 'ap-northeast-1',
      partition: 'aws',
      jsonKey: 'password',
    });
    expect(parseSecretRef('ssm:/prod/api-key')).toMatchObject({ source: 'ssm', name: '/prod/api-key' });
    expect(parseSecretRef('ssm:arn:aws:ssm:ap-northeast-1:123456789012:parameter/prod/api-key')).toMatchObject({
      name: '/prod/api-key',
      account: '123456789012',
    });
    expect(parseSecretRef('ssm:arn:aws:ssm:ap-northeast-1:123456789012:parameter/flat')).toMatchObject({
      name: 'flat',
    });
    const key = 'arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    expect(parseSecretRef({ from: 'ssm:/prod/api-key', kmsKeyArn: key })).toMatchObject({ kmsKeyArn: key });
  });

  it('refuses what ECS or the services would: no source, bad names, a version after the key, an alias for a key', () => {
    expect(parseSecretRef('prod/db')).toMatch(/names no source/);
    expect(parseSecretRef('secretsmanager:prod db')).toMatch(/not a Secrets Manager secret name/);
    expect(parseSecretRef('secretsmanager:prod/db:')).toMatch(/the JSON key after the secret is empty/);
    expect(parseSecretRef('secretsmanager:prod/db:password:AWSPREVIOUS')).toMatch(
      /a version stage or id is not supported/,
    );
    expect(parseSecretRef('secretsmanager:arn:aws:secretsmanager:ap-northeast-1:1234:secret:x')).toMatch(
      /not a Secrets Manager secret ARN/,
    );
    expect(parseSecretRef('ssm:prod/api-key')).toMatch(/starts with \/ \(\/prod\/api-key\)/);
    expect(parseSecretRef('ssm:/aws/service/ami')).toMatch(/AWS's own/);
    expect(parseSecretRef(`ssm:/${Array.from({ length: 16 }, (_, i) => `l${i}`).join('/')}`)).toMatch(
      /more levels than the 15/,
    );
    expect(parseSecretRef({ from: 'ssm:/x', kmsKeyArn: 'arn:aws:kms:ap-northeast-1:123456789012:alias/app' })).toMatch(
      /not a KMS key ARN/,
    );
  });
});

describe('task.secrets in the config', () => {
  it("a job's secret replaces the default's of the same name whole; the others are inherited; the default endpoints gain ssm", () => {
    const key = 'arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const text =
      withTask(
        `  secrets:\n    DB: { from: 'secretsmanager:prod/db:password', kmsKeyArn: '${key}' }\n    API: ssm:/prod/api\n`,
        base
          .replace(/^ {2}interfaceEndpoints: .*\n/m, '')
          .replace('  family: sample-batch\n', '')
          .replace(/^schedule:\n {2}name: sample-batch\n/m, 'schedule:\n'),
      ) + '\njobs:\n  lister: {}\n  report:\n    task:\n      secrets: { DB: secretsmanager:report/db }\n';
    const c = load(text);
    expect(c.jobs[0]!.task.secrets).toEqual({
      DB: { from: 'secretsmanager:prod/db:password', kmsKeyArn: key },
      API: 'ssm:/prod/api',
    });
    expect(c.jobs[1]!.task.secrets).toEqual({ DB: 'secretsmanager:report/db', API: 'ssm:/prod/api' });
    expect(c.network.interfaceEndpoints).toEqual(['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager', 'ssm']);
  });

  it('every problem with its line: names, collisions, references, another region, the ssm endpoint, more than 50', () => {
    const text = withTask(
      [
        '  environment: { MODE: x }',
        '  secrets:',
        '    1BAD: secretsmanager:a',
        '    S3_BUCKET_NAME: secretsmanager:a',
        '    BATCH_TOKEN: secretsmanager:a',
        '    MODE: secretsmanager:a',
        '    NOSRC: prod/db',
        "    KEY: { from: 'ssm:/x', kmsKeyArn: 'arn:aws:kms:ap-northeast-1:123456789012:alias/app' }",
        `    FAR: secretsmanager:${ARN.replace('ap-northeast-1', 'us-east-1')}`,
        '    PARAM: ssm:/prod/api',
      ].join('\n') + '\n',
      base.replace(/^ {2}environment: .*\n/m, ''),
    );
    const p = problems(text).join('\n');
    expect(p).toMatch(/task\.secrets\.1BAD +"1BAD" is not a valid environment variable name/);
    expect(p).toMatch(/task\.secrets\.S3_BUCKET_NAME +S3_BUCKET_NAME is batchctl's/);
    expect(p).toMatch(/task\.secrets\.BATCH_TOKEN +BATCH_TOKEN is batchctl's/);
    expect(p).toMatch(/task\.secrets\.MODE +MODE is also in task\.environment/);
    expect(p).toMatch(/task\.secrets\.NOSRC +"prod\/db" names no source/);
    expect(p).toMatch(
      /task\.secrets\.KEY\.kmsKeyArn +kmsKeyArn "arn:aws:kms:ap-northeast-1:123456789012:alias\/app" is not a KMS key ARN/,
    );
    expect(p).toMatch(
      /task\.secrets\.FAR\.?\S* +arn:aws:secretsmanager:us-east-1:\S+ is in us-east-1, not the stack's region ap-northeast-1/,
    );
    expect(p).toMatch(/network\.interfaceEndpoints +missing ssm: .*the job secrets from SSM Parameter Store/);
    const many = withTask(
      `  secrets:\n${Array.from({ length: 51 }, (_, i) => `    S${i}: secretsmanager:s${i}`).join('\n')}\n`,
    );
    expect(problems(many).join('\n')).toMatch(/task\.secrets +51 secrets: at most 50 a job/);
    // With the endpoint listed (or a mode with a way out), the parameter is fine.
    expect(load(withSsm(withTask('  secrets: { PARAM: ssm:/prod/api }\n'))).jobs[0]!.task.secrets).toEqual({
      PARAM: 'ssm:/prod/api',
    });
  });
});

describe('task.capacity and task.ephemeralStorageGiB', () => {
  it('spot: the job runs through its state machine (its fallback), on-demand by default; ARM64 is refused', () => {
    const spot = load(withTask('  capacity: spot\n')).jobs[0]!;
    expect(spot.task.capacity).toBe('spot');
    expect(spot.runPolicy).toEqual({ retries: 0, spot: true });
    expect(load(base).jobs[0]!.task.capacity).toBe('on-demand');
    expect(load(base).jobs[0]!.runPolicy).toBeUndefined();
    expect(problems(withTask('  capacity: spot\n  cpuArchitecture: ARM64\n')).join('\n')).toMatch(
      /task\.capacity +Fargate Spot runs Linux X86_64 tasks only/,
    );
    expect(problems(withTask('  capacity: reserved\n')).join('\n')).toMatch(/task\.capacity/);
  });

  it('ephemeral storage: 21 to 200 GiB, whole', () => {
    expect(load(withTask('  ephemeralStorageGiB: 21\n')).jobs[0]!.task.ephemeralStorageGiB).toBe(21);
    expect(load(withTask('  ephemeralStorageGiB: 200\n')).jobs[0]!.task.ephemeralStorageGiB).toBe(200);
    expect(problems(withTask('  ephemeralStorageGiB: 20\n')).join('\n')).toMatch(
      /task\.ephemeralStorageGiB +expected at least 21 \(GiB\): Fargate gives every task 20 GiB without it/,
    );
    expect(problems(withTask('  ephemeralStorageGiB: 201\n')).join('\n')).toMatch(
      /task\.ephemeralStorageGiB +expected at most 200 \(GiB\), the most Fargate gives a task/,
    );
    expect(problems(withTask('  ephemeralStorageGiB: 50.5\n')).join('\n')).toMatch(/task\.ephemeralStorageGiB/);
  });
});
