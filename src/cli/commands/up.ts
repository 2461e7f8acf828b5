import type { Command } from 'commander';
import { runCommand, stackOptions } from '../lib/common.js';
import { countFlag, PARALLEL_MAX } from '../lib/flags.js';
import { createReporter, formatDuration, notStartedLines, outputMode, JsonReporter } from '../lib/output.js';
import type { RunResult } from '../../engine/reporter.js';
import { StepsFailed } from '../../engine/errors.js';
import type { UpReport } from '../../stack/up.js';
import type { Plan } from '../../engine/plan.js';
import type { StackConfig } from '../../config/schema.js';
import { askYesNo } from '../lib/confirm.js';
import { EXIT_CANCELLED } from '../lib/errors.js';
import { planEntryLines, planSummary } from '../lib/plan-text.js';
import type { GlobalFlags } from '../lib/common.js';

interface UpFlags {
  yes?: boolean;
  autoApprove?: boolean;
  parallel: number;
  forceUnlock?: string;
}

/** What `up` shows before it asks: the changes, the plan's counts and what they do to the monthly cost. */
export async function approvalLines(plan: Plan, config: StackConfig, now = new Date()): Promise<string[]> {
  const [{ costChange }, { usd }] = await Promise.all([import('../../info/cost.js'), import('../../model/pricing.js')]);
  const entries = plan.entries.map((e) => ({
    key: e.key,
    kind: e.kind,
    action: e.action,
    changes: e.changes,
    job: (plan.graph.byKey.get(e.key)?.spec.params as { job?: string } | undefined)?.job,
  }));
  const cost = costChange(config, entries, now);
  const delta = cost && cost.after - cost.before;
  const sign = delta === undefined ? '' : delta > 0 ? '+' : delta < 0 ? '-' : '';
  return [
    ...planEntryLines(plan),
    planSummary(plan),
    cost
      ? `Monthly cost: ${usd(cost.before)} now, ${usd(cost.after)} once applied (${sign}${usd(Math.abs(delta!))}); on-demand prices as of ${cost.pricesAsOf}, runs of ${cost.runSeconds / 60} minutes (\`batchctl cost\` has the details)`
      : `Monthly cost: unknown (batchctl has no prices for ${config.region}: \`batchctl cost\` says which to set)`,
  ];
}

/**
 * `up` with nobody to approve it (no terminal, or --json): a read-only plan, no lock. Nothing to change
 * is said as a no-op `up` says it (exit 0); anything to change is refused (exit 2) with the plan's counts.
 */
async function lookOnly(flags: GlobalFlags): Promise<number> {
  const [{ runPlan }, { WarningsReporter }, { imageWarnings }, { UserError }] = await Promise.all([
    import('../../stack/plan.js'),
    import('../lib/output.js'),
    import('../../model/image-check.js'),
    import('../../base/errors.js'),
  ]);
  const started = Date.now();
  const plan = await runPlan({ ...stackOptions(flags), reporter: new WarningsReporter() });
  if (plan.pending) {
    const why = flags.json
      ? 'up --json does not ask'
      : 'up asks before changing anything, and there is no terminal to ask on';
    const refused = plan.conflicts.length
      ? [
          `up would refuse anyway: ${plan.conflicts.length} conflict${plan.conflicts.length === 1 ? '' : 's'} (${plan.conflicts.map((e) => e.key).join(', ')})`,
        ]
      : [];
    throw new UserError(
      `${why}: nothing was changed`,
      'pass --yes (or --auto-approve) to apply what `batchctl plan` shows; or review `batchctl plan --out plan.json` and apply exactly it with `batchctl up plan.json`',
      [planSummary(plan), ...refused],
    );
  }
  const counts = {
    created: 0,
    updated: 0,
    unchanged: plan.counts.unchanged,
    deleted: 0,
    absent: 0,
    failed: 0,
    skipped: 0,
  };
  const wallMs = Date.now() - started;
  if (flags.json) {
    process.stdout.write(
      JSON.stringify(
        {
          ok: true,
          stack: plan.stack,
          region: plan.region,
          account: plan.account,
          resources: plan.entries.map((e) => ({
            key: e.key,
            kind: e.kind,
            action: 'unchanged',
            id: e.record?.id,
            arn: e.record?.arn,
          })),
          counts,
          wallMs,
          images: plan.images,
        },
        null,
        2,
      ) + '\n',
    );
    return 0;
  }
  const noop = summary({ ...plan, counts, wallMs, events: [], failures: [] }, false, false);
  process.stdout.write(
    [noop, ...imageWarnings(plan.images, { afterUp: true }).map((w) => `warning: ${w}`)].join('\n') + '\n',
  );
  return 0;
}

/** `batchctl up`: create or converge every resource of the stack, once the plan is approved. */
export function registerUp(program: Command): void {
  program
    .command('up')
    .argument(
      '[plan]',
      'a plan saved by `plan --out`: apply exactly its changes, or refuse (exit 2, nothing changed) when anything moved since it was made',
    )
    .description(
      'create or update every resource of the stack, in dependency order (idempotent); on a terminal it shows the plan and asks first',
    )
    .option('-y, --yes', 'apply without asking (needed when not on a terminal, unless nothing would change)')
    .option('--auto-approve', "the same as --yes (Terraform's name)")
    .option(
      '--parallel <n>',
      'steps in flight at once, 1 to 256 (mutating calls are paced per AWS throttling bucket whatever the number)',
      countFlag('--parallel', 1, PARALLEL_MAX),
      64,
    )
    .option(
      '--force-unlock <lock-id>',
      'first remove the lock with this id (a run that died holding it; the lock error names it)',
    )
    .action(async (planFile: string | undefined, opts: UpFlags, cmd: Command) =>
      runCommand(cmd, async (flags) => {
        const mode = outputMode(flags.json);
        // A saved plan is the approval; --yes gives it; otherwise the user is asked, or, with nobody to
        // ask (no terminal, or --json for a program), up only looks and refuses any change.
        const approved = planFile !== undefined || !!opts.yes || !!opts.autoApprove;
        if (!approved && (mode === 'json' || !process.stdin.isTTY || !process.stderr.isTTY)) return lookOnly(flags);
        const reporter = await createReporter(mode, { verbose: flags.verbose });
        const { runUp } = await import('../../stack/up.js');
        let report: UpReport;
        try {
          report = await runUp({
            ...stackOptions(flags),
            forceUnlock: opts.forceUnlock,
            reporter,
            parallel: opts.parallel,
            planFile,
            ...(approved
              ? {}
              : {
                  approve: async (plan, config) => {
                    reporter.pause?.();
                    reporter.showHeading?.();
                    return askYesNo(await approvalLines(plan, config), 'Apply?', 'nothing was changed');
                  },
                }),
          });
        } catch (err) {
          reporter.stop?.();
          if (err instanceof StepsFailed && mode !== 'json') {
            const partial = err.report;
            const lines = [
              ...(flags.verbose ? [] : notStartedLines(partial.events, STEPS)),
              summary(partial, true, !!reporter.headingShown?.()),
            ];
            process.stdout.write(lines.join('\n') + '\n');
          }
          throw err;
        }
        if (report.declined) {
          reporter.stop?.();
          process.stderr.write('Nothing was changed.\n');
          // Answering no is not success: a script that goes on after `up` must not think the stack is up.
          return EXIT_CANCELLED;
        }
        reporter.stop?.();
        if (mode === 'json') {
          const events = (reporter as JsonReporter).events;
          process.stdout.write(
            JSON.stringify(
              {
                ok: true,
                stack: report.stack,
                region: report.region,
                account: report.account,
                statePath: report.statePath,
                ...(report.plan ? { plan: report.plan } : {}),
                resources: events.map((e) => ({
                  key: e.key,
                  kind: e.kind,
                  action: e.action,
                  id: e.id,
                  arn: e.arn,
                  changes: e.changes,
                })),
                counts: report.counts,
                wallMs: report.wallMs,
                images: report.images,
              },
              null,
              2,
            ) + '\n',
          );
        } else {
          const { imageWarnings } = await import('../../model/image-check.js');
          // The missing image last, where it stays on screen: the stack is up, and will not run until pushed.
          const lines = [
            summary(report, false, !!reporter.headingShown?.()),
            ...imageWarnings(report.images, { afterUp: true }).map((w) => `warning: ${w}`),
          ];
          process.stdout.write(lines.join('\n') + '\n');
        }
        return 0;
      }),
    );
}

/** How `up` words the steps never started after a failure. */
const STEPS = { noun: ['step', 'steps'], need: ['needs', 'need'] } as {
  noun: [string, string];
  need: [string, string];
};

/**
 * `Done: 1 created, 0 updated, 34 unchanged in 2.1s`; a run that changed nothing and printed nothing
 * else is one line that names the stack (its heading was never printed).
 */
function summary(
  r: RunResult & Partial<Pick<UpReport, 'stack' | 'region' | 'account'>>,
  failed: boolean,
  headingShown: boolean,
): string {
  const c = r.counts;
  const changed = c.created + c.updated + c.deleted + c.failed + c.skipped;
  if (!failed && !changed && !headingShown && r.stack) {
    return `No changes: stack ${r.stack} in ${r.region} (account ${r.account}) is up to date, ${c.unchanged} resources unchanged in ${formatDuration(r.wallMs)}`;
  }
  const parts = [`${c.created} created`, `${c.updated} updated`, `${c.unchanged} unchanged`];
  // What left the config (a switched network mode's old path, the other schedule engine) goes last.
  if (c.deleted) parts.push(`${c.deleted} deleted`);
  if (c.failed) parts.push(`${c.failed} failed`);
  if (c.skipped) parts.push(`${c.skipped} skipped`);
  return `${failed ? 'Failed' : 'Done'}: ${parts.join(', ')} in ${formatDuration(r.wallMs)}`;
}
