/**
 * Tags converge on every taggable kind: a key added to `tags:`, a value changed and a key removed are
 * shown by `plan` as a `tags` change and applied by `up`; tags someone else put on our resources stay.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import type { FakeAws, InventoryEntry } from '../fake-aws/index.js';
import { freshFakeAws, scratch, upOn, type Scratch } from '../helpers/stack.js';
import { runPlan } from '../../src/stack/plan.js';
import { RecordingReporter } from '../../src/engine/reporter.js';

const fresh = freshFakeAws();

const SCENARIOS = [
  { name: 'rule engine', extra: '' },
  {
    name: 'scheduler engine, dead-letter queue, notify e-mails',
    extra: 'notify:\n  emails: [ops@example.com]\n',
    scheduler: true,
  },
];

function stack(sc: (typeof SCENARIOS)[number], tags: Record<string, string>): Scratch {
  const s = scratch();
  setTags(s, sc, tags);
  return s;
}

function setTags(s: Scratch, sc: (typeof SCENARIOS)[number], tags: Record<string, string>): void {
  const base = readFileSync(scratch().configPath, 'utf8');
  const schedule = sc.scheduler
    ? base.replace(/^schedule:\n/m, 'schedule:\n  engine: scheduler\n  deadLetterQueue: true\n')
    : base;
  const block = Object.keys(tags).length
    ? `tags:\n${Object.entries(tags)
        .map(([k, v]) => `  ${k}: ${v}\n`)
        .join('')}`
    : '';
  s.editConfig(() => `${schedule}\n${sc.extra}${block}`);
}

/** Every resource of the fake that carries tags (the taggable ones), by type and key. */
const tagged = (f: FakeAws): InventoryEntry[] =>
  f.inventory().filter((e) => e.settings.tags && Object.keys(e.settings.tags as object).length);

const plan = (s: Scratch) =>
  runPlan({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() });

describe.each(SCENARIOS)('tags converge: $name', (sc) => {
  it("added, changed and removed keys: plan shows a tags change, up applies it on every taggable resource; others' tags stay", async () => {
    const f = fresh();
    const s = stack(sc, {});
    await upOn(s);
    const resources = tagged(f);
    const types = new Set(resources.map((e) => e.type));
    for (const t of [
      'ec2.vpc',
      'ec2.subnet',
      'ec2.route-table',
      'ec2.security-group',
      'ec2.vpc-endpoint',
      's3.bucket',
      'secretsmanager.secret',
      'ecr.repository',
      'logs.log-group',
      'iam.role',
      'ecs.cluster',
      'ecs.task-definition',
      ...(sc.scheduler ? ['scheduler.schedule-group', 'sqs.queue', 'sns.topic', 'events.rule'] : ['events.rule']),
    ]) {
      expect(types, t).toContain(t);
    }

    // Added.
    setTags(s, sc, { team: 'data', env: 'prod' });
    const added = await plan(s);
    const tagChanges = added.entries.filter((e) => e.changes?.some((c) => c.field === 'tags'));
    expect(tagChanges.length).toBe(resources.length);
    expect(tagChanges.every((e) => e.action === 'update')).toBe(true);
    expect(tagChanges.find((e) => e.key === 'vpc')!.changes).toEqual([
      { field: 'tags', from: {}, to: { env: 'prod', team: 'data' } },
    ]);
    const r1 = await upOn(s);
    expect(
      r1.events
        .filter((e) => e.action === 'updated')
        .map((e) => e.key)
        .sort(),
    ).toEqual(tagChanges.map((e) => e.key).sort());
    expect(r1.events.filter((e) => e.action === 'updated').every((e) => e.changes?.join() === 'tags')).toBe(true);
    for (const e of tagged(f))
      expect(e.settings.tags, `${e.type} ${e.key}`).toMatchObject({
        team: 'data',
        env: 'prod',
        'batchctl:stack': 'sample-batch',
      });

    // Someone else's tags on our resources.
    f.ec2.vpcs.forEach((v) => {
      v.tags.owner = 'alice';
    });
    f.s3.buckets.forEach((b) => {
      b.tags = { ...b.tags, owner: 'alice' };
    });
    f.iam.roles.forEach((r) => {
      r.tags.owner = 'alice';
    });
    expect((await plan(s)).pending).toBe(false);

    // Changed and removed.
    setTags(s, sc, { team: 'ml' });
    const changed = await plan(s);
    expect(changed.entries.find((e) => e.key === 'bucket')!.changes).toEqual([
      { field: 'tags', from: { env: 'prod', team: 'data' }, to: { team: 'ml' } },
    ]);
    await upOn(s);
    for (const e of tagged(f)) {
      expect(e.settings.tags, `${e.type} ${e.key}`).toMatchObject({ team: 'ml', 'batchctl:stack': 'sample-batch' });
      expect(e.settings.tags, `${e.type} ${e.key}`).not.toHaveProperty('env');
    }
    expect([...f.ec2.vpcs.values()].every((v) => v.tags.owner === 'alice')).toBe(true);
    expect([...f.s3.buckets.values()].every((b) => b.tags?.owner === 'alice')).toBe(true);
    expect([...f.iam.roles.values()].every((r) => r.tags.owner === 'alice')).toBe(true);

    // Converged: plan has nothing to say, up writes nothing.
    expect((await plan(s)).pending).toBe(false);
    f.core.resetCalls();
    await upOn(s);
    expect(f.core.mutatingCalls().map((c) => c.op)).toEqual([]);
    expect(JSON.parse(readFileSync(s.statePath, 'utf8')).tagKeys).toEqual(['team']);
  });
});
