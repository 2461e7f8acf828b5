import type { Command } from 'commander';
import { runCommand, stackOptions } from '../lib/common.js';
import { countFlag } from '../lib/flags.js';
import { formatSeconds, stopReasonText, table, utcTime } from '../lib/run-text.js';
import type { ResourceStatus, StatusReport } from '../../runs/status.js';
import type { RunInfo } from '../../runs/run-info.js';
import { imageWarnings } from '../../model/image-check.js';
import { printable } from '../../base/format.js';
import { formatRunDuration } from '../../config/run-policy.js';

function stopText(r: RunInfo): string {
  if (r.timedOut) return `timed out (task.timeout): ${[r.stopCode, r.stoppedReason].filter(Boolean).join(': ')}`;
  if (r.lastStatus !== 'STOPPED') return '';
  return stopReasonText(r);
}

/** The alerts block: where failed runs are reported and which recipients still have to confirm. */
export function renderAlerts(a: StatusReport['alerts']): string[] {
  if (a.mode === 'off') return ['Alerts: off (add a notify section to the config to hear about failed runs)'];
  const where = a.mode === 'topic' ? `your SNS topic ${a.topicArn}` : `SNS topic ${a.topicArn ?? '(not created yet)'}`;
  const out = [`Alerts: failed runs go to ${where}${a.active ? '' : ' (not set up yet: run batchctl up)'}`];
  const text = {
    confirmed: 'confirmed',
    pending: 'pending confirmation: check your inbox for the e-mail from AWS',
    missing: 'not subscribed yet (batchctl up)',
  };
  out.push(...table(a.subscriptions.map((x) => [x.endpoint, text[x.state]])));
  return out;
}

/** The network line: the mode, whose VPC it is, and what the tasks' way out is. */
export function renderNetwork(s: Pick<StatusReport, 'network'>): string[] {
  const n = s.network;
  const vpc = n.vpcId ? `VPC ${n.vpcId}` : 'VPC not created yet';
  const how = {
    'private-endpoints': `${vpc}, batchctl's; tasks have no public IP and reach AWS services through the VPC endpoints`,
    public: `${vpc}, batchctl's; tasks get a public IPv4 address while they run and leave through the internet gateway (no inbound)`,
    existing: `your ${vpc} (read only: batchctl never changes it); tasks ${n.publicIp ? 'get a public IP' : 'have no public IP'} and leave the way your subnets route them`,
  }[n.mode];
  return [`Network: ${n.mode}: ${how}`];
}

/**
 * The resources block. Quiet (the default): the counts, then only what needs attention (missing,
 * drifted, errors, stale, duplicates or notes); the healthy ones are a count. `verbose`: every resource.
 */
export function renderResources(
  s: Pick<StatusReport, 'resources' | 'counts' | 'total'>,
  opts: { verbose?: boolean } = {},
): string[] {
  const c = s.counts;
  const out: string[] = [];
  // The total is plan's, up's and down's count; the jobs' task definitions, role policies and targets are
  // plan's to check: status reads a job's trigger and roles, and stays at a few calls per job.
  const checked = s.resources.filter((r) => r.state !== 'stale').length;
  out.push(
    `Resources: ${s.total} in the stack, ${checked} checked here: ${c.present} present, ${c.missing} missing, ${c.drifted} drifted, ${c.error} errors${c.stale ? `, ${c.stale} stale` : ''}` +
      (checked < s.total ? ` (each job's role policies, task definition and target: \`batchctl plan\`)` : ''),
  );
  const healthy = (r: ResourceStatus) => r.state === 'present' && !r.duplicates?.length && !r.notes?.length;
  const listed = opts.verbose ? s.resources : s.resources.filter((r) => !healthy(r));
  if (listed.length) {
    out.push(
      ...table([
        ['STATE', 'RESOURCE', 'KEY', 'ID'],
        ...listed.map((r) => {
          const changed = r.changes.length
            ? `changed: ${r.changes.join(', ')}${r.replace ? ' (needs replacement)' : ''}`
            : '';
          const added = r.added?.length ? `added outside batchctl: ${r.added.join('; ')}` : '';
          const note = r.error ?? [changed, added].filter(Boolean).join('; ');
          return [
            r.owner === 'you' && r.state === 'present' ? 'yours' : r.state,
            r.label,
            r.key,
            [r.id ?? '-', note && `(${note})`].filter(Boolean).join('  '),
          ];
        }),
      ]),
    );
  }
  const hidden = s.resources.length - listed.length;
  if (hidden)
    out.push(
      `  ${listed.length ? 'the other ' : ''}${hidden} ${hidden === 1 ? 'matches' : 'match'} the config (--verbose lists ${hidden === 1 ? 'it' : 'them'})`,
    );
  for (const r of listed) for (const n of r.notes ?? []) out.push(`  note: ${r.key}: ${n}`);
  return out;
}

/** The plain-text rendering of a status report (`verbose`: every resource, not only those needing attention). */
export function renderStatus(s: StatusReport, opts: { verbose?: boolean } = {}): string[] {
  const out = [`batchctl status: stack ${s.stack} in ${s.region} (account ${s.account})`, ''];
  out.push(...renderResources(s, opts));
  out.push('');
  out.push(...renderNetwork(s));
  const e = s.endpoints;
  if (e.list.length || s.network.mode === 'private-endpoints') {
    out.push(
      `Interface endpoints: ${e.up} up, ${e.down} down` +
        (e.list.length
          ? '  (billed per hour while up; `batchctl down --endpoints` removes them, `batchctl up` restores them)'
          : ''),
    );
  }
  if (e.down) out.push(...table(e.list.filter((x) => x.state !== 'up').map((x) => [x.state, x.key])));
  out.push('');
  out.push(...renderJobs(s));
  out.push(...renderDeadLetters(s));
  const images = renderImages(s);
  if (images.length) out.push('', ...images);
  out.push('');
  out.push(...renderAlerts(s.alerts));
  out.push('');
  out.push('Last runs (newest first):');
  const several = s.jobs.length > 1;
  // Runs through a state machine count their attempts (the task shown is the last attempt's).
  const attempts = s.runs.some((r) => r.attempts !== undefined);
  if (s.runs.length) {
    out.push(
      ...table([
        [
          ...(several ? ['JOB'] : []),
          'TASK',
          'TRIGGER',
          'STARTED (UTC)',
          'STOPPED (UTC)',
          'DURATION',
          'STATUS',
          'EXIT',
          ...(attempts ? ['ATTEMPTS'] : []),
          'STOP',
        ],
        ...s.runs.map((r) => [
          ...(several ? [r.job] : []),
          r.shortId,
          r.trigger,
          utcTime(r.startedAt),
          utcTime(r.stoppedAt),
          r.durationSeconds === undefined ? '-' : formatSeconds(r.durationSeconds),
          r.lastStatus,
          r.exitCode === undefined ? '-' : String(r.exitCode),
          ...(attempts ? [r.attempts === undefined ? '-' : String(r.attempts)] : []),
          stopText(r),
        ]),
      ]),
    );
  }
  if (s.runsNote) out.push(`  ${s.runsNote}`);
  return out;
}

/**
 * The dead-letter queue: one line when it is empty (healthy, collapsed), else one line per job with
 * dead letters, its count and the newest error, so what to fix is on screen.
 */
export function renderDeadLetters(s: Pick<StatusReport, 'deadLetters' | 'jobs'>): string[] {
  const d = s.deadLetters;
  if (!d) return [];
  if (d.count === undefined) return [`  dead-letter queue ${d.queue}: ${d.note ?? 'unknown'}`];
  if (!d.count) return [`  dead-letter queue ${d.queue}: empty (every scheduled invocation reached ECS)`];
  const out = [
    `  ${d.count} scheduled invocation${d.count === 1 ? '' : 's'} never reached ECS (dead-letter queue ${d.queue}):`,
  ];
  for (const j of s.jobs) {
    const e = j.deadLetters;
    if (!e?.count) continue;
    const n = e.newest;
    const due = n?.scheduledTime ? `run due ${utcTime(n.scheduledTime)}` : `dead-lettered ${utcTime(n?.sentAt)}`;
    const why = n ? `${n.errorCode ?? 'error'}${n.errorMessage ? `: ${printable(n.errorMessage, 160)}` : ''}` : '';
    out.push(`    ${j.job}: ${e.count}; newest: ${due}, ${why}`);
  }
  if (d.unattributed) out.push(`    ${d.unattributed} of no job in the config (a job removed or renamed since)`);
  if (d.sampled !== undefined && d.sampled < d.count)
    out.push(`    (per job: the ${d.sampled} messages SQS returned of ${d.count}; SQS samples its servers)`);
  return out;
}

/** The IMAGE column: whether the job's image is in its repository. */
const IMAGE_STATE = { present: 'pushed', missing: 'MISSING', unchecked: 'not checked' } as const;

/** A run in one cell: `2026-11-28 00:30:15 exit 0 (2m03s)`, `RUNNING since ...`, or `-`. */
function lastRunText(r: RunInfo | undefined): string {
  if (!r) return '-';
  if (r.lastStatus !== 'STOPPED') return `${r.lastStatus} since ${utcTime(r.startedAt ?? r.createdAt)}`;
  const exit = r.timedOut
    ? 'timed out'
    : r.exitCode === undefined
      ? (r.stopCode ?? 'no exit code')
      : `exit ${r.exitCode}`;
  const tries = r.attempts !== undefined && r.attempts > 1 ? `, ${r.attempts} attempts` : '';
  return `${utcTime(r.startedAt ?? r.createdAt)} ${exit}${r.durationSeconds === undefined ? '' : ` (${formatSeconds(r.durationSeconds)}${tries})`}`;
}

/**
 * Each job's timeout and retries, when any job has them: such a job's schedule starts its state machine,
 * which runs the task; the others' schedules start their task directly.
 */
export function renderRunPolicies(s: Pick<StatusReport, 'jobs'>): string[] {
  if (!s.jobs.some((j) => j.runPolicy)) return [];
  return [
    'Timeouts and retries:',
    ...table(
      s.jobs.map((j) => {
        const p = j.runPolicy;
        if (!p) return [j.job, 'none: the schedule starts the task directly'];
        const timeout =
          p.timeoutSeconds === undefined ? 'no timeout' : `timeout ${formatRunDuration(p.timeoutSeconds)} per attempt`;
        const spot = p.spot ? ', first attempt on Fargate Spot, then on-demand' : '';
        return [
          j.job,
          `${timeout}, ${p.retries} ${p.retries === 1 ? 'retry' : 'retries'}${spot}`,
          `(state machine ${p.stateMachine})`,
        ];
      }),
    ),
  ];
}

/**
 * What each job's task gets beyond its image, when any job has some: its secrets (by name and source,
 * never a value), Fargate Spot, a larger ephemeral storage.
 */
export function renderTaskExtras(s: Pick<StatusReport, 'jobs'>): string[] {
  const rows = s.jobs.flatMap((j) => [
    ...(j.secrets ? [[j.job, `secrets: ${j.secrets.join(', ')}`]] : []),
    ...(j.capacity === 'spot'
      ? [[j.job, 'capacity: spot (Fargate Spot; on-demand when Spot has no capacity or reclaims the task)']]
      : []),
    ...(j.ephemeralStorageGiB !== undefined ? [[j.job, `ephemeral storage: ${j.ephemeralStorageGiB} GiB`]] : []),
  ]);
  return rows.length ? ['Secrets, capacity and storage:', ...table(rows)] : [];
}

/**
 * The jobs: a table of every job's schedule, whether it is enabled, its next run and its last run; with
 * one job, that job's next runs in detail (in its zone, or this machine's) as well.
 */
export function renderJobs(s: StatusReport): string[] {
  const out = [`Jobs (${s.jobs.length}):`];
  out.push(
    ...table([
      ['JOB', 'SCHEDULE', 'ENABLED', 'IMAGE', 'NEXT RUN (UTC)', 'LAST RUN (UTC)'],
      ...s.jobs.map((j) => {
        const sc = j.schedule;
        const zone = sc.engine === 'scheduler' && sc.timezone !== 'UTC' ? ` ${sc.timezone}` : '';
        const where =
          sc.source === 'config'
            ? ` (not created: the ${sc.engine === 'scheduler' ? 'schedule' : 'rule'} does not exist yet)`
            : '';
        return [
          j.job,
          `${sc.expression}${zone}${where}`,
          sc.paused ? 'PAUSED' : sc.enabled ? 'yes' : 'DISABLED',
          IMAGE_STATE[j.image.state],
          sc.next[0] && !sc.paused ? utcTime(sc.next[0].utc) : '-',
          lastRunText(j.lastRun),
        ];
      }),
    ]),
  );
  out.push(...renderPaused(s));
  // Said under the table it concerns: a job whose image is missing fails at every scheduled run.
  out.push(...imageWarnings(s.images).map((w) => `  warning: ${w}`));
  out.push(...renderRunPolicies(s));
  out.push(...renderTaskExtras(s));
  if (s.jobs.length !== 1) return out;
  const sc = s.jobs[0]!.schedule;
  const what = sc.engine === 'scheduler' ? 'schedule' : 'rule';
  const zone = sc.engine === 'scheduler' ? ` in ${sc.timezone}` : '';
  out.push('');
  out.push(
    `Schedule: ${sc.expression}${zone}, ${sc.paused ? 'PAUSED' : sc.enabled ? 'enabled' : 'DISABLED'} (${sc.source === 'config' ? `config: the ${what} does not exist yet` : `live ${sc.engine === 'scheduler' ? 'EventBridge Scheduler schedule' : 'rule'}`})`,
  );
  if (sc.next.length) {
    if (sc.displayTimeZone === 'UTC' || sc.displayTimeZone === 'Etc/UTC')
      out.push(...table([['NEXT RUNS (UTC)'], ...sc.next.map((n) => [n.utc])]));
    else {
      const z = sc.displayTimeZone === sc.timezone ? sc.displayTimeZone : `${sc.displayTimeZone} (this machine)`;
      out.push(...table([['NEXT RUNS (UTC)', z], ...sc.next.map((n) => [n.utc, n.local])]));
    }
  } else {
    out.push('  no upcoming run times (expression not understood, or it never fires again)');
  }
  if (!sc.enabled)
    out.push(
      `  the ${what} is ${sc.paused ? 'paused' : 'disabled'}: these times will not run until it is ${sc.paused ? 'resumed' : 'enabled'}`,
    );
  return out;
}

/** The paused schedules: who paused each, when, why, and what lifts it. */
export function renderPaused(s: Pick<StatusReport, 'jobs'>): string[] {
  return s.jobs
    .filter((j) => j.schedule.paused)
    .map((j) => {
      const m = j.schedule.paused!;
      const by = m.by || 'an unknown caller';
      return m.reason === 'user'
        ? `  ${j.job}: paused by ${by} at ${m.at} (batchctl pause); \`batchctl resume ${j.job}\` re-enables it, up keeps it paused`
        : `  ${j.job}: paused by down --endpoints (${by}, ${m.at}): runs would fail without the endpoints; \`batchctl up\` restores them and resumes it`;
    });
}

/** Each job's image: what it runs, pinned or by tag, and whether its tag moved since the deploy. */
export function renderImages(s: Pick<StatusReport, 'jobs'>): string[] {
  const rows = s.jobs
    .filter((j) => j.image)
    .map((j) => {
      const i = j.image!;
      const short = (d: string | null | undefined) => (d ? d.slice(0, 19) : '');
      const tag =
        i.tag === undefined
          ? 'the config names the digest'
          : i.tagDigest === null
            ? `no image tagged ${i.tag}`
            : i.tagMoved
              ? `tag ${i.tag} is another image: ${short(i.tagDigest)} (batchctl deploy${s.jobs.length > 1 ? ` ${j.job}` : ''} runs it)`
              : i.deployedDigest
                ? `tag ${i.tag} still points at it`
                : `tag ${i.tag} is ${short(i.tagDigest)} now`;
      const runs = !i.reference
        ? 'no task definition yet'
        : i.deployedDigest
          ? `${short(i.deployedDigest)} (deployed${i.deployedTags?.length ? `, tag ${i.deployedTags.join(', ')}` : ''})`
          : `${i.reference.split('/').pop()} (by tag${i.pin === 'digest' ? ': not pinned yet' : ''})`;
      return [j.job, runs, tag];
    });
  if (!rows.length) return [];
  return ['Images:', ...table([['JOB', 'RUNS', 'TAG'], ...rows])];
}

/** `batchctl status`: resources present / missing / drifted, endpoints, schedule, last runs. */
export function registerStatus(program: Command): void {
  program
    .command('status')
    .description(
      'show which resources exist and match the config, the endpoints, the next scheduled runs and the last runs (read-only)',
    )
    .option(
      '--runs <n>',
      'how many recent runs to show, 1 to 100',
      countFlag('--runs', 1, 100, 'ECS keeps a stopped task for about an hour; older runs are in `batchctl history`'),
      5,
    )
    .action(async (opts: { runs: number }, cmd: Command) =>
      runCommand(cmd, async (flags) => {
        const [{ runStatus }, { WarningsReporter }] = await Promise.all([
          import('../../runs/status.js'),
          import('../lib/output.js'),
        ]);
        const report = await runStatus({
          ...stackOptions(flags),
          reporter: new WarningsReporter(),
          runs: opts.runs,
        });
        const errors = report.resources.filter((r) => r.state === 'error');
        if (flags.json) process.stdout.write(JSON.stringify({ ok: errors.length === 0, ...report }, null, 2) + '\n');
        else process.stdout.write(renderStatus(report, { verbose: flags.verbose }).join('\n') + '\n');
        return errors.length ? 1 : 0;
      }),
    );
}
