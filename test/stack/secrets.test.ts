/**
 * Job secrets (`task.secrets`) on the fake: a Secrets Manager secret's JSON key and an SSM SecureString
 * parameter become container secrets, the shared execution role may read exactly those (and decrypt with
 * exactly their customer-managed keys), a task gets their values from ECS, and batchctl itself never
 * reads one: no GetSecretValue or GetParameter(s) call, no value in the state, a saved plan, the output
 * or the reporter. A secret that does not exist stops `plan` and `up` (exit 2) before any write.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { freshFakeAws, scratch, settleWithFakeTimers, upOn } from '../helpers/stack.js';
import { captureCli } from '../helpers/cli.js';
import { DEFAULT_CONFIG_PATH } from '../helpers/ctx.js';
import { runPlan } from '../../src/stack/plan.js';
import { runNow } from '../../src/runs/run-now.js';
import { runDown } from '../../src/stack/down.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import type { FakeAws } from '../fake-aws/index.js';

const fresh = freshFakeAws();
const cli = captureCli();

/** Values no output of batchctl may ever hold. */
const DB_PASSWORD = 'db-pass-7f3a9c-do-not-print';
const API_KEY = 'api-key-51e2b8-do-not-print';

const base = readFileSync(DEFAULT_CONFIG_PATH, 'utf8');

/** The default config with job secrets (and the ssm endpoint the private subnets need for a parameter). */
function configWith(secrets: string, endpoints = '[ecr.api, ecr.dkr, logs, secretsmanager, ssm]'): string {
  return base
    .replace(/interfaceEndpoints: \[[^\]]*\]/, `interfaceEndpoints: ${endpoints}`)
    .replace(/^ {2}command: .*$/m, (line) => `${line}\n  secrets:\n${secrets}`);
}

/** The user's secrets: a JSON secret under a customer managed key, a SecureString under a key by alias. */
function userSecrets(f: FakeAws) {
  const dbKey = f.kms.createKey();
  const paramKey = f.kms.createKey({ alias: 'alias/prod-params' });
  const db = f.secretsManager.addSecret({
    name: 'prod/db',
    value: { user: 'app', password: DB_PASSWORD },
    kmsKeyId: dbKey.arn,
  });
  const api = f.ssm.addParameter({
    name: '/prod/api-key',
    value: API_KEY,
    type: 'SecureString',
    keyId: 'alias/prod-params',
  });
  return { dbKey, paramKey, db, api };
}

const SECRETS = '    DB_PASSWORD: secretsmanager:prod/db:password\n    API_KEY: ssm:/prod/api-key\n';

const executionPolicy = (f: FakeAws) => {
  const role = [...f.iam.roles.values()].find((r) => r.name === 'sample-batch-execution')!;
  return JSON.parse([...role.inline.values()][0]!) as { Statement: { Sid: string }[] };
};

function noValueIn(text: string, what: string): void {
  expect(text, what).not.toContain(DB_PASSWORD);
  expect(text, what).not.toContain(API_KEY);
}

describe('job secrets', () => {
  it("a JSON key of a secret and an SSM parameter: container secrets, the execution role's exact grants, the values in the task and nowhere else", async () => {
    const f = fresh();
    const { dbKey, db, api } = userSecrets(f);
    const s = scratch(configWith(SECRETS));
    const reporter = new RecordingReporter();
    await upOn(s, { reporter });

    const td = f.ecs.taskDefs.filter((t) => t.status === 'ACTIVE').at(-1)!;
    const bucketSecret = [...f.secretsManager.secrets.values()].find((x) => x.name === 'sample-batch')!;
    expect(td.input.containerDefinitions[0].secrets).toEqual([
      { name: 'S3_BUCKET_NAME', valueFrom: `${bucketSecret.arn}:S3_BUCKET_NAME::` },
      { name: 'API_KEY', valueFrom: api.arn },
      { name: 'DB_PASSWORD', valueFrom: `${db.arn}:password::` },
    ]);
    expect(db.arn).toMatch(/:secret:prod\/db-[A-Za-z0-9]{6}$/);

    const statements = executionPolicy(f).Statement;
    expect(statements.map((x) => x.Sid)).toEqual([
      'EcrAuth',
      'EcrPull',
      'Logs',
      'Secret',
      'JobSecrets',
      'JobParameters',
      'JobSecretKeys',
      'JobSecretKeyAliases',
    ]);
    expect(statements.slice(4)).toEqual([
      { Sid: 'JobSecrets', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: db.arn },
      {
        Sid: 'JobParameters',
        Effect: 'Allow',
        Action: 'ssm:GetParameters',
        Resource: 'arn:aws:ssm:ap-northeast-1:123456789012:parameter/prod/api-key',
      },
      {
        Sid: 'JobSecretKeys',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: dbKey.arn,
        Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.ap-northeast-1.amazonaws.com' } },
      },
      {
        Sid: 'JobSecretKeyAliases',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: 'arn:aws:kms:ap-northeast-1:123456789012:key/*',
        Condition: {
          'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/prod-params' },
          StringEquals: { 'kms:ViaService': 'ssm.ap-northeast-1.amazonaws.com' },
        },
      },
    ]);

    // A run: ECS reads both values as the execution role, and the job gets them.
    f.ecs.taskTimings = { provisioningMs: 1000, pendingMs: 1000, runningMs: 2000 };
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const r = await settleWithFakeTimers(
      runNow({ configPath: s.configPath, statePath: s.statePath, reporter, force: true }),
    );
    expect(r).toMatchObject({ exitCode: 0, stopCode: 'EssentialContainerExited' });
    const task = [...f.ecs.tasks.values()].at(-1)!;
    expect(task.secretEnv).toMatchObject({ DB_PASSWORD, API_KEY });

    // batchctl read no value of them: not one call that returns one (it reads only the stack's own secret,
    // which holds the bucket name it wrote there, and the stack's lock), and no value in anything it wrote
    // or said.
    const reads = f.core.calls.filter(
      (c) =>
        (c.op.startsWith('GetParameter') && !c.lock) || (c.op === 'GetSecretValue' && /prod/.test(c.input.SecretId)),
    );
    expect(reads).toEqual([]);
    noValueIn(readFileSync(s.statePath, 'utf8'), 'the state');
    noValueIn(JSON.stringify(reporter), 'the reporter');
    noValueIn(JSON.stringify(f.core.calls.map((c) => c.input)), 'the calls batchctl sent');
  });

  it('plan --out, status and the CLI output name the secrets, never their values', async () => {
    const f = fresh();
    userSecrets(f);
    const s = scratch(configWith(SECRETS));
    await upOn(s);
    const out = join(s.dir, 'plan.json');
    const base = ['-c', s.configPath, '--state', s.statePath];
    expect(await cli.run(...base, 'plan', '--out', out), cli.err.join('')).toBe(0);
    noValueIn(readFileSync(out, 'utf8'), 'the saved plan');
    noValueIn(cli.out.join('') + cli.err.join(''), 'plan');
    expect(await cli.run(...base, 'status'), cli.err.join('')).toBe(0);
    const status = cli.out.join('');
    expect(status).toMatch(/secrets: +API_KEY <- ssm \/prod\/api-key, DB_PASSWORD <- secretsmanager prod\/db:password/);
    noValueIn(status + cli.err.join(''), 'status');
    expect(await cli.run(...base, '--json', 'status'), cli.err.join('')).toBe(0);
    noValueIn(cli.out.join(''), 'status --json');
  });

  for (const [what, secrets, at] of [
    [
      'a secret',
      '    DB_PASSWORD: secretsmanager:prod/missing:password\n',
      /task\.secrets\.DB_PASSWORD +secret prod\/missing does not exist in account 123456789012 \(ap-northeast-1\)/,
    ],
    [
      'a parameter',
      '    API_KEY: ssm:/prod/missing\n',
      /task\.secrets\.API_KEY +parameter \/prod\/missing does not exist in account 123456789012 \(ap-northeast-1\)/,
    ],
  ] as const) {
    it(`${what} that does not exist: plan and up exit 2 naming it, with no write at all`, async () => {
      const f = fresh();
      userSecrets(f);
      const s = scratch(configWith(secrets));
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      const base = ['-c', s.configPath, '--state', s.statePath];
      for (const command of ['plan', 'up']) {
        f.core.resetCalls();
        expect(await settleWithFakeTimers(cli.run(...base, command)), cli.err.join('')).toBe(2);
        expect(cli.err.join('')).toMatch(at);
        expect(cli.err.join('')).toMatch(/nothing was changed/);
        expect(f.core.mutatingCalls()).toEqual([]);
      }
    });
  }

  it('a secret scheduled for deletion: tasks could not read it, so plan refuses it and says how to restore it', async () => {
    const f = fresh();
    const { db } = userSecrets(f);
    db.deletedAt = new Date();
    const s = scratch(configWith(SECRETS));
    expect(await cli.run('-c', s.configPath, '--state', s.statePath, 'plan')).toBe(2);
    expect(cli.err.join('')).toMatch(
      /task\.secrets\.DB_PASSWORD +secret prod\/db is scheduled for deletion .*aws secretsmanager restore-secret --secret-id \S+ --region ap-northeast-1/,
    );
    expect(f.core.mutatingCalls()).toEqual([]);
  });

  it('a secret deleted after up: down still deletes the whole stack (it never needs a secret to find what is ours)', async () => {
    const f = fresh();
    const { db } = userSecrets(f);
    const s = scratch(configWith(SECRETS));
    await upOn(s);
    f.secretsManager.secrets.delete(db.arn);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const r = await settleWithFakeTimers(
      runDown({
        configPath: s.configPath,
        statePath: s.statePath,
        reporter: new RecordingReporter(),
        interactive: false,
        yes: true,
      }),
    );
    expect(r.failures ?? []).toEqual([]);
    expect(f.ecs.taskDefs.filter((t) => t.status === 'ACTIVE')).toEqual([]);
    expect([...f.iam.roles.values()].filter((x) => x.name.startsWith('sample-batch'))).toEqual([]);
  });

  it('a secret created moments ago, not yet visible: asked again, found; plan goes on', async () => {
    const f = fresh();
    f.secretsManager.describeLagMs = 1500;
    f.ssm.describeLagMs = 1500;
    userSecrets(f);
    const s = scratch(configWith(SECRETS));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const p = await settleWithFakeTimers(
      runPlan({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() }),
    );
    expect(p.entries.find((e) => e.key === 'task-definition')?.action).toBe('create');
    expect(f.core.count({ op: 'DescribeSecret' })).toBeGreaterThan(1);
  });
});

describe("another account's secret", () => {
  const other = '210987654321';

  it('named by its ARN and describable: granted on its full ARN and its key', async () => {
    const f = fresh();
    const key = f.kms.createKey({ account: other });
    const shared = f.secretsManager.addSecret({
      name: 'team/token',
      value: 'x',
      kmsKeyId: key.arn,
      account: other,
      foreign: { describe: true, readers: [] },
    });
    const partial = shared.arn.slice(0, -7);
    const s = scratch(configWith(`    TOKEN: secretsmanager:${partial}\n`, '[ecr.api, ecr.dkr, logs, secretsmanager]'));
    await upOn(s);
    const st = executionPolicy(f).Statement.filter((x) => x.Sid.startsWith('Job'));
    expect(st).toEqual([
      { Sid: 'JobSecrets', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: shared.arn },
      {
        Sid: 'JobSecretKeys',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: key.arn,
        Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.ap-northeast-1.amazonaws.com' } },
      },
    ]);
  });

  it('its policy hides it from this account: refused without kmsKeyArn; with it, a warning and the ARN as given', async () => {
    const f = fresh();
    const key = f.kms.createKey({ account: other });
    const hidden = f.secretsManager.addSecret({
      name: 'team/token',
      value: 'x',
      kmsKeyId: key.arn,
      account: other,
      foreign: { describe: false, readers: [] },
    });
    const s = scratch(
      configWith(`    TOKEN: secretsmanager:${hidden.arn}\n`, '[ecr.api, ecr.dkr, logs, secretsmanager]'),
    );
    const base = ['-c', s.configPath, '--state', s.statePath];
    expect(await cli.run(...base, 'plan')).toBe(2);
    expect(cli.err.join('')).toMatch(/task\.secrets\.TOKEN .*account 210987654321.*set its kmsKeyArn/);
    s.editConfig((t) =>
      t.replace(
        `TOKEN: secretsmanager:${hidden.arn}`,
        `TOKEN: { from: 'secretsmanager:${hidden.arn}', kmsKeyArn: '${key.arn}' }`,
      ),
    );
    const reporter = new RecordingReporter();
    await upOn(s, { reporter });
    expect(reporter.warnings.join('\n')).toMatch(
      /TOKEN of job sample-batch: secret .* is in account 210987654321, whose policy does not let this account describe it/,
    );
    const st = executionPolicy(f).Statement.filter((x) => x.Sid.startsWith('Job'));
    expect(st[0]).toEqual({
      Sid: 'JobSecrets',
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: [hidden.arn, `${hidden.arn}-??????`],
    });
    expect(st[1]).toMatchObject({ Sid: 'JobSecretKeys', Resource: key.arn });
  });

  it('named by a name: looked up in this account only, and the message says an ARN is needed', async () => {
    const f = fresh();
    f.secretsManager.addSecret({
      name: 'team/token',
      value: 'x',
      account: other,
      kmsKeyId: f.kms.createKey({ account: other }).arn,
    });
    const s = scratch(configWith('    TOKEN: secretsmanager:team/token\n', '[ecr.api, ecr.dkr, logs, secretsmanager]'));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    expect(await settleWithFakeTimers(cli.run('-c', s.configPath, '--state', s.statePath, 'plan'))).toBe(2);
    expect(cli.err.join('')).toMatch(
      /secret team\/token does not exist in account 123456789012 .*another account's secret needs its ARN/,
    );
  });
});
