/**
 * `cost`: the default stack against a hand computation, price overrides, rate and weekday schedules,
 * Fargate's one-minute minimum, unknown regions, and where the run duration comes from.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ECSClient, RunTaskCommand } from '@aws-sdk/client-ecs';
import { computeCost, resolvePrices, runCost, runsPerMonth, billedSeconds } from '../../src/info/cost.js';
import { UserError } from '../../src/base/errors.js';
import { renderCost } from '../../src/cli/commands/cost.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { defaultConfig } from '../helpers/ctx.js';
import { scratch, upOn } from '../helpers/stack.js';

const NOW = new Date('2026-06-01T00:00:00Z'); // a Monday

let fake: FakeAws | undefined;
afterEach(() => {
  fake?.uninstall();
  fake = undefined;
  vi.useRealTimers();
});

describe('computeCost', () => {
  it('the default config matches the hand computation', () => {
    const config = defaultConfig();
    const c = computeCost(config, resolvePrices(config), { durationSeconds: 300, now: NOW });

    // ap-northeast-1: 4 interface endpoints x 2 AZs = 8 ENIs at 0.014 USD/h each.
    const hourly = 4 * 2 * 0.014; // 0.112
    const fixedMonthly = hourly * 730 + 0.4; // 81.76 + 0.40 secret
    // One 5-minute run at 2 vCPU / 8 GB, x86: (2 x 0.05056 + 8 x 0.00553) USD/h x 5/60 h.
    const run = (2 * 0.05056 + 8 * 0.00553) * (5 / 60); // 0.14536 x 0.08333 = 0.0121133
    // cron(30 * * * ? *): once an hour, 24 x 30 = 720 runs in 30 days.
    const runsMonthly = 720 * run; // 8.7216

    expect(hourly).toBeCloseTo(0.112, 8);
    expect(c.fixed).toMatchObject({ interfaceEndpoints: 4, azs: 2, enis: 8, secretMonthly: 0.4 });
    expect(c.fixed.hourly).toBeCloseTo(0.112, 8);
    expect(c.fixed.endpointsMonthly).toBeCloseTo(81.76, 8);
    expect(c.fixed.monthly).toBeCloseTo(fixedMonthly, 8);
    expect(c.fixed.monthly).toBeCloseTo(82.16, 8);
    expect(c.jobs[0]!.run).toMatchObject({ vcpu: 2, memoryGb: 8, durationSeconds: 300, billedSeconds: 300 });
    expect(c.jobs[0]!.run.cost).toBeCloseTo(run, 8);
    expect(c.jobs[0]!.run.cost).toBeCloseTo(0.0121133, 6);
    expect(c.jobs[0]!.schedule.runsPerMonth).toBe(720);
    expect(c.jobs[0]!.schedule.monthly).toBeCloseTo(runsMonthly, 8);
    expect(c.monthlyTotal).toBeCloseTo(82.16 + 8.7216, 6);
    expect(c.downEndpointsSaves.hourly).toBeCloseTo(0.112, 8);
    expect(c.downEndpointsSaves.monthly).toBeCloseTo(81.76, 8);
    expect(c.pricesAsOf).toBe('2025-06-01');
    expect(c.overridden).toEqual([]);
  });

  it('with notify, the dead-letter alarm is in the fixed cost ($0.10 a month, overridable); without, nothing', () => {
    const config = defaultConfig();
    const without = computeCost(config, resolvePrices(config), { durationSeconds: 300, now: NOW });
    expect(without.fixed.alarmMonthly).toBe(0);
    config.notify = { emails: ['ops@example.com'] } as typeof config.notify;
    const withAlarm = computeCost(config, resolvePrices(config), { durationSeconds: 300, now: NOW });
    expect(withAlarm.fixed.alarmMonthly).toBe(0.1);
    expect(withAlarm.fixed.monthly).toBeCloseTo(without.fixed.monthly + 0.1, 8);
    expect(withAlarm.alertsNote).toMatch(/dead-letter alarm, \$0\.10 a month/);
    expect(renderCost(withAlarm).join('\n')).toMatch(/dead-letter alarm +1 CloudWatch alarm x \$0\.10\/month +\$0\.10/);
    config.pricing = { alarmMonth: 0.3 };
    expect(computeCost(config, resolvePrices(config), { durationSeconds: 300, now: NOW }).fixed.alarmMonthly).toBe(0.3);
    // No dead-letter queue: nothing for the alarm to watch.
    config.jobs[0]!.schedule.deadLetterQueue = false;
    expect(computeCost(config, resolvePrices(config), { durationSeconds: 300, now: NOW }).fixed.alarmMonthly).toBe(0);
  });

  it("applies the config's pricing overrides and the ARM64 rate", () => {
    const config = defaultConfig();
    config.pricing = { interfaceEndpointAzHour: 0.02, fargateVcpuHour: 0.1 };
    config.jobs[0]!.task.cpuArchitecture = 'ARM64';
    const c = computeCost(config, resolvePrices(config), { durationSeconds: 3600, now: NOW });
    expect(c.overridden.sort()).toEqual(['fargateVcpuHour', 'interfaceEndpointAzHour']);
    expect(c.prices).toEqual({
      interfaceEndpointAzHour: 0.02,
      secretMonth: 0.4,
      publicIpv4Hour: 0.005,
      alarmMonth: 0.1,
    });
    expect(c.jobs[0]!.prices).toEqual({
      fargateVcpuHour: 0.1,
      fargateGbHour: 0.00442,
      ephemeralStorageGbHour: 0.000133,
    });
    expect(c.fixed.hourly).toBeCloseTo(8 * 0.02, 8);
    // One hour at 2 vCPU x 0.1 + 8 GB x 0.00442 (the built-in ARM64 memory price).
    expect(c.jobs[0]!.run.cost).toBeCloseTo(2 * 0.1 + 8 * 0.00442, 8);
  });

  it('counts the endpoint ENIs per distinct AZ and the configured endpoints', () => {
    const config = defaultConfig();
    config.network.interfaceEndpoints = ['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager', 'sts'];
    config.network.endpointSubnets = [{ az: 'ap-northeast-1a', cidr: '192.168.2.0/24' }];
    const c = computeCost(config, resolvePrices(config), { durationSeconds: 300, now: NOW });
    expect(c.fixed).toMatchObject({ interfaceEndpoints: 5, azs: 1, enis: 5 });
    expect(c.fixed.monthly).toBeCloseTo(5 * 0.014 * 730 + 0.4, 8);
  });

  it('rate schedules, a weekday cron and a disabled schedule', () => {
    expect(runsPerMonth('rate(5 minutes)', NOW)).toBe(30 * 24 * 12);
    expect(runsPerMonth('rate(1 hour)', NOW)).toBe(720);
    expect(runsPerMonth('rate(7 days)', NOW)).toBe(4);
    // June 2026 starts on a Monday: 4 full weeks + Mon 29 and Tue 30 = 22 weekdays in 30 days.
    expect(runsPerMonth('cron(0 9 ? * MON-FRI *)', NOW)).toBe(22);
    expect(runsPerMonth('cron(* * * * ? *)', NOW)).toBe(30 * 24 * 60);
    expect(runsPerMonth('cron(0 0 1 1 ? 2020)', NOW)).toBe(0);

    const config = defaultConfig();
    config.jobs[0]!.schedule.expression = 'rate(15 minutes)';
    const c = computeCost(config, resolvePrices(config), { durationSeconds: 120, now: NOW });
    expect(c.jobs[0]!.schedule.runsPerMonth).toBe(2880);
    expect(c.jobs[0]!.schedule.monthly).toBeCloseTo(2880 * (2 * 0.05056 + 8 * 0.00553) * (120 / 3600), 8);

    config.jobs[0]!.schedule.enabled = false;
    const off = computeCost(config, resolvePrices(config), { durationSeconds: 120, now: NOW });
    expect(off.jobs[0]!.schedule).toMatchObject({ runsPerMonth: 0, monthly: 0 });
    expect(off.monthlyTotal).toBeCloseTo(off.fixed.monthly, 8);
  });

  it('bills at least one minute, rounded up to the second', () => {
    expect(billedSeconds(10)).toBe(60);
    expect(billedSeconds(60)).toBe(60);
    expect(billedSeconds(90.2)).toBe(91);
    const config = defaultConfig();
    const c = computeCost(config, resolvePrices(config), { durationSeconds: 20, now: NOW });
    expect(c.jobs[0]!.run.billedSeconds).toBe(60);
    expect(c.jobs[0]!.run.cost).toBeCloseTo((2 * 0.05056 + 8 * 0.00553) / 60, 8);
  });

  it('an unknown region needs pricing: in the config, and says which keys', () => {
    const config = defaultConfig();
    config.region = 'sa-east-1';
    let err: unknown;
    try {
      resolvePrices(config);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toContain('sa-east-1');
    expect((err as UserError).hint).toContain('interfaceEndpointAzHour, fargateVcpuHour, fargateGbHour, secretMonth');

    config.pricing = { interfaceEndpointAzHour: 0.02, secretMonth: 0.4 };
    expect(() => resolvePrices(config)).toThrow(UserError);
    try {
      resolvePrices(config);
    } catch (e) {
      expect((e as UserError).hint).toMatch(/pricing: fargateVcpuHour, fargateGbHour \(/);
    }

    config.pricing = { interfaceEndpointAzHour: 0.02, secretMonth: 0.5, fargateVcpuHour: 0.06, fargateGbHour: 0.007 };
    const c = computeCost(config, resolvePrices(config), { durationSeconds: 300, now: NOW });
    expect(c.pricesAsOf).toBe('config');
    expect(c.fixed.monthly).toBeCloseTo(8 * 0.02 * 730 + 0.5, 8);
  });
});

describe('network modes', () => {
  const fargateRun = (2 * 0.05056 + 8 * 0.00553) * (5 / 60); // 0.0121133
  const ipv4Run = 0.005 * (5 / 60); // a public IPv4 address for the 5 minutes: 0.00041667

  it('public: the secret is the whole fixed cost, each run holds a public IPv4 address; switching back costs the endpoints', () => {
    const config = defaultConfig();
    config.network = { ...config.network, mode: 'public', interfaceEndpoints: [], assignPublicIp: true };
    const c = computeCost(config, resolvePrices(config), { durationSeconds: 300, now: NOW });
    expect(c.fixed).toMatchObject({ interfaceEndpoints: 0, enis: 0, hourly: 0 });
    expect(c.fixed.monthly).toBeCloseTo(0.4, 8);
    expect(c.jobs[0]!.run.publicIpv4).toBeCloseTo(ipv4Run, 8);
    expect(c.jobs[0]!.run.cost).toBeCloseTo(fargateRun + ipv4Run, 8);
    expect(c.monthlyTotal).toBeCloseTo(0.4 + 720 * (fargateRun + ipv4Run), 6); // $9.42
    const [priv, pub, ex] = c.network.modes;
    expect(pub).toMatchObject({ mode: 'public', switching: 'current', savesMonthly: 0 });
    expect(priv).toMatchObject({ mode: 'private-endpoints', switching: 'in place', interfaceEndpoints: 4, azs: 2 });
    expect(priv!.monthly).toBeCloseTo(82.16 + 720 * fargateRun, 6);
    expect(priv!.savesMonthly).toBeCloseTo(-(81.76 - 720 * ipv4Run), 6); // costs $81.46 more
    expect(ex).toMatchObject({
      mode: 'existing',
      switching: 'new stack',
      interfaceEndpoints: 0,
      notCounted: expect.stringMatching(/your NAT gateway/),
    });
    expect(ex!.monthly).toBeCloseTo(0.4 + 720 * fargateRun, 6);
  });

  it('private-endpoints (the default) compared: public saves the endpoints less the addresses', () => {
    const config = defaultConfig();
    const c = computeCost(config, resolvePrices(config), { durationSeconds: 300, now: NOW });
    expect(c.jobs[0]!.run.publicIpv4).toBe(0);
    const pub = c.network.modes.find((m) => m.mode === 'public')!;
    expect(pub).toMatchObject({ switching: 'in place', fixedMonthly: 0.4 });
    expect(pub.savesMonthly).toBeCloseTo(81.76 - 720 * ipv4Run, 6); // $81.46 a month
  });

  it('existing: the endpoints you list, one ENI per subnet; with public subnets the addresses, and no NAT to speak of', () => {
    const config = defaultConfig();
    config.network = {
      ...config.network,
      mode: 'existing',
      vpcId: 'vpc-0a1b2c3d',
      subnetIds: ['subnet-0a1b2c3d', 'subnet-1a1b2c3d', 'subnet-2a1b2c3d'],
      batchSubnets: [],
      endpointSubnets: [],
      interfaceEndpoints: ['logs'],
      s3Gateway: false,
      assignPublicIp: false,
    };
    const c = computeCost(config, resolvePrices(config), { durationSeconds: 300, now: NOW });
    expect(c.fixed).toMatchObject({ interfaceEndpoints: 1, azs: 3, enis: 3 });
    expect(c.fixed.monthly).toBeCloseTo(3 * 0.014 * 730 + 0.4, 8);
    const ex = c.network.modes.find((m) => m.mode === 'existing')!;
    expect(ex).toMatchObject({ switching: 'current', notCounted: expect.stringMatching(/NAT/) });
    expect(c.network.modes.find((m) => m.mode === 'private-endpoints')).toMatchObject({
      switching: 'new stack',
      interfaceEndpoints: 4,
      azs: 3,
    });

    config.network.assignPublicIp = true;
    const pub = computeCost(config, resolvePrices(config), { durationSeconds: 300, now: NOW });
    expect(pub.jobs[0]!.run.publicIpv4).toBeCloseTo(ipv4Run, 8);
    expect(pub.network.modes.find((m) => m.mode === 'existing')!.notCounted).toBeUndefined();
  });

  it('renders the modes side by side', () => {
    const config = defaultConfig();
    const text = renderCost(computeCost(config, resolvePrices(config), { durationSeconds: 300, now: NOW })).join('\n');
    expect(text).toContain('Network modes for this job (now private-endpoints):');
    expect(text).toMatch(/public +\$0\.40 +\$0\.01253 +\$9\.42 +saves \$81\.46\/month +public IPv4 per run/);
    expect(text).toMatch(/existing +\$0\.40 +\$0\.01211 +\$9\.12 \+ NAT +saves \$81\.76\/month \(a new stack\)/);
  });
});

describe('runCost', () => {
  it('with --duration reads no AWS at all', async () => {
    fake = createFakeAws();
    const s = scratch();
    const c = await runCost({
      configPath: s.configPath,
      statePath: s.statePath,
      reporter: new RecordingReporter(),
      duration: '10m',
      now: NOW,
    });
    expect(c.jobs[0]!.run).toMatchObject({ durationSeconds: 600, durationSource: 'flag' });
    expect(fake.core.calls).toEqual([]);
  });

  it('an unknown region fails before any AWS call', async () => {
    fake = createFakeAws();
    const s = scratch();
    s.editConfig((t) =>
      t.replace('region: ap-northeast-1', 'region: sa-east-1').replaceAll('ap-northeast-1', 'sa-east-1'),
    );
    await expect(
      runCost({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter(), now: NOW }),
    ).rejects.toThrow(/no prices for region sa-east-1/);
    expect(fake.core.calls).toEqual([]);
  });

  it('without --duration: 5 minutes when ECS has no runs, else the median of the recent stopped runs (ECS and STS only)', async () => {
    fake = createFakeAws();
    const s = scratch();
    await upOn(s);
    const opts = { configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() };

    fake.core.resetCalls();
    const none = await runCost({ ...opts, now: NOW });
    expect(none.jobs[0]!.run).toMatchObject({ durationSeconds: 300, durationSource: 'default' });
    expect(none.jobs[0]!.run.durationNote).toMatch(/no recent runs/);
    expect(new Set(fake.core.calls.map((c) => c.service))).toEqual(new Set(['sts', 'ecs']));

    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const ecs = new ECSClient({ region: 'ap-northeast-1' });
    const start = () =>
      ecs.send(
        new RunTaskCommand({
          cluster: 'sample-batch',
          taskDefinition: 'sample-batch',
          launchType: 'FARGATE',
          startedBy: 'events-rule/sample-batch',
          networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-x'] } },
        }),
      );
    // Three runs of 40 s, 100 s and 70 s: the median is 70 s, counted from the container start (no pull time in the
    // fake).
    for (const runningMs of [40_000, 100_000, 70_000]) {
      fake.ecs.taskTimings = { provisioningMs: 5_000, pendingMs: 10_000, runningMs };
      await start();
      vi.setSystemTime(Date.now() + 200_000);
    }
    const c = await runCost({ ...opts, now: new Date() });
    expect(c.jobs[0]!.run).toMatchObject({ durationSeconds: 70, billedSeconds: 70, durationSource: 'recent-runs' });
    expect(c.jobs[0]!.run.durationNote).toBe('median of the last 3 stopped runs');
    expect(c.jobs[0]!.run.cost).toBeCloseTo(((2 * 0.05056 + 8 * 0.00553) * 70) / 3600, 8);
  });

  it('without --duration and no usable AWS access: falls back to 5 minutes and says why', async () => {
    fake = createFakeAws();
    const s = scratch();
    fake.core.failOn('GetCallerIdentity', 'ExpiredToken', 10, 'The security token included in the request is expired');
    const c = await runCost({
      configPath: s.configPath,
      statePath: s.statePath,
      reporter: new RecordingReporter(),
      now: NOW,
    });
    expect(c.jobs[0]!.run).toMatchObject({ durationSeconds: 300, durationSource: 'default' });
    expect(c.jobs[0]!.run.durationNote).toMatch(/recent runs could not be read/);
  });
});

describe('cost of Fargate Spot and of ephemeral storage', () => {
  /** The default config with its one job's task section changed. */
  const withTask = (task: Record<string, unknown>) => {
    const config = defaultConfig();
    const job = config.jobs[0]!;
    Object.assign(job.task, task);
    job.runPolicy = task.capacity === 'spot' ? { retries: 0, spot: true } : job.runPolicy;
    return config;
  };

  it("a Spot job against the same job on-demand: the Spot rates, the saving a run and a month, the worst case; the state machine's transitions", () => {
    const onDemand = computeCost(defaultConfig(), resolvePrices(defaultConfig()), { durationSeconds: 600, now: NOW });
    const config = withTask({ capacity: 'spot' });
    const c = computeCost(config, resolvePrices(config), { durationSeconds: 600, now: NOW });
    // ap-northeast-1 Spot: (2 x 0.01981009 + 8 x 0.00216673) USD/h x 10/60 h; on-demand (2 x 0.05056 + 8 x 0.00553).
    const spotRun = (2 * 0.01981009 + 8 * 0.00216673) * (10 / 60);
    const onDemandRun = (2 * 0.05056 + 8 * 0.00553) * (10 / 60);
    const j = c.jobs[0]!;
    expect(j.capacity).toBe('spot');
    expect(j.prices).toMatchObject({
      fargateSpotVcpuHour: 0.01981009,
      fargateSpotGbHour: 0.00216673,
      spotAsOf: '2026-12-07',
    });
    expect(j.run.cost).toBeCloseTo(spotRun, 8);
    expect(onDemand.jobs[0]!.run.cost).toBeCloseTo(onDemandRun, 8);
    expect(j.spot!.onDemandRun).toBeCloseTo(onDemandRun, 8);
    expect(j.spot!.savesPerRun).toBeCloseTo(onDemandRun - spotRun, 8);
    expect(j.spot!.savesMonthly).toBeCloseTo((onDemandRun - spotRun) * 720, 6);
    expect(j.spot!.savesPercent).toBe(60.8);
    expect(j.spot!.reclaimedRunAtMost).toBeCloseTo(spotRun + onDemandRun, 8);
    // The job runs through its state machine: 3 transitions a run, 5 when Spot fails the first attempt.
    expect(j.stateMachine).toMatchObject({ transitionsPerRun: 3, maxTransitionsPerRun: 5 });
    const text = renderCost(c).join('\n');
    expect(text).toMatch(
      /^batchctl cost: ap-northeast-1, USD at on-demand and Fargate Spot prices \(as of 2025-06-01; Spot as of 2026-12-07\)/,
    );
    expect(text).toMatch(
      /one run +Fargate Spot \(2 vCPU x \$0\.01981\/h \+ 8 GB x \$0\.00217\/h\) x 10m00s, X86_64 +\$0\.00949/,
    );
    expect(text).toMatch(
      /spot: saves \$0\.01473 a run \(60\.8%\) and \$10\.61\/month against on-demand \(\$0\.02423 a run\)/,
    );
  });

  it('Spot prices from the config win (the report says so); a region without a table needs them', () => {
    const config = withTask({ capacity: 'spot' });
    config.pricing = { ...config.pricing, fargateSpotVcpuHour: 0.02, fargateSpotGbHour: 0.002 };
    const c = computeCost(config, resolvePrices(config), { durationSeconds: 3600, now: NOW });
    expect(c.jobs[0]!.run.cost).toBeCloseTo(2 * 0.02 + 8 * 0.002, 8);
    expect(c.jobs[0]!.prices.spotAsOf).toBe('config');
    expect(c.overridden).toEqual(['fargateSpotVcpuHour', 'fargateSpotGbHour']);
    const far = withTask({ capacity: 'spot' });
    far.region = 'sa-east-1';
    far.pricing = {
      ...far.pricing,
      interfaceEndpointAzHour: 0.02,
      fargateVcpuHour: 0.07,
      fargateGbHour: 0.0076,
      secretMonth: 0.4,
    };
    expect(() => resolvePrices(far)).toThrow(UserError);
    expect(() => resolvePrices(far)).toThrow(/no Fargate Spot prices for region sa-east-1/);
  });

  it("ephemeral storage: only the GiB beyond the free 20, at the region's storage rate, on-demand or Spot", () => {
    for (const capacity of ['on-demand', 'spot'] as const) {
      const config = withTask({ ephemeralStorageGiB: 120, capacity });
      const c = computeCost(config, resolvePrices(config), { durationSeconds: 3600, now: NOW });
      const j = c.jobs[0]!;
      expect(j.run.ephemeralStorageGiB).toBe(120);
      expect(j.run.ephemeralStorage).toBeCloseTo(100 * 0.000133, 10);
      const rates = capacity === 'spot' ? 2 * 0.01981009 + 8 * 0.00216673 : 2 * 0.05056 + 8 * 0.00553;
      expect(j.run.cost).toBeCloseTo(rates + 100 * 0.000133, 8);
      expect(renderCost(c).join('\n')).toMatch(
        /ephemeral storage +100 GiB beyond the free 20 x \$0\.00013\/GB-h x 1h00m +\$0\.0133/,
      );
    }
    const plain = computeCost(defaultConfig(), resolvePrices(defaultConfig()), { durationSeconds: 3600, now: NOW });
    expect(plain.jobs[0]!.run.ephemeralStorage).toBe(0);
    expect(renderCost(plain).join('\n')).not.toMatch(/ephemeral storage/);
  });
});
