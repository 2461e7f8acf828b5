/**
 * Messages that used to contradict each other or the README, each pinned as it reads now: what
 * `down --endpoints` does to the schedules (cost says it as down does), the image step named the same
 * everywhere (`push --deploy` for a pinned job), the no-op `up` the README promises, the `up` that
 * restores the endpoints (it resumes; it does not warn "paused"), status after `deploy --tag`, down's
 * refusal to delete data (once, and the README names --force).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { scratch, type Scratch } from '../helpers/stack.js';
import { ROOT } from '../helpers/ctx.js';
import { captureCli } from '../helpers/cli.js';

const io = captureCli();
const { out, err } = io;
let fake: FakeAws;
beforeEach(() => {
  fake = createFakeAws();
});
afterEach(() => fake.uninstall());

/** The repository's own config: the sample stack, its job pinned by digest (task.imagePin: digest). */
const sample = () => scratch(readFileSync(join(ROOT, 'batch.config.yaml'), 'utf8'));
const cli = (s: Scratch, ...args: string[]) => io.run('-c', s.configPath, '--state', s.statePath, ...args);
const readme = () => readFileSync(join(ROOT, 'README.md'), 'utf8');

describe('down --endpoints and the schedules', () => {
  it('cost says the schedules are paused meanwhile (no run fails), as down --endpoints does', async () => {
    const s = sample();
    expect(await cli(s, 'cost', '--duration', '5m')).toBe(0);
    expect(out.join('')).toContain(
      'batchctl down --endpoints saves $0.112/h ($81.76/month) while the endpoints are down; it pauses the schedules meanwhile (no run fails), and the `batchctl up` that restores the endpoints resumes them.',
    );
    expect(out.join('')).not.toMatch(/runs fail until/);
  });

  it('the up that restores the endpoints resumes the schedule without warning that it is paused', async () => {
    const s = sample();
    expect(await cli(s, 'up', '--yes')).toBe(0);
    expect(await cli(s, 'down', '--yes', '--endpoints')).toBe(0);
    expect(out.join('')).toContain(
      'Paused the schedule of sample-batch (runs would fail without the endpoints): the `batchctl up` that restores the endpoints resumes it',
    );
    expect(await cli(s, 'up', '--yes')).toBe(0);
    expect(err.join('')).not.toContain('paused by down --endpoints');
    expect(out.join('')).toMatch(/^updated +EventBridge rule +schedule-rule +sample-batch +\(state, paused\)$/m);
    expect(out.join('')).toMatch(/Done: 4 created, 1 updated, 38 unchanged in /);
    expect([...fake.eventBridge.rules.values()][0]!.state).toBe('ENABLED');
  });
});

describe('the image step', () => {
  it('a job pinned by digest is told `batchctl push --deploy` by plan and up, as init and the README say', async () => {
    const s = sample();
    expect(await cli(s, 'plan')).toBe(0);
    expect(out.join('')).toContain('will fail until you run `batchctl push --deploy` after `batchctl up`');
    expect(await cli(s, 'up', '--yes')).toBe(0);
    expect(out.join('')).toMatch(/will fail until you run `batchctl push --deploy`\n$/);
    expect(readme()).toContain('batchctl push --deploy');
  });

  it('the no-op up the README shows: one line once the image is pushed and deployed', async () => {
    const s = sample();
    expect(await cli(s, 'up', '--yes')).toBe(0);
    fake.ecr.addImage('sample-batch', 'latest');
    expect(await cli(s, 'deploy')).toBe(0);
    expect(await cli(s, 'up', '--yes')).toBe(0);
    const printed = [...out, ...err].join('');
    expect(printed).toMatch(
      /^No changes: stack sample-batch in ap-northeast-1 \(account 123456789012\) is up to date, 43 resources unchanged in [\d.]+s\n$/,
    );
    expect(readme()).toMatch(/run it again with nothing to change, and it says so in one line/);
  });
});

describe('status after deploy --tag', () => {
  it('names the tag deployed; the config\'s tag is "another image", never "moved since"', async () => {
    const s = sample();
    expect(await cli(s, 'up', '--yes')).toBe(0);
    fake.ecr.addImage('sample-batch', 'latest');
    const v1 = fake.ecr.addImage('sample-batch', 'v1');
    expect(await cli(s, 'deploy', '--tag', 'v1')).toBe(0);
    expect(await cli(s, 'status')).toBe(0);
    const images = out.join('').split('Images:\n')[1]!.split('\n\n')[0]!;
    expect(images).toContain(`${v1.slice(0, 19)} (deployed, tag v1)`);
    expect(images).toMatch(/tag latest is another image: sha256:[0-9a-f]{12} \(batchctl deploy runs it\)/);
    expect(images).not.toContain('moved');
  });
});

describe('down with data', () => {
  it('says its refusal once; the README names --force', async () => {
    const s = sample();
    expect(await cli(s, 'up', '--yes')).toBe(0);
    fake.ecr.addImage('sample-batch', 'latest');
    expect(await cli(s, 'down', '--yes')).toBe(2);
    expect(err.join('')).toBe(
      [
        'error: ECR repository sample-batch holds 1 image: pass --force to delete them with it',
        'hint: nothing was deleted; copy what you need first, or pass --force',
        '',
      ].join('\n'),
    );
    expect(readme()).toMatch(/down --force/);
  });
});
