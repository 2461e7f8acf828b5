import type { Command } from 'commander';
import { runCommand, stackOptions } from '../lib/common.js';
import { DURATION_FORMS } from '../../base/duration.js';
import { formatSeconds, table } from '../lib/run-text.js';
import type { CostReport } from '../../info/cost.js';
import { usd } from '../../model/pricing.js';

/** A unit price or small amount with the digits it has (up to 5 decimals, at least cents): `$0.014`, `$0.05056`. */
export function price(n: number): string {
  const text = n.toFixed(5).replace(/0+$/, '');
  const [whole, dec = ''] = text.split('.');
  return `$${whole}.${dec.padEnd(2, '0')}`;
}

/**
 * One job's runs: what a run costs (Fargate, and the public IPv4 address when tasks get one) and how many the schedule
 * makes in 30 days.
 */
function runLines(c: CostReport, j: CostReport['jobs'][number]): { rows: string[][]; notes: string[] } {
  const r = j.run;
  const billed =
    r.billedSeconds !== r.durationSeconds
      ? `, billed ${formatSeconds(r.billedSeconds)} (Fargate bills per second, 1-minute minimum)`
      : '';
  const runs = j.schedule.enabled
    ? `${j.schedule.runsPerMonth} runs in 30 days`
    : 'schedule disabled: no scheduled runs';
  const p = j.prices;
  const spot = j.capacity === 'spot' && p.fargateSpotVcpuHour !== undefined;
  const [vcpuRate, gbRate] = spot
    ? [p.fargateSpotVcpuHour!, p.fargateSpotGbHour!]
    : [p.fargateVcpuHour, p.fargateGbHour];
  const fargateDetail = `(${r.vcpu} vCPU x ${price(vcpuRate)}/h + ${r.memoryGb} GB x ${price(gbRate)}/h) x ${formatSeconds(r.billedSeconds)}, ${j.cpuArchitecture}`;
  const fargate = r.cost - r.publicIpv4 - r.ephemeralStorage;
  const parts: string[][] = [
    [spot ? 'Fargate Spot' : 'Fargate', fargateDetail, price(fargate)],
    ...(r.ephemeralStorage
      ? [
          [
            'ephemeral storage',
            `${r.ephemeralStorageGiB! - 20} GiB beyond the free 20 x ${price(p.ephemeralStorageGbHour)}/GB-h x ${formatSeconds(r.billedSeconds)}`,
            price(r.ephemeralStorage),
          ],
        ]
      : []),
    ...(r.publicIpv4
      ? [
          [
            'public IPv4',
            `1 address x ${price(c.prices.publicIpv4Hour)}/h x ${formatSeconds(r.billedSeconds)} (the task's public IP)`,
            price(r.publicIpv4),
          ],
        ]
      : []),
  ];
  return {
    rows: [
      ...(parts.length > 1
        ? [...parts, ['one run', parts.map((x) => x[0]).join(' + '), price(r.cost)]]
        : [['one run', `${spot ? 'Fargate Spot ' : ''}${fargateDetail}`, price(r.cost)]]),
      [
        'per month',
        `${j.schedule.expression}${j.schedule.timezone !== 'UTC' ? ` (${j.schedule.timezone})` : ''}: ${runs}`,
        usd(j.schedule.monthly),
      ],
      ...stateMachineRows(j),
    ],
    notes: [
      ...spotNotes(j),
      `  trigger: ${j.schedule.triggerNote}`,
      ...(j.stateMachine ? [`  state machine: ${j.stateMachine.note}`] : []),
      ...(c.alertsNote ? [`  alerts: ${c.alertsNote}`] : []),
      `  duration ${formatSeconds(r.durationSeconds)}: ${r.durationSource === 'flag' ? 'from --duration' : r.durationNote}${billed}`,
    ],
  };
}

/** Where the Spot prices came from: their date, or the config. */
const spotSource = (c: CostReport) => {
  const at = c.jobs.find((j) => j.prices.spotAsOf)?.prices.spotAsOf;
  return at === 'config' ? 'from the config' : `as of ${at}`;
};

/** A Spot job: what Spot saves against on-demand, how old its prices are, and what a reclaimed run costs at most. */
function spotNotes(j: CostReport['jobs'][number], prefix = 'spot'): string[] {
  const s = j.spot;
  if (!s) return [];
  const asOf =
    j.prices.spotAsOf === 'config'
      ? 'from the config'
      : `as of ${j.prices.spotAsOf}, they move with supply and demand: pricing.fargateSpotVcpuHour and fargateSpotGbHour set today's`;
  return [
    `  ${prefix}: saves ${price(s.savesPerRun)} a run (${s.savesPercent}%) and ${usd(s.savesMonthly)}/month against on-demand (${price(s.onDemandRun)} a run); Spot prices ${asOf}`,
    `  ${prefix}: a run Spot reclaims continues on on-demand Fargate and costs at most ${price(s.reclaimedRunAtMost)} (the reclaimed part, and the whole run on-demand)`,
  ];
}

/** An amount far below a cent with three significant digits (`$0.000075`): price() stops at five decimals. */
const tiny = (n: number) => `$${Number(n.toPrecision(3))}`;

/** A job's state machine in the runs table: its transitions per run, and per month. */
function stateMachineRows(j: CostReport['jobs'][number]): string[][] {
  const sm = j.stateMachine;
  if (!sm) return [];
  const retries = sm.retries
    ? `, up to ${sm.maxTransitionsPerRun} (${tiny(sm.maxPerRun)}) with ${sm.retries} ${sm.retries === 1 ? 'retry' : 'retries'}`
    : '';
  return [
    [
      'Step Functions',
      `${sm.transitionsPerRun} state transitions a run x ${price(sm.pricePer1kTransitions)}/1,000${retries}`,
      tiny(sm.perRun),
    ],
    ['per month', `${sm.transitionsPerMonth.toLocaleString('en-US')} state transitions`, usd(sm.monthly)],
  ];
}

/**
 * The plain-text rendering of a cost report: one job's runs in detail, or a table of the jobs; then the network modes.
 */
export function renderCost(c: CostReport): string[] {
  const f = c.fixed;
  const p = c.prices;
  const source = c.overridden.length ? `${c.pricesAsOf}; from the config: ${c.overridden.join(', ')}` : c.pricesAsOf;
  const several = c.jobs.length > 1;
  const endpoints = f.interfaceEndpoints
    ? [
        [
          'interface endpoints',
          `${f.interfaceEndpoints} x ${f.azs} AZs = ${f.enis} ENIs x ${price(p.interfaceEndpointAzHour)}/h`,
          price(f.endpointsHourly),
          usd(f.endpointsMonthly),
        ],
      ]
    : [['interface endpoints', `none (network mode ${c.network.mode})`, '', usd(0)]];
  const out = [
    c.jobs.some((j) => j.spot)
      ? `batchctl cost: ${c.region}, USD at on-demand and Fargate Spot prices (as of ${source}; Spot ${spotSource(c)})`
      : `batchctl cost: ${c.region}, on-demand USD (prices as of ${source})`,
    '',
    several
      ? `Fixed (billed while the stack exists, shared by its ${c.jobs.length} jobs):`
      : 'Fixed (billed while the stack exists):',
    ...table([
      ['ITEM', 'DETAIL', 'PER HOUR', 'PER MONTH'],
      ...endpoints,
      ['secret', `1 x ${price(p.secretMonth)}/month`, '', usd(f.secretMonthly)],
      ...(f.alarmMonthly
        ? [['dead-letter alarm', `1 CloudWatch alarm x ${price(p.alarmMonth)}/month`, '', usd(f.alarmMonthly)]]
        : []),
      ['stack lock', 'SSM parameter, standard tier', '', usd(0)],
      ['total fixed', '730 h/month', price(f.hourly), usd(f.monthly)],
      ...(several
        ? [['share per job', `${usd(f.monthly)} / ${c.jobs.length} jobs`, '', usd(c.jobs[0]!.fixedShareMonthly)]]
        : []),
    ]),
    '',
    'Runs (billed only while a task runs):',
  ];
  if (!several) {
    const l = runLines(c, c.jobs[0]!);
    out.push(...table(l.rows), ...l.notes);
  } else {
    out.push(
      ...table([
        ['JOB', 'TASK', 'ONE RUN', 'DURATION', 'SCHEDULE', 'RUNS/30 DAYS', 'RUNS/MONTH', 'FIXED SHARE', 'JOB TOTAL'],
        ...c.jobs.map((j) => [
          j.job,
          `${j.run.vcpu} vCPU, ${j.run.memoryGb} GB, ${j.cpuArchitecture}${j.capacity === 'spot' ? ', Spot' : ''}${j.run.ephemeralStorageGiB ? `, ${j.run.ephemeralStorageGiB} GiB disk` : ''}`,
          price(j.run.cost),
          `${formatSeconds(j.run.durationSeconds)}${j.run.durationSource === 'recent-runs' ? ' (recent)' : j.run.durationSource === 'default' ? ' (assumed)' : ''}`,
          `${j.schedule.expression}${j.schedule.timezone !== 'UTC' ? ` ${j.schedule.timezone}` : ''}`,
          j.schedule.enabled ? String(j.schedule.runsPerMonth) : 'disabled',
          usd(j.schedule.monthly),
          usd(j.fixedShareMonthly),
          usd(j.monthlyTotal),
        ]),
      ]),
    );
    for (const j of c.jobs) out.push(...spotNotes(j, `${j.job} on Fargate Spot`));
    const engines = [...new Set(c.jobs.map((j) => j.schedule.triggerNote))];
    out.push(...engines.map((t) => `  trigger: ${t}`), ...(c.alertsNote ? [`  alerts: ${c.alertsNote}`] : []));
    for (const j of c.jobs.filter((x) => x.stateMachine)) {
      const sm = j.stateMachine!;
      out.push(
        `  ${j.job}: its state machine adds ${usd(sm.monthly)}/month (${sm.transitionsPerRun} state transitions a run, up to ${sm.maxTransitionsPerRun} with ${sm.retries} retries; in JOB TOTAL, not in RUNS/MONTH)`,
      );
    }
    const note = c.jobs.find((x) => x.stateMachine)?.stateMachine?.note;
    if (note) out.push(`  state machines: ${note}`);
    if (c.network.publicIp)
      out.push(`  one run includes the task's public IPv4 address (${price(p.publicIpv4Hour)}/h while it runs)`);
    out.push(
      "  duration: (recent) the median of the job's recent stopped runs; (assumed) 5 minutes, none seen; --duration sets every job's",
    );
  }
  out.push(
    '',
    `Total per month: ${usd(c.monthlyTotal)}`,
    ...(f.interfaceEndpoints
      ? [
          `batchctl down --endpoints saves ${price(c.downEndpointsSaves.hourly)}/h (${usd(c.downEndpointsSaves.monthly)}/month) while the endpoints are down; it pauses the schedules meanwhile (no run fails), and the \`batchctl up\` that restores the endpoints resumes them.`,
        ]
      : []),
    '',
    ...renderModes(c),
    '',
    `Not included: ${f.interfaceEndpoints ? 'data processed by the endpoints, ' : ''}S3/ECR storage, CloudWatch Logs ingestion and Container Insights metrics (usage-based)${c.network.publicIp ? ', data sent out to the internet' : ''}.`,
  );
  return out;
}

/** The network modes side by side for these jobs and schedules, and what switching would save. */
export function renderModes(c: CostReport): string[] {
  const now = c.network.modes.find((m) => m.switching === 'current')!;
  const several = c.jobs.length > 1;
  const what = (m: CostReport['network']['modes'][number]) =>
    m.interfaceEndpoints
      ? `${m.interfaceEndpoints} endpoints x ${m.azs} AZs`
      : m.mode === 'public' || m.publicIpv4PerRun
        ? 'public IPv4 per run'
        : m.notCounted
          ? 'your NAT gateway'
          : 'no endpoint';
  const saves = (m: CostReport['network']['modes'][number]) =>
    m.switching === 'current'
      ? '(current)'
      : `${m.savesMonthly >= 0 ? 'saves' : 'costs'} ${usd(Math.abs(m.savesMonthly))}/month${m.switching === 'new stack' ? ' (a new stack)' : ''}`;
  return [
    `Network modes for ${several ? `these ${c.jobs.length} jobs` : 'this job'} (now ${now.mode}):`,
    ...table([
      ['MODE', 'FIXED/MONTH', ...(several ? [] : ['PER RUN']), 'PER MONTH', 'SWITCHING', 'WHAT IS BILLED'],
      ...c.network.modes.map((m) => [
        m.mode,
        usd(m.fixedMonthly),
        ...(several ? [] : [price(m.perRun ?? 0)]),
        `${usd(m.monthly)}${m.notCounted ? ' + NAT' : ''}`,
        saves(m),
        what(m),
      ]),
    ]),
    ...c.network.modes.filter((m) => m.notCounted).map((m) => `  ${m.mode}: not counted: ${m.notCounted}`),
  ];
}

/** `batchctl cost`: the fixed cost, the cost of a run and per month, and what `down --endpoints` saves. */
export function registerCost(program: Command): void {
  program
    .command('cost')
    .description(
      "estimate the stack's fixed cost, the cost of one run and per month, and what `down --endpoints` saves",
    )
    .option(
      '--duration <time>',
      `run duration, 1s to 365d: ${DURATION_FORMS} (default: median of the recent runs, else 5m)`,
    )
    .action(async (opts: { duration?: string }, cmd: Command) =>
      runCommand(cmd, async (flags) => {
        const [{ runCost }, { WarningsReporter }] = await Promise.all([
          import('../../info/cost.js'),
          import('../lib/output.js'),
        ]);
        const report = await runCost({
          ...stackOptions(flags),
          reporter: new WarningsReporter(),
          duration: opts.duration,
        });
        if (flags.json) process.stdout.write(JSON.stringify({ ok: true, ...report }, null, 2) + '\n');
        else process.stdout.write(renderCost(report).join('\n') + '\n');
        return 0;
      }),
    );
}
