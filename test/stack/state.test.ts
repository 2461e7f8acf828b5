/**
 * Where the state lives, through the CLI on the fake AWS: beside the config by default (and moved
 * there from the old place once), in S3 for a team (lock, versioning advice), moved between the two
 * with `state migrate` without ever having two, and refused when it is malformed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { scratch, type Scratch } from '../helpers/stack.js';
import { captureCli } from '../helpers/cli.js';
import { serveFake } from '../fake-aws/http.js';
import { ROOT } from '../helpers/ctx.js';
import { unprivileged } from '../helpers/unprivileged.js';

const io = captureCli();
const { out, err } = io;
const cli = io.run;
let fake: FakeAws;
const cwd = process.cwd();
beforeEach(() => {
  fake = createFakeAws();
  fake.s3.addBucket('team-state');
});
afterEach(() => {
  fake.uninstall();
  process.chdir(cwd);
});

const STACK = 'sample-batch';
const S3_STATE = 's3://team-state/batchctl/sample.json';
const inS3 = () => fake.s3.objectText('team-state', 'batchctl/sample.json');
const besideConfig = (s: Scratch) => join(s.dir, '.batchctl', `${STACK}.state.json`);
const withS3State = (s: Scratch) =>
  s.editConfig((t) => `${t}\nstate:\n  s3:\n    bucket: team-state\n    key: batchctl/sample.json\n`);

describe('local state beside the config', () => {
  it('by default the state is written beside the config, not under the working directory', async () => {
    const s = scratch();
    const elsewhere = mkdtempSync(join(tmpdir(), 'cwd-'));
    process.chdir(elsewhere);
    expect(await cli('-c', s.configPath, 'up', '--yes')).toBe(0);
    expect(JSON.parse(readFileSync(besideConfig(s), 'utf8')).stack).toBe(STACK);
    expect(existsSync(join(elsewhere, '.batchctl'))).toBe(false);
  });

  it('a state at the old place (under the working directory) is moved beside the config once, and said once', async () => {
    const s = scratch();
    const elsewhere = mkdtempSync(join(tmpdir(), 'cwd-'));
    const old = join(elsewhere, '.batchctl', `${STACK}.state.json`);
    expect(await cli('-c', s.configPath, '--state', old, 'up', '--yes')).toBe(0);
    const text = readFileSync(old, 'utf8');
    process.chdir(elsewhere);
    expect(await cli('-c', s.configPath, 'plan')).toBe(0);
    expect(err.join('')).toBe(
      `warning: moved the state from ${old} to ${besideConfig(s)}: states now live beside their config (--state overrides)\n`,
    );
    expect(out.join('')).toMatch(/No changes: 43 resources match the config/);
    expect(readFileSync(besideConfig(s), 'utf8')).toBe(text);
    expect(existsSync(join(elsewhere, '.batchctl'))).toBe(false);
    expect(await cli('-c', s.configPath, 'plan')).toBe(0);
    expect(err.join('')).toBe('');
  });

  it('an old copy identical to the state beside the config is removed; a different one is named and left alone', async () => {
    const s = scratch();
    expect(await cli('-c', s.configPath, 'up', '--yes')).toBe(0);
    const elsewhere = mkdtempSync(join(tmpdir(), 'cwd-'));
    const old = join(elsewhere, '.batchctl', `${STACK}.state.json`);
    mkdirSync(join(elsewhere, '.batchctl'));
    writeFileSync(old, readFileSync(besideConfig(s), 'utf8'));
    process.chdir(elsewhere);
    expect(await cli('-c', s.configPath, 'plan')).toBe(0);
    expect(err.join('')).toMatch(/warning: removed .*: an identical copy of the state/);
    expect(existsSync(old)).toBe(false);
    writeFileSync(old, '{"something": "else"}');
    expect(await cli('-c', s.configPath, 'plan')).toBe(0);
    expect(err.join('')).toMatch(
      /warning: an older state file .* is not used: the state is .*beside the config; remove the old one/,
    );
    expect(readFileSync(old, 'utf8')).toBe('{"something": "else"}');
  });

  it('a state directory nobody may write is exit 2 with a hint, from the real CLI in its own process', async (ctx) => {
    // As root, permission bits do not apply: the CLI runs without the capabilities that bypass them.
    const user = unprivileged();
    if (user.skip !== undefined) return ctx.skip(user.skip);
    const fake = createFakeAws({ install: false });
    const served = await serveFake(fake);
    try {
      const s = scratch();
      chmodSync(s.dir, 0o555); // readable, not writable
      const res = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
        // Asynchronously: the fake it calls is served by this process.
        const { file, args, options } = user.command([
          process.execPath,
          '--import',
          'tsx',
          join(ROOT, 'test/fake-aws/remote-cli.ts'),
          '-c',
          s.configPath,
          'up',
          '--yes',
        ]);
        const child = spawn(file, args, {
          ...options,
          cwd: ROOT,
          env: { ...process.env, FAKE_AWS_URL: served.url },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (d) => {
          stderr += d;
        });
        child.on('close', (status) => resolve({ status, stderr }));
      });
      expect(res.stderr).toBe(
        `error: cannot write the state file ${besideConfig(s)}: permission denied (EACCES)\n` +
          'hint: make the directory writable, pass --state <writable file>, or keep the state in S3 (state.s3 in the config, or --state s3://bucket/key)\n',
      );
      expect(res.status).toBe(2);
      // Refused before anything was created (the lock, taken and released, aside).
      expect(fake.core.mutatingCalls()).toEqual([]);
    } finally {
      await served.close();
    }
  }, 60_000);

  it('a malformed state is exit 2 with a clear message, not a stack trace', async () => {
    const s = scratch();
    mkdirSync(join(s.dir, '.batchctl'));
    writeFileSync(besideConfig(s), 'null');
    expect(await cli('-c', s.configPath, 'up', '--yes')).toBe(2);
    expect(err.join('')).toBe(
      `error: the state ${besideConfig(s)} is not a JSON object (it is null)\nhint: restore it from a backup (S3 versioning keeps every write), or move it aside: \`up\` finds existing resources by their tags and writes a new one\n`,
    );
    expect(fake.core.count({ mutating: true })).toBe(0);
  });
});

describe('state in S3', () => {
  it('state.s3 in the config: up writes the object and releases the lock; plan warns while versioning is off', async () => {
    const s = scratch();
    withS3State(s);
    expect(await cli('-c', s.configPath, 'up', '--yes')).toBe(0);
    expect(Object.keys(JSON.parse(inS3()!).resources)).toHaveLength(43);
    expect(fake.ssm.parameters.size).toBe(0);
    expect(existsSync(besideConfig(s))).toBe(false);
    expect(await cli('-c', s.configPath, 'plan')).toBe(0);
    expect(err.join('')).toMatch(
      /^warning: versioning is off on the state bucket team-state: turn it on so every earlier state can be restored \(aws s3api put-bucket-versioning --bucket team-state --versioning-configuration Status=Enabled --region ap-northeast-1\)\n$/,
    );
    expect(out.join('')).toMatch(/No changes/);
    expect(await cli('-c', s.configPath, '--json', 'plan')).toBe(0);
    expect(JSON.parse(out.join('')).warnings).toEqual([expect.stringMatching(/^versioning is off/)]);
    fake.s3.buckets.get('team-state')!.versioning = 'Enabled';
    expect(await cli('-c', s.configPath, 'plan')).toBe(0);
    expect(err.join('')).toBe('');
  });

  it('--state s3://... works without a config section; a lock left by a dead run elsewhere is refused until --force-unlock names it', async () => {
    const s = scratch();
    fake.ssm.addParameter({
      name: '/batchctl/sample-batch/lock',
      type: 'String',
      value: JSON.stringify({
        id: '0123456789ab',
        command: 'batchctl up',
        user: 'ci',
        host: 'runner-3',
        pid: 77,
        startedAt: new Date(Date.now() - 3 * 86_400_000).toISOString(),
      }),
    });
    expect(await cli('-c', s.configPath, '--state', S3_STATE, 'up', '--yes')).toBe(2);
    expect(err.join('')).toMatch(
      /^error: stack sample-batch in ap-northeast-1 is locked by 'batchctl up' by ci on runner-3, pid 77, since \S+ \(3d00h ago\), lock id 0123456789ab\nhint: .*--force-unlock 0123456789ab\n$/,
    );
    expect(fake.core.count({ mutating: true })).toBe(0);
    expect(
      fake.core
        .lockCalls()
        .filter((c) => c.mutating)
        .map((c) => [c.op, c.error]),
    ).toEqual([['PutParameter', 'ParameterAlreadyExists']]);
    expect(await cli('-c', s.configPath, '--state', S3_STATE, 'up', '--yes', '--force-unlock', '0123456789ab')).toBe(0);
    expect(err.join('')).toMatch(/^warning: removed lock 0123456789ab \('batchctl up' on runner-3, pid 77/);
    expect(JSON.parse(inS3()!).stack).toBe(STACK);
  });

  it("the stack's own bucket cannot hold its state", async () => {
    const s = scratch();
    expect(
      await cli('-c', s.configPath, '--state', `s3://${STACK}-123456789012-ap-northeast-1/state.json`, 'plan'),
    ).toBe(2);
    expect(err.join('')).toMatch(/is in the stack's own bucket, which `down` deletes/);
  });
});

describe('state migrate', () => {
  it('local -> S3 -> local: the old place only says where the state went, and commands pointed there stop', async () => {
    const s = scratch();
    expect(await cli('-c', s.configPath, 'up', '--yes')).toBe(0);
    const local = readFileSync(besideConfig(s), 'utf8');
    expect(await cli('-c', s.configPath, 'state', 'migrate', '--to', S3_STATE)).toBe(0);
    expect(out.join('')).toBe(
      [
        `Moved the state of stack ${STACK} (43 resources)`,
        `  from ${besideConfig(s)}`,
        `  to   ${S3_STATE}`,
        `${besideConfig(s)} now only says where the state went. Point every command at the new place:`,
        '  state:',
        '    s3:',
        '      bucket: team-state',
        '      key: batchctl/sample.json',
        '',
      ].join('\n'),
    );
    expect(err.join('')).toMatch(/warning: versioning is off on the state bucket team-state/);
    expect(JSON.parse(inS3()!).resources).toEqual(JSON.parse(local).resources);
    expect(JSON.parse(readFileSync(besideConfig(s), 'utf8'))).toEqual({
      schemaVersion: 1,
      movedTo: S3_STATE,
      movedAt: expect.any(String),
      movedBy: expect.stringMatching(/^arn:aws:/),
      writeId: expect.any(String),
    });

    // Until the config says so, commands still pointed at the old place stop instead of starting afresh.
    expect(await cli('-c', s.configPath, 'up', '--yes')).toBe(2);
    expect(err.join('')).toMatch(
      new RegExp(
        `^error: the state ${besideConfig(s)} was moved to ${S3_STATE} on \\S+ by arn:aws:\\S+\\nhint: point the config at it: state: \\{ s3: \\{ bucket: team-state, key: batchctl/sample.json \\} \\}`,
      ),
    );
    withS3State(s);
    fake.s3.buckets.get('team-state')!.versioning = 'Enabled';
    expect(await cli('-c', s.configPath, 'plan')).toBe(0);
    expect(out.join('')).toMatch(/No changes: 43 resources/);

    // And back: the local marker of the earlier move may be replaced.
    expect(await cli('-c', s.configPath, 'state', 'migrate', '--to', besideConfig(s))).toBe(0);
    expect(JSON.parse(inS3()!)).toMatchObject({ movedTo: besideConfig(s) });
    expect(await cli('-c', s.configPath, 'plan')).toBe(2);
    s.editConfig((t) => t.replace(/\nstate:\n[\s\S]*$/, '\n'));
    expect(await cli('-c', s.configPath, 'plan')).toBe(0);
    expect(out.join('')).toMatch(/No changes: 43 resources/);
  });

  it('an interrupted migration leaves one authoritative state; running it again finishes it', async () => {
    const s = scratch();
    expect(await cli('-c', s.configPath, 'up', '--yes')).toBe(0);
    fake.core.inject({
      kind: 'error',
      code: 'InternalError',
      status: 500,
      times: 1,
      match: (c) => c.op === 'PutObject' && c.input.Key === 'batchctl/sample.json',
    });
    expect(await cli('-c', s.configPath, 'state', 'migrate', '--to', S3_STATE)).toBe(1);
    expect(inS3()).toBeUndefined();
    const marker = JSON.parse(readFileSync(besideConfig(s), 'utf8'));
    expect(marker).toMatchObject({ movedTo: S3_STATE, state: { stack: STACK } });
    expect(await cli('-c', s.configPath, 'plan')).toBe(2);
    expect(err.join('')).toMatch(`is being moved to ${S3_STATE}`);
    expect(err.join('')).toContain(
      `hint: finish it: batchctl -c ${s.configPath} state migrate --to ${S3_STATE} (or undo it: batchctl -c ${s.configPath} state migrate --to ${besideConfig(s)})`,
    );
    expect(await cli('-c', s.configPath, 'state', 'migrate', '--to', S3_STATE)).toBe(0);
    expect(out.join('')).toMatch(/^Finished moving the state of stack sample-batch \(43 resources\)/);
    expect(JSON.parse(inS3()!).resources).toEqual(marker.state.resources);
    expect(JSON.parse(readFileSync(besideConfig(s), 'utf8')).state).toBeUndefined();
    expect(await cli('-c', s.configPath, '--state', S3_STATE, 'plan')).toBe(0);
  });

  it('refuses to overwrite a state already at the destination, and to move a state that is not there', async () => {
    const s = scratch();
    expect(await cli('-c', s.configPath, 'state', 'migrate', '--to', S3_STATE)).toBe(2);
    expect(err.join('')).toMatch(/there is no state at .* to move/);
    expect(await cli('-c', s.configPath, 'up', '--yes')).toBe(0);
    fake.s3.addObject('team-state', 'batchctl/sample.json', readFileSync(besideConfig(s), 'utf8'));
    expect(await cli('-c', s.configPath, 'state', 'migrate', '--to', S3_STATE)).toBe(2);
    expect(err.join('')).toMatch(
      /a state already exists at s3:\/\/team-state\/batchctl\/sample.json: refusing to overwrite it/,
    );
    expect(JSON.parse(readFileSync(besideConfig(s), 'utf8')).stack).toBe(STACK);
  });
});
