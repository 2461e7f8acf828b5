/**
 * Quiet by default: a no-op `up` prints one summary line; `up` and `down` list only what changed (or
 * failed); `status` lists only the resources needing attention, with a count of the healthy ones; steps
 * never started after a failure collapse into one line per failed step. `--verbose` lists everything,
 * and `--json` always carries every resource.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  CloudWatchLogsClient,
  DeleteLogGroupCommand,
  PutRetentionPolicyCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { scratch, type Scratch } from '../helpers/stack.js';
import { captureCli } from '../helpers/cli.js';
import { killLeftovers, spawnOnPty } from '../helpers/pty.js';

const io = captureCli();
let fake: FakeAws;
beforeEach(() => {
  fake = createFakeAws();
});
afterEach(() => fake.uninstall());

const cli = (s: Scratch, ...args: string[]) => io.run('-c', s.configPath, '--state', s.statePath, ...args);
const lines = () => io.out.join('').trimEnd().split('\n');
const HEADING = 'batchctl up: stack sample-batch in ap-northeast-1 (account 123456789012)';

/** A stack that is up, with its image pushed (so nothing but the output under test is said). */
async function upAndPushed(s: Scratch): Promise<void> {
  expect(await cli(s, 'up', '--yes')).toBe(0);
  fake.ecr.addImage('sample-batch', 'latest');
}

describe('up', () => {
  it('no-op: one summary line naming the stack; --verbose: the heading, every resource, the counts', async () => {
    const s = scratch();
    await upAndPushed(s);
    expect(await cli(s, 'up', '--yes')).toBe(0);
    expect(lines()).toEqual([
      expect.stringMatching(
        /^No changes: stack sample-batch in ap-northeast-1 \(account 123456789012\) is up to date, 43 resources unchanged in \d+\.\ds$/,
      ),
    ]);
    expect(io.err.join('')).toBe('');

    expect(await cli(s, '--verbose', 'up', '--yes')).toBe(0);
    const all = lines();
    expect(all[0]).toBe(HEADING);
    expect(all.filter((l) => l.startsWith('unchanged '))).toHaveLength(43);
    expect(all.at(-1)).toMatch(/^Done: 0 created, 0 updated, 43 unchanged in /);
    // --json carries every resource whatever the verbosity.
    expect(await cli(s, '--json', 'up', '--yes')).toBe(0);
    expect(JSON.parse(io.out.join('')).resources).toHaveLength(43);
  });

  it('after one change: the heading, that change, the counts', async () => {
    const s = scratch();
    await upAndPushed(s);
    s.editConfig((t) => t.replace('retentionDays: 365', 'retentionDays: 30'));
    expect(await cli(s, 'up', '--yes')).toBe(0);
    expect(lines()).toEqual([
      HEADING,
      expect.stringMatching(/^updated +CloudWatch log group +log-group +\/ecs\/SampleBatch +\(retentionInDays\)$/),
      // The run history's group keeps the same retention.
      expect.stringMatching(
        /^updated +CloudWatch log group +history\/log-group +\/aws\/events\/batchctl\/sample-batch\/history +\(retentionInDays\)$/,
      ),
      expect.stringMatching(/^Done: 0 created, 2 updated, 41 unchanged in /),
    ]);
  });

  it('a failure: the steps that needed it collapse into one line; --verbose lists each', async () => {
    const s = scratch();
    fake.core.failOn('CreateVpc', 'VpcLimitExceeded', 1, 'The maximum number of VPCs has been reached.');
    expect(await cli(s, 'up', '--yes')).toBe(1);
    const out = lines();
    expect(out[0]).toBe(HEADING);
    expect(out).toContain(
      'failed     VPC                        vpc                                      vpc: create failed: VpcLimitExceeded: The maximum number of VPCs has been reached.',
    );
    expect(out.filter((l) => l.startsWith('skipped '))).toEqual([]);
    const doc = JSON.parse(readFileSync(s.statePath, 'utf8'));
    const collapsed = out.find((l) => l.includes('(failed)'))!;
    const n = Number(/^(\d+) steps not started: they need vpc \(failed\)$/.exec(collapsed)?.[1]);
    // Everything under the VPC: subnets, groups, route table, endpoints, the target (through the groups).
    expect(n).toBeGreaterThanOrEqual(15);
    expect(Object.keys(doc.resources)).not.toContain('subnet/batch/ap-northeast-1a');
    // The steps that did not need the VPC but were still to start: not started either, once it failed.
    const others = Number(
      /^(\d+) steps not started: nothing new starts once a step has failed$/.exec(
        out.find((l) => l.includes('nothing new starts'))!,
      )?.[1],
    );
    expect(out.at(-1)).toMatch(
      new RegExp(`^Failed: \\d+ created, 0 updated, 0 unchanged, 1 failed, ${n + others} skipped in `),
    );

    fake.core.failOn('CreateVpc', 'VpcLimitExceeded', 1, 'The maximum number of VPCs has been reached.');
    expect(await cli(s, '--verbose', 'up', '--yes')).toBe(1);
    const verbose = lines();
    const skipped = Number(/ (\d+) skipped in /.exec(verbose.at(-1)!)?.[1]);
    expect(skipped).toBeGreaterThanOrEqual(15);
    expect(verbose.filter((l) => l.startsWith('skipped ')).length).toBe(skipped);
    expect(verbose).toContainEqual(
      expect.stringMatching(/^skipped +Subnet +subnet\/batch\/ap-northeast-1a +needs vpc$/),
    );
    expect(verbose.some((l) => l.includes('(failed)'))).toBe(false);
  });
});

describe('status', () => {
  it('healthy: the counts, no resource rows; one drift: that row only; --verbose: every row', async () => {
    const s = scratch();
    await upAndPushed(s);
    expect(await cli(s, 'status')).toBe(0);
    let text = io.out.join('');
    expect(text).toContain(
      "Resources: 43 in the stack, 39 checked here: 39 present, 0 missing, 0 drifted, 0 errors (each job's role policies, task definition and target: `batchctl plan`)",
    );
    expect(text).toContain('\n  39 match the config (--verbose lists them)\n');
    expect(text).not.toMatch(/^ {2}STATE /m);
    // The jobs table and the endpoints stay.
    expect(text).toMatch(/^ {2}JOB +SCHEDULE /m);
    expect(text).toContain('Interface endpoints: 4 up, 0 down');

    await new CloudWatchLogsClient({ region: 'ap-northeast-1' }).send(
      new PutRetentionPolicyCommand({ logGroupName: '/ecs/SampleBatch', retentionInDays: 7 }),
    );
    expect(await cli(s, 'status')).toBe(0);
    text = io.out.join('');
    expect(text).toMatch(
      /Resources: 43 in the stack, 39 checked here: 38 present, 0 missing, 1 drifted, 0 errors .*\n {2}STATE +RESOURCE +KEY +ID\n {2}drifted +CloudWatch log group +log-group +\/ecs\/SampleBatch {2}\(changed: retentionInDays\)\n {2}the other 38 match the config \(--verbose lists them\)\n/,
    );

    expect(await cli(s, '--verbose', 'status')).toBe(0);
    text = io.out.join('');
    expect(text.match(/^ {2}present +/gm)).toHaveLength(38);
    expect(text).toMatch(/^ {2}drifted +CloudWatch log group/m);
    expect(text).not.toContain('--verbose lists');
    // --json carries every resource.
    expect(await cli(s, '--json', 'status')).toBe(0);
    expect(JSON.parse(io.out.join('')).resources).toHaveLength(39);
  });
});

describe('plan and down', () => {
  it('plan --verbose lists the unchanged resources, as --all does', async () => {
    const s = scratch();
    await upAndPushed(s);
    expect(await cli(s, 'plan')).toBe(0);
    expect(lines()).toEqual([expect.stringMatching(/^batchctl plan: /), 'No changes: 43 resources match the config.']);
    expect(await cli(s, '--verbose', 'plan')).toBe(0);
    expect(lines().filter((l) => l.startsWith('= unchanged '))).toHaveLength(43);
    expect(await cli(s, 'plan', '--all')).toBe(0);
    expect(lines().filter((l) => l.startsWith('= unchanged '))).toHaveLength(43);
  });

  it('down lists what it deletes; what was already gone is a count (listed with --verbose)', async () => {
    const s = scratch();
    await upAndPushed(s);
    // Gone behind batchctl's back: its state record names a resource that no longer exists.
    await new CloudWatchLogsClient({ region: 'ap-northeast-1' }).send(
      new DeleteLogGroupCommand({ logGroupName: '/ecs/SampleBatch' }),
    );
    expect(await cli(s, 'down', '--yes', '--force')).toBe(0);
    const out = lines();
    expect(out.filter((l) => l.startsWith('deleted '))).toHaveLength(42);
    expect(out.filter((l) => l.startsWith('absent '))).toEqual([]);
    expect(out.at(-1)).toMatch(/^Done: 42 deleted, 1 already gone in /);

    // The same again, verbose: the record of the group gone is listed.
    fake.uninstall();
    fake = createFakeAws();
    const t = scratch();
    expect(await cli(t, 'up', '--yes')).toBe(0);
    await new CloudWatchLogsClient({ region: 'ap-northeast-1' }).send(
      new DeleteLogGroupCommand({ logGroupName: '/ecs/SampleBatch' }),
    );
    expect(await cli(t, '--verbose', 'down', '--yes', '--force')).toBe(0);
    expect(lines()).toContainEqual(
      expect.stringMatching(/^absent +CloudWatch log group +log-group +\/ecs\/SampleBatch$/),
    );
  });
});

describe('down after a failure', () => {
  it('the deletions waiting for the failed one collapse into one line, and add up to the kept count', async () => {
    const s = scratch();
    expect(await cli(s, 'up', '--yes')).toBe(0);
    fake.core.failOn(
      'DeleteVpcEndpoints',
      'UnauthorizedOperation',
      1,
      'You are not authorized to perform this operation.',
    );
    expect(await cli(s, 'down', '--yes')).toBe(1);
    const out = lines();
    expect(out).toContainEqual(
      expect.stringMatching(
        /^failed +S3 gateway endpoint +vpc-endpoint\/s3 +vpc-endpoint\/s3: delete failed: UnauthorizedOperation/,
      ),
    );
    expect(out.filter((l) => l.startsWith('skipped '))).toEqual([]);
    // The route table and the VPC wait for the gateway endpoint (the VPC through the route table).
    expect(out).toContainEqual(
      expect.stringMatching(/^\d+ deletions not started: they wait for vpc-endpoint\/s3 \(failed\)$/),
    );
    const kept = Number(/, (\d+) kept in /.exec(out.at(-1)!)?.[1]);
    const collapsed = out
      .filter((l) => / deletions? not started: /.test(l))
      .reduce((n, l) => n + Number(l.split(' ')[0]), 0);
    expect(collapsed).toBe(kept);
  });
});

describe('on a terminal', () => {
  afterEach(killLeftovers);

  it('the spinner shows steps in flight; what stays on screen is the same: a no-op up leaves its one line', async () => {
    const s = scratch();
    const args = ['-c', s.configPath, '--state', s.statePath];
    const child = spawnOnPty(
      [...args, 'up', '--yes', '--then', ...args, 'up', '--yes', '--then', ...args, '--verbose', 'up', '--yes'],
      { cols: 120, env: { FAKE_IMAGES: 'sample-batch:latest' } },
    );
    const { code } = await child.exited();
    const out = child.output();
    expect(code, out.slice(-2000)).toBe(0);
    const noop = out.slice(out.indexOf('Done: 43 created'), out.lastIndexOf(HEADING));
    expect(noop).toMatch(
      /No changes: stack sample-batch in ap-northeast-1 \(account 123456789012\) is up to date, 43 resources unchanged/,
    );
    expect(noop).not.toMatch(/unchanged {2,}/);
    expect(noop).not.toContain(HEADING);
    // --verbose: every resource's line stays.
    expect(out.slice(out.lastIndexOf(HEADING)).match(/unchanged {2,}/g)).toHaveLength(43);
  });
});
