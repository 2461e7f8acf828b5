import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, parseConfigText } from '../../src/config/load.js';
import { UserError, ConfigError } from '../../src/base/errors.js';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { DEFAULT_CONFIG_PATH } from '../helpers/ctx.js';

const dir = (name: string) => fileURLToPath(new URL(`./${name}/`, import.meta.url));
const BAD = dir('bad');
const GOOD = dir('good');
const NO_ENV = { env: {} };

/** Load text expecting a ConfigError; returns it. */
function problemsOf(text: string, opts: Parameters<typeof parseConfigText>[2] = NO_ENV): ConfigError {
  try {
    parseConfigText(text, 'batch.config.yaml', opts);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const valid = readFileSync(DEFAULT_CONFIG_PATH, 'utf8');

describe('the repository config', () => {
  it('loads with the article values', async () => {
    const c = await loadConfig(DEFAULT_CONFIG_PATH, NO_ENV);
    expect(c.region).toBe('ap-northeast-1');
    expect(c.network.vpcCidr).toBe('192.168.0.0/16');
    expect(c.network.batchSubnets).toEqual([
      { az: 'ap-northeast-1a', cidr: '192.168.0.0/24' },
      { az: 'ap-northeast-1c', cidr: '192.168.1.0/24' },
    ]);
    expect(c.network.endpointSubnets).toEqual([
      { az: 'ap-northeast-1a', cidr: '192.168.2.0/24' },
      { az: 'ap-northeast-1c', cidr: '192.168.3.0/24' },
    ]);
    expect(c.network.interfaceEndpoints).toEqual(['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager']);
    expect(c.network.s3Gateway).toBe(true);
    expect(c.bucket).toEqual({ expireAfterDays: 365, versioning: false });
    expect(c.bucket.name).toBeUndefined();
    expect(c.logs).toMatchObject({ group: '/ecs/SampleBatch', retentionDays: 365, streamPrefix: 'ecs' });
    expect(c.cluster).toEqual({ name: 'sample-batch', containerInsights: true });
    expect(c.jobs[0]!.task).toMatchObject({
      family: 'sample-batch',
      cpu: 2048,
      memory: 8192,
      containerName: 'batch',
      imageTag: 'latest',
    });
    expect(c.jobs[0]!.schedule).toMatchObject({
      name: 'sample-batch',
      expression: 'cron(30 * * * ? *)',
      enabled: true,
    });
    expect(c.jobs[0]!.schedule.retry).toEqual({ maximumEventAgeSeconds: 1800, maximumRetryAttempts: 10 });
    expect(c.iam).toMatchObject({ executionRoleName: 'sample-batch-execution' });
    expect(c.jobs).toHaveLength(1);
    expect(c.jobs[0]).toMatchObject({ name: 'sample-batch', original: true, streamPrefix: 'ecs' });
    expect(c.jobs[0]!.iam).toMatchObject({
      taskRoleName: 'sample-batch-task',
      eventsRoleName: 'sample-batch-events',
      bucketAccess: 'read',
    });
    expect(c.secret.name).toBe('sample-batch');
    expect(c.repository.name).toBe('sample-batch');
  });
});

describe('region', () => {
  const noRegion = valid.replace(/^region: .*\n/m, '');

  it('prefers --region, then the config, then AWS_REGION, then AWS_DEFAULT_REGION', () => {
    const env = { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-east-2' };
    // The AZs are Tokyo's; keep the subnets valid by only changing where the region comes from.
    expect(parseConfigText(valid, 'f', { region: 'ap-northeast-1', env: { AWS_REGION: 'eu-west-1' } }).region).toBe(
      'ap-northeast-1',
    );
    expect(parseConfigText(valid, 'f', { env }).region).toBe('ap-northeast-1');
    expect(
      parseConfigText(noRegion, 'f', { env: { AWS_REGION: 'ap-northeast-1', AWS_DEFAULT_REGION: 'us-east-2' } }).region,
    ).toBe('ap-northeast-1');
    expect(parseConfigText(noRegion, 'f', { env: { AWS_DEFAULT_REGION: 'ap-northeast-1' } }).region).toBe(
      'ap-northeast-1',
    );
    // The flag wins over the file, so the file's Tokyo AZs are then in the wrong region: the flag's
    // mistake, said once and naming it (not blamed on the file, subnet by subnet).
    expect(() => parseConfigText(valid, 'f', { region: 'eu-west-1', env: {} })).toThrow(
      "--region eu-west-1 does not match the config: its subnets are in ap-northeast-1a, ap-northeast-1c, zones of ap-northeast-1 (the config's region)",
    );
    try {
      parseConfigText(valid, 'f', { region: 'eu-west-1', env: {} });
    } catch (e) {
      expect(e).not.toBeInstanceOf(ConfigError);
      expect((e as UserError).hint).toBe(
        'leave out --region to use ap-northeast-1, or give the subnets zones of eu-west-1 (named eu-west-1 plus a letter; `batchctl plan` checks which your account has)',
      );
    }
    // AWS_REGION for a config without `region:`: the zones are checked against it, in the file.
    expect(problemsOf(noRegion, { env: { AWS_REGION: 'eu-west-1' } }).details.join('\n')).toContain(
      'ap-northeast-1a is not an availability zone of region eu-west-1: its zones are named eu-west-1 and a letter',
    );
  });

  it("reports a missing or malformed region: the file's at its line, a flag's or variable's naming it", () => {
    expect(problemsOf(noRegion).details).toEqual([
      'batch.config.yaml:2:1  region  no region: set region in the config, --region, AWS_REGION, or a region in your AWS profile',
    ]);
    const flagError = (o: Parameters<typeof parseConfigText>[2]) => {
      try {
        parseConfigText(noRegion, 'batch.config.yaml', o);
      } catch (e) {
        expect(e).toBeInstanceOf(UserError);
        expect(e).not.toBeInstanceOf(ConfigError);
        return e as UserError;
      }
      throw new Error('loaded');
    };
    expect(flagError({ env: { AWS_REGION: 'tokyo' } }).message).toBe(
      'AWS_REGION "tokyo" is not an AWS region such as ap-northeast-1',
    );
    expect(flagError({ region: 'Tokyo', env: {} }).message).toBe(
      '--region "Tokyo" is not an AWS region such as ap-northeast-1',
    );
    const typo = flagError({ region: 'us-est-1', env: {} });
    expect(typo.message).toBe('--region "us-est-1" is not an AWS region: did you mean us-east-1?');
    expect(typo.hint).toBe("pass --region with an AWS region, or leave it out to use the config's");
  });
});

describe('bad configs', () => {
  const files = readdirSync(BAD)
    .filter((f) => f.endsWith('.yaml'))
    .sort();

  it('has a corpus of at least 28 files', () => {
    expect(files.length).toBeGreaterThanOrEqual(28);
  });

  it.each(files)('%s reports every expected problem at once', async (name) => {
    const path = `${BAD}${name}`;
    const expects = [...readFileSync(path, 'utf8').matchAll(/^# expect: (\d+):(\d+) (\S+) (.+)$/gm)];
    expect(expects.length).toBeGreaterThan(0);
    const err = await loadConfig(path, NO_ENV).then(
      () => {
        throw new Error(`${name} loaded`);
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    const { details, message } = err as ConfigError;
    for (const [, line, col, keyPath, text] of expects) {
      const prefix = `${path}:${line}:${col}  ${keyPath}  `;
      expect(
        details.filter((d) => d.startsWith(prefix) && d.includes(text!)),
        `${prefix}${text}\nin\n${details.join('\n')}`,
      ).toHaveLength(1);
    }
    // Exactly the declared problems: nothing missing, no knock-on noise.
    expect(details).toHaveLength(expects.length);
    expect(message).toBe(`${path} has ${expects.length} problem${expects.length === 1 ? '' : 's'}`);
  });
});

describe('good configs', () => {
  it.each(readdirSync(GOOD).filter((f) => f.endsWith('.yaml')))('%s loads', async (name) => {
    const c = await loadConfig(`${GOOD}${name}`, NO_ENV);
    expect(c.stack).toMatch(/^[a-z]/);
  });

  it('fills defaults and derived names for a minimal config', async () => {
    const c = await loadConfig(`${GOOD}minimal.yaml`, NO_ENV);
    expect(c).toMatchObject({
      region: 'us-east-1',
      network: {
        vpcCidr: '192.168.0.0/16',
        s3Gateway: true,
        interfaceEndpoints: ['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager'],
      },
      repository: { name: 'reports', tagMutability: 'MUTABLE' },
      secret: { name: 'reports' },
      logs: { group: '/ecs/reports', retentionDays: 365 },
      iam: { executionRoleName: 'reports-execution' },
      // Without `jobs:` the stack has one job, named after it, with the pre-jobs names.
      jobs: [
        {
          name: 'reports',
          original: true,
          streamPrefix: 'ecs',
          task: { family: 'reports', cpu: 2048, memory: 8192 },
          schedule: { name: 'reports', expression: 'cron(30 * * * ? *)', engine: 'rule' },
          iam: {
            taskRoleName: 'reports-task',
            eventsRoleName: 'reports-events',
            schedulerRoleName: 'reports-scheduler',
          },
        },
      ],
    });
    expect(c.bucket.name).toBeUndefined();
  });
});

describe('network modes', () => {
  it("fill each mode's defaults: public has no interface endpoint, existing none unless listed and no S3 gateway", async () => {
    const pub = await loadConfig(`${GOOD}mode-public.yaml`, NO_ENV);
    expect(pub.network).toMatchObject({
      mode: 'public',
      interfaceEndpoints: [],
      s3Gateway: true,
      endpointSubnets: [],
      assignPublicIp: true,
      subnetIds: [],
    });
    const ex = await loadConfig(`${GOOD}mode-existing.yaml`, NO_ENV);
    expect(ex.network).toMatchObject({
      mode: 'existing',
      vpcId: 'vpc-0a1b2c3d4e5f60718',
      subnetIds: ['subnet-0a1b2c3d4e5f60718', 'subnet-1a1b2c3d4e5f60718'],
      securityGroupIds: [],
      interfaceEndpoints: [],
      s3Gateway: false,
      batchSubnets: [],
      assignPublicIp: false,
    });
    // Changing only the mode line of the default config gives a valid public config: the endpoint keys stay, unused.
    const switched = parseConfigText(valid.replace('mode: private-endpoints', 'mode: public'), 'f', NO_ENV);
    expect(switched.network).toMatchObject({
      mode: 'public',
      interfaceEndpoints: [],
      endpointSubnets: [
        { az: 'ap-northeast-1a', cidr: '192.168.2.0/24' },
        { az: 'ap-northeast-1c', cidr: '192.168.3.0/24' },
      ],
    });
  });

  it('private-endpoints needs its endpoint subnets; ids must look like AWS ids', () => {
    const noEndpoints = valid.replace(/ {2}endpointSubnets:\n(?: {4}- .*\n)+/, '');
    expect(problemsOf(noEndpoints).details.join('\n')).toContain('missing required key "endpointSubnets"');
    expect(
      parseConfigText(noEndpoints.replace('mode: private-endpoints', 'mode: public'), 'f', NO_ENV).network
        .endpointSubnets,
    ).toEqual([]);
    const bad = problemsOf(
      'stack: s1\nregion: ap-northeast-1\nnetwork:\n  mode: existing\n  vpcId: vpc-12\n  subnetIds: [subnet-xyz]\n',
    );
    expect(bad.details).toEqual([
      'batch.config.yaml:5:10  network.vpcId  expected a VPC id such as vpc-0123456789abcdef0, got the string "vpc-12"',
      'batch.config.yaml:6:15  network.subnetIds.0  expected a subnet id such as subnet-0123456789abcdef0, got the string "subnet-xyz"',
    ]);
  });
});

describe('error reporting', () => {
  it('is a UserError with the hint and problems sorted by position', () => {
    const text = valid
      .replace('cron(30 * * * ? *)', 'rate(1 hours)')
      .replace('retentionDays: 365', 'retentionDays: 42')
      .replace('cpu: 2048', 'cpu: 3000');
    const err = problemsOf(text);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe('batch.config.yaml has 3 problems');
    expect(err.hint).toBe('fix them and run `batchctl validate`');
    expect(err.details.map((d) => d.split('  ')[1])).toEqual(['logs.retentionDays', 'task.cpu', 'schedule.expression']);
    const lines = err.problems.map((p) => p.line);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
  });

  it('checks cross-field rules even when zod rejects other fields', () => {
    const text = valid
      .replace('stack: sample-batch', 'stack: 42')
      .replace('cidr: 192.168.3.0/24', 'cidr: 192.168.1.0/24');
    const paths = problemsOf(text).problems.map((p) => p.path);
    expect(paths).toEqual(['stack', 'network.endpointSubnets.1.cidr']);
  });

  it('does not crash on structurally wrong input', () => {
    for (const text of [
      '- a\n- b\n',
      'just a string\n',
      'stack: x\nnetwork: [1, 2]\ntask: 5\nschedule: { retry: 3 }\ntags: [a]\n',
    ]) {
      expect(problemsOf(text).details.length).toBeGreaterThan(0);
    }
  });

  it('points a missing key at its parent key and an unknown key at the key itself', () => {
    const text = valid
      .replace('    - { az: ap-northeast-1c, cidr: 192.168.1.0/24 }\n', '    - { az: ap-northeast-1c }\n')
      .replace('  streamPrefix: ecs', '  streamprefix: ecs');
    expect(problemsOf(text).details).toEqual([
      'batch.config.yaml:10:7  network.batchSubnets.1.cidr  missing required key "cidr" (a string)',
      'batch.config.yaml:34:3  logs.streamprefix  unknown key "streamprefix": did you mean streamPrefix? (allowed: group, retentionDays, streamPrefix)',
    ]);
  });

  it('reports a missing file as a UserError with a hint', async () => {
    const err = await loadConfig('/nonexistent/batch.config.yaml').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err).not.toBeInstanceOf(ConfigError);
    expect((err as UserError).message).toBe('config file not found: /nonexistent/batch.config.yaml');
    expect((err as UserError).hint).toBe(
      'create one with `batchctl init` (every key: docs/configuration.md), or pass --config',
    );
  });

  it('rejects a derived default name that breaks an AWS rule, pointing at the stack', () => {
    const err = problemsOf(
      valid.replace('stack: sample-batch', 'stack: batch-runner').replace('secret:\n  name: sample-batch\n', ''),
    );
    expect(err.details).toEqual([
      expect.stringMatching(
        /^batch\.config\.yaml:2:8 {2}stack {2}the default secret name "batch-runner" must not end with a hyphen/,
      ),
    ]);
  });

  it('checks the cpu against the default memory when memory is left out', () => {
    const err = problemsOf(valid.replace('  cpu: 2048\n  memory: 8192\n', '  cpu: 256\n'));
    expect(err.details[0]).toContain(
      'task.memory  memory 8192 (the default) is not valid with cpu 256 on Fargate: expected 512, 1024 or 2048',
    );
  });
});

describe('no AWS access', () => {
  let fake: FakeAws | undefined;
  afterEach(() => fake?.uninstall());

  it('makes no AWS call while loading, valid or not', async () => {
    fake = createFakeAws();
    await loadConfig(DEFAULT_CONFIG_PATH, NO_ENV);
    await expect(loadConfig(`${BAD}multi-problem.yaml`, NO_ENV)).rejects.toBeInstanceOf(ConfigError);
    expect(fake.core.calls).toEqual([]);
  });
});
