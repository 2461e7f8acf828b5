/**
 * Every value the config feeds to an AWS field is held to that field's limit by `validate`, at its line,
 * and never reaches `up` (where it would fail after other resources were made). Table-driven: one case a
 * key of src/config/limits.ts (a value just over the limit, and the top level's or a job's place), and a
 * check that the table covers every key the config schema has.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { validateConfig, type Problem } from '../../src/config/validate.js';
import { ConfigError } from '../../src/base/errors.js';
import { parseConfigText } from '../../src/config/load.js';
import { FIELD_LIMITS, NOT_FED } from '../../src/config/limits.js';
import { schemaKeys } from '../helpers/schema-keys.js';
import { captureCli } from '../helpers/cli.js';
import { DEFAULT_CONFIG_PATH } from '../helpers/ctx.js';

const TEXT = readFileSync(DEFAULT_CONFIG_PATH, 'utf8');
type Raw = Record<string, any>;
const base = (): Raw => parse(TEXT) as Raw;
const NOW = new Date('2027-01-01T00:00:00Z');
const problems = (raw: Raw): Problem[] =>
  validateConfig(raw, { region: 'ap-northeast-1', now: NOW }).filter((p) => !p.warning);
const x = (n: number, c = 'x') => c.repeat(n);

interface Case {
  /** The key of src/config/limits.ts it covers. */
  key: string;
  /** Over the limit. */
  set(raw: Raw): void;
  /** Where the problem is said, and what it says. */
  path: (string | number)[];
  message: RegExp;
  /** At the limit: no problem (when the limit is a length). */
  ok?(raw: Raw): void;
}

const CASES: Case[] = [
  {
    key: 'stack',
    set: (r) => {
      r.stack = `a${x(32, 'b')}`;
    },
    path: ['stack'],
    message: /lowercase letters, digits and hyphens, 2-32/,
  },
  {
    key: 'region',
    set: (r) => {
      r.region = 'tokyo';
    },
    path: ['region'],
    message: /an AWS region/,
  },
  {
    key: 'tags',
    set: (r) => {
      r.tags = { team: x(257) };
    },
    path: ['tags', 'team'],
    message: /tag value is 257 characters: at most 256/,
    ok: (r) => {
      r.tags = { team: x(256) };
    },
  },
  {
    key: 'network.vpcCidr',
    set: (r) => {
      r.network.vpcCidr = '10.0.0.0/8';
    },
    path: ['network', 'vpcCidr'],
    message: /prefix must be \/16 to \/28/,
  },
  {
    key: 'network.batchSubnets.az',
    set: (r) => {
      r.network.batchSubnets[0].az = 'us-east-1a';
    },
    path: ['network', 'batchSubnets', 0, 'az'],
    message: /not an availability zone of region ap-northeast-1/,
  },
  {
    key: 'network.batchSubnets.cidr',
    set: (r) => {
      r.network.batchSubnets[0].cidr = '10.0.0.0/24';
    },
    path: ['network', 'batchSubnets', 0, 'cidr'],
    message: /outside the VPC/,
  },
  {
    key: 'network.endpointSubnets.az',
    set: (r) => {
      r.network.endpointSubnets[0].az = 'us-east-1a';
    },
    path: ['network', 'endpointSubnets', 0, 'az'],
    message: /not an availability zone of region/,
  },
  {
    key: 'network.endpointSubnets.cidr',
    set: (r) => {
      r.network.endpointSubnets[0].cidr = '192.168.0.0/24';
    },
    path: ['network', 'endpointSubnets', 0, 'cidr'],
    message: /overlaps/,
  },
  {
    key: 'network.interfaceEndpoints',
    set: (r) => {
      r.network.interfaceEndpoints = ['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager', 'logs'];
    },
    path: ['network', 'interfaceEndpoints', 4],
    message: /listed twice/,
  },
  {
    key: 'network.vpcId',
    set: (r) => {
      r.network = { mode: 'existing', vpcId: 'vpc-123', subnetIds: ['subnet-0123456789abcdef0'] };
    },
    path: ['network', 'vpcId'],
    message: /a VPC id such as/,
  },
  {
    key: 'network.subnetIds',
    set: (r) => {
      r.network = {
        mode: 'existing',
        vpcId: 'vpc-0123456789abcdef0',
        subnetIds: Array.from({ length: 17 }, (_, i) => `subnet-${String(i).padStart(17, '0')}`),
      };
    },
    path: ['network', 'subnetIds'],
    message: /17 subnets: ECS takes at most 16/,
  },
  {
    key: 'network.securityGroupIds',
    set: (r) => {
      r.network = {
        mode: 'existing',
        vpcId: 'vpc-0123456789abcdef0',
        subnetIds: ['subnet-0123456789abcdef0'],
        securityGroupIds: Array.from({ length: 6 }, (_, i) => `sg-${String(i).padStart(17, '0')}`),
      };
    },
    path: ['network', 'securityGroupIds'],
    message: /6 security groups: ECS takes at most 5/,
  },
  {
    key: 'repository.name',
    set: (r) => {
      r.repository.name = x(257, 'a');
    },
    path: ['repository', 'name'],
    message: /must be 2-256 characters/,
  },
  {
    key: 'bucket.name',
    set: (r) => {
      r.bucket.name = x(64, 'a');
    },
    path: ['bucket', 'name'],
    message: /must be 3-63 characters/,
  },
  {
    key: 'bucket.expireAfterDays',
    set: (r) => {
      r.bucket.expireAfterDays = 0;
    },
    path: ['bucket', 'expireAfterDays'],
    message: /at least 1/,
  },
  {
    key: 'secret.name',
    set: (r) => {
      r.secret.name = x(513, 'a');
    },
    path: ['secret', 'name'],
    message: /must be 1-512 characters/,
  },
  {
    key: 'logs.group',
    set: (r) => {
      r.logs.group = `/${x(512)}`;
    },
    path: ['logs', 'group'],
    message: /must be 1-512 characters/,
  },
  {
    key: 'logs.retentionDays',
    set: (r) => {
      r.logs.retentionDays = 10;
    },
    path: ['logs', 'retentionDays'],
    message: /not a retention CloudWatch Logs accepts/,
  },
  {
    key: 'logs.streamPrefix',
    set: (r) => {
      r.logs.streamPrefix = x(474);
    },
    path: ['logs', 'streamPrefix'],
    message: /makes log stream names 513 characters .*at most 512/,
    ok: (r) => {
      r.logs.streamPrefix = x(473);
    },
  },
  {
    key: 'cluster.name',
    set: (r) => {
      r.cluster.name = x(256);
    },
    path: ['cluster', 'name'],
    message: /must be 1-255 characters/,
  },
  {
    key: 'task.family',
    set: (r) => {
      r.task.family = x(81);
      r.task.retries = 1;
    },
    path: ['task', 'family'],
    message: /over Step Functions' 80 characters/,
  },
  {
    key: 'task.cpu',
    set: (r) => {
      r.task.cpu = 3000;
    },
    path: ['task', 'cpu'],
    message: /not a Fargate CPU value/,
  },
  {
    key: 'task.memory',
    set: (r) => {
      r.task.memory = 1024;
    },
    path: ['task', 'memory'],
    message: /not valid with cpu 2048/,
  },
  {
    key: 'task.containerName',
    set: (r) => {
      r.task.containerName = x(256);
    },
    path: ['task', 'containerName'],
    message: /must be 1-255 characters/,
  },
  {
    // The registry is 50 characters: 211 with the tag, 272 once pinned to a digest.
    key: 'task.imageTag',
    set: (r) => {
      r.repository.name = x(150, 'a');
      r.task.imageTag = x(10);
      r.task.imagePin = 'digest';
    },
    path: ['task', 'imageTag'],
    message:
      /the image reference ECS gets would be 272 characters \(pinned to its digest\): ECS takes at most 255 \(ContainerDefinition image\); use a shorter repository.name or task.imageTag/,
    ok: (r) => {
      r.repository.name = x(150, 'a');
      r.task.imageTag = x(10);
    },
  },
  {
    key: 'task.image',
    set: (r) => {
      r.task.image = `123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/${x(203, 'a')}:v1`;
    },
    path: ['task', 'image'],
    message:
      /the image reference ECS gets would be 256 characters: ECS takes at most 255 \(ContainerDefinition image\)$/,
    ok: (r) => {
      r.task.image = `123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/${x(202, 'a')}:v1`;
    },
  },
  {
    key: 'task.command',
    set: (r) => {
      r.task.command = Array.from({ length: 200 }, () => x(40));
    },
    path: ['task', 'command'],
    message:
      /makes every run's RunTask overrides \d+ characters \(with the variables batchctl adds\): ECS takes at most 8192/,
    ok: (r) => {
      r.task.command = Array.from({ length: 150 }, () => x(40));
    },
  },
  {
    key: 'task.environment',
    set: (r) => {
      r.task.environment = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`V${i}`, x(1000)]));
    },
    path: ['task', 'environment'],
    message:
      /the command and environment take \d+ characters of the task definition: ECS takes 65536 in all, 61440 of them for these/,
    ok: (r) => {
      r.task.environment = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`V${i}`, x(1000)]));
    },
  },
  {
    key: 'task.timeout',
    set: (r) => {
      r.task.timeout = '400d';
    },
    path: ['task', 'timeout'],
    message: /over the limit: Step Functions ends an execution after one year/,
  },
  {
    key: 'task.retries',
    set: (r) => {
      r.task.retries = 11;
    },
    path: ['task', 'retries'],
    message: /outside 0-10/,
  },
  {
    key: 'task.secrets',
    set: (r) => {
      r.task.secrets = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`S${i}`, `secretsmanager:app/${i}`]));
    },
    path: ['task', 'secrets'],
    message: /51 secrets: at most 50 a job/,
    ok: (r) => {
      r.task.secrets = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`S${i}`, `secretsmanager:app/${i}`]));
    },
  },
  {
    key: 'task.ephemeralStorageGiB',
    set: (r) => {
      r.task.ephemeralStorageGiB = 201;
    },
    path: ['task', 'ephemeralStorageGiB'],
    message: /at most 200/,
    ok: (r) => {
      r.task.ephemeralStorageGiB = 200;
    },
  },
  {
    key: 'schedule.name',
    set: (r) => {
      r.schedule.name = x(65);
    },
    path: ['schedule', 'name'],
    message: /must be 1-64 characters/,
  },
  {
    key: 'schedule.expression',
    set: (r) => {
      r.schedule.expression = `cron(30 * * * ? ${Array.from({ length: 60 }, (_, i) => 2030 + i).join(',')})`;
    },
    path: ['schedule', 'expression'],
    message: /is \d+ characters: EventBridge and Scheduler take at most 256/,
  },
  {
    key: 'schedule.timezone',
    set: (r) => {
      r.schedule.engine = 'scheduler';
      r.schedule.timezone = `America/${x(50)}`;
    },
    path: ['schedule', 'timezone'],
    message: /is 58 characters: Scheduler takes at most 50/,
  },
  {
    key: 'schedule.flexibleWindowMinutes',
    set: (r) => {
      r.schedule.flexibleWindowMinutes = 5;
      r.schedule.engine = 'rule';
    },
    path: ['schedule', 'flexibleWindowMinutes'],
    message: /needs the scheduler engine/,
  },
  {
    key: 'schedule.description',
    set: (r) => {
      r.schedule.description = x(600);
    },
    path: ['schedule', 'description'],
    message: /^is 600 characters: EventBridge rules and Scheduler schedules take at most 512$/,
    ok: (r) => {
      r.schedule.description = x(512);
    },
  },
  {
    key: 'schedule.retry.maximumEventAgeSeconds',
    set: (r) => {
      r.schedule.retry.maximumEventAgeSeconds = 59;
    },
    path: ['schedule', 'retry', 'maximumEventAgeSeconds'],
    message: /expected 60 to 86400/,
  },
  {
    key: 'schedule.retry.maximumRetryAttempts',
    set: (r) => {
      r.schedule.retry.maximumRetryAttempts = 186;
    },
    path: ['schedule', 'retry', 'maximumRetryAttempts'],
    message: /expected 0 to 185/,
  },
  {
    key: 'iam.executionRoleName',
    set: (r) => {
      r.iam.executionRoleName = x(65);
    },
    path: ['iam', 'executionRoleName'],
    message: /must be 1-64 characters/,
  },
  {
    key: 'iam.taskRoleName',
    set: (r) => {
      r.iam.taskRoleName = 'a b';
    },
    path: ['iam', 'taskRoleName'],
    message: /may only contain/,
  },
  {
    key: 'iam.eventsRoleName',
    set: (r) => {
      r.iam.eventsRoleName = x(65);
    },
    path: ['iam', 'eventsRoleName'],
    message: /must be 1-64 characters/,
  },
  {
    key: 'iam.schedulerRoleName',
    set: (r) => {
      r.iam.schedulerRoleName = x(65);
    },
    path: ['iam', 'schedulerRoleName'],
    message: /must be 1-64 characters/,
  },
  {
    key: 'iam.stateMachineRoleName',
    set: (r) => {
      r.iam.stateMachineRoleName = x(65);
    },
    path: ['iam', 'stateMachineRoleName'],
    message: /must be 1-64 characters/,
  },
  {
    key: 'iam.permissionsBoundary',
    set: (r) => {
      r.iam.permissionsBoundary = `arn:aws:iam::123456789012:policy/${x(2020)}`;
    },
    path: ['iam', 'permissionsBoundary'],
    message: /is 2053 characters: IAM takes at most 2048/,
  },
  {
    // A 32-character stack and a 40-character job: `<stack>-<job>-events` is 80, over IAM's 64.
    key: 'jobs',
    set: (r) => {
      r.stack = `a${x(30, 'b')}c`;
      r.jobs = { lister: { original: true }, [`a${x(38)}b`]: {} };
    },
    path: ['jobs', `a${x(38)}b`],
    message: /the default EventBridge role name "a.*-events" must be 1-64 characters \(got 80\)/,
  },
  {
    key: 'notify.emails',
    set: (r) => {
      r.notify = { emails: ['not an address'] };
    },
    path: ['notify', 'emails', 0],
    message: /not a valid e-mail address/,
  },
  {
    key: 'notify.topicArn',
    set: (r) => {
      r.notify = { topicArn: 'arn:aws:sns:us-east-1:123456789012:alerts' };
    },
    path: ['notify', 'topicArn'],
    message: /EventBridge rules can only target a topic in their own region/,
  },
  {
    key: 'state.s3.bucket',
    set: (r) => {
      r.state = { s3: { bucket: 'A_B', key: 'k.json' } };
    },
    path: ['state', 's3', 'bucket'],
    message: /uppercase letters are not allowed/,
  },
  {
    key: 'state.s3.key',
    set: (r) => {
      r.state = { s3: { bucket: 'team-state', key: `${x(1019)}é.json` } };
    },
    path: ['state', 's3', 'key'],
    message: /is 1026 bytes: S3 object keys take at most 1024 \(UTF-8\)/,
  },
  {
    key: 'state.s3.region',
    set: (r) => {
      r.state = { s3: { bucket: 'team-state', key: 'k.json', region: 'tokyo' } };
    },
    path: ['state', 's3', 'region'],
    message: /an AWS region/,
  },
];

/** zod's field-level problems (shape, pattern), found by loading the config as `validate` does. */
function allProblems(raw: Raw): { path: string; message: string }[] {
  try {
    parseConfigText(stringify(raw), 'batch.config.yaml', { env: {}, now: NOW });
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.map((p) => ({ path: p.path, message: p.message }));
  }
}

describe('every config-fed field is held to its AWS limit', () => {
  it('the table covers every key of the config schema: a limit, or why no AWS field takes it', () => {
    const keys = schemaKeys();
    const sections = new Set(keys.filter((k) => keys.some((o) => o.startsWith(`${k}.`))));
    const leaves = keys.filter((k) => !sections.has(k) || k === 'tags' || k === 'jobs');
    const limited = new Set(FIELD_LIMITS.map((l) => l.key));
    const missing = leaves.filter((k) => !limited.has(k) && !(k in NOT_FED));
    expect(missing, 'a config key must say which AWS field it feeds, and its limit (src/config/limits.ts)').toEqual([]);
    expect(FIELD_LIMITS.map((l) => l.key).filter((k) => !keys.includes(k))).toEqual([]);
    // And each limit has its case below.
    expect(FIELD_LIMITS.map((l) => l.key).filter((k) => !CASES.some((c) => c.key === k))).toEqual([]);
  });

  for (const c of CASES) {
    it(`${c.key}: refused over the limit, where it is set`, () => {
      const raw = base();
      c.set(raw);
      const found = allProblems(raw);
      expect(
        found.map((p) => `${p.path}: ${p.message}`),
        c.key,
      ).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^${c.path.join('\\.')}: ${c.message.source.startsWith('^') ? c.message.source.slice(1) : `.*${c.message.source}`}`,
          ),
        ),
      );
      if (c.ok) {
        const fine = base();
        c.ok(fine);
        expect(allProblems(fine)).toEqual([]);
      }
    });
  }

  it("a job's own value is refused at the job; an inherited one at the top level", () => {
    const raw = base();
    raw.jobs = { lister: { original: true }, report: { schedule: { description: x(513) } } };
    expect(problems(raw)).toContainEqual(
      expect.objectContaining({
        path: ['jobs', 'report', 'schedule', 'description'],
        message: 'is 513 characters: EventBridge rules and Scheduler schedules take at most 512',
      }),
    );
    const inherited = base();
    inherited.schedule.description = x(513);
    inherited.jobs = { lister: { original: true }, report: {} };
    expect(problems(inherited)).toEqual([expect.objectContaining({ path: ['schedule', 'description'] })]);
    const boundary = base();
    boundary.jobs = {
      lister: { original: true, iam: { permissionsBoundary: `arn:aws:iam::123456789012:policy/${x(2020)}` } },
    };
    expect(problems(boundary)).toContainEqual(
      expect.objectContaining({ path: ['jobs', 'lister', 'iam', 'permissionsBoundary'] }),
    );
  });
});

describe('batchctl validate', () => {
  const io = captureCli();
  it('refuses a 600-character description at its line (before `plan` or `up` could try it)', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'batchctl-limits-'));
    const path = join(dir, 'batch.config.yaml');
    const text = TEXT.replace('  enabled: true\n', `  enabled: true\n  description: ${x(600)}\n`);
    writeFileSync(path, text);
    const line = text.split('\n').findIndex((l) => l.startsWith('  description:')) + 1;
    expect(await io.run('-c', path, 'validate')).toBe(2);
    expect(io.err.join('')).toContain(
      `batch.config.yaml:${line}:16  schedule.description  is 600 characters: EventBridge rules and Scheduler schedules take at most 512`,
    );
  });
});
