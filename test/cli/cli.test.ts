/**
 * The CLI in-process against the fake AWS (exit codes, output modes, user errors before any AWS call),
 * and the built bin in a child process (what `--help` and `validate` load).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { scratch } from '../helpers/stack.js';
import { ROOT } from '../helpers/ctx.js';
import { NO_REGION_ENV, withEnv } from '../helpers/env.js';
import { captureCli } from '../helpers/cli.js';

const io = captureCli();
const { out, err } = io;
const cli = io.run;
let fake: FakeAws;
beforeEach(() => {
  fake = createFakeAws();
});
afterEach(() => fake.uninstall());

const BAD = join(ROOT, 'test/config/bad');

describe('batchctl up / validate', () => {
  it('up prints one line per resource and a summary; --json gives a machine-readable result', async () => {
    const s = scratch();
    expect(await cli('-c', s.configPath, '--state', s.statePath, 'up', '--yes')).toBe(0);
    const text = out.join('');
    expect(text).toMatch(/^created\s+VPC\s+vpc\s+vpc-/m);
    expect(text).toMatch(/Done: 43 created, 0 updated, 0 unchanged in /);
    out.length = 0;
    expect(await cli('-c', s.configPath, '--state', s.statePath, '--json', 'up', '--yes')).toBe(0);
    const doc = JSON.parse(out.join(''));
    expect(doc.ok).toBe(true);
    expect(doc.resources.every((r: { action: string }) => r.action === 'unchanged')).toBe(true);
    expect(doc.resources.find((r: { key: string }) => r.key === 'vpc').id).toMatch(/^vpc-/);
  });

  it('every bad config in the corpus: exit 2, file:line:col and key path, zero AWS calls (validate and up)', async () => {
    const files = readdirSync(BAD).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(25);
    // The corpus is bad without a region from the environment (no-region.yaml has none of its own).
    await withEnv(NO_REGION_ENV, async () => {
      for (const f of files) {
        for (const cmd of ['validate', 'up']) {
          err.length = 0;
          const code = await cli('-c', join(BAD, f), '--state', join(scratch().dir, 's.json'), cmd);
          expect(code, `${cmd} ${f}`).toBe(2);
          const text = err.join('');
          expect(text, f).toMatch(new RegExp(`${f}:\\d+:\\d+ `));
          expect(text, f).not.toMatch(/\n\s+at /); // no stack trace
        }
      }
    });
    expect(fake.core.calls).toEqual([]);
    // With AWS_REGION set, a config without `region:` takes it from there, as the AWS CLI does.
    await withEnv({ AWS_REGION: 'ap-northeast-1', AWS_DEFAULT_REGION: undefined }, async () => {
      expect(await cli('-c', join(BAD, 'no-region.yaml'), 'validate')).toBe(0);
    });
  });

  it('plan: exit 0 when clean, 3 with --fail-on-changes (or --detailed-exitcode) when drifted, fields old -> new', async () => {
    const s = scratch();
    expect(await cli('-c', s.configPath, '--state', s.statePath, 'up', '--yes')).toBe(0);
    out.length = 0;
    expect(await cli('-c', s.configPath, '--state', s.statePath, 'plan', '--fail-on-changes')).toBe(0);
    expect(out.join('')).toMatch(/No changes: 43 resources match the config/);
    expect(await cli('-c', s.configPath, '--state', s.statePath, 'plan', '--detailed-exitcode')).toBe(0);
    s.editConfig((t) => t.replace('retentionDays: 365', 'retentionDays: 30'));
    out.length = 0;
    const before = fake.core.count({ mutating: true });
    expect(await cli('-c', s.configPath, '--state', s.statePath, 'plan', '--fail-on-changes')).toBe(3);
    expect(out.join('')).toMatch(
      /~ update\s+CloudWatch log group\s+log-group\s+\/ecs\/SampleBatch\n\s+retentionInDays: 365 -> 30/,
    );
    expect(fake.core.count({ mutating: true })).toBe(before);
    // Terraform's name for the same check.
    expect(await cli('-c', s.configPath, '--state', s.statePath, 'plan', '--detailed-exitcode')).toBe(3);
    out.length = 0;
    expect(await cli('-c', s.configPath, '--state', s.statePath, '--json', 'plan')).toBe(0);
    const doc = JSON.parse(out.join(''));
    expect(doc.resources.find((r: { key: string }) => r.key === 'log-group')).toMatchObject({
      action: 'update',
      changes: [{ field: 'retentionInDays', from: 365, to: 30 }],
    });
  });

  it('a missing config file is a user error with a hint', async () => {
    expect(await cli('-c', '/nonexistent/batch.config.yaml', 'validate')).toBe(2);
    expect(err.join('')).toMatch(/config file not found.*\nhint: /s);
  });

  it('an AWS failure names the resource, the step and the code, and exits 1', async () => {
    const s = scratch();
    fake.core.failOn('CreateLogGroup', 'LimitExceededException', 1, 'Resource limit exceeded.');
    expect(await cli('-c', s.configPath, '--state', s.statePath, 'up', '--yes')).toBe(1);
    expect(err.join('')).toContain('error: log-group: create failed: LimitExceededException: Resource limit exceeded.');
  });

  it('missing credentials: one line saying what to set, exit 2', async () => {
    const s = scratch();
    fake.core.inject({
      kind: 'error',
      code: 'CredentialsProviderError',
      message: 'Could not load credentials from any providers',
      match: (c) => c.op === 'GetCallerIdentity',
      times: 2,
    });
    // No profile in force: the hint says how to give credentials.
    expect(
      await withEnv({ AWS_PROFILE: undefined }, () => cli('-c', s.configPath, '--state', s.statePath, 'up', '--yes')),
    ).toBe(2);
    expect(err.join('')).toMatch(/error: no AWS credentials found\nhint: set AWS_PROFILE/);
    // A profile in force that yields nothing: named, since the SDK's message does not.
    const dir = mkdtempSync(join(tmpdir(), 'aws-files-'));
    writeFileSync(join(dir, 'config'), '[profile ghost]\n[profile dev]\n');
    const files = { AWS_CONFIG_FILE: join(dir, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none') };
    err.length = 0;
    expect(
      await withEnv({ ...files, AWS_PROFILE: 'ghost' }, () =>
        cli('-c', s.configPath, '--state', s.statePath, 'up', '--yes'),
      ),
    ).toBe(2);
    expect(err.join('')).toMatch(
      /^error: no AWS credentials from profile "ghost" \(AWS_PROFILE\)\nhint: the profile exists but gave no credentials/,
    );
    // A profile that does not exist: named, with the ones that do.
    fake.core.inject({
      kind: 'error',
      code: 'CredentialsProviderError',
      message: 'Could not load credentials from any providers',
      match: (c) => c.op === 'GetCallerIdentity',
      times: 1,
    });
    expect(
      await withEnv({ ...files, AWS_PROFILE: undefined, AWS_ACCESS_KEY_ID: undefined }, () =>
        cli('-c', s.configPath, '--state', s.statePath, '--profile', 'prod', 'plan'),
      ),
    ).toBe(2);
    expect(err.join('')).toBe(
      [
        'error: profile "prod" (--profile) is not configured',
        '  configured profiles: dev, ghost',
        `  (from ${files.AWS_CONFIG_FILE})`,
        'hint: use one of the configured profiles (pass --profile), or create it: aws configure --profile prod',
        '',
      ].join('\n'),
    );
  });
});

describe('batchctl down --keep-logs', () => {
  it('says it kept the log group, and counts it kept', async () => {
    const s = scratch();
    expect(await cli('-c', s.configPath, '--state', s.statePath, 'up', '--yes')).toBe(0);
    expect(await cli('-c', s.configPath, '--state', s.statePath, 'down', '--yes', '--keep-logs')).toBe(0);
    const text = out.join('');
    expect(text).toContain(
      'Kept CloudWatch log group /ecs/SampleBatch (--keep-logs); `batchctl down` without --keep-logs deletes it\n',
    );
    expect(text).toMatch(/^skipped +CloudWatch log group +log-group +kept: --keep-logs$/m);
    expect(text).toMatch(/\nDone: 41 deleted, 2 kept in /);
    expect(fake.logs.groups.has('/ecs/SampleBatch')).toBe(true);
    expect(await cli('-c', s.configPath, '--state', s.statePath, '--output', 'json', 'down', '--yes')).toBe(0);
    expect(JSON.parse(out.join(''))).toMatchObject({
      ok: true,
      declined: false,
      counts: { deleted: 2 },
      targets: [
        { key: 'log-group', id: '/ecs/SampleBatch' },
        { key: 'history/log-group', id: '/aws/events/batchctl/sample-batch/history' },
      ],
    });
    expect(fake.logs.groups.size).toBe(0);
  });
});

describe('the built bin', () => {
  const bin = join(ROOT, 'bin/batchctl');
  const loaded = (args: string[], cwd = ROOT) => {
    const res = spawnSync(process.execPath, ['--import', join(ROOT, 'bench/import-trace.mjs'), bin, ...args], {
      cwd,
      encoding: 'utf8',
    });
    const line = res.stderr.split('\n').find((l) => l.startsWith('aws-clients-loaded:'))!;
    return { res, clients: JSON.parse(line.slice('aws-clients-loaded: '.length)) as string[] };
  };

  it('--help, validate and init load no AWS client', () => {
    const help = loaded(['--help']);
    expect(help.res.status).toBe(0);
    expect(help.res.stdout).toContain('Usage: batchctl');
    expect(help.clients).toEqual([]);
    const v = loaded(['validate']);
    expect(v.res.status).toBe(0);
    expect(v.clients).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), 'init-'));
    const init = loaded(['init', '--stack', 'nightly', '--region', 'eu-west-1'], dir);
    expect(init.res.status, init.res.stderr).toBe(0);
    expect(init.clients).toEqual([]);
  });

  it('history loads the clients of what it reads, never EC2', () => {
    // An endpoint nobody listens on: the command fails at its first call, after loading what it uses.
    const dir = mkdtempSync(join(tmpdir(), 'history-'));
    writeFileSync(join(dir, 'batch.config.yaml'), readFileSync(join(ROOT, 'batch.config.yaml'), 'utf8'));
    const h = loaded(['--endpoint-url', 'http://127.0.0.1:9', 'history', '--since', '1d'], dir);
    expect(h.res.status, h.res.stderr).toBe(2);
    expect(h.clients).toEqual(
      expect.arrayContaining(['client-cloudwatch-logs', 'client-ecs', 'client-s3', 'client-sqs', 'client-sts']),
    );
    expect(h.clients).not.toContain('client-ec2');
  });

  it('an unknown flag exits 2', () => {
    const res = spawnSync(process.execPath, [bin, 'up', '--yes', '--no-such-flag'], { cwd: ROOT, encoding: 'utf8' });
    expect(res.status).toBe(2);
  });

  it('package.json and the CLI agree on the version', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const res = spawnSync(process.execPath, [bin, '--version'], { cwd: ROOT, encoding: 'utf8' });
    expect(res.stdout.trim()).toBe(pkg.version);
  });
});
