import type { Command } from 'commander';
import { runCommand } from './common.js';
import { formatSeconds, table } from './status.js';
import type { CostReport } from '../core/cost.js';
import { usd } from '../core/pricing.js';

/** A unit price or small amount with the digits it has (up to 5 decimals, at least cents): `$0.014`, `$0.05056`. */
export function price(n: number): string {
  const text = n.toFixed(5).replace(/0+$/, '');
  const [whole, dec = ''] = text.split('.');
  return `$${whole}.${dec.padEnd(2, '0')}`;
}

/** One job's runs: what a run costs and how many the schedule makes in 30 days. */
function runLines(c: CostReport, j: CostReport['jobs'][number]): { oneRun: string[]; perMonth: string[]; notes: string[] } {
  const r = j.run;
  const billed = r.billedSeconds !== r.durationSeconds ? `, billed ${formatSeconds(r.billedSeconds)} (Fargate bills per second, 1-minute minimum)` : '';
  const runs = j.schedule.enabled ? `${j.schedule.runsPerMonth} runs in 30 days` : 'schedule disabled: no scheduled runs';
  return {
    oneRun: ['one run', `(${r.vcpu} vCPU x ${price(j.prices.fargateVcpuHour)}/h + ${r.memoryGb} GB x ${price(j.prices.fargateGbHour)}/h) x ${formatSeconds(r.billedSeconds)}, ${j.cpuArchitecture}`, price(r.cost)],
    perMonth: ['per month', `${j.schedule.expression}${j.schedule.timezone !== 'UTC' ? ` (${j.schedule.timezone})` : ''}: ${runs}`, usd(j.schedule.monthly)],
    notes: [
      `  trigger: ${j.schedule.triggerNote}`,
      ...(c.alertsNote ? [`  alerts: ${c.alertsNote}`] : []),
      `  duration ${formatSeconds(r.durationSeconds)}: ${r.durationSource === 'flag' ? 'from --duration' : r.durationNote}${billed}`,
    ],
  };
}

/** The plain-text rendering of a cost report: one job's runs in detail, or a table of the jobs. */
export function renderCost(c: CostReport): string[] {
  const f = c.fixed;
  const p = c.prices;
  const source = c.overridden.length ? `${c.pricesAsOf}; from the config: ${c.overridden.join(', ')}` : c.pricesAsOf;
  const several = c.jobs.length > 1;
  const out = [
    `batchctl cost: ${c.region}, on-demand USD (prices as of ${source})`,
    '',
    several ? `Fixed (billed while the stack exists, shared by its ${c.jobs.length} jobs):` : 'Fixed (billed while the stack exists):',
    ...table([
      ['ITEM', 'DETAIL', 'PER HOUR', 'PER MONTH'],
      ['interface endpoints', `${f.interfaceEndpoints} x ${f.azs} AZs = ${f.enis} ENIs x ${price(p.interfaceEndpointAzHour)}/h`, price(f.endpointsHourly), usd(f.endpointsMonthly)],
      ['secret', `1 x ${price(p.secretMonth)}/month`, '', usd(f.secretMonthly)],
      ['total fixed', '730 h/month', price(f.hourly), usd(f.monthly)],
      ...(several ? [['share per job', `${usd(f.monthly)} / ${c.jobs.length} jobs`, '', usd(c.jobs[0]!.fixedShareMonthly)]] : []),
    ]),
    '',
    'Runs (Fargate, billed only while a task runs):',
  ];
  if (!several) {
    const l = runLines(c, c.jobs[0]!);
    out.push(...table([l.oneRun, l.perMonth]), ...l.notes);
  } else {
    out.push(...table([
      ['JOB', 'TASK', 'ONE RUN', 'DURATION', 'SCHEDULE', 'RUNS/30 DAYS', 'RUNS/MONTH', 'FIXED SHARE', 'JOB TOTAL'],
      ...c.jobs.map((j) => [
        j.job, `${j.run.vcpu} vCPU, ${j.run.memoryGb} GB, ${j.cpuArchitecture}`, price(j.run.cost),
        `${formatSeconds(j.run.durationSeconds)}${j.run.durationSource === 'recent-runs' ? ' (recent)' : j.run.durationSource === 'default' ? ' (assumed)' : ''}`,
        `${j.schedule.expression}${j.schedule.timezone !== 'UTC' ? ` ${j.schedule.timezone}` : ''}`,
        j.schedule.enabled ? String(j.schedule.runsPerMonth) : 'disabled', usd(j.schedule.monthly), usd(j.fixedShareMonthly), usd(j.monthlyTotal),
      ]),
    ]));
    const engines = [...new Set(c.jobs.map((j) => j.schedule.triggerNote))];
    out.push(...engines.map((t) => `  trigger: ${t}`), ...(c.alertsNote ? [`  alerts: ${c.alertsNote}`] : []));
    out.push('  duration: (recent) the median of the job\'s recent stopped runs; (assumed) 5 minutes, none seen; --duration sets every job\'s');
  }
  out.push(
    '',
    `Total per month: ${usd(c.monthlyTotal)}`,
    `batchctl down --endpoints saves ${price(c.downEndpointsSaves.hourly)}/h (${usd(c.downEndpointsSaves.monthly)}/month) while the endpoints are down; scheduled runs fail until \`batchctl up\` restores them.`,
    'Not included: data processed by the endpoints, S3/ECR storage, CloudWatch Logs ingestion and Container Insights metrics (usage-based).',
  );
  return out;
}

/** `batchctl cost`: the fixed cost, the cost of a run and per month, and what `down --endpoints` saves. */
export function registerCost(program: Command): void {
  program
    .command('cost')
    .description('estimate the stack\'s fixed cost, the cost of one run and per month, and what `down --endpoints` saves')
    .option('--duration <time>', 'run duration: 30s, 5m, 1h or seconds (default: median of the recent runs, else 5m)')
    .action(async (opts: { duration?: string }, cmd: Command) =>
      runCommand(cmd, async (flags) => {
        const [{ runCost }, { WarningsReporter }] = await Promise.all([import('../core/cost.js'), import('./output.js')]);
        const report = await runCost({
          configPath: flags.config, region: flags.region, profile: flags.profile, endpointUrl: flags.endpointUrl,
          statePath: flags.state, reporter: new WarningsReporter(), duration: opts.duration,
        });
        if (flags.json) process.stdout.write(JSON.stringify({ ok: true, ...report }, null, 2) + '\n');
        else process.stdout.write(renderCost(report).join('\n') + '\n');
        return 0;
      }),
    );
}
