import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createAwsClients } from '../../src/aws/clients.js';
import { StateConflict, StateStore, parseStateText } from '../../src/state/state.js';
import { loadLocalState } from '../../src/state/local.js';
import { S3StateBackend } from '../../src/state/s3.js';
import { UserError } from '../../src/base/errors.js';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { ROOT } from '../helpers/ctx.js';
import { unprivileged } from '../helpers/unprivileged.js';

const who = { stack: 's', region: 'ap-northeast-1', account: '123456789012' };
const tmp = (p = 'state-') => mkdtempSync(join(tmpdir(), p));

describe('local state file', () => {
  it('is written atomically with mode 0600 and read back', async () => {
    const dir = tmp();
    const path = join(dir, 'nested', 's.state.json');
    const st = await loadLocalState(path, who);
    st.put('vpc', { kind: 'ec2.vpc', id: 'vpc-1' });
    await Promise.all([st.save(), st.save(), st.save()]);
    // Saves asked for together share one write.
    expect(st.writeCount).toBe(1);
    st.put('subnet', { kind: 'ec2.subnet', id: 'subnet-1' });
    const first = st.save();
    await Promise.resolve(); // the first write has started: the next saves queue one more, together
    st.put('rtb', { kind: 'ec2.route-table', id: 'rtb-1' });
    await Promise.all([first, st.save(), st.save()]);
    expect(st.writeCount).toBe(3);
    expect((await loadLocalState(path, who)).get('rtb')?.id).toBe('rtb-1');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'nested')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const again = await loadLocalState(path, who);
    expect(again.get('vpc')).toEqual({ kind: 'ec2.vpc', id: 'vpc-1' });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ schemaVersion: 1, ...who });
  });

  it('refuses a state of another account, stack or region, and a corrupt file', async () => {
    const path = join(tmp(), 's.json');
    const st = await loadLocalState(path, who);
    st.put('vpc', { kind: 'ec2.vpc', id: 'vpc-1' });
    await st.save();
    await expect(loadLocalState(path, { ...who, account: '999999999999' })).rejects.toThrow(
      /belongs to account '123456789012'/,
    );
    writeFileSync(path, '{nope');
    await expect(loadLocalState(path, who)).rejects.toBeInstanceOf(UserError);
  });

  it.each([
    ['null', 'null', /is not a JSON object \(it is null\)/],
    ['a list', '[]', /is not a JSON object \(it is an array\)/],
    ['a string', '"x"', /is not a JSON object \(it is string\)/],
    [
      'resources: null',
      JSON.stringify({ schemaVersion: 1, ...who, resources: null }),
      /has a non-object 'resources' field/,
    ],
    [
      'resources: a list',
      JSON.stringify({ schemaVersion: 1, ...who, resources: [] }),
      /has a non-object 'resources' field/,
    ],
    ['no resources', JSON.stringify({ schemaVersion: 1, ...who }), /has no 'resources' field/],
    [
      'an empty stack',
      JSON.stringify({ schemaVersion: 1, ...who, stack: '', resources: {} }),
      /has an empty or invalid 'stack' field/,
    ],
    [
      'an empty region',
      JSON.stringify({ schemaVersion: 1, ...who, region: '', resources: {} }),
      /has an empty or invalid 'region' field/,
    ],
    [
      'no account',
      JSON.stringify({ schemaVersion: 1, stack: 's', region: who.region, resources: {} }),
      /has no 'account' field/,
    ],
    [
      'a record without id',
      JSON.stringify({ schemaVersion: 1, ...who, resources: { vpc: { kind: 'ec2.vpc' } } }),
      /has an invalid record 'vpc'/,
    ],
  ])('refuses %s with a clear user error', async (_name, text, message) => {
    const path = join(tmp(), 's.json');
    writeFileSync(path, text);
    const err = await loadLocalState(path, who).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(message);
    expect(err.message).toContain(path);
    expect(err.hint).toMatch(/restore it from a backup/);
  });

  it("a write that finds the file changed behind its back is refused; the other writer's content stays", async () => {
    const path = join(tmp(), 's.json');
    const st = await loadLocalState(path, who);
    st.put('vpc', { kind: 'ec2.vpc', id: 'vpc-1' });
    await st.save();
    const other = JSON.stringify({
      schemaVersion: 1,
      ...who,
      updatedAt: 'x',
      resources: { vpc: { kind: 'ec2.vpc', id: 'vpc-2' } },
    });
    writeFileSync(path, other);
    st.put('subnet', { kind: 'ec2.subnet', id: 'subnet-1' });
    const err = await st.save().catch((e) => e);
    expect(err).toBeInstanceOf(StateConflict);
    expect(readFileSync(path, 'utf8')).toBe(other);
    // Every later save of this run fails the same way: it no longer owns the stored state.
    st.put('rtb', { kind: 'ec2.route-table', id: 'rtb-1' });
    expect(await st.save().catch((e) => e)).toBe(err);
  });

  it('a first write that finds a file created meanwhile is refused', async () => {
    const path = join(tmp(), 's.json');
    const st = await loadLocalState(path, who);
    writeFileSync(path, 'theirs');
    st.put('vpc', { kind: 'ec2.vpc', id: 'vpc-1' });
    await expect(st.save()).rejects.toBeInstanceOf(StateConflict);
    expect(readFileSync(path, 'utf8')).toBe('theirs');
  });

  it('a symlinked state path is written through to its target', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'shared'));
    const target = join(dir, 'shared', 'real.json');
    const linkA = join(dir, 'a.json');
    const linkB = join(dir, 'b.json');
    symlinkSync(target, linkA);
    symlinkSync('shared/real.json', linkB); // relative link, same target
    const st = await loadLocalState(linkA, who);
    st.put('vpc', { kind: 'ec2.vpc', id: 'vpc-1' });
    await st.save();
    expect(lstatSync(linkA).isSymbolicLink()).toBe(true);
    expect(JSON.parse(readFileSync(target, 'utf8')).resources.vpc.id).toBe('vpc-1');
    expect((await loadLocalState(linkB, who)).get('vpc')?.id).toBe('vpc-1');
  });

  it('a directory nobody may write is a user error with a hint (exit 2 from the CLI)', (ctx) => {
    // As root, permission bits do not apply: the check runs without the capabilities that bypass them.
    const user = unprivileged();
    if (user.skip !== undefined) return ctx.skip(user.skip);
    const dir = tmp();
    chmodSync(dir, 0o755);
    writeFileSync(
      join(dir, 'check.mjs'),
      `
      import { loadLocalState } from ${JSON.stringify(join(ROOT, 'src/state/local.ts'))};
      const st = await loadLocalState(process.argv[2], ${JSON.stringify(who)});
      st.put('vpc', { kind: 'ec2.vpc', id: 'vpc-1' });
      try { await st.save(); } catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message, hint: e.hint })); }
    `,
    );
    const locked = join(dir, 'ro');
    mkdirSync(locked, { mode: 0o555 });
    const { file, args, options } = user.command([
      process.execPath,
      '--import',
      'tsx',
      join(dir, 'check.mjs'),
      join(locked, 'sub', 's.json'),
    ]);
    const res = spawnSync(file, args, { ...options, cwd: ROOT, encoding: 'utf8' });
    const out = JSON.parse(res.stdout.trim() || '{}');
    expect(out.name, res.stderr).toBe('UserError');
    expect(out.message).toMatch(/cannot write the state file .*ro\/sub\/s\.json: permission denied \(EACCES\)/);
    expect(out.hint).toMatch(/--state <writable file>.*state\.s3/);
  });
});

describe('S3 state', () => {
  let fake: FakeAws;
  afterEach(() => fake?.uninstall());
  const s3 = async () => (await createAwsClients({ region: 'ap-northeast-1' }, ['s3'])).s3;
  let client: Awaited<ReturnType<typeof s3>>;
  beforeEach(async () => {
    client = await s3();
  });
  const backend = () => new S3StateBackend(client, 'team-state', 'prod.json');

  it('the first write creates the object only if absent; later writes are conditional on the ETag read', async () => {
    fake = createFakeAws();
    fake.s3.addBucket('team-state', { versioning: 'Enabled' });
    const st = await StateStore.open(backend(), who);
    st.put('vpc', { kind: 'ec2.vpc', id: 'vpc-1' });
    await st.save();
    st.put('subnet', { kind: 'ec2.subnet', id: 'subnet-1' });
    await st.save();
    await st.save(); // nothing changed: no write
    const puts = fake.core.calls.filter((c) => c.op === 'PutObject');
    expect(puts[0]!.input).toMatchObject({ Key: 'prod.json', IfNoneMatch: '*', ContentType: 'application/json' });
    expect(puts).toHaveLength(2);
    expect(puts[1]!.input.IfMatch).toMatch(/^"[0-9a-f]{32}"$/);
    expect((await StateStore.open(backend(), who)).get('vpc')?.id).toBe('vpc-1');
  });

  it('a write racing another writer fails instead of overwriting', async () => {
    fake = createFakeAws();
    fake.s3.addBucket('team-state');
    const first = await StateStore.open(backend(), who);
    first.put('vpc', { kind: 'ec2.vpc', id: 'vpc-first' });
    await first.save();
    const mine = await StateStore.open(backend(), who);
    // Another machine writes the state between our read and our write.
    const theirs = JSON.stringify({
      schemaVersion: 1,
      ...who,
      updatedAt: 'x',
      resources: { vpc: { kind: 'ec2.vpc', id: 'vpc-theirs' } },
    });
    await client.send(new PutObjectCommand({ Bucket: 'team-state', Key: 'prod.json', Body: theirs }));
    mine.put('vpc', { kind: 'ec2.vpc', id: 'vpc-mine' });
    const err = await mine.save().catch((e) => e);
    expect(err).toBeInstanceOf(StateConflict);
    expect(err.message).toBe(
      'the state s3://team-state/prod.json was not saved: another writer changed it since this run read it (its ETag moved); nothing was overwritten',
    );
    expect(fake.s3.objectText('team-state', 'prod.json')).toBe(theirs);
  });

  it('two conditional writes in flight at once: S3 answers 409 to one, which retries and then gets 412', async () => {
    fake = createFakeAws();
    fake.s3.addBucket('team-state');
    const first = await StateStore.open(backend(), who);
    first.put('vpc', { kind: 'ec2.vpc', id: 'vpc-1' });
    await first.save();
    const [a, b] = await Promise.all([StateStore.open(backend(), who), StateStore.open(backend(), who)]);
    a.put('subnet', { kind: 'ec2.subnet', id: 'subnet-a' });
    b.put('subnet', { kind: 'ec2.subnet', id: 'subnet-b' });
    // Long enough that the second write surely arrives while the first is in flight, even on a busy machine.
    fake.s3.conditionalWriteMs = 300;
    const results = await Promise.allSettled([a.save(), b.save()]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason)).toEqual([
      expect.any(StateConflict),
    ]);
    const outcomes = fake.core.calls
      .filter((c) => c.op === 'PutObject')
      .slice(1)
      .map((c) => c.error ?? 'ok');
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
    expect(outcomes).toContain('ConditionalRequestConflict');
    expect(outcomes.at(-1)).toBe('PreconditionFailed');
  });

  it('a write whose answer was lost is recognised as its own: first, middle and last write, and a 5xx', async () => {
    fake = createFakeAws();
    fake.s3.addBucket('team-state', { versioning: 'Enabled' });
    const st = await StateStore.open(backend(), who);
    const put = (c: { op: string; input: any }) => c.op === 'PutObject' && c.input.Key === 'prod.json';
    // The first write (If-None-Match: *): S3 applies it, the answer is lost, the SDK resends it: 412.
    fake.core.loseResponse(put);
    st.put('vpc', { kind: 'ec2.vpc', id: 'vpc-1' });
    await st.save();
    // A later one (If-Match): lost as a proxy's 503; the resend meets its own ETag moved.
    fake.core.loseResponse(put, { status: 503 });
    st.put('subnet', { kind: 'ec2.subnet', id: 'subnet-1' });
    await st.save();
    // And a third, lost as a 500.
    fake.core.loseResponse(put, { status: 500 });
    st.put('route', { kind: 'ec2.route', id: 'r-1' });
    await st.save();
    const puts = fake.core.calls.filter((c) => c.op === 'PutObject');
    expect(puts.map((c) => c.error ?? (c.lost ? 'lost' : 'ok'))).toEqual([
      'lost',
      'PreconditionFailed',
      'lost',
      'PreconditionFailed',
      'lost',
      'PreconditionFailed',
    ]);
    const stored = JSON.parse(fake.s3.objectText('team-state', 'prod.json')!);
    expect(Object.keys(stored.resources)).toEqual(['vpc', 'subnet', 'route']);
    expect(stored.writeId).toMatch(/^[0-9a-f]{12}-3$/);
    // The ETag read back is the version the next write is conditional on.
    st.put('sg', { kind: 'ec2.security-group', id: 'sg-1' });
    await st.save();
    expect(fake.core.calls.filter((c) => c.op === 'PutObject').at(-1)!.error).toBeUndefined();
  });

  it('a lost answer never hides another writer: their object after our lost write is still a conflict', async () => {
    fake = createFakeAws();
    fake.s3.addBucket('team-state');
    const st = await StateStore.open(backend(), who);
    st.put('vpc', { kind: 'ec2.vpc', id: 'vpc-1' });
    await st.save();
    const theirs = JSON.stringify({ schemaVersion: 1, ...who, updatedAt: 'x', resources: {} });
    // Our write is lost and, before the SDK resends it, another writer replaces the object.
    fake.core.inject({
      kind: 'lost',
      times: 1,
      match: (c) => c.op === 'PutObject' && c.attempt === 1,
    });
    fake.core.observers.push((c) => {
      if (c.op === 'PutObject' && c.attempt === 2) fake.s3.addObject('team-state', 'prod.json', theirs);
    });
    st.put('subnet', { kind: 'ec2.subnet', id: 'subnet-1' });
    expect(await st.save().catch((e) => e)).toBeInstanceOf(StateConflict);
    expect(fake.s3.objectText('team-state', 'prod.json')).toBe(theirs);
  });

  it('versioning off on the state bucket is advice; a missing bucket or a denied read are user errors', async () => {
    fake = createFakeAws();
    fake.s3.addBucket('team-state');
    expect(await backend().advice()).toEqual([
      expect.stringMatching(
        /^versioning is off on the state bucket team-state: turn it on .*put-bucket-versioning --bucket team-state/,
      ),
    ]);
    fake.s3.buckets.get('team-state')!.versioning = 'Enabled';
    expect(await backend().advice()).toEqual([]);
    const missing = new S3StateBackend(client, 'no-such-state', 'k.json');
    await expect(StateStore.open(missing, who)).rejects.toThrow(/the state bucket no-such-state does not exist/);
    fake.core.failOn('GetObject', 'AccessDenied');
    const denied = await StateStore.open(backend(), who).catch((e) => e);
    expect(denied).toBeInstanceOf(UserError);
    expect(denied.message).toBe('access denied to the state s3://team-state/prod.json (read)');
  });
});

describe('moved markers', () => {
  it('a location whose state was moved names where it went', () => {
    const marker = JSON.stringify({ schemaVersion: 1, movedTo: 's3://b/k.json', movedAt: 't', movedBy: 'me' });
    expect(parseStateText(marker, 'here.json', who)).toEqual({
      moved: { schemaVersion: 1, movedTo: 's3://b/k.json', movedAt: 't', movedBy: 'me' },
    });
  });
});
