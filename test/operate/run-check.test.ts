/**
 * run-now refuses the runs it knows would fail before their container starts: the image missing from
 * its repository (CannotPullContainerError), and in network mode private-endpoints the interface
 * endpoints down after `down --endpoints` (ResourceInitializationError). Exit 2, nothing started, the
 * fix named; --force starts it anyway, with a warning.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { scratch, type Scratch } from '../helpers/stack.js';
import { ROOT } from '../helpers/ctx.js';
import { captureCli } from '../helpers/cli.js';

const io = captureCli();
const { err } = io;
let fake: FakeAws;
beforeEach(() => {
  fake = createFakeAws();
});
afterEach(() => fake.uninstall());

/** The repository's config: the sample stack in private-endpoints mode, its job pinned by digest. */
const sample = (edit: (t: string) => string = (t) => t) =>
  scratch(edit(readFileSync(join(ROOT, 'batch.config.yaml'), 'utf8')));
const cli = (s: Scratch, ...args: string[]) => io.run('-c', s.configPath, '--state', s.statePath, ...args);
const started = () => fake.core.count({ op: 'RunTask' }) + fake.core.count({ op: 'StartExecution' });

describe('run-now with the image missing', () => {
  it('exit 2, no task started, the push to run first; --force starts it with a warning', async () => {
    const s = sample();
    expect(await cli(s, 'up', '--yes')).toBe(0);
    expect(await cli(s, 'run-now')).toBe(2);
    expect(err.join('')).toBe(
      [
        'error: job sample-batch would fail before its container starts: its image sample-batch:latest is not in repository sample-batch: the task would stop with CannotPullContainerError',
        'hint: push it first: `batchctl push --deploy`; or pass --force to start it anyway',
        '',
      ].join('\n'),
    );
    expect(started()).toBe(0);
    expect(await cli(s, 'run-now', '--force', '--no-wait')).toBe(0);
    expect(err.join('')).toContain(
      'warning: starting job sample-batch anyway (--force), although its image sample-batch:latest is not in repository sample-batch',
    );
    expect(started()).toBe(1);
  });

  it('once pushed, it runs; a job run through its state machine is checked the same way', async () => {
    const s = sample((t) => t.replace('  # timeout: 15m ', '  timeout: 15m   '));
    expect(await cli(s, 'up', '--yes')).toBe(0);
    expect(await cli(s, 'run-now', '--no-wait')).toBe(2);
    expect(err.join('')).toContain('its image sample-batch:latest is not in repository sample-batch');
    expect(fake.core.count({ op: 'StartExecution' })).toBe(0);
    fake.ecr.addImage('sample-batch', 'latest');
    expect(await cli(s, 'run-now', '--no-wait')).toBe(0);
    expect(fake.core.count({ op: 'StartExecution' })).toBe(1);
  });
});

describe('run-now with the endpoints down (private-endpoints)', () => {
  it('exit 2 naming them and `batchctl up`; nothing started; --force starts it anyway', async () => {
    const s = sample();
    expect(await cli(s, 'up', '--yes')).toBe(0);
    fake.ecr.addImage('sample-batch', 'latest');
    expect(await cli(s, 'down', '--yes', '--endpoints')).toBe(0);
    fake.core.resetCalls();
    expect(await cli(s, 'run-now')).toBe(2);
    expect(err.join('')).toBe(
      [
        'error: job sample-batch would fail before its container starts: the interface endpoints ecr.api, ecr.dkr, logs, secretsmanager are down (`batchctl down --endpoints` removes them): in network mode private-endpoints the task could not pull its image nor read its secret, and would stop with ResourceInitializationError',
        'hint: restore them with `batchctl up` (which also resumes the schedules down --endpoints paused); or pass --force to start it anyway',
        '',
      ].join('\n'),
    );
    expect(started()).toBe(0);
    expect(fake.core.count({ op: 'DescribeVpcEndpoints' })).toBe(1);
    expect(await cli(s, 'run-now', '--force', '--no-wait')).toBe(0);
    expect(started()).toBe(1);
    // Restored: the check passes, and run-now starts the task.
    expect(await cli(s, 'up', '--yes')).toBe(0);
    expect(await cli(s, 'run-now', '--no-wait', '--allow-overlap')).toBe(0);
    expect(started()).toBe(2);
  });

  it('network mode public needs no endpoints: no EC2 call at all', async () => {
    const s = sample((t) => t.replace(/^ {2}mode: private-endpoints.*$/m, '  mode: public'));
    expect(await cli(s, 'up', '--yes')).toBe(0);
    fake.ecr.addImage('sample-batch', 'latest');
    fake.core.resetCalls();
    expect(await cli(s, 'run-now', '--no-wait')).toBe(0);
    expect(fake.core.count({ service: 'ec2' })).toBe(0);
    expect(started()).toBe(1);
  });
});
