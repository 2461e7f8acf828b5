/**
 * The preflight of `plan` and `up`: zones the account cannot use and endpoint services a zone does not
 * offer are refused before the first write, pointing at the config line and naming the zones that would
 * work; endpoint service names come from DescribeVpcEndpointServices (the China regions name ECR's
 * differently), and IAM is not pinned to us-east-1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { scratch, upOn, type Scratch } from '../helpers/stack.js';
import { runPlan } from '../../src/stack/plan.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import { exitCodeFor } from '../../src/cli/lib/errors.js';
import { preflight } from '../../src/stack/preflight.js';
import { loadStackConfig } from '../../src/engine/stack.js';
import { createAwsClients } from '../../src/aws/clients.js';
import { ConfigError } from '../../src/base/errors.js';

let fake: FakeAws;
afterEach(() => fake?.uninstall());

const PREFLIGHT_OPS = ['DescribeAvailabilityZones', 'DescribeVpcEndpointServices'];
const plan = (s: Scratch) =>
  runPlan({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() });

/** The config with the second subnet of both lists moved to `az`. */
const secondZone = (az: string) => (t: string) => t.replace(/ap-northeast-1c/g, az);

async function refused(p: Promise<unknown>): Promise<ConfigError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  expect(exitCodeFor(err)).toBe(2);
  return err as ConfigError;
}

/** Line:col of the n-th (1-based) occurrence of `text` in the file, as the config errors print it. */
function lineOf(file: string, text: string, n = 1): string {
  const lines = readFileSync(file, 'utf8').split('\n');
  let seen = 0;
  for (let i = 0; i < lines.length; i++) {
    const col = lines[i]!.indexOf(text);
    if (col >= 0 && ++seen === n) return `${i + 1}:${col + 1}`;
  }
  throw new Error(`${text} not in ${file}`);
}

describe('preflight', () => {
  it('adds three read calls to plan and up, and the nodes reuse its lookups', async () => {
    fake = createFakeAws();
    const s = scratch();
    await upOn(s);
    expect(PREFLIGHT_OPS.map((op) => fake.core.count({ op }))).toEqual([1, 1]);
    fake.core.resetCalls();
    await plan(s);
    expect(PREFLIGHT_OPS.map((op) => fake.core.count({ op }))).toEqual([1, 1]);
    // And the Logs resource policies (the region's slots): one read, which the policy's node reuses.
    expect(fake.core.count({ op: 'DescribeResourcePolicies' })).toBe(1);
    expect(fake.core.calls.filter((c) => PREFLIGHT_OPS.includes(c.op)).every((c) => !c.mutating)).toBe(true);
  });

  it('a zone the account does not have: up is refused with zero writes, naming the line and the zones that work', async () => {
    fake = createFakeAws();
    const s = scratch();
    s.editConfig(secondZone('ap-northeast-1b'));
    const err = await refused(upOn(s));
    expect(fake.core.mutatingCalls()).toEqual([]);
    expect(fake.inventory()).toEqual([]);
    expect(err.details).toEqual([
      `${s.configPath}:${lineOf(s.configPath, 'ap-northeast-1b', 1)}  network.batchSubnets.1.az  ap-northeast-1b is not an availability zone this account can use in ap-northeast-1 (zone names differ between accounts): use one of ap-northeast-1c, ap-northeast-1d`,
      `${s.configPath}:${lineOf(s.configPath, 'ap-northeast-1b', 2)}  network.endpointSubnets.1.az  ap-northeast-1b is not an availability zone this account can use in ap-northeast-1 (zone names differ between accounts): use one of ap-northeast-1c, ap-northeast-1d`,
    ]);
    expect(err.hint).toMatch(/nothing was changed/);
    // plan refuses the same way: a plan up cannot apply is no plan.
    await refused(plan(s));
    expect(fake.core.mutatingCalls()).toEqual([]);
  });

  it("an impaired zone is refused with its state and AWS's message", async () => {
    fake = createFakeAws();
    fake.ec2.zoneStates.set('ap-northeast-1c', 'impaired');
    const s = scratch();
    const err = await refused(upOn(s));
    expect(err.details[0]).toMatch(/network\.batchSubnets\.1\.az {2}ap-northeast-1c is impaired: use ap-northeast-1d$/);
    expect(fake.core.mutatingCalls()).toEqual([]);
  });

  it('a zone where an interface endpoint service is not offered: the endpoint subnet is refused before any write', async () => {
    fake = createFakeAws();
    fake.ec2.serviceZones.set('ecr.dkr', ['ap-northeast-1a', 'ap-northeast-1d']);
    const s = scratch();
    const err = await refused(upOn(s));
    expect(err.details).toEqual([
      `${s.configPath}:${lineOf(s.configPath, 'ap-northeast-1c', 2)}  network.endpointSubnets.1.az  ap-northeast-1c does not offer the ecr.dkr interface endpoint: use ap-northeast-1d`,
    ]);
    expect(fake.core.mutatingCalls()).toEqual([]);
    // Without the preflight CreateVpcEndpoint is where it would have failed, with the whole network built.
    s.editConfig(secondZone('ap-northeast-1d'));
    await upOn(s);
    expect(fake.ec2.endpoints.size).toBe(5);
  });

  it('no zone offers every service: says so instead of suggesting one', async () => {
    fake = createFakeAws();
    fake.ec2.serviceZones.set('ecr.api', ['ap-northeast-1a']);
    const s = scratch();
    const err = await refused(upOn(s));
    expect(err.details).toEqual([
      expect.stringMatching(
        /endpointSubnets\.1\.az {2}ap-northeast-1c does not offer the ecr\.api interface endpoint \(the zones that would work, ap-northeast-1a, already have a subnet in endpointSubnets\)$/,
      ),
    ]);
  });

  it('a service the region does not offer points at its entry in interfaceEndpoints', async () => {
    fake = createFakeAws();
    fake.ec2.servicesNotOffered.add('secretsmanager');
    const s = scratch();
    const err = await refused(upOn(s));
    expect(err.details).toEqual([
      `${s.configPath}:${lineOf(s.configPath, 'secretsmanager')}  network.interfaceEndpoints.3  secretsmanager is not offered as a VPC interface endpoint in ap-northeast-1`,
    ]);
    expect(fake.core.mutatingCalls()).toEqual([]);
  });

  it('a service name AWS spells another way is found by listing every service (paged), once', async () => {
    fake = createFakeAws();
    fake.ec2.serviceNameOverrides.set('logs', 'aws.api.ap-northeast-1.logs');
    fake.ec2.endpointServicePageSize = 10;
    const s = scratch();
    await upOn(s);
    const logs = [...fake.ec2.endpoints.values()].find((e) => e.serviceName.endsWith('.logs'));
    expect(logs?.serviceName).toBe('aws.api.ap-northeast-1.logs');
    const lookups = fake.core.calls.filter((c) => c.op === 'DescribeVpcEndpointServices');
    // One filtered call, then the Interface listing in pages of at most 1000 (the fake's page is 10 only
    // when the caller sets no MaxResults, which the listing does).
    expect(lookups.map((c) => c.input.Filters[0].Name)).toEqual(['service-name', 'service-type']);
    expect(lookups[1]!.input).toMatchObject({
      MaxResults: 1000,
      Filters: [{ Name: 'service-type', Values: ['Interface'] }],
    });
  });

  it('names-only answers (GovCloud) still give the names; zones are not checked', async () => {
    fake = createFakeAws();
    fake.ec2.endpointServiceNamesOnly = true;
    const s = scratch();
    await upOn(s);
    expect([...fake.ec2.endpoints.values()].map((e) => e.serviceName).sort()).toEqual(
      ['ecr.api', 'ecr.dkr', 'logs', 's3', 'secretsmanager'].map((x) => `com.amazonaws.ap-northeast-1.${x}`),
    );
  });

  it('in aws-cn the service names come from AWS (cn.com.amazonaws... for ECR) and ARNs carry the partition', async () => {
    fake = createFakeAws({ region: 'cn-north-1' });
    const s = scratch();
    s.editConfig((t) =>
      t
        .replace('region: ap-northeast-1', 'region: cn-north-1')
        .replace(/ap-northeast-1a/g, 'cn-north-1a')
        .replace(/ap-northeast-1c/g, 'cn-north-1b'),
    );
    const config = await loadStackConfig({ configPath: s.configPath });
    const aws = await createAwsClients({ region: 'cn-north-1' }, ['ec2', 'logs']);
    const report = await preflight({
      config,
      aws,
      account: fake.core.account,
      partition: 'aws-cn',
      configPath: s.configPath,
    });
    expect(report.calls).toBe(3);
    expect(report.zones).toEqual(['cn-north-1a', 'cn-north-1b', 'cn-north-1c']);
    expect(Object.fromEntries(report.services.map((x) => [x.short, x.name]))).toEqual({
      'ecr.api': 'cn.com.amazonaws.cn-north-1.ecr.api',
      'ecr.dkr': 'cn.com.amazonaws.cn-north-1.ecr.dkr',
      logs: 'com.amazonaws.cn-north-1.logs',
      secretsmanager: 'com.amazonaws.cn-north-1.secretsmanager',
      s3: 'com.amazonaws.cn-north-1.s3',
    });
    await upOn(s);
    expect([...fake.ec2.endpoints.values()].map((e) => e.serviceName).sort()).toEqual([
      'cn.com.amazonaws.cn-north-1.ecr.api',
      'cn.com.amazonaws.cn-north-1.ecr.dkr',
      'com.amazonaws.cn-north-1.logs',
      'com.amazonaws.cn-north-1.s3',
      'com.amazonaws.cn-north-1.secretsmanager',
    ]);
    expect([...fake.iam.roles.values()].every((r) => r.arn.startsWith('arn:aws-cn:iam::'))).toBe(true);
    fake.core.resetCalls();
    expect((await plan(s)).pending).toBe(false);
  });

  it('an AWS failure in the preflight names it and exits 1', async () => {
    fake = createFakeAws();
    fake.core.failOn(
      'DescribeAvailabilityZones',
      'UnauthorizedOperation',
      1,
      'You are not authorized to perform this operation.',
    );
    const s = scratch();
    const err = await upOn(s).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(exitCodeFor(err)).toBe(1);
    expect((err as Error).message).toBe(
      'preflight (availability zones): find failed: UnauthorizedOperation: You are not authorized to perform this operation.',
    );
    expect(fake.core.mutatingCalls()).toEqual([]);
  });
});
