/**
 * Upgrading to jobs. A stack built by the release before `jobs:` (its calls, state and inventory are
 * recorded in test/fixtures/pre-jobs by that release's own `up`) is rebuilt call by call in a fresh
 * fake; then this code's `plan` and `up` must find it converged and send no mutating call: no resource
 * renamed, replaced or re-tagged. Moving that stack to an explicit `jobs:` map with the job marked
 * `original: true` keeps every one of its resources too, and a job added beside it creates only its own.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { freshFakeAws, scratch, upOn, type Scratch } from '../helpers/stack.js';
import { ROOT } from '../helpers/ctx.js';
import { runPlan } from '../../src/core/plan.js';
import { RecordingReporter } from '../../src/core/reporter.js';
import type { FakeAws, InventoryEntry } from '../fake-aws/index.js';

const fresh = freshFakeAws();

interface Fixture {
  release: string;
  config: string;
  calls: { service: string; op: string; input: unknown }[];
  state: unknown;
  inventory: InventoryEntry[];
}

const revive = (_k: string, v: unknown) =>
  v && typeof v === 'object' && '__bytes' in v ? new Uint8Array(Buffer.from(String((v as { __bytes: string }).__bytes), 'base64')) : v;

function fixture(name: string, dir = 'pre-jobs'): Fixture {
  return JSON.parse(readFileSync(join(ROOT, 'test/fixtures', dir, `${name}.json`), 'utf8'), revive) as Fixture;
}

/** The recorded stack rebuilt in a fresh fake, with the state that release wrote, in a scratch directory. */
async function rebuilt(name: string, dir = 'pre-jobs'): Promise<{ f: FakeAws; s: Scratch; fx: Fixture }> {
  const fx = fixture(name, dir);
  const f = fresh();
  for (const c of fx.calls) await f.core.invoke(c.service, c.op, c.input);
  // The replay is faithful: the same resources with the same settings as that release left.
  expect(f.inventory()).toEqual(fx.inventory);
  const s = scratch(fx.config);
  mkdirSync(dirname(s.statePath), { recursive: true });
  writeFileSync(s.statePath, JSON.stringify(fx.state, null, 2), { mode: 0o600 });
  f.core.resetCalls();
  return { f, s, fx };
}

const plan = (s: Scratch) => runPlan({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() });

/**
 * What this code adds to a stack built before it, on the next `up`: the run history (issue 13) — its
 * log group, the group's resource policy, the rule of stopped tasks and its target. Those are the only
 * changes, and the only writes.
 */
const HISTORY_CHANGES = ['create history/log-group', 'create history/log-policy', 'create history/rule', 'create history/target'];
const HISTORY_WRITES = ['eventbridge:PutRule', 'eventbridge:PutTargets', 'logs:CreateLogGroup', 'logs:PutResourcePolicy', 'logs:PutRetentionPolicy'];
/** An inventory without the history's resources (what an older release's fixture has). */
const withoutHistory = (inv: InventoryEntry[]) => inv.filter((e) => !e.key.startsWith('history/') && e.type !== 'logs.resource-policy');

/** The first plan and up of this code on a rebuilt stack: exactly the history's nodes are created, nothing else is written. */
async function addsOnlyHistory(f: FakeAws, s: Scratch): Promise<void> {
  const p = await plan(s);
  expect(p.entries.filter((e) => e.action !== 'unchanged').map((e) => `${e.action} ${e.key}`).sort()).toEqual(HISTORY_CHANGES);
  f.core.resetCalls();
  const r = await upOn(s);
  expect(r.events.filter((e) => e.action !== 'unchanged').map((e) => `${e.action.replace(/d$/, '')} ${e.key}`).sort()).toEqual(HISTORY_CHANGES);
  expect(f.core.mutatingCalls().map((c) => `${c.service}:${c.op}`).sort()).toEqual(HISTORY_WRITES);
  f.core.resetCalls();
}

describe('a stack built before jobs existed', () => {
  for (const name of ['rule-engine', 'scheduler-alerts']) {
    it(`${name}: plan and up with this code see it converged and write nothing`, async () => {
      const { f, s, fx } = await rebuilt(name);
      await addsOnlyHistory(f, s);
      const p = await plan(s);
      expect(p.entries.filter((e) => e.action !== 'unchanged').map((e) => `${e.action} ${e.key}`)).toEqual([]);
      expect(p.pending).toBe(false);
      const r = await upOn(s);
      expect(r.events.filter((e) => e.action !== 'unchanged').map((e) => `${e.action} ${e.key}`)).toEqual([]);
      expect(f.core.mutatingCalls().map((c) => `${c.service}:${c.op}`)).toEqual([]);
      expect(withoutHistory(f.inventory())).toEqual(fx.inventory);
      // A job with neither timeout nor retries keeps its direct target: Step Functions is not even read.
      expect(f.core.calls.filter((c) => c.service === 'sfn')).toEqual([]);
      // The state keeps every key it had: node keys are the pre-jobs ones (and the history's are new).
      const keys = Object.keys(JSON.parse(readFileSync(s.statePath, 'utf8')).resources).filter((k) => !k.startsWith('history/')).sort();
      expect(keys).toEqual(Object.keys((fx.state as { resources: object }).resources).sort());
      // And again, now that the state has what this code records: still nothing to do.
      f.core.resetCalls();
      expect((await plan(s)).pending).toBe(false);
      await upOn(s);
      expect(f.core.mutatingCalls()).toEqual([]);
    });
  }

  it('moved to jobs: with its job marked original, keeps every resource; a job added beside it creates only its own', async () => {
    const { f, s, fx } = await rebuilt('rule-engine');
    s.editConfig((t) => `${t}\njobs:\n  lister: { original: true }\n`);
    await addsOnlyHistory(f, s);
    const p = await plan(s);
    expect(p.pending).toBe(false);
    await upOn(s);
    expect(f.core.mutatingCalls()).toEqual([]);
    expect(withoutHistory(f.inventory())).toEqual(fx.inventory);

    s.editConfig((t) => `${t}  report: { schedule: { expression: 'cron(0 1 * * ? *)' } }\n`);
    f.core.resetCalls();
    const r = await upOn(s);
    const changed = r.events.filter((e) => e.action !== 'unchanged').map((e) => `${e.action} ${e.key}`).sort();
    expect(changed).toEqual([
      'created job/report/role-policy/events', 'created job/report/role-policy/task', 'created job/report/role/events', 'created job/report/role/task',
      'created job/report/schedule-rule', 'created job/report/schedule-target', 'created job/report/task-definition',
      // The execution role may now pull for two jobs: the same repository, so the same document.
      // The history rule matches the new job's family too (`<stack>-` covers every job named after the stack).
      'updated history/rule',
    ].sort());
    // Every resource the original job had is exactly as it was.
    const after = new Map(f.inventory().map((e) => [`${e.type} ${e.key}`, e]));
    for (const e of fx.inventory) expect(after.get(`${e.type} ${e.key}`), `${e.type} ${e.key}`).toEqual(e);
  });

  it('moved to jobs: under a new key that keeps the names: the resources are found under it, re-tagged, never deleted', async () => {
    const { f, s } = await rebuilt('rule-engine');
    // The names moved into the job itself; no job original: every node key is new.
    s.editConfig((t) => t.replace('  family: sample-batch\n', '').replace(/^schedule:\n  name: sample-batch\n/m, 'schedule:\n')
      + '\njobs:\n  lister:\n    task: { family: sample-batch }\n    schedule: { name: sample-batch }\n'
      + '    iam: { taskRoleName: sample-batch-task, eventsRoleName: sample-batch-events }\n');
    const p = await plan(s);
    // Only the roles' inline policies change name (`<stack>-<job>-<role>` beside the old `<stack>-<role>`,
    // which goes once the new one is in place); the family, rule, target and roles are kept.
    expect(p.entries.filter((e) => e.action === 'delete').map((e) => e.key).sort()).toEqual(['role-policy/events', 'role-policy/task']);
    expect(p.entries.find((e) => e.key === 'task-definition')).toMatchObject({ action: 'forget', notes: [expect.stringMatching(/now job\/lister\/task-definition's/)] });
    await upOn(s);
    const deletes = f.core.mutatingCalls().filter((c) => /^(Delete|Deregister|RemoveTargets)/.test(c.op));
    expect(deletes.map((c) => `${c.op} ${c.input.PolicyName}`).sort()).toEqual(['DeleteRolePolicy sample-batch-events', 'DeleteRolePolicy sample-batch-task']);
    expect(f.eventBridge.rules.get('sample-batch')!.tags['batchctl:logical']).toBe('job/lister/schedule-rule');
    f.core.resetCalls();
    expect((await plan(s)).pending).toBe(false);
  });

  it('moved to jobs: without marking any job original, the names kept for it are refused before anything is read', async () => {
    const { s } = await rebuilt('rule-engine');
    // Names kept in the top-level sections belong to the original job: without one, validate says so.
    s.editConfig((t) => `${t}\njobs:\n  lister: {}\n`);
    const err = await plan(s).catch((e: { details?: string[] }) => e);
    expect((err as { details: string[] }).details.join('\n')).toMatch(/task\.family +names the stack's original job's task definition family, and no job is marked original: true/);
  });
});

/**
 * A stack built by the release before `task.imagePin` (test/fixtures/pre-digest, recorded by that
 * release's own `up`): its config has no `imagePin`, which means `tag`, so this code changes no image,
 * not even once the repository holds an image it could pin, and looks up none.
 */
describe('a stack built before task.imagePin', () => {
  for (const name of ['rule-engine', 'jobs']) {
    it(`${name}: plan and up write nothing, with images in the repository or not`, async () => {
      const { f, s, fx } = await rebuilt(name, 'pre-digest');
      expect(fx.config).not.toMatch(/imagePin/);
      await addsOnlyHistory(f, s);
      for (let pass = 0; pass < 2; pass++) {
        f.core.resetCalls();
        expect((await plan(s)).pending).toBe(false);
        await upOn(s);
        expect(f.core.mutatingCalls().map((c) => `${c.service}:${c.op}`)).toEqual([]);
        // Only the missing-image check reads images (one batch per command, plus a listing when one is missing): no pinning lookup.
        expect(f.core.count({ op: 'DescribeImages' })).toBeLessThanOrEqual(4);
        expect(withoutHistory(f.inventory()).filter((e) => e.type !== 'ecr.repository')).toEqual(fx.inventory.filter((e) => e.type !== 'ecr.repository'));
        // Then images are pushed (the tags the jobs run): still nothing to do.
        f.ecr.addImage('sample-batch', 'latest');
        f.ecr.addImage('sample-batch', 'report');
      }
      // The task definitions name the tags as that release registered them.
      expect(f.ecs.taskDefs.filter((t) => t.status === 'ACTIVE').map((t) => t.input.containerDefinitions[0].image).sort())
        .toEqual(fx.inventory.filter((e) => e.type === 'ecs.task-definition').map((e) => (e.settings.containerDefinitions as { image: string }[])[0]!.image).sort());
    });
  }

  it('rule-engine: opting in with imagePin: digest pins the tag\'s image of now in one new revision; up keeps it', async () => {
    const { f, s } = await rebuilt('rule-engine', 'pre-digest');
    await addsOnlyHistory(f, s);
    const a = f.ecr.addImage('sample-batch', 'latest');
    s.editConfig((t) => t.replace(/^task:\n/m, 'task:\n  imagePin: digest\n'));
    f.core.resetCalls();
    await upOn(s);
    expect(f.core.mutatingCalls().map((c) => c.op)).toEqual(['RegisterTaskDefinition']);
    expect(f.ecs.taskDefs.filter((t) => t.status === 'ACTIVE').at(-1)!.input.containerDefinitions[0].image).toMatch(new RegExp(`/sample-batch@${a}$`));
    f.ecr.addImage('sample-batch', 'latest');
    f.core.resetCalls();
    await upOn(s);
    expect(f.core.mutatingCalls()).toEqual([]);
  });
});
