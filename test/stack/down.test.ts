/**
 * `down` and `down --endpoints` end to end on the stateful fake AWS: what is left afterwards (asserted on
 * the fake's state), the state file, data protection, confirmation, DependencyViolation retries, the
 * secret's recovery window and `up` after `down`.
 */
import { describe, expect, it, vi } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { CreateSecurityGroupCommand, CreateVpcEndpointCommand, EC2Client } from '@aws-sdk/client-ec2';
import { S3Client, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { type FakeAws, type InventoryEntry } from '../fake-aws/index.js';
import { scratch, settleWithFakeTimers, upOn, type Scratch, freshFakeAws } from '../helpers/stack.js';
import { runDown, type DownOptions } from '../../src/stack/down.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import { RunFailed, UserError } from '../../src/base/errors.js';
import { savingLine } from '../../src/cli/commands/down.js';

const fresh = freshFakeAws();

const DAY = 86_400_000;
const BUCKET = 'sample-batch-123456789012-ap-northeast-1';

async function downOn(s: Scratch, opts: Partial<DownOptions> = {}) {
  const reporter = new RecordingReporter();
  const report = await runDown({
    configPath: s.configPath,
    statePath: s.statePath,
    reporter,
    interactive: false,
    yes: true,
    ...opts,
  });
  return { ...report, reporter };
}

/** Resources of ours still in the fake (a secret in its recovery window is deleted, not ours to count). */
function ours(f: FakeAws): InventoryEntry[] {
  return f.inventory().filter((e) => !(e.type === 'secretsmanager.secret' && e.settings.pendingDeletion));
}

const stateResources = (s: Scratch) =>
  JSON.parse(readFileSync(s.statePath, 'utf8')).resources as Record<string, { kind: string; id: string }>;

const fakeTimers = () =>
  vi.useFakeTimers({
    now: Date.parse('2026-11-28T00:00:00Z'),
    toFake: ['setTimeout', 'clearTimeout', 'Date', 'setInterval', 'clearInterval'],
  });

describe('down', () => {
  it('deletes a full stack: nothing of ours left in the fake, an empty state, the secret in a 7-day window; a second down does nothing', async () => {
    const f = fresh();
    const s = scratch();
    const up = await upOn(s);
    expect(f.inventory().length).toBeGreaterThan(15);
    const report = await downOn(s);
    expect(report.failures).toEqual([]);
    expect(report.counts.deleted).toBe(up.events.length);
    expect(ours(f)).toEqual([]);
    expect(f.ec2.networkInterfaceCount()).toBe(0);
    expect(f.iam.inventory()).toEqual([]);
    expect(stateResources(s)).toEqual({});

    const [secret] = [...f.secretsManager.secrets.values()];
    expect(secret!.deletedAt).toBeDefined();
    expect(secret!.purgeAt! - secret!.deletedAt!.getTime()).toBe(7 * DAY);

    f.core.resetCalls();
    const again = await downOn(s);
    expect(f.core.mutatingCalls().map((c) => c.op)).toEqual([]);
    expect(again.events).toEqual([]);
    expect(again.targets).toEqual([]);
  });

  it('deletes children before parents: every delete of a node comes after the deletes of its dependants', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    f.core.resetCalls();
    const report = await downOn(s, { parallel: 3 });
    const order = report.events.map((e) => e.key);
    const before = (a: string, b: string) =>
      expect(order.indexOf(a), `${a} before ${b}`).toBeLessThan(order.indexOf(b));
    for (const ep of ['vpc-endpoint/ecr.api', 'vpc-endpoint/logs']) {
      before(ep, 'security-group/endpoint');
      before(ep, 'subnet/endpoint/ap-northeast-1a');
    }
    // The rule naming the task group goes before it (the endpoint group itself no longer has to).
    before('security-group/endpoint/ingress', 'security-group/task');
    before('security-group/endpoint/ingress', 'security-group/endpoint');
    before('schedule-target', 'role/events');
    before('route-table-association/ap-northeast-1a', 'route-table');
    before('subnet/batch/ap-northeast-1a', 'vpc');
    before('secret/value', 'secret');
    // No DependencyViolation was ever met: the order alone made every delete succeed first time.
    expect(f.core.calls.filter((c) => c.error === 'DependencyViolation')).toEqual([]);
  });

  it('with --force deletes the secret at once and a recovery window can be chosen otherwise', async () => {
    let f = fresh();
    let s = scratch();
    await upOn(s);
    await downOn(s, { force: true });
    expect(f.secretsManager.secrets.size).toBe(0);
    expect(f.core.calls.find((c) => c.op === 'DeleteSecret')!.input).toMatchObject({
      ForceDeleteWithoutRecovery: true,
    });

    f = fresh();
    s = scratch();
    await upOn(s);
    await downOn(s, { recoveryWindowDays: 30 });
    const [secret] = [...f.secretsManager.secrets.values()];
    expect(secret!.purgeAt! - secret!.deletedAt!.getTime()).toBe(30 * DAY);
  });

  it('up after down restores the secret pending deletion and rebuilds the same stack', async () => {
    const f = fresh();
    // The dead-letter queue's name is free again at once (SQS holds it 60 s: not what this is about).
    f.sqs.deletedNameHoldMs = 0;
    const s = scratch();
    await upOn(s);
    const before = f.inventory();
    await downOn(s);
    expect(f.inventory().find((e) => e.type === 'secretsmanager.secret')!.settings.pendingDeletion).toBe(true);
    const again = await upOn(s);
    expect(again.counts.failed).toBe(0);
    expect(again.events.find((e) => e.key === 'secret')).toMatchObject({
      action: 'updated',
      changes: ['pendingDeletion'],
    });
    expect(f.core.calls.some((c) => c.op === 'RestoreSecret')).toBe(true);
    expect(f.inventory()).toEqual(before);
  });

  it('refuses without --yes when not interactive, with zero mutating calls and the state untouched', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    const state = readFileSync(s.statePath, 'utf8');
    f.core.resetCalls();
    const err = await downOn(s, { yes: false }).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/down needs --yes when not on a terminal \(it would delete 43 resources\)/);
    expect(err.details.some((d: string) => /VPC\s+vpc\s+vpc-/.test(d))).toBe(true);
    expect(f.core.mutatingCalls()).toEqual([]);
    expect(readFileSync(s.statePath, 'utf8')).toBe(state);
  });

  it('on a terminal asks once: "no" deletes nothing, "yes" deletes everything', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    f.core.resetCalls();
    const asked: string[][] = [];
    const declined = await downOn(s, {
      yes: false,
      interactive: true,
      confirm: async (lines) => (asked.push(lines), false),
    });
    expect(declined.declined).toBe(true);
    expect(asked).toHaveLength(1);
    expect(asked[0]![0]).toBe('batchctl down will delete 43 resources:');
    expect(f.core.mutatingCalls()).toEqual([]);

    const accepted = await downOn(s, { yes: false, interactive: true, confirm: async () => true });
    expect(accepted.counts.deleted).toBe(43);
    expect(ours(f)).toEqual([]);
  });

  it('cleans up a half-created stack (a failure injected at several points of up)', async () => {
    for (const at of [3, 12, 24]) {
      const f = fresh();
      const s = scratch();
      f.core.inject({
        kind: 'error',
        code: 'InjectedFailure',
        message: `injected at #${at}`,
        status: 400,
        match: (c) => c.mutatingSeq === at,
      });
      await expect(upOn(s, { parallel: 4 })).rejects.toBeInstanceOf(RunFailed);
      expect(ours(f).length, `something was created before #${at}`).toBeGreaterThan(0);
      const report = await downOn(s);
      expect(report.failures).toEqual([]);
      expect(ours(f), `after a failure at #${at}`).toEqual([]);
      expect(stateResources(s)).toEqual({});
    }
  });

  it('sweeps tagged resources the state does not know: a duplicate endpoint of a crashed run, a group the config no longer has', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    const state = stateResources(s);
    const ec2 = new EC2Client({ region: 'ap-northeast-1' });
    const tags = (key: string, type: 'vpc-endpoint' | 'security-group') => [
      {
        ResourceType: type,
        Tags: [
          { Key: 'batchctl:stack', Value: 'sample-batch' },
          { Key: 'batchctl:logical', Value: key },
        ],
      },
    ];
    const dup = await ec2.send(
      new CreateVpcEndpointCommand({
        VpcEndpointType: 'Interface',
        VpcId: state.vpc!.id,
        ServiceName: 'com.amazonaws.ap-northeast-1.logs',
        PrivateDnsEnabled: false,
        SubnetIds: [state['subnet/endpoint/ap-northeast-1a']!.id],
        SecurityGroupIds: [state['security-group/endpoint']!.id],
        TagSpecifications: tags('vpc-endpoint/logs', 'vpc-endpoint'),
      }),
    );
    const old = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: 'sample-batch-old',
        Description: 'from an older config',
        VpcId: state.vpc!.id,
        TagSpecifications: tags('security-group/old', 'security-group'),
      }),
    );
    const report = await downOn(s);
    expect(report.failures).toEqual([]);
    const dupId = dup.VpcEndpoint!.VpcEndpointId!;
    expect(report.targets).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: `vpc-endpoint/logs#${dupId}`, id: dupId, orphan: true }),
        expect.objectContaining({ key: 'security-group/old', id: old.GroupId, orphan: true }),
      ]),
    );
    const order = report.events.map((e) => e.key);
    expect(order.indexOf('security-group/old')).toBeLessThan(order.indexOf('vpc'));
    expect(order.indexOf(`vpc-endpoint/logs#${dupId}`)).toBeLessThan(order.indexOf('subnet/endpoint/ap-northeast-1a'));
    expect(ours(f)).toEqual([]);
  });

  it('with the state file lost, finds everything by tags and names and deletes it', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    rmSync(s.statePath);
    const report = await downOn(s);
    expect(report.counts.deleted).toBe(43);
    expect(ours(f)).toEqual([]);
  });

  it('a state record of a node the config no longer has is deleted by its kind', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    const st = JSON.parse(readFileSync(s.statePath, 'utf8'));
    // As if an older config had named the log group key differently.
    st.resources['log-group/old'] = st.resources['log-group'];
    delete st.resources['log-group'];
    writeFileSync(s.statePath, JSON.stringify(st));
    s.editConfig((t) => t.replace('/ecs/SampleBatch', '/ecs/Renamed'));
    const report = await downOn(s);
    expect(report.targets.find((t) => t.key === 'log-group/old')).toMatchObject({
      orphan: true,
      kind: 'logs.log-group',
      id: '/ecs/SampleBatch',
    });
    expect(ours(f)).toEqual([]);
    expect(stateResources(s)).toEqual({});
  });

  it('never deletes a same-named resource that is not ours', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    const log = f.logs.inventory().find((e) => e.type === 'logs.log-group')!;
    rmSync(s.statePath);
    // Someone else's log group with our name: strip our tags from it.
    const group = [...(f.logs as any).groups.values()].find((g: any) => g.name === log.settings.name);
    group.tags = {};
    const report = await downOn(s);
    expect(report.reporter.warnings.some((w) => /kept log-group: .*not part of stack/.test(w))).toBe(true);
    expect(ours(f).map((e) => e.type)).toEqual(['logs.log-group']);
  });
});

describe('data protection', () => {
  it('a bucket with objects (and versions) is refused without --force, with the counts, before any mutating call', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    const b = f.s3.buckets.get(BUCKET)!;
    b.versioning = 'Enabled';
    for (let i = 0; i < 1203; i++) f.s3.addObject(BUCKET, `k/${String(i).padStart(5, '0')}`, 'x');
    f.s3.addObject(BUCKET, 'k/00000', 'second version');
    await new S3Client({ region: 'ap-northeast-1' }).send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'k/00001' }));
    f.core.resetCalls();
    const err = await downOn(s).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    // 1202 live objects; 1203 + 1 versions + 1 delete marker.
    expect(err.message).toBe(
      `S3 bucket ${BUCKET} holds 1202 objects (1205 versions and delete markers in all): pass --force to delete them with it`,
    );
    expect(f.core.mutatingCalls()).toEqual([]);
    expect(f.core.count({ op: 'ListObjectVersions' })).toBe(2);

    const report = await downOn(s, { force: true });
    expect(report.failures).toEqual([]);
    expect(f.s3.buckets.has(BUCKET)).toBe(false);
    // Emptied in pages of at most 1000, by version id (so versions and markers are really gone).
    const batches = f.core.calls.filter((c) => c.op === 'DeleteObjects');
    expect(batches.map((c) => c.input.Delete.Objects.length)).toEqual([1000, 205]);
    expect(batches.every((c) => c.input.Delete.Objects.every((o: { VersionId?: string }) => o.VersionId))).toBe(true);
    expect(ours(f)).toEqual([]);
  });

  it('a repository with images is refused without --force and deleted with them with it', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    f.ecr.addImage('sample-batch', 'latest');
    f.ecr.addImage('sample-batch', 'v1');
    f.core.resetCalls();
    const err = await downOn(s).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe('ECR repository sample-batch holds 2 images: pass --force to delete them with it');
    expect(f.core.mutatingCalls()).toEqual([]);
    f.core.resetCalls();
    await downOn(s, { force: true });
    expect(f.ecr.inventory()).toEqual([]);
    // --force --yes: nothing to refuse and no list to show, so the images are not counted first.
    expect(f.core.count({ op: 'ListImages' })).toBe(0);
  });

  it("the confirmation says what data goes with what: objects, images, and the log group's stored bytes", async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    f.logs.addEvents('/ecs/SampleBatch', 'ecs/batch/0123456789abcdef', [
      { timestamp: Date.now(), message: 'x'.repeat(2000) },
    ]);
    const asked: string[][] = [];
    // Log events alone need no --force (retention expires them anyway): they are said, then deleted.
    const declined = await downOn(s, {
      yes: false,
      interactive: true,
      confirm: async (lines) => (asked.push(lines), false),
    });
    expect(declined.declined).toBe(true);
    expect(asked[0]!.find((l) => /CloudWatch log group/.test(l))).toMatch(
      /\/ecs\/SampleBatch {2}\(2\.0 KiB of log events\)$/,
    );
    expect(declined.targets.find((t) => t.key === 'log-group')?.data).toBe('2.0 KiB of log events');
    // With --force, the bucket's objects and the repository's images are in the same list.
    f.s3.addObject(BUCKET, 'a.csv', 'a');
    f.s3.addObject(BUCKET, 'b.csv', 'b');
    f.ecr.addImage('sample-batch', 'latest');
    await downOn(s, {
      yes: false,
      interactive: true,
      force: true,
      confirm: async (lines) => (asked.push(lines), true),
    });
    expect(asked[1]!.filter((l) => /\(.*\)$/.test(l)).map((l) => l.replace(/ +/g, ' ').trim())).toEqual([
      'ECR repository ecr-repository sample-batch (1 image)',
      `S3 bucket bucket ${BUCKET} (2 objects)`,
      'CloudWatch log group log-group /ecs/SampleBatch (2.0 KiB of log events)',
    ]);
    expect(ours(f)).toEqual([]);
  });

  it('--keep-logs keeps the log group, its events and its state record; a later down deletes it', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    f.logs.addEvents('/ecs/SampleBatch', 'ecs/batch/0123456789abcdef', [
      { timestamp: Date.now(), message: 'run output' },
    ]);
    const asked: string[][] = [];
    const report = await downOn(s, {
      yes: false,
      interactive: true,
      keepLogs: true,
      confirm: async (lines) => (asked.push(lines), true),
    });
    // The run history's group is kept too: its events are the record of the runs.
    const HISTORY = '/aws/events/batchctl/sample-batch/history';
    expect(asked[0]![0]).toBe(
      `batchctl down will delete 41 resources (keeping CloudWatch log group /ecs/SampleBatch, CloudWatch log group ${HISTORY}: --keep-logs):`,
    );
    expect(asked[0]!.some((l) => /log-group/.test(l))).toBe(false);
    expect(report.failures).toEqual([]);
    expect(report.counts).toMatchObject({ deleted: 41, skipped: 2 });
    expect(report.kept?.map((t) => t.id).sort()).toEqual([HISTORY, '/ecs/SampleBatch']);
    expect(report.reporter.infos).toContain(
      'Kept CloudWatch log group /ecs/SampleBatch (--keep-logs), holding 36 B of log events; `batchctl down` without --keep-logs deletes it',
    );
    expect(ours(f).map((e) => e.type)).toEqual(['logs.log-group', 'logs.log-group']);
    expect(f.logs.storedBytes(f.logs.groups.get('/ecs/SampleBatch')!)).toBe(36);
    // Its resource policy goes with the rule: nothing can write to the kept group any more.
    expect(f.logs.resourcePolicies.size).toBe(0);
    expect(Object.keys(stateResources(s)).sort()).toEqual(['history/log-group', 'log-group']);
    const again = await downOn(s);
    expect(again.counts.deleted).toBe(2);
    expect(ours(f)).toEqual([]);
    expect(stateResources(s)).toEqual({});
  });

  it('an unversioned bucket with one object is counted simply', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    f.s3.addObject(BUCKET, 'report.csv', 'a,b');
    const err = await downOn(s).catch((e) => e);
    expect(err.message).toBe(`S3 bucket ${BUCKET} holds 1 object: pass --force to delete them with it`);
  });
});

describe('DependencyViolation', () => {
  it('on security group and subnet deletion is retried (with a progress line) until it succeeds', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    fakeTimers();
    f.core.failOn('DeleteSecurityGroup', 'DependencyViolation', 3, 'resource has a dependent object');
    f.core.failOn('DeleteSubnet', 'DependencyViolation', 2, 'The subnet has dependencies and cannot be deleted.');
    const report = await settleWithFakeTimers(downOn(s));
    expect(report.failures).toEqual([]);
    expect(ours(f)).toEqual([]);
    expect(
      f.core.calls.filter((c) => c.op === 'DeleteSecurityGroup' && c.error === 'DependencyViolation'),
    ).toHaveLength(3);
    expect(f.core.calls.filter((c) => c.op === 'DeleteSubnet' && c.error === 'DependencyViolation')).toHaveLength(2);
    expect(
      report.reporter.progress.some(
        (p) =>
          p.key.startsWith('security-group/') &&
          /^waiting for sg-\w+ to be deletable \(DependencyViolation\)/.test(p.message),
      ),
    ).toBe(true);
    expect(
      report.reporter.progress.some(
        (p) => p.key.startsWith('subnet/') && /^waiting for subnet-\w+ to be deletable/.test(p.message),
      ),
    ).toBe(true);
  });

  it('past the budget fails naming the resource and the blocker; what it depends on is kept (and stays in the state)', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    fakeTimers();
    const sg = stateResources(s)['security-group/task']!.id;
    f.core.failOn('DeleteSecurityGroup', 'DependencyViolation', 1000, `resource ${sg} has a dependent object`);
    const err = await settleWithFakeTimers(downOn(s)).catch((e) => e);
    expect(err).toBeInstanceOf(RunFailed);
    expect(err.message).toMatch(
      new RegExp(
        `security-group/endpoint: delete failed: DependencyViolation: resource ${sg} has a dependent object \\(still after 300 s`,
      ),
    );
    expect(err.report.counts.failed).toBeGreaterThanOrEqual(1);
    expect(err.report.events.find((e: any) => e.key === 'vpc')).toMatchObject({ action: 'skipped' });
    expect(Object.keys(stateResources(s)).sort()).toEqual(
      expect.arrayContaining(['vpc', 'security-group/task', 'security-group/endpoint']),
    );
    expect(f.ec2.vpcs.size).toBe(1);
  });

  it('a network interface that is not released names itself in the error', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    fakeTimers();
    const state = stateResources(s);
    const sg = state['security-group/task']!.id;
    // A foreign ENI (e.g. a task still running) in the task group and a batch subnet.
    f.ec2.enis.set('eni-0stuck', {
      id: 'eni-0stuck',
      vpcId: state.vpc!.id,
      subnetId: state['subnet/batch/ap-northeast-1a']!.id,
      groupIds: [sg],
      endpointId: 'vpce-0foreign',
    });
    const err = await settleWithFakeTimers(downOn(s)).catch((e) => e);
    expect(err).toBeInstanceOf(RunFailed);
    expect(err.message).toMatch(/eni-0stuck/);
    expect(err.message).toMatch(/security-group\/task|subnet\/batch\/ap-northeast-1a/);
  });
});

describe('down --endpoints', () => {
  it('removes only the interface endpoints, prints the saving, and up brings back the same inventory', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    const before = f.inventory();
    f.core.resetCalls();
    const report = await downOn(s, { endpointsOnly: true });
    expect(report.counts.deleted).toBe(4);
    // The schedule is paused first (runs would fail without the endpoints), then the endpoints go.
    expect(f.core.mutatingCalls().map((c) => c.op)).toEqual([
      'TagResource',
      'DisableRule',
      ...Array(4).fill('DeleteVpcEndpoints'),
    ]);
    expect(report.paused).toEqual(['sample-batch']);
    const gone = f.core.mutatingCalls().flatMap((c) => c.input.VpcEndpointIds);
    expect(gone.every((id: string) => f.ec2.endpoints.get(id)?.type !== 'Gateway')).toBe(true);
    expect(f.ec2.networkInterfaceCount()).toBe(0);
    const after = f.inventory();
    expect(
      after.filter(
        (e) => e.type === 'ec2.vpc-endpoint' && e.settings.type === 'Interface' && e.settings.state !== 'deleted',
      ),
    ).toEqual([]);
    // Everything else exactly as it was, but the rule, which is paused.
    const rest = (inv: InventoryEntry[]) =>
      inv.filter(
        (e) => !(e.type === 'ec2.vpc-endpoint' && e.settings.type === 'Interface') && e.type !== 'events.rule',
      );
    expect(rest(after)).toEqual(rest(before));
    expect(f.eventBridge.rules.get('sample-batch')).toMatchObject({
      state: 'DISABLED',
      tags: { 'batchctl:paused': expect.stringMatching(/^down-endpoints /) },
    });
    expect(Object.keys(stateResources(s)).filter((k) => /^vpc-endpoint\/(ecr|logs|secrets)/.test(k))).toEqual([]);
    expect(report.saving).toMatchObject({ enis: 8 });
    expect(savingLine(report.saving!)).toMatch(/^Saved: 8 endpoint ENIs, \$0\.112\/hour, \$81\.76\/month/);

    const again = await upOn(s);
    expect(again.counts).toMatchObject({ created: 4, updated: 1 });
    expect(f.inventory()).toEqual(before);
  });

  it('says so when the region has no prices', async () => {
    const fake = fresh();
    const s = scratch();
    const r = savingLine({ enis: 8, unknownPrices: true });
    expect(r).toMatch(/no prices known/);
    // And a second --endpoints run is a no-op.
    await upOn(s);
    await downOn(s, { endpointsOnly: true });
    fake.core.resetCalls();
    const again = await downOn(s, { endpointsOnly: true });
    expect(again.targets).toEqual([]);
    expect(fake.core.mutatingCalls()).toEqual([]);
  });
});
