/**
 * `jobs:` in the config: defaults merged into each job, names resolved per job, and every problem of
 * every job reported at once with its line, where its value comes from (the job, or the top level it
 * inherits).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { DEFAULT_CONFIG_PATH } from '../helpers/ctx.js';
import { ConfigError } from '../../src/base/errors.js';

const NO_ENV = { env: {} };
/** The repository's config without the names that belong to an original job. */
const base = readFileSync(DEFAULT_CONFIG_PATH, 'utf8')
  .replace('  family: sample-batch\n', '')
  .replace(/^schedule:\n  name: sample-batch\n/m, 'schedule:\n');
const load = (text: string) => parseConfigText(text, 'batch.config.yaml', NO_ENV);

/** The `file:line:col  path  message` lines of a config expected to be refused. */
function problems(text: string): string[] {
  try {
    load(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).details;
  }
  throw new Error('expected a ConfigError');
}

/** The line (1-based) of the first line of `text` containing `needle`. */
const lineOf = (text: string, needle: string, from = 0) =>
  text.split('\n').findIndex((l, i) => i >= from && l.includes(needle)) + 1;

describe('jobs: resolved', () => {
  it('deep-merges the top-level task, schedule and iam into each job; names are <stack>-<job>', () => {
    const c = load(
      `${base}\njobs:\n  lister: {}\n  report:\n    schedule: { expression: cron(0 1 * * ? *), timezone: Asia/Tokyo }\n` +
        '    task: { cpu: 512, memory: 1024, command: [node, dist/report.js], environment: { MODE: report } }\n    iam: { bucketAccess: read-write }\n',
    );
    expect(c.jobs.map((j) => j.name)).toEqual(['lister', 'report']);
    const [lister, report] = c.jobs;
    expect(lister).toMatchObject({
      original: false,
      streamPrefix: 'lister',
      task: { family: 'sample-batch-lister', cpu: 2048, memory: 8192, command: ['node', 'dist/main.js'] },
      schedule: {
        name: 'sample-batch-lister',
        expression: 'cron(30 * * * ? *)',
        engine: 'rule',
        retry: { maximumRetryAttempts: 10 },
      },
      iam: {
        taskRoleName: 'sample-batch-lister-task',
        eventsRoleName: 'sample-batch-lister-events',
        bucketAccess: 'read',
      },
    });
    // A job that sets only some keys keeps the others (the retry policy, the container name, the image tag).
    expect(report).toMatchObject({
      task: {
        family: 'sample-batch-report',
        cpu: 512,
        memory: 1024,
        command: ['node', 'dist/report.js'],
        containerName: 'batch',
        imageTag: 'latest',
        environment: { MODE: 'report' },
      },
      schedule: {
        name: 'sample-batch-report',
        expression: 'cron(0 1 * * ? *)',
        timezone: 'Asia/Tokyo',
        engine: 'scheduler',
        retry: { maximumEventAgeSeconds: 1800 },
      },
      iam: {
        taskRoleName: 'sample-batch-report-task',
        schedulerRoleName: 'sample-batch-report-scheduler',
        bucketAccess: 'read-write',
      },
    });
    // Shared: one execution role.
    expect(c.iam).toEqual({ executionRoleName: 'sample-batch-execution' });
  });

  it('the original job keeps the pre-jobs names, the top-level names and logs.streamPrefix; a job that is YAML null is {}', () => {
    const text = readFileSync(DEFAULT_CONFIG_PATH, 'utf8') + '\njobs:\n  lister: { original: true }\n  cleanup:\n';
    const [lister, cleanup] = load(text).jobs;
    expect(lister).toMatchObject({
      name: 'lister',
      original: true,
      streamPrefix: 'ecs',
      task: { family: 'sample-batch' },
      schedule: { name: 'sample-batch' },
      iam: { taskRoleName: 'sample-batch-task' },
    });
    expect(cleanup).toMatchObject({
      name: 'cleanup',
      original: false,
      streamPrefix: 'cleanup',
      task: { family: 'sample-batch-cleanup' },
    });
  });
});

describe('jobs: every problem at once, with its line', () => {
  it('unknown keys, bad job names, YAML duplicates, two originals, a shared role set per job', () => {
    const text = `${base}\njobs:\n  lister: { original: true }\n  Report_1:\n    task: { colour: red }\n  cleanup:\n    original: true\n    iam: { executionRoleName: mine }\n    when: daily\n`;
    expect(problems(text)).toEqual([
      `batch.config.yaml:${lineOf(text, 'Report_1')}:3  jobs.Report_1  "Report_1" is not a job name: 1-40 lowercase letters, digits and hyphens, starting and ending with a letter or digit`,
      `batch.config.yaml:${lineOf(text, 'colour')}:13  jobs.Report_1.task.colour  unknown key "colour" (allowed: family, cpu, memory, containerName, imageTag, image, imagePin, crossAccountImage, command, environment, secrets, cpuArchitecture, capacity, ephemeralStorageGiB, timeout, retries, build)`,
      `batch.config.yaml:${lineOf(text, 'original: true', lineOf(text, 'cleanup'))}:15  jobs.cleanup.original  only one job can be the stack's original job: lister already is`,
      `batch.config.yaml:${lineOf(text, 'executionRoleName: mine')}:12  jobs.cleanup.iam.executionRoleName  the execution role is shared by every job of the stack: set iam.executionRoleName at the top level`,
      `batch.config.yaml:${lineOf(text, 'when: daily')}:5  jobs.cleanup.when  unknown key "when" (allowed: original, task, schedule, iam)`,
    ]);
    const dup = `${base}\njobs:\n  lister: {}\n  report: {}\n  lister: { task: { cpu: 512 } }\n`;
    expect(problems(dup)).toEqual([
      `batch.config.yaml:${lineOf(dup, 'lister: { task')}:3  jobs.lister  duplicate key "lister": each key may appear only once in a mapping`,
    ]);
    expect(problems(`${base}\njobs: {}\n`)).toEqual([expect.stringMatching(/jobs {2}lists no job: add one/)]);
  });

  it('per-job cross-field rules, placed where each value is set: the job, or the top level it inherits', () => {
    const text =
      base.replace('  cpu: 2048\n', '  cpu: 3000\n') +
      '\njobs:\n  lister:\n    task: { cpu: 256 }\n  report:\n    schedule: { expression: cron(0 1 * * ? *), timezone: Asia/Tokyo, engine: rule }\n' +
      '  weekly:\n    schedule: { expression: cron(0 0 30 2 ? *) }\n    task: { cpu: 1024 }\n  nightly:\n    schedule: { expression: cron(0 2 * * ? *), timezone: Mars/Olympus }\n';
    expect(problems(text)).toEqual([
      // Inherited by report and nightly only (lister and weekly set their own cpu).
      `batch.config.yaml:${lineOf(text, 'cpu: 3000')}:8  task.cpu  3000 is not a Fargate CPU value: expected one of 256, 512, 1024, 2048, 4096, 8192 or 16384 (inherited by jobs report and nightly)`,
      // The top-level memory with the job's cpu: shown at the memory it inherits, naming the job.
      `batch.config.yaml:${lineOf(text, 'memory: 8192')}:11  task.memory  memory 8192 is not valid with cpu 256 on Fargate: expected 512, 1024 or 2048 (8192 MiB fits cpu 1024, 2048 or 4096) (inherited by job lister)`,
      `batch.config.yaml:${lineOf(text, 'Asia/Tokyo, engine: rule')}:58  jobs.report.schedule.timezone  EventBridge rules run in UTC; use engine: scheduler or remove the time zone`,
      `batch.config.yaml:${lineOf(text, 'cron(0 0 30 2')}:29  jobs.weekly.schedule.expression  cron(0 0 30 2 ? *) never fires: no calendar date matches its day and month fields (e.g. day 30 or 31 in FEB)`,
      `batch.config.yaml:${lineOf(text, 'Mars/Olympus')}:58  jobs.nightly.schedule.timezone  unknown IANA time zone "Mars/Olympus" (e.g. UTC, Asia/Tokyo)`,
    ]);
    // A default value with the job's own: the job is where the pair is wrong.
    const dflt = base.replace('  memory: 8192\n', '') + '\njobs:\n  lister:\n    task: { cpu: 256 }\n';
    expect(problems(dflt)).toEqual([
      `batch.config.yaml:${lineOf(dflt, 'task: { cpu: 256 }')}:5  jobs.lister.task.memory  memory 8192 (the default) is not valid with cpu 256 on Fargate: expected 512, 1024 or 2048 (8192 MiB fits cpu 1024, 2048 or 4096)`,
    ]);
  });

  it("names: too long for IAM with the job's name, shared by two jobs, or kept for an original job that is not there", () => {
    const long = 'a-rather-long-stack-name-of-30x';
    const text =
      base
        .replace('stack: sample-batch', `stack: ${long}`)
        .replace('name: sample-batch\n  scanOnPush', 'name: repo\n  scanOnPush') +
      '\njobs:\n  nightly-report-generator:\n    schedule: { timezone: Asia/Tokyo }\n  a:\n    task: { family: shared }\n  b:\n    task: { family: shared }\n    iam: { taskRoleName: shared-task }\n  c:\n    iam: { taskRoleName: shared-task }\n';
    const got = problems(text).filter((p) => p.includes('jobs.'));
    expect(got).toEqual([
      `batch.config.yaml:${lineOf(text, 'nightly-report-generator')}:3  jobs.nightly-report-generator  the default Scheduler role name "${long}-nightly-report-generator-scheduler" must be 1-64 characters (got 66); set iam.schedulerRoleName in this job, or use a shorter job name`,
      `batch.config.yaml:${lineOf(text, 'family: shared', lineOf(text, '  b:'))}:21  jobs.b.task.family  task definition family "shared" is also job a's: every job needs its own`,
      `batch.config.yaml:${lineOf(text, 'taskRoleName: shared-task', lineOf(text, '  c:'))}:26  jobs.c.iam.taskRoleName  task role name "shared-task" is also job b's: every job needs its own`,
    ]);
    // Names in the top-level sections belong to an original job.
    const kept = `${readFileSync(DEFAULT_CONFIG_PATH, 'utf8')}\njobs:\n  lister: {}\n`;
    expect(problems(kept)).toEqual([
      `batch.config.yaml:${lineOf(kept, '  family: sample-batch')}:3  task.family  names the stack's original job's task definition family, and no job is marked original: true; mark the job that keeps it, or set it in a job`,
      `batch.config.yaml:${lineOf(kept, '  name: sample-batch', lineOf(kept, 'schedule:'))}:3  schedule.name  names the stack's original job's rule or schedule name, and no job is marked original: true; mark the job that keeps it, or set it in a job`,
    ]);
  });

  it("two jobs building different images must push them under different tags; a job named like the original's stream prefix is refused", () => {
    const text = `${base}\njobs:\n  lister: {}\n  report:\n    task: { build: { context: report } }\n`;
    expect(problems(text)).toEqual([
      `batch.config.yaml:${lineOf(text, 'build: { context')}:20  jobs.report.task.build  builds another image than job lister under the same tag latest of the stack's repository: pushing one would replace the other; give this job its own task.imageTag`,
    ]);
    expect(
      load(text.replace('{ build: { context: report } }', '{ build: { context: report }, imageTag: report }')).jobs[1]!
        .task.build,
    ).toEqual({ context: 'report' });
    const prefix = `${readFileSync(DEFAULT_CONFIG_PATH, 'utf8')}\njobs:\n  lister: { original: true }\n  ecs: {}\n`;
    expect(problems(prefix)).toEqual([
      `batch.config.yaml:${lineOf(prefix, '  ecs: {}')}:3  jobs.ecs  its log streams would be prefixed ecs/, as job lister's (the original job's logs.streamPrefix): rename the job or change logs.streamPrefix`,
    ]);
  });
});
