/**
 * Operating jobs, end to end on the fake AWS (asserting on its state): pause and resume (the mark on the
 * schedule itself survives `up`, a lost state file and `down --endpoints`), stop, and deploy by digest
 * with rollback (`task.imagePin: digest`), including a stack without the key upgrading with zero writes.
 */
import { describe, expect, it, vi } from 'vitest';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshFakeAws, scratch, settleWithFakeTimers, upOn, type Scratch } from '../helpers/stack.js';
import { captureCli } from '../helpers/cli.js';
import { setEngine } from '../helpers/drift.js';
import { runPlan } from '../../src/stack/plan.js';
import { runStatus } from '../../src/runs/status.js';
import { runDown } from '../../src/stack/down.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import type { FakeAws } from '../fake-aws/index.js';

const fresh = freshFakeAws();
const io = captureCli();
const cli = (s: Scratch, ...args: string[]) => io.run('-c', s.configPath, '--state', s.statePath, ...args);
const out = () => io.out.join('');
const err = () => io.err.join('');

const REPO = '123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/sample-batch';
const plan = (s: Scratch, statePath = s.statePath) =>
  runPlan({ configPath: s.configPath, statePath, reporter: new RecordingReporter() });
const status = (s: Scratch) =>
  runStatus({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() });
const downEndpoints = (s: Scratch) =>
  runDown({
    configPath: s.configPath,
    statePath: s.statePath,
    reporter: new RecordingReporter(),
    interactive: false,
    yes: true,
    endpointsOnly: true,
  });

const rule = (f: FakeAws, name = 'sample-batch') => f.eventBridge.rules.get(name)!;
const schedule = (f: FakeAws, name = 'sample-batch') => f.scheduler.schedules.get(`sample-batch/${name}`)!;
/** The image of a family's latest ACTIVE revision, and how many revisions it has. */
const live = (f: FakeAws, family = 'sample-batch') => {
  const revs = f.ecs.taskDefs.filter((t) => t.family === family && t.status === 'ACTIVE');
  return {
    image: revs.at(-1)?.input.containerDefinitions[0].image as string,
    revisions: revs.length,
    cpu: revs.at(-1)?.input.cpu as string,
  };
};
const pinDigest = (s: Scratch) => s.editConfig((t) => t.replace(/^task:\n/m, 'task:\n  imagePin: digest\n'));
const twoJobs = (s: Scratch) =>
  s.editConfig(
    (t) =>
      `${t}\njobs:\n  lister: { original: true }\n  report:\n    schedule: { expression: cron(0 1 * * ? *) }\n    task: { imageTag: report }\n`,
  );

describe('pause and resume', () => {
  it("pause survives up and a lost state file; status says who and when; resume restores the config's state", async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    expect(await cli(s, 'pause')).toBe(0);
    expect(out()).toMatch(
      /^Paused sample-batch \(EventBridge rule sample-batch\) by arn:aws:iam::123456789012:user\/tester at \d{4}-\d\d-\d\dT[\d:]+Z \(batchctl pause\)/,
    );
    expect(rule(f).state).toBe('DISABLED');
    expect(rule(f).tags['batchctl:paused']).toMatch(/^user \S+Z arn:aws:iam::123456789012:user\/tester$/);

    // up, and plan or up with a state file that is lost: the rule stays disabled, nothing is written.
    f.core.resetCalls();
    const again = await upOn(s);
    expect(f.core.mutatingCalls()).toEqual([]);
    expect(again.reporter.warnings.join('\n')).toMatch(
      /schedule-rule: paused by arn:aws:iam::123456789012:user\/tester at .* \(batchctl pause\): up keeps it disabled/,
    );
    const lost = join(s.dir, 'lost.json');
    const p = await plan(s, lost);
    expect(p.entries.find((e) => e.key === 'schedule-rule')).toMatchObject({
      action: 'unchanged',
      notes: [expect.stringMatching(/^paused by .* \(batchctl pause\)/)],
    });
    await upOn({ ...s, statePath: lost });
    expect(f.core.mutatingCalls()).toEqual([]);
    expect(rule(f).state).toBe('DISABLED');

    // Someone enables the rule behind batchctl's back: up disables it again (the pause is the intent).
    rule(f).state = 'ENABLED';
    const fixed = await plan(s);
    expect(fixed.entries.find((e) => e.key === 'schedule-rule')?.changes).toEqual([
      { field: 'state', from: 'ENABLED', to: 'DISABLED' },
    ]);
    await upOn(s);
    expect(rule(f).state).toBe('DISABLED');

    const st = await status(s);
    expect(st.jobs[0]!.schedule).toMatchObject({
      enabled: false,
      paused: { reason: 'user', by: 'arn:aws:iam::123456789012:user/tester' },
    });
    expect(st.resources.find((r) => r.key === 'schedule-rule')?.notes).toBeUndefined();
    expect(await cli(s, 'status')).toBe(0);
    expect(out()).toMatch(/sample-batch {2}cron\(30 \* \* \* \? \*\) {2}PAUSED/);
    expect(out()).toMatch(
      /sample-batch: paused by arn:aws:iam::123456789012:user\/tester at \S+ \(batchctl pause\); `batchctl resume sample-batch` re-enables it/,
    );

    // A second pause changes nothing; resume lifts the tag first, then enables.
    f.core.resetCalls();
    expect(await cli(s, 'pause')).toBe(0);
    expect(out()).toMatch(/^sample-batch: already paused/);
    expect(f.core.mutatingCalls()).toEqual([]);
    expect(await cli(s, 'resume')).toBe(0);
    expect(out()).toMatch(/^Resumed sample-batch \(EventBridge rule sample-batch\): enabled \(it was paused by /);
    expect(f.core.mutatingCalls().map((c) => c.op)).toEqual(['UntagResource', 'EnableRule']);
    expect(rule(f).state).toBe('ENABLED');
    expect(rule(f).tags['batchctl:paused']).toBeUndefined();
    expect(await cli(s, 'resume')).toBe(0);
    expect(out()).toMatch(/^sample-batch: not paused/);

    // The config's state is what resume restores: a schedule disabled in the config stays disabled.
    await cli(s, 'pause');
    s.editConfig((t) => t.replace('  enabled: true\n', '  enabled: false\n'));
    expect(await cli(s, 'resume')).toBe(0);
    expect(out()).toMatch(/stays disabled: schedule.enabled is false in the config/);
    expect(rule(f)).toMatchObject({ state: 'DISABLED' });
    expect(rule(f).tags['batchctl:paused']).toBeUndefined();
  });

  it('down --endpoints pauses every schedule and says so; the up that restores the endpoints resumes them, only after they exist; a job the user paused stays paused', async () => {
    const f = fresh();
    const s = scratch();
    twoJobs(s);
    await upOn(s);
    expect(await cli(s, 'pause', 'report')).toBe(0);
    const userMark = rule(f, 'sample-batch-report').tags['batchctl:paused'];
    // Only that job's schedule.
    expect([rule(f).state, rule(f, 'sample-batch-report').state]).toEqual(['ENABLED', 'DISABLED']);
    expect(rule(f).tags['batchctl:paused']).toBeUndefined();

    expect(await cli(s, 'down', '--endpoints', '--yes')).toBe(0);
    expect(err() + out()).toMatch(
      /Paused the schedule of lister \(runs would fail without the endpoints\): the `batchctl up` that restores the endpoints resumes it/,
    );
    expect([...f.ec2.endpoints.values()].filter((e) => e.type === 'Interface' && e.state !== 'deleted')).toEqual([]);
    expect(rule(f).state).toBe('DISABLED');
    expect(rule(f).tags['batchctl:paused']).toMatch(/^down-endpoints /);
    // The pause came before the first endpoint went.
    const ops = f.core.mutatingCalls().map((c) => c.op);
    expect(ops.indexOf('DisableRule')).toBeLessThan(ops.indexOf('DeleteVpcEndpoints'));
    expect(rule(f, 'sample-batch-report').tags['batchctl:paused']).toBe(userMark);

    const st = await status(s);
    expect(st.jobs.map((j) => [j.job, j.schedule.paused?.reason])).toEqual([
      ['lister', 'endpoints'],
      ['report', 'user'],
    ]);
    const p = await plan(s);
    expect(p.entries.find((e) => e.key === 'schedule-rule')?.changes).toEqual([
      { field: 'state', from: 'DISABLED', to: 'ENABLED' },
      { field: 'paused', from: expect.stringMatching(/^down-endpoints /), to: undefined },
    ]);

    f.core.resetCalls();
    await upOn(s);
    const order = f.core
      .mutatingCalls()
      .map((c) => `${c.op}:${JSON.stringify(c.input).includes('sample-batch-report') ? 'report' : ''}`);
    expect(order.indexOf('PutRule:')).toBeGreaterThan(order.lastIndexOf('CreateVpcEndpoint:'));
    expect(order.indexOf('UntagResource:')).toBeLessThan(order.indexOf('PutRule:'));
    expect(rule(f).state).toBe('ENABLED');
    expect(rule(f).tags['batchctl:paused']).toBeUndefined();
    expect(rule(f, 'sample-batch-report')).toMatchObject({ state: 'DISABLED' });
    expect(rule(f, 'sample-batch-report').tags['batchctl:paused']).toBe(userMark);
    // And a second down --endpoints leaves the user's mark as it is.
    await downEndpoints(s);
    expect(rule(f, 'sample-batch-report').tags['batchctl:paused']).toBe(userMark);
  });

  it("pause while the endpoints are down makes the pause the user's: the up that restores them keeps it", async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    await downEndpoints(s);
    expect(await cli(s, 'pause')).toBe(0);
    expect(rule(f).tags['batchctl:paused']).toMatch(/^user /);
    await upOn(s);
    expect(rule(f)).toMatchObject({ state: 'DISABLED', tags: { 'batchctl:paused': expect.stringMatching(/^user /) } });
    expect([...f.ec2.endpoints.values()].filter((e) => e.type === 'Interface' && e.state === 'available')).toHaveLength(
      4,
    );
    // Resuming while the endpoints are down is allowed, with a warning.
    await cli(s, 'resume');
    await downEndpoints(s);
    expect(await cli(s, 'resume')).toBe(0);
    expect(err()).toMatch(
      /^warning: job sample-batch was paused by down --endpoints: its runs fail until `batchctl up` restores the endpoints/,
    );
    expect(rule(f).state).toBe('ENABLED');
  });

  it('the scheduler engine records the pause in the description (schedules take no tags); up keeps it, resume lifts it in one call', async () => {
    vi.useFakeTimers({
      now: Date.parse('2026-11-28T00:00:00Z'),
      toFake: ['setTimeout', 'clearTimeout', 'Date', 'setInterval', 'clearInterval'],
    });
    const f = fresh();
    const s = scratch();
    setEngine(s, 'scheduler');
    await settleWithFakeTimers(upOn(s));
    // The mark names when it was paused (up waited for the endpoints meanwhile, on fake time).
    const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    expect(await cli(s, 'pause')).toBe(0);
    expect(schedule(f).def.State).toBe('DISABLED');
    expect(schedule(f).def.Description).toBe(
      `Runs the sample-batch task (batchctl stack sample-batch) [batchctl:paused user ${at} arn:aws:iam::123456789012:user/tester]`,
    );
    f.core.resetCalls();
    await settleWithFakeTimers(upOn(s));
    expect(f.core.mutatingCalls()).toEqual([]);
    // A config change to the schedule keeps the pause.
    s.editConfig((t) => t.replace('cron(30 * * * ? *)', 'cron(0 2 * * ? *)'));
    await settleWithFakeTimers(upOn(s));
    expect(schedule(f).def).toMatchObject({
      State: 'DISABLED',
      ScheduleExpression: 'cron(0 2 * * ? *)',
      Description: expect.stringContaining('[batchctl:paused user '),
    });
    expect((await status(s)).jobs[0]!.schedule).toMatchObject({ enabled: false, paused: { reason: 'user', at } });
    f.core.resetCalls();
    expect(await cli(s, 'resume')).toBe(0);
    expect(f.core.mutatingCalls().map((c) => c.op)).toEqual(['UpdateSchedule']);
    expect(schedule(f).def).toMatchObject({
      State: 'ENABLED',
      Description: 'Runs the sample-batch task (batchctl stack sample-batch)',
    });

    // down --endpoints, then up: paused and resumed the same way.
    await settleWithFakeTimers(downEndpoints(s));
    expect(schedule(f).def.Description).toMatch(/\[batchctl:paused down-endpoints /);
    await settleWithFakeTimers(upOn(s));
    expect(schedule(f).def).toMatchObject({
      State: 'ENABLED',
      Description: 'Runs the sample-batch task (batchctl stack sample-batch)',
    });
  });

  it('lost responses: the tag and the state changes are idempotent, resent by the SDK, applied once', async () => {
    vi.useFakeTimers({
      now: Date.parse('2026-11-28T00:00:00Z'),
      toFake: ['setTimeout', 'clearTimeout', 'Date', 'setInterval', 'clearInterval'],
    });
    const f = fresh();
    const s = scratch();
    await settleWithFakeTimers(upOn(s));
    f.core.loseResponse('TagResource');
    f.core.loseResponse('DisableRule', { status: 503 });
    expect(await settleWithFakeTimers(cli(s, 'pause'))).toBe(0);
    expect(rule(f)).toMatchObject({ state: 'DISABLED', tags: { 'batchctl:paused': expect.stringMatching(/^user /) } });
    f.core.loseResponse('UntagResource');
    f.core.loseResponse('EnableRule');
    expect(await settleWithFakeTimers(cli(s, 'resume'))).toBe(0);
    expect(rule(f).state).toBe('ENABLED');
    expect(rule(f).tags['batchctl:paused']).toBeUndefined();
  });

  it('a plan saved before a pause is refused: the schedule moved since', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    s.editConfig((t) => t.replace('cron(30 * * * ? *)', 'cron(0 3 * * ? *)'));
    const saved = join(s.dir, 'plan.json');
    expect(await cli(s, 'plan', '--out', saved)).toBe(0);
    expect(await cli(s, 'pause')).toBe(0);
    f.core.resetCalls();
    expect(await cli(s, 'up', '--yes', saved)).toBe(2);
    expect(err()).toMatch(/schedule-rule: paused/);
    expect(f.core.mutatingCalls()).toEqual([]);
    expect(rule(f)).toMatchObject({ state: 'DISABLED', scheduleExpression: 'cron(30 * * * ? *)' });
  });

  it('a paused job whose schedule engine switches stays paused: the mark moves to the new rule or schedule', async () => {
    vi.useFakeTimers({
      now: Date.parse('2026-11-28T00:00:00Z'),
      toFake: ['setTimeout', 'clearTimeout', 'Date', 'setInterval', 'clearInterval'],
    });
    const f = fresh();
    const s = scratch();
    await settleWithFakeTimers(upOn(s));
    await cli(s, 'pause');
    const mark = rule(f).tags['batchctl:paused'];
    setEngine(s, 'scheduler');
    const switched = await settleWithFakeTimers(upOn(s));
    expect(switched.reporter.warnings).toContainEqual(
      expect.stringMatching(/^schedule: paused by .* \(batchctl pause\)/),
    );
    expect(f.eventBridge.rules.has('sample-batch')).toBe(false);
    expect(schedule(f).def).toMatchObject({
      State: 'DISABLED',
      Description: expect.stringContaining(`[batchctl:paused ${mark}]`),
    });
    setEngine(s, 'rule');
    await settleWithFakeTimers(upOn(s));
    expect(f.scheduler.schedules.size).toBe(0);
    expect(rule(f)).toMatchObject({ state: 'DISABLED', tags: { 'batchctl:paused': mark } });
    f.core.resetCalls();
    await settleWithFakeTimers(upOn(s));
    expect(f.core.mutatingCalls()).toEqual([]);
  });

  it('a schedule that does not exist yet, a job that does not exist: exit 2 with a hint', async () => {
    fresh();
    const s = scratch();
    expect(await cli(s, 'pause')).toBe(2);
    expect(err()).toMatch(/error: the schedule does not exist yet\nhint: run `batchctl up` first/);
    expect(await cli(s, 'pause', 'nope')).toBe(2);
    expect(err()).toMatch(/has no job named "nope"/);
  });
});

describe('stop', () => {
  it("stops the job's running tasks with a reason naming batchctl and the caller; --yes is required off a terminal", async () => {
    const f = fresh();
    const s = scratch();
    twoJobs(s);
    await upOn(s);
    f.ecr.addImage('sample-batch', 'latest');
    f.ecr.addImage('sample-batch', 'report');
    f.ecs.taskTimings = { provisioningMs: 0, pendingMs: 0, runningMs: 3_600_000 };
    expect(await cli(s, 'stop')).toBe(0);
    expect(out()).toBe('Nothing of stack sample-batch is running.\n');
    expect(await cli(s, 'run-now', 'lister', '--no-wait')).toBe(0);
    expect(await cli(s, 'run-now', 'report', '--no-wait')).toBe(0);
    f.core.resetCalls();
    expect(await cli(s, 'stop', 'lister')).toBe(2);
    expect(err()).toMatch(
      /^error: stop needs --yes when not on a terminal \(it would stop 1 running task\)\n {4}lister +\w+ {2}RUNNING +run-now/,
    );
    expect(f.core.mutatingCalls()).toEqual([]);
    expect(await cli(s, 'stop', 'lister', '--yes')).toBe(0);
    expect(out()).toMatch(
      /^Stopping lister task \w+ \(RUNNING, run-now\)\nReason given to ECS: "Stopped by batchctl stop \(arn:aws:iam::123456789012:user\/tester\)"/,
    );
    const tasks = [...f.ecs.tasks.values()];
    expect(tasks.find((t) => t.family === 'sample-batch')).toMatchObject({
      stopReason: 'Stopped by batchctl stop (arn:aws:iam::123456789012:user/tester)',
    });
    expect(tasks.find((t) => t.family === 'sample-batch-report')!.stopRequestedAt).toBeUndefined();
    expect(await cli(s, 'stop', '--yes', '--json')).toBe(0);
    expect(JSON.parse(out())).toMatchObject({ ok: true, tasks: [{ job: 'report', trigger: 'run-now' }] });
  });
});

describe('deploy by digest and rollback', () => {
  it('before the first deploy up runs the tag (not pinned); deploy pins the digest, the same digest again makes no revision, rollback restores the previous', async () => {
    const f = fresh();
    const s = scratch();
    pinDigest(s);
    const first = await upOn(s);
    // No image yet: the tag, flagged as not pinned.
    expect(live(f).image).toBe(`${REPO}:latest`);
    expect(first.reporter.warnings.join('\n')).toMatch(
      /task-definition: runs .*sample-batch:latest, not pinned to a digest yet/,
    );

    expect(await cli(s, 'deploy')).toBe(2);
    expect(err()).toMatch(
      /^error: no image tagged latest in .*sample-batch \(the repository has no tagged image\)\nhint: push the image first/,
    );
    const a = f.ecr.addImage('sample-batch', 'latest');
    f.ecr.addImage('sample-batch', 'v1');
    expect(await cli(s, 'deploy', '--tag', 'v0')).toBe(2);
    expect(err()).toMatch(
      /^error: no image tagged v0 in .*\n {2}recent tags \(newest first\):\n {4}(v1|latest) .*\n {4}(v1|latest) /,
    );

    f.core.resetCalls();
    expect(await cli(s, 'deploy')).toBe(0);
    expect(out()).toMatch(
      new RegExp(`^Deployed sample-batch: ${REPO}@${a} \\(tag latest\\) as sample-batch:2 \\(was ${REPO}:latest\\)`),
    );
    expect(live(f)).toMatchObject({ image: `${REPO}@${a}`, revisions: 2 });
    expect(f.core.mutatingCalls().map((c) => c.op)).toEqual(['RegisterTaskDefinition']);
    // The state records what was deployed: the next plan needs no DescribeTaskDefinition.
    expect(JSON.parse(readFileSync(s.statePath, 'utf8')).resources['task-definition'].attrs.image).toBe(`${REPO}@${a}`);
    f.core.resetCalls();
    expect((await plan(s)).pending).toBe(false);
    expect(f.core.count({ op: 'DescribeTaskDefinition' })).toBe(0);

    // The same digest again: no revision.
    f.core.resetCalls();
    expect(await cli(s, 'deploy')).toBe(0);
    expect(out()).toMatch(/^sample-batch: already runs .* \(tag latest\): no new revision/);
    expect(f.core.mutatingCalls()).toEqual([]);

    // A push over the tag: status says it moved; up does not move the image; deploy does.
    const b = f.ecr.addImage('sample-batch', 'latest');
    expect((await status(s)).jobs[0]!.image).toMatchObject({
      pin: 'digest',
      reference: `${REPO}@${a}`,
      deployedDigest: a,
      repository: REPO,
      tag: 'latest',
      tagDigest: b,
      tagMoved: true,
    });
    f.core.resetCalls();
    await upOn(s);
    expect(f.core.mutatingCalls()).toEqual([]);
    expect(await cli(s, 'deploy')).toBe(0);
    expect(live(f)).toMatchObject({ image: `${REPO}@${b}`, revisions: 3 });
    expect((await status(s)).jobs[0]!.image).toMatchObject({ deployedDigest: b, tagMoved: false });

    // up after a cpu change: a new revision, the deployed digest kept.
    s.editConfig((t) => t.replace('cpu: 2048', 'cpu: 1024').replace('memory: 8192', 'memory: 4096'));
    await upOn(s);
    expect(live(f)).toMatchObject({ image: `${REPO}@${b}`, revisions: 4, cpu: '1024' });

    // rollback: the latest earlier revision whose image differs (revision 2, a), as a new revision.
    f.core.resetCalls();
    expect(await cli(s, 'rollback')).toBe(0);
    expect(out()).toMatch(
      new RegExp(`^Rolled back sample-batch: ${REPO}@${a} as sample-batch:5 \\(was ${b.slice(0, 19)}\\)`),
    );
    expect(live(f)).toMatchObject({ image: `${REPO}@${a}`, revisions: 5, cpu: '1024' });
    expect(f.core.mutatingCalls().map((c) => c.op)).toEqual(['RegisterTaskDefinition']);
    // Twice: back to b. up keeps whatever was rolled back to.
    expect(await cli(s, 'rollback')).toBe(0);
    expect(live(f).image).toBe(`${REPO}@${b}`);
    f.core.resetCalls();
    await upOn(s);
    expect(f.core.mutatingCalls()).toEqual([]);

    // --digest deploys exactly that image; one that is not in the repository is refused.
    expect(await cli(s, 'deploy', '--digest', a)).toBe(0);
    expect(live(f).image).toBe(`${REPO}@${a}`);
    expect(await cli(s, 'deploy', '--digest', `sha256:${'0'.repeat(64)}`)).toBe(2);
    expect(err()).toMatch(/^error: no image sha256:0+ in /);
  });

  it("with an image already pushed, the first up pins the tag's digest; a rollback whose image was deleted is refused", async () => {
    const f = fresh();
    const s = scratch();
    pinDigest(s);
    await upOn(s);
    const a = f.ecr.addImage('sample-batch', 'latest');
    // The first up after the image exists pins it: the same image the tag runs now, frozen.
    expect((await plan(s)).entries.find((e) => e.key === 'task-definition')?.changes).toEqual([
      { field: 'containerDefinitions.batch.image', from: `${REPO}:latest`, to: `${REPO}@${a}` },
    ]);
    await upOn(s);
    expect(live(f).image).toBe(`${REPO}@${a}`);
    expect(await cli(s, 'rollback')).toBe(2);
    expect(err()).toMatch(
      /no earlier deployed image: every revision of sample-batch runs .* \(or names its image by tag\)/,
    );
    const b = f.ecr.addImage('sample-batch', 'latest');
    await cli(s, 'deploy');
    expect(live(f).image).toBe(`${REPO}@${b}`);
    const repo = f.ecr.repositories.get('sample-batch')!;
    repo.images = repo.images.filter((i) => i.digest !== a);
    f.core.resetCalls();
    expect(await cli(s, 'rollback')).toBe(2);
    expect(err()).toMatch(new RegExp(`the previous image of job sample-batch, ${REPO}@${a}, is no longer in `));
    expect(f.core.mutatingCalls()).toEqual([]);
  });

  it('several jobs: deploy one job, the other keeps its image; --tag needs the job named', async () => {
    const f = fresh();
    const s = scratch();
    pinDigest(s);
    twoJobs(s);
    const a = f.ecr.addImage.bind(f.ecr);
    await upOn(s);
    const latest = a('sample-batch', 'latest');
    const report = a('sample-batch', 'report');
    await upOn(s);
    expect([live(f).image, live(f, 'sample-batch-report').image]).toEqual([`${REPO}@${latest}`, `${REPO}@${report}`]);
    const report2 = a('sample-batch', 'report');
    a('sample-batch', 'latest');
    expect(await cli(s, 'deploy', '--tag', 'report')).toBe(2);
    expect(err()).toMatch(
      /--tag names one image, and stack sample-batch has 2 jobs\nhint: name the job: batchctl deploy <job> --tag report/,
    );
    f.core.resetCalls();
    expect(await cli(s, 'deploy', 'report')).toBe(0);
    expect(live(f, 'sample-batch-report').image).toBe(`${REPO}@${report2}`);
    expect(live(f).image).toBe(`${REPO}@${latest}`);
    expect(f.core.mutatingCalls().map((c) => `${c.op} ${(c.input as { family: string }).family}`)).toEqual([
      'RegisterTaskDefinition sample-batch-report',
    ]);
    expect(await cli(s, 'rollback')).toBe(2);
    expect(err()).toMatch(/has 2 jobs: name the one to act on \(batchctl rollback <job>\)/);
    expect(await cli(s, 'rollback', 'report')).toBe(0);
    expect(live(f, 'sample-batch-report').image).toBe(`${REPO}@${report}`);
  });

  it('a job that runs its image by tag refuses deploy and rollback (exit 2, nothing written)', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    f.ecr.addImage('sample-batch', 'latest');
    f.core.resetCalls();
    expect(await cli(s, 'deploy')).toBe(2);
    expect(err()).toMatch(
      /^error: job sample-batch runs its image by tag \(task.imagePin: tag, the default when the key is left out\)/,
    );
    expect(await cli(s, 'rollback')).toBe(2);
    expect(f.core.mutatingCalls()).toEqual([]);
  });

  it('a lost RegisterTaskDefinition response: one revision, adopted', async () => {
    const f = fresh();
    const s = scratch();
    pinDigest(s);
    await upOn(s);
    const a = f.ecr.addImage('sample-batch', 'latest');
    f.core.resetCalls();
    f.core.loseResponse('RegisterTaskDefinition');
    expect(await cli(s, 'deploy')).toBe(0);
    expect(live(f)).toMatchObject({ image: `${REPO}@${a}`, revisions: 2 });
    expect(f.core.count({ op: 'RegisterTaskDefinition' })).toBe(1);
  });

  it('push --deploy deploys the digest the registry reported to the jobs that run the image', async () => {
    const f = fresh();
    const s = scratch();
    pinDigest(s);
    await upOn(s);
    const digest = `sha256:${'b'.repeat(64)}`;
    const bin = mkdtempSync(join(tmpdir(), 'docker-'));
    writeFileSync(
      join(bin, 'docker'),
      `#!${process.execPath}
const argv = process.argv.slice(2);
if (argv.includes('--password-stdin')) require('node:fs').readFileSync(0);
if (argv[0] === 'push') process.stdout.write(argv[1].split(':').pop() + ': digest: ${digest} size: 1\\n');
`,
    );
    chmodSync(join(bin, 'docker'), 0o755);
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      s.editConfig((t) => t.replace(/^task:\n/m, 'task:\n  build: { context: . }\n'));
      expect(await cli(s, 'push', '--deploy')).toBe(0);
    } finally {
      process.env.PATH = path;
    }
    expect(out()).toMatch(
      new RegExp(
        `^pushed ${REPO}:latest@${digest}\nDeployed sample-batch: ${REPO}@${digest} \\(tag latest\\) as sample-batch:2`,
      ),
    );
    expect(live(f).image).toBe(`${REPO}@${digest}`);
  });
});

describe('a stack without task.imagePin', () => {
  it('keeps running its tag: an image pushed since changes nothing, plan and up write nothing', async () => {
    const f = fresh();
    const s = scratch();
    expect(readFileSync(s.configPath, 'utf8')).not.toMatch(/imagePin/);
    await upOn(s);
    f.ecr.addImage('sample-batch', 'latest');
    f.core.resetCalls();
    expect((await plan(s)).pending).toBe(false);
    await upOn(s);
    expect(f.core.mutatingCalls()).toEqual([]);
    // Nor does it look images up to pin them: the tag is all it needs (the one read per command is the missing-image
    // check's).
    expect(f.core.count({ op: 'DescribeImages' })).toBe(2);
    expect(live(f).image).toBe(`${REPO}:latest`);
  });
});
