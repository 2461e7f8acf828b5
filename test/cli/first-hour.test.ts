/**
 * The README's first command, `npm ci && npm run demo`: the first hour end to end on the simulated AWS,
 * with no AWS variable, no credentials and no docker: exit 0, every step the real built CLI, the job run
 * once (the sample job's own code, its log and exit code), and nothing left behind.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/ctx.js';
import { withEnv } from '../helpers/env.js';
import { runFirstHour, STACK } from '../fake-aws/first-hour.js';

describe('npm run demo', () => {
  it("is the README's first command, and the script runs the first hour", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme.match(/```sh\n([^`]*)```/)?.[1]).toBe('npm ci && npm run demo\n');
    expect(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.demo).toBe(
      'node --import tsx test/fake-aws/first-hour.ts',
    );
  });

  it('runs the first hour with no AWS variable, no credentials and no docker: exit 0, the job ran once', async () => {
    const noDocker = mkdtempSync(join(tmpdir(), 'no-docker-'));
    const aws = Object.fromEntries(
      Object.keys(process.env)
        .filter((k) => k.startsWith('AWS_'))
        .map((k) => [k, undefined]),
    );
    let text = '';
    const hour = await withEnv({ ...aws, PATH: noDocker, HOME: noDocker }, () =>
      runFirstHour({
        out: (t) => {
          text += t;
        },
      }),
    );
    expect(hour.code, text.slice(-3000)).toBe(0);
    expect(hour.steps.map((s) => s.command)).toEqual([
      `batchctl init --stack ${STACK} --region ap-northeast-1`,
      'batchctl validate',
      'batchctl plan',
      'batchctl cost',
      'batchctl up --yes',
      'batchctl deploy',
      'batchctl run-now',
      'batchctl logs',
      'batchctl status',
      'batchctl down --yes --force',
    ]);
    expect(hour.steps.every((s) => s.code === 0)).toBe(true);
    // Real output of each step.
    expect(text).toContain('Plan: 43 to create, 0 to update, 0 to delete');
    expect(text).toMatch(/Total per month: \$90\.88/);
    // The stack's lock (a standard Parameter Store parameter, only while a command changes the stack): free.
    expect(text).toMatch(/^ {2}stack lock +SSM parameter, standard tier +\$0\.00$/m);
    expect(text).toMatch(/Done: 43 created, 0 updated, 0 unchanged in /);
    expect(text).toMatch(/^started task [0-9a-f]{32}$/m);
    // The sample job's own output, from the simulated S3: the object, then its summary line.
    expect(text).toMatch(
      /^reports\/2026-11\.csv\nstatus: RUNNING\nlisted 1 object|^reports\/2026-11\.csv\nlisted 1 object/m,
    );
    expect(text).toMatch(/exited with code 0 after/);
    expect(text).toMatch(/\d{2}:\d{2}:\d{2}\.\d{3} {2}[0-9a-f]{8} {2}listed 1 object/);
    expect(text).toContain('Done: 43 deleted in ');
    expect(text).toMatch(/the job ran once and exited 0/);
    // Once: one task, its container exited 0; and nothing of the stack is left.
    const tasks = [...hour.fake.ecs.tasks.values()];
    expect(tasks).toHaveLength(1);
    expect(tasks[0]!.exitCode).toBe(0);
    expect([...hour.fake.ecs.clusters.values()].filter((c) => c.status === 'ACTIVE')).toEqual([]);
    expect(hour.fake.ecr.repositories.size).toBe(0);
    expect(hour.fake.s3.buckets.size).toBe(0);
  }, 240_000);
});
