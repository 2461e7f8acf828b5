/**
 * Upgrading to jobs. A stack built by the release before `jobs:` (its calls, state and inventory are
 * recorded in test/fixtures/pre-jobs by that release's own `up`) is rebuilt call by call in a fresh
 * fake; then this code's `plan` and `up` must find it converged and send no mutating call: no resource
 * renamed, replaced or re-tagged, besides what this release adds on purpose (issue 13: runs that never
 * start raise the alert): the dead-letter queue, its policy and alarm, the rule targets' DeadLetterConfig
 * and the alert topic's permission for the alarm, and nothing else (`upgradeDeadLetters`). Moving that stack to an
 * explicit `jobs:` map with the job marked
 * `original: true` keeps every one of its resources too, and a job added beside it creates only its own.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { freshFakeAws, scratch, upOn, type Scratch } from '../helpers/stack.js';
import { ROOT } from '../helpers/ctx.js';
import { runPlan } from '../../src/stack/plan.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import type { FakeAws, InventoryEntry } from '../fake-aws/index.js';
import { K } from '../../src/model/keys.js';
import type { PlanEntry } from '../../src/engine/plan.js';

const fresh = freshFakeAws();

interface Fixture {
  release: string;
  config: string;
  calls: { service: string; op: string; input: unknown }[];
  state: unknown;
  inventory: InventoryEntry[];
}

const revive = (_k: string, v: unknown) =>
  v && typeof v === 'object' && '__bytes' in v
    ? new Uint8Array(Buffer.from(String((v as { __bytes: string }).__bytes), 'base64'))
    : v;

function fixture(name: string, dir = 'pre-jobs'): Fixture {
  return JSON.parse(readFileSync(join(ROOT, 'test/fixtures', dir, `${name}.json`), 'utf8'), revive) as Fixture;
}

/**
 * What this release adds to any stack: created, never replacing or renaming anything. The dead-letter
 * queue, its policy and alarm, and the run history (its rule, target, log group and the group's policy).
 */
const NEW_NODES = new Set<string>([
  K.deadLetterQueue,
  K.deadLetterQueuePolicy,
  K.deadLetterAlarm,
  K.historyRule,
  K.historyTarget,
  K.historyLogGroup,
  K.historyLogPolicy,
]);
/** The history's nodes, created on every stack's first `up` with this code. */
const HISTORY = [
  'create history/log-group',
  'create history/log-policy',
  'create history/rule',
  'create history/target',
];

/**
 * A schedule moved to the universal RunTask target (issue 21: the scheduled time must reach the task) in
 * the templated target's shape it had: the same cluster, family, network, tags and overrides, or the
 * comparison fails.
 */
function asTemplated(e: InventoryEntry): InventoryEntry {
  const t = e.settings.target as Record<string, any> | undefined;
  if (e.type !== 'scheduler.schedule' || t?.Arn !== 'arn:aws:scheduler:::aws-sdk:ecs:runTask') return e;
  const r = t.Input as Record<string, any>;
  const vpc = r.networkConfiguration.awsvpcConfiguration;
  const target = {
    ...t,
    Arn: r.cluster,
    Input: r.overrides,
    EcsParameters: {
      TaskDefinitionArn: r.taskDefinition,
      TaskCount: r.count,
      LaunchType: r.launchType,
      PlatformVersion: r.platformVersion,
      NetworkConfiguration: {
        awsvpcConfiguration: {
          Subnets: vpc.subnets,
          SecurityGroups: vpc.securityGroups,
          AssignPublicIp: vpc.assignPublicIp,
        },
      },
      PropagateTags: r.propagateTags,
      EnableECSManagedTags: r.enableECSManagedTags,
    },
  };
  expect(r.startedBy).toBe(`batchctl-schedule/${e.settings.Name}`);
  return { ...e, settings: { ...e.settings, target } };
}

/** An inventory without what `upgradeDeadLetters` adds: comparable with the fixture's. */
function withoutDeadLetters(inv: InventoryEntry[], before: InventoryEntry[]): InventoryEntry[] {
  const had = new Set(before.map((e) => `${e.type} ${e.key}`));
  return inv
    .map(asTemplated)
    .filter((e) => !e.key.startsWith('history/') && e.type !== 'logs.resource-policy')
    .filter((e) => had.has(`${e.type} ${e.key}`) || !['sqs.queue', 'cloudwatch.alarm'].includes(e.type))
    .map((e) => {
      if (e.type === 'events.target' && 'deadLetterConfig' in e.settings) {
        const { deadLetterConfig: _d, ...settings } = e.settings;
        return { ...e, settings };
      }
      if (e.type === 'sqs.queue' && (e.settings.attributes as Record<string, string>).Policy) {
        const { Policy: _p, ...attributes } = e.settings.attributes as Record<string, string>;
        return { ...e, settings: { ...e.settings, attributes } };
      }
      if (e.type === 'sns.topic') {
        const p = e.settings.policy as { Statement: { Sid?: string }[] };
        return {
          ...e,
          settings: {
            ...e.settings,
            policy: { ...p, Statement: p.Statement.filter((x) => x.Sid !== 'DeadLetterAlarmPublish') },
          },
        };
      }
      return e;
    });
}

/**
 * The first plan and up of this code on a stack built before it: the only changes are the dead-letter
 * queue (created unless the scheduler already had it), its policy (rule jobs), its alarm (with notify),
 * each rule target's DeadLetterConfig, and the topic policy's statement for the alarm. The writes are
 * exactly those; every other resource is as that release left it.
 */
async function upgradeDeadLetters(f: FakeAws, s: Scratch, fx: Fixture): Promise<string[]> {
  const p = await plan(s);
  const changed = p.entries.filter((e) => e.action !== 'unchanged');
  for (const e of changed) {
    if (NEW_NODES.has(e.key)) {
      expect(e.action, e.key).toBe('create');
      continue;
    }
    expect(e.action, e.key).toBe('update');
    const fields = (e as PlanEntry).changes!.map((c) => c.field);
    // `(settings)`: plan cannot say more before the queue exists; the inventory check below shows the
    // target changed in its DeadLetterConfig only.
    if (e.kind === 'events.target' && e.key !== K.historyTarget)
      expect([['deadLetterArn'], ['(settings)']], e.key).toContainEqual(fields);
    else if (e.kind === 'sns.topic') expect(fields, e.key).toEqual(['policy']);
    // A schedule's ECS target becomes the universal RunTask target (the same settings: withoutDeadLetters).
    else if (e.kind === 'scheduler.schedule') expect(fields, e.key).toEqual(['target.arn']);
    else expect.fail(`${e.key} (${e.kind}) changes on upgrade: ${fields.join(', ')}`);
  }
  f.core.resetCalls();
  const r = await upOn(s);
  expect(
    r.events
      .filter((e) => e.action !== 'unchanged')
      .map((e) => e.key)
      .sort(),
  ).toEqual(changed.map((e) => e.key).sort());
  const allowed = new Set([
    'sqs:CreateQueue',
    'sqs:SetQueueAttributes',
    'eventbridge:PutTargets',
    'cloudwatch:PutMetricAlarm',
    'sns:SetTopicAttributes',
    'eventbridge:PutRule',
    'logs:CreateLogGroup',
    'logs:PutRetentionPolicy',
    'logs:PutResourcePolicy',
    'scheduler:UpdateSchedule',
  ]);
  for (const c of f.core.mutatingCalls()) {
    expect(allowed.has(`${c.service}:${c.op}`), `${c.service}:${c.op}`).toBe(true);
    if (c.op === 'SetQueueAttributes') expect(Object.keys(c.input.Attributes)).toEqual(['Policy']);
    if (c.op === 'SetTopicAttributes') expect(c.input.AttributeName).toBe('Policy');
  }
  // Nothing else moved; what was added is there.
  expect(withoutDeadLetters(f.inventory(), fx.inventory)).toEqual(fx.inventory);
  expect(f.sqs.queues.size).toBe(1);
  for (const [, rule] of f.eventBridge.rules) {
    const t = rule.targets.get('batch');
    if (t?.EcsParameters || /:states:/.test(t?.Arn ?? ''))
      expect(t!.DeadLetterConfig?.Arn, rule.name).toBe([...f.sqs.queues.values()][0]!.arn);
  }
  f.core.resetCalls();
  return changed.map((e) => `${e.action} ${e.key}`).sort();
}

/** The recorded stack rebuilt in a fresh fake, with the state that release wrote, in a scratch directory. */
async function rebuilt(
  name: string,
  dir = 'pre-jobs',
  opts: { upgrade?: boolean } = { upgrade: true },
): Promise<{ f: FakeAws; s: Scratch; fx: Fixture; upgrade?: string[] }> {
  const fx = fixture(name, dir);
  const f = fresh();
  for (const c of fx.calls) await f.core.invoke(c.service, c.op, c.input);
  // The replay is faithful: the same resources with the same settings as that release left.
  expect(f.inventory()).toEqual(fx.inventory);
  const s = scratch(fx.config);
  mkdirSync(dirname(s.statePath), { recursive: true });
  writeFileSync(s.statePath, JSON.stringify(fx.state, null, 2), { mode: 0o600 });
  f.core.resetCalls();
  if (!opts.upgrade) return { f, s, fx };
  const upgrade = await upgradeDeadLetters(f, s, fx);
  // From here, the stack as this release leaves it is the reference.
  return { f, s, fx: { ...fx, inventory: f.inventory() }, upgrade };
}

function plan(s: Scratch) {
  return runPlan({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() });
}

describe('a stack built before jobs existed', () => {
  const added: Record<string, string[]> = {
    // No queue before (the rule engine had none): the queue, the rules' permission, the target's DeadLetterConfig.
    'rule-engine': [
      'create dead-letter-queue',
      'create dead-letter-queue/policy',
      ...HISTORY,
      'update schedule-target',
    ].sort(),
    // The scheduler's queue was there: only the alarm, and the topic's permission for it.
    'scheduler-alerts': ['create dead-letter-alarm', ...HISTORY, 'update alert-topic', 'update schedule'].sort(),
  };
  for (const name of ['rule-engine', 'scheduler-alerts']) {
    it(`${name}: the first up adds only the dead-letter queue, its policy and alarm, and the history; then plan and up see it converged and write nothing`, async () => {
      const { f, s, fx, upgrade } = await rebuilt(name);
      expect(upgrade).toEqual(added[name]);
      const p = await plan(s);
      expect(p.entries.filter((e) => e.action !== 'unchanged').map((e) => `${e.action} ${e.key}`)).toEqual([]);
      expect(p.pending).toBe(false);
      const r = await upOn(s);
      expect(r.events.filter((e) => e.action !== 'unchanged').map((e) => `${e.action} ${e.key}`)).toEqual([]);
      expect(f.core.mutatingCalls().map((c) => `${c.service}:${c.op}`)).toEqual([]);
      expect(f.inventory()).toEqual(fx.inventory);
      // A job with neither timeout nor retries keeps its direct target: Step Functions is not even read.
      expect(f.core.calls.filter((c) => c.service === 'sfn')).toEqual([]);
      // The state keeps every key it had: node keys are the pre-jobs ones.
      const keys = Object.keys(JSON.parse(readFileSync(s.statePath, 'utf8')).resources).sort();
      const created = added[name]!.filter((a) => a.startsWith('create ')).map((a) => a.slice('create '.length));
      // Besides those, the nodes this release splits out of resources that were there (the VPC's DNS
      // attributes, the endpoint group's rule): found as they are, recorded, nothing written for them.
      const split = ['security-group/endpoint/ingress', 'vpc/dns'];
      expect(keys).toEqual(
        [...Object.keys((fx.state as { resources: object }).resources), ...created, ...split].sort(),
      );
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
    const p = await plan(s);
    expect(p.pending).toBe(false);
    await upOn(s);
    expect(f.core.mutatingCalls()).toEqual([]);
    expect(f.inventory()).toEqual(fx.inventory);

    s.editConfig((t) => `${t}  report: { schedule: { expression: 'cron(0 1 * * ? *)' } }\n`);
    f.core.resetCalls();
    const r = await upOn(s);
    const changed = r.events
      .filter((e) => e.action !== 'unchanged')
      .map((e) => `${e.action} ${e.key}`)
      .sort();
    expect(changed).toEqual(
      [
        'created job/report/role-policy/events',
        'created job/report/role-policy/task',
        'created job/report/role/events',
        'created job/report/role/task',
        'created job/report/schedule-rule',
        'created job/report/schedule-target',
        'created job/report/task-definition',
        // The execution role may now pull for two jobs: the same repository, so the same document.
        // The dead-letter queue's policy admits the new job's rule too.
        'updated dead-letter-queue/policy',
        // The history rule matches the new job's family too (`<stack>-` covers every job named after the stack).
        'updated history/rule',
      ].sort(),
    );
    // Every resource the original job had is exactly as it was.
    const after = new Map(f.inventory().map((e) => [`${e.type} ${e.key}`, e]));
    // (The dead-letter queue's policy now admits the new job's rule too, and the history rule its family.)
    for (const e of fx.inventory.filter((x) => x.type !== 'sqs.queue' && x.key !== K.historyRule))
      expect(after.get(`${e.type} ${e.key}`), `${e.type} ${e.key}`).toEqual(e);
  });

  it('moved to jobs: under a new key that keeps the names: the resources are found under it, re-tagged, never deleted', async () => {
    const { f, s } = await rebuilt('rule-engine');
    // The names moved into the job itself; no job original: every node key is new.
    s.editConfig(
      (t) =>
        t.replace('  family: sample-batch\n', '').replace(/^schedule:\n  name: sample-batch\n/m, 'schedule:\n') +
        '\njobs:\n  lister:\n    task: { family: sample-batch }\n    schedule: { name: sample-batch }\n' +
        '    iam: { taskRoleName: sample-batch-task, eventsRoleName: sample-batch-events }\n',
    );
    const p = await plan(s);
    // Only the roles' inline policies change name (`<stack>-<job>-<role>` beside the old `<stack>-<role>`,
    // which goes once the new one is in place); the family, rule, target and roles are kept.
    expect(
      p.entries
        .filter((e) => e.action === 'delete')
        .map((e) => e.key)
        .sort(),
    ).toEqual(['role-policy/events', 'role-policy/task']);
    expect(p.entries.find((e) => e.key === 'task-definition')).toMatchObject({
      action: 'forget',
      notes: [expect.stringMatching(/now job\/lister\/task-definition's/)],
    });
    await upOn(s);
    const deletes = f.core.mutatingCalls().filter((c) => /^(Delete|Deregister|RemoveTargets)/.test(c.op));
    expect(deletes.map((c) => `${c.op} ${c.input.PolicyName}`).sort()).toEqual([
      'DeleteRolePolicy sample-batch-events',
      'DeleteRolePolicy sample-batch-task',
    ]);
    expect(f.eventBridge.rules.get('sample-batch')!.tags['batchctl:logical']).toBe('job/lister/schedule-rule');
    f.core.resetCalls();
    expect((await plan(s)).pending).toBe(false);
  });

  it('moved to jobs: without marking any job original, the names kept for it are refused before anything is read', async () => {
    const { s } = await rebuilt('rule-engine');
    // Names kept in the top-level sections belong to the original job: without one, validate says so.
    s.editConfig((t) => `${t}\njobs:\n  lister: {}\n`);
    const err = await plan(s).catch((e: { details?: string[] }) => e);
    expect((err as { details: string[] }).details.join('\n')).toMatch(
      /task\.family +names the stack's original job's task definition family, and no job is marked original: true/,
    );
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
      for (let pass = 0; pass < 2; pass++) {
        f.core.resetCalls();
        expect((await plan(s)).pending).toBe(false);
        await upOn(s);
        expect(f.core.mutatingCalls().map((c) => `${c.service}:${c.op}`)).toEqual([]);
        // Only the missing-image check reads images (one batch per command, plus a listing when one is missing): no
        // pinning lookup.
        expect(f.core.count({ op: 'DescribeImages' })).toBeLessThanOrEqual(4);
        expect(f.inventory().filter((e) => e.type !== 'ecr.repository')).toEqual(
          fx.inventory.filter((e) => e.type !== 'ecr.repository'),
        );
        // Then images are pushed (the tags the jobs run): still nothing to do.
        f.ecr.addImage('sample-batch', 'latest');
        f.ecr.addImage('sample-batch', 'report');
      }
      // The task definitions name the tags as that release registered them.
      expect(
        f.ecs.taskDefs
          .filter((t) => t.status === 'ACTIVE')
          .map((t) => t.input.containerDefinitions[0].image)
          .sort(),
      ).toEqual(
        fx.inventory
          .filter((e) => e.type === 'ecs.task-definition')
          .map((e) => (e.settings.containerDefinitions as { image: string }[])[0]!.image)
          .sort(),
      );
    });
  }

  it("rule-engine: opting in with imagePin: digest pins the tag's image of now in one new revision; up keeps it", async () => {
    const { f, s } = await rebuilt('rule-engine', 'pre-digest');
    const a = f.ecr.addImage('sample-batch', 'latest');
    s.editConfig((t) => t.replace(/^task:\n/m, 'task:\n  imagePin: digest\n'));
    f.core.resetCalls();
    await upOn(s);
    expect(f.core.mutatingCalls().map((c) => c.op)).toEqual(['RegisterTaskDefinition']);
    expect(f.ecs.taskDefs.filter((t) => t.status === 'ACTIVE').at(-1)!.input.containerDefinitions[0].image).toMatch(
      new RegExp(`/sample-batch@${a}$`),
    );
    f.ecr.addImage('sample-batch', 'latest');
    f.core.resetCalls();
    await upOn(s);
    expect(f.core.mutatingCalls()).toEqual([]);
  });
});

/**
 * A stack built by the release before `task.secrets`, `task.capacity` and `task.ephemeralStorageGiB`
 * (test/fixtures/pre-secrets, recorded by that release's own `up`): a config with none of them sees no
 * write, and no call the new keys make (no secret looked up, no capacity provider touched): the task
 * definitions, the execution role's policy, the cluster, the state machine and the alert rule and its
 * message are as that release left them.
 */
describe('a stack built before job secrets, Fargate Spot and ephemeral storage', () => {
  for (const name of ['rule-engine', 'jobs-alerts']) {
    it(`${name}: plan and up write nothing and look up no secret`, async () => {
      const { f, s, fx: recorded } = await rebuilt(name, 'pre-secrets', { upgrade: false });
      expect(recorded.config).not.toMatch(/^ *(secrets|capacity|ephemeralStorageGiB):/m);
      // What the release after it changed, and nothing of the new keys: each stack had its own Logs
      // resource policy, now one slot is shared per region (resources/lib/log-policies.ts); a state
      // machine no longer sends EnableECSManagedTags.
      const first = await upOn(s);
      expect(first.events.filter((e) => e.action !== 'unchanged').map((e) => `${e.action} ${e.key}`)).toEqual(
        name === 'rule-engine'
          ? ['created history/log-policy']
          : ['created history/log-policy', 'updated job/report/state-machine'],
      );
      const fx = { ...recorded, inventory: f.inventory() };
      for (let pass = 0; pass < 2; pass++) {
        f.core.resetCalls();
        const p = await plan(s);
        expect(p.entries.filter((e) => e.action !== 'unchanged').map((e) => `${e.action} ${e.key}`)).toEqual([]);
        expect(p.pending).toBe(false);
        await upOn(s);
        expect(f.core.mutatingCalls().map((c) => `${c.service}:${c.op}`)).toEqual([]);
        // The stack's own secret is described as ever; nothing else of the new keys' calls.
        const stackSecret = /^(sample-batch|arn:aws:secretsmanager:[^:]+:\d+:secret:sample-batch-\w{6})$/;
        expect(
          f.core.calls.filter(
            (c) =>
              ['DescribeParameters', 'PutClusterCapacityProviders'].includes(c.op) ||
              (c.op === 'DescribeSecret' && !stackSecret.test(c.input.SecretId)),
          ),
        ).toEqual([]);
        expect(f.inventory()).toEqual(fx.inventory);
      }
    });
  }

  it('jobs-alerts: opting one job into Spot changes only what Spot needs', async () => {
    const { s } = await rebuilt('jobs-alerts', 'pre-secrets', { upgrade: false });
    await upOn(s);
    s.editConfig((t) => t.replace('    task: { imageTag: report,', '    task: { capacity: spot, imageTag: report,'));
    const p = await plan(s);
    expect(
      p.entries
        .filter((e) => e.action !== 'unchanged')
        .map((e) => `${e.action} ${e.key}`)
        .sort(),
    ).toEqual(['update alert-rule', 'update alert-target', 'update cluster', 'update job/report/state-machine']);
  });
});
