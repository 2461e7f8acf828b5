import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createAwsClients } from '../../src/aws/clients.js';
import { LockHeld, StateConflict, StateStore, parseStateText } from '../../src/state/state.js';
import { LocalStateBackend, loadLocalState, localLockPath } from '../../src/state/local.js';
import { S3StateBackend } from '../../src/state/s3.js';
import { UserError } from '../../src/base/errors.js';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { ROOT } from '../helpers/ctx.js';
import { unprivileged } from '../helpers/unprivileged.js';

const who = { stack: 's', region: 'ap-northeast-1', account: '123456789012' };
const tmp = (p = 'state-') => mkdtempSync(join(tmpdir(), p));
const lockOf = (path: string) => new LocalStateBackend(path).lock({ command: 'batchctl up' });

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
    await expect(loadLocalState(path, { ...who, account: '999999999999' })).rejects.toThrow(/belongs to account '123456789012'/);
    writeFileSync(path, '{nope');
    await expect(loadLocalState(path, who)).rejects.toBeInstanceOf(UserError);
  });

  it.each([
    ['null', 'null', /is not a JSON object \(it is null\)/],
    ['a list', '[]', /is not a JSON object \(it is an array\)/],
    ['a string', '"x"', /is not a JSON object \(it is string\)/],
    ['resources: null', JSON.stringify({ schemaVersion: 1, ...who, resources: null }), /has a non-object 'resources' field/],
    ['resources: a list', JSON.stringify({ schemaVersion: 1, ...who, resources: [] }), /has a non-object 'resources' field/],
    ['no resources', JSON.stringify({ schemaVersion: 1, ...who }), /has no 'resources' field/],
    ['an empty stack', JSON.stringify({ schemaVersion: 1, ...who, stack: '', resources: {} }), /has an empty or invalid 'stack' field/],
    ['an empty region', JSON.stringify({ schemaVersion: 1, ...who, region: '', resources: {} }), /has an empty or invalid 'region' field/],
    ['no account', JSON.stringify({ schemaVersion: 1, stack: 's', region: who.region, resources: {} }), /has no 'account' field/],
    ['a record without id', JSON.stringify({ schemaVersion: 1, ...who, resources: { vpc: { kind: 'ec2.vpc' } } }), /has an invalid record 'vpc'/],
  ])('refuses %s with a clear user error', async (_name, text, message) => {
    const path = join(tmp(), 's.json');
    writeFileSync(path, text);
    const err = await loadLocalState(path, who).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(message);
    expect(err.message).toContain(path);
    expect(err.hint).toMatch(/restore it from a backup/);
  });

  it('a write that finds the file changed behind its back is refused; the other writer\'s content stays', async () => {
    const path = join(tmp(), 's.json');
    const st = await loadLocalState(path, who);
    st.put('vpc', { kind: 'ec2.vpc', id: 'vpc-1' });
    await st.save();
    const other = JSON.stringify({ schemaVersion: 1, ...who, updatedAt: 'x', resources: { vpc: { kind: 'ec2.vpc', id: 'vpc-2' } } });
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

  it('a symlinked state path is written through to its target, and the lock is taken beside the target', async () => {
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
    const lock = await lockOf(linkA);
    expect(existsSync(localLockPath(target))).toBe(true);
    expect(existsSync(localLockPath(linkA))).toBe(false);
    await expect(lockOf(linkB)).rejects.toBeInstanceOf(LockHeld);
    await lock.release();
    await (await lockOf(linkB)).release();
  });

  it('a directory nobody may write is a user error with a hint (exit 2 from the CLI)', (ctx) => {
    // As root, permission bits do not apply: the check runs without the capabilities that bypass them.
    const user = unprivileged();
    if (user.skip !== undefined) return ctx.skip(user.skip);
    const dir = tmp();
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'check.mjs'), `
      import { loadLocalState } from ${JSON.stringify(join(ROOT, 'src/state/local.ts'))};
      const st = await loadLocalState(process.argv[2], ${JSON.stringify(who)});
      st.put('vpc', { kind: 'ec2.vpc', id: 'vpc-1' });
      try { await st.save(); } catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message, hint: e.hint })); }
    `);
    const locked = join(dir, 'ro');
    mkdirSync(locked, { mode: 0o555 });
    const { file, args, options } = user.command([process.execPath, '--import', 'tsx', join(dir, 'check.mjs'), join(locked, 'sub', 's.json')]);
    const res = spawnSync(file, args, { ...options, cwd: ROOT, encoding: 'utf8' });
    const out = JSON.parse(res.stdout.trim() || '{}');
    expect(out.name, res.stderr).toBe('UserError');
    expect(out.message).toMatch(/cannot write the state file .*ro\/sub\/s\.json: permission denied \(EACCES\)/);
    expect(out.hint).toMatch(/--state <writable file>.*state\.s3/);
  });
});

describe('local lock', () => {
  it('a second holder gets a clear error naming the first, with its lock id', async () => {
    const path = join(tmp('lock-'), 's.json');
    const lock = await new LocalStateBackend(path).lock({ command: 'batchctl up', caller: 'arn:aws:iam::1:user/alice' });
    const err = await new LocalStateBackend(path).lock({ command: 'batchctl down' }).catch((e) => e);
    expect(err).toBeInstanceOf(LockHeld);
    expect(err.message).toMatch(new RegExp(`locked by 'batchctl up' by \\S+ \\(arn:aws:iam::1:user/alice\\) on ${hostname()}, pid ${process.pid}, since \\S+ \\(\\d+s ago\\), lock id ${lock.info.id}$`));
    expect(err.hint).toContain(`--force-unlock ${lock.info.id}`);
    await lock.release();
    await (await lockOf(path)).release();
  });

  it('takes over a stale lock whose process is dead; --force-unlock removes exactly the named lock', async () => {
    const path = join(tmp('lock-'), 's.json');
    // PIDs above the kernel's pid_max cannot exist. An old-format lock (no id) gets one from its content.
    writeFileSync(localLockPath(path), JSON.stringify({ pid: 2 ** 30, host: hostname(), command: 'batchctl up', startedAt: 'x' }));
    const warnings: string[] = [];
    const lock = await new LocalStateBackend(path).lock({ command: 'batchctl up', warn: (m) => warnings.push(m) });
    expect(warnings).toEqual([expect.stringMatching(/took over a stale lock left by pid 1073741824 .*lock id [0-9a-f]{12}/)]);
    const wrong = await new LocalStateBackend(path).lock({ command: 'batchctl up', forceUnlock: 'deadbeef0000' }).catch((e) => e);
    expect(wrong).toBeInstanceOf(UserError);
    expect(wrong.message).toMatch(/--force-unlock deadbeef0000 does not name the lock held .*: nothing was removed/);
    expect(existsSync(localLockPath(path))).toBe(true);
    const forced = await new LocalStateBackend(path).lock({ command: 'batchctl up', forceUnlock: lock.info.id, warn: (m) => warnings.push(m) });
    expect(warnings.at(-1)).toMatch(new RegExp(`removed lock ${lock.info.id}`));
    // The forced-out run finishing later does not remove the lock that replaced its own.
    await lock.release();
    expect(JSON.parse(readFileSync(localLockPath(path), 'utf8')).id).toBe(forced.info.id);
    await forced.release();
    expect(existsSync(localLockPath(path))).toBe(false);
  });

  it('a lock file from an older batchctl (no id) can be named to --force-unlock by the id the error shows', async () => {
    const path = join(tmp('lock-'), 's.json');
    writeFileSync(localLockPath(path), JSON.stringify({ pid: 1, host: 'elsewhere', command: 'batchctl up', startedAt: '2026-01-01T00:00:00Z' }));
    const err = await lockOf(path).catch((e) => e);
    const id = /lock id ([0-9a-f]{12})/.exec(err.message)![1];
    const lock = await new LocalStateBackend(path).lock({ command: 'batchctl up', forceUnlock: id });
    await lock.release();
  });
});

describe('S3 state', () => {
  let fake: FakeAws;
  afterEach(() => fake?.uninstall());
  const s3 = async () => (await createAwsClients({ region: 'ap-northeast-1' }, ['s3'])).s3;
  let client: Awaited<ReturnType<typeof s3>>;
  beforeEach(async () => { client = await s3(); });
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
    const theirs = JSON.stringify({ schemaVersion: 1, ...who, updatedAt: 'x', resources: { vpc: { kind: 'ec2.vpc', id: 'vpc-theirs' } } });
    await client.send(new PutObjectCommand({ Bucket: 'team-state', Key: 'prod.json', Body: theirs }));
    mine.put('vpc', { kind: 'ec2.vpc', id: 'vpc-mine' });
    const err = await mine.save().catch((e) => e);
    expect(err).toBeInstanceOf(StateConflict);
    expect(err.message).toBe('the state s3://team-state/prod.json was not saved: another writer changed it since this run read it (its ETag moved); nothing was overwritten');
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
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason)).toEqual([expect.any(StateConflict)]);
    const outcomes = fake.core.calls.filter((c) => c.op === 'PutObject').slice(1).map((c) => c.error ?? 'ok');
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
    expect(outcomes).toContain('ConditionalRequestConflict');
    expect(outcomes.at(-1)).toBe('PreconditionFailed');
  });

  it('the lock is an object created with If-None-Match: *; a second run is refused naming the holder and its age', async () => {
    fake = createFakeAws();
    fake.s3.addBucket('team-state');
    const lock = await backend().lock({ command: 'batchctl up', caller: 'arn:aws:sts::123456789012:assumed-role/ci/run-1' });
    const body = JSON.parse(fake.s3.objectText('team-state', 'prod.json.lock')!);
    expect(body).toMatchObject({ id: lock.info.id, command: 'batchctl up', host: hostname(), pid: process.pid, caller: 'arn:aws:sts::123456789012:assumed-role/ci/run-1' });
    const err = await backend().lock({ command: 'batchctl down' }).catch((e) => e);
    expect(err).toBeInstanceOf(LockHeld);
    expect(err.message).toMatch(new RegExp(`^the state s3://team-state/prod.json is locked by 'batchctl up' by \\S* ?\\(arn:aws:sts::123456789012:assumed-role/ci/run-1\\) on ${hostname()}, pid ${process.pid}, since \\S+ \\(0s ago\\), lock id ${lock.info.id}$`));
    await lock.release();
    expect(fake.core.calls.find((c) => c.op === 'DeleteObject')!.input.IfMatch).toMatch(/^"/);
    expect(fake.s3.objectText('team-state', 'prod.json.lock')).toBeUndefined();
  });

  it('a stale lock is shown with its age; --force-unlock <id> removes exactly that lock, a wrong id nothing', async () => {
    fake = createFakeAws();
    fake.s3.addBucket('team-state');
    const startedAt = new Date(Date.now() - (2 * 3600 + 5 * 60) * 1000).toISOString();
    const old = { id: 'a1b2c3d4e5f6', command: 'batchctl up', user: 'ci', host: 'runner-7', pid: 4242, startedAt };
    fake.s3.addObject('team-state', 'prod.json.lock', JSON.stringify(old));
    const err = await backend().lock({ command: 'batchctl up' }).catch((e) => e);
    expect(err.message).toMatch(/by ci on runner-7, pid 4242, since \S+ \(2h05m ago\), lock id a1b2c3d4e5f6$/);
    const wrong = await backend().lock({ command: 'batchctl up', forceUnlock: 'ffffffffffff' }).catch((e) => e);
    expect(wrong.message).toMatch(/does not name the lock held on s3:\/\/team-state\/prod.json: nothing was removed/);
    expect(JSON.parse(fake.s3.objectText('team-state', 'prod.json.lock')!).id).toBe('a1b2c3d4e5f6');
    const warnings: string[] = [];
    const lock = await backend().lock({ command: 'batchctl up', forceUnlock: 'a1b2c3d4e5f6', warn: (m) => warnings.push(m) });
    expect(warnings).toEqual([expect.stringMatching(/^removed lock a1b2c3d4e5f6 \('batchctl up' on runner-7, pid 4242/)]);
    expect(JSON.parse(fake.s3.objectText('team-state', 'prod.json.lock')!).id).toBe(lock.info.id);
    await lock.release();
  });

  it('a run whose lock was forced away and re-taken does not delete the new holder\'s lock', async () => {
    fake = createFakeAws();
    fake.s3.addBucket('team-state');
    const first = await backend().lock({ command: 'batchctl up' });
    const second = await backend().lock({ command: 'batchctl up', forceUnlock: first.info.id });
    await first.release();
    expect(JSON.parse(fake.s3.objectText('team-state', 'prod.json.lock')!).id).toBe(second.info.id);
    await second.release();
  });

  it('versioning off on the state bucket is advice; a missing bucket or a denied read are user errors', async () => {
    fake = createFakeAws();
    fake.s3.addBucket('team-state');
    expect(await backend().advice()).toEqual([expect.stringMatching(/^versioning is off on the state bucket team-state: turn it on .*put-bucket-versioning --bucket team-state/)]);
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
    expect(parseStateText(marker, 'here.json', who)).toEqual({ moved: { schemaVersion: 1, movedTo: 's3://b/k.json', movedAt: 't', movedBy: 'me' } });
  });
});
