import type { Command } from 'commander';
import { runCommand } from '../lib/common.js';
import { countFlag, PARALLEL_MAX } from '../lib/flags.js';
import { createReporter, formatDuration, notStartedLines, outputMode, JsonReporter } from '../lib/output.js';
import type { ResourceAction, ResourceEvent } from '../../engine/reporter.js';
import type { UpReport } from '../../stack/up.js';

/** `batchctl up`: create or converge every resource of the stack. */
export function registerUp(program: Command): void {
  program
    .command('up')
    .argument('[plan]', 'a plan saved by `plan --out`: apply exactly its changes, or refuse (exit 2, nothing changed) when anything moved since it was made')
    .description('create or update every resource of the stack, in dependency order (idempotent)')
    .option('--parallel <n>', 'steps in flight at once, 1 to 256 (mutating calls are paced per AWS throttling bucket whatever the number)', countFlag('--parallel', 1, PARALLEL_MAX), 64)
    .option('--force-unlock <lock-id>', 'first remove the lock with this id (a run that died holding it; the lock error names it)')
    .action(async (planFile: string | undefined, opts: { parallel: number; forceUnlock?: string }, cmd: Command) =>
      runCommand(cmd, async (flags) => {
        const mode = outputMode(flags.json);
        const reporter = await createReporter(mode, { verbose: flags.verbose });
        const { runUp } = await import('../../stack/up.js');
        let report: UpReport;
        try {
          report = await runUp({
            configPath: flags.config, region: flags.region, profile: flags.profile, endpointUrl: flags.endpointUrl,
            statePath: flags.state, forceUnlock: opts.forceUnlock, reporter, parallel: opts.parallel, planFile,
          });
        } catch (err) {
          reporter.stop?.();
          const partial = (err as { report?: Omit<UpReport, 'images'> }).report;
          if (partial && mode !== 'json') {
            const lines = [...(flags.verbose ? [] : notStartedLines(partial.events, STEPS)), summary(partial, true, !!reporter.headingShown?.())];
            process.stdout.write(lines.join('\n') + '\n');
          }
          throw err;
        }
        reporter.stop?.();
        if (mode === 'json') {
          const events = (reporter as JsonReporter).events;
          process.stdout.write(JSON.stringify({
            ok: true, stack: report.stack, region: report.region, account: report.account, statePath: report.statePath,
            ...(report.plan ? { plan: report.plan } : {}),
            resources: events.map((e) => ({ key: e.key, kind: e.kind, action: e.action, id: e.id, arn: e.arn, changes: e.changes })),
            counts: report.counts, wallMs: report.wallMs, images: report.images,
          }, null, 2) + '\n');
        } else {
          const { imageWarnings } = await import('../../model/image-check.js');
          // The missing image last, where it stays on screen: the stack is up, and will not run until pushed.
          const lines = [summary(report, false, !!reporter.headingShown?.()), ...imageWarnings(report.images, { afterUp: true }).map((w) => `warning: ${w}`)];
          process.stdout.write(lines.join('\n') + '\n');
        }
        return 0;
      }),
    );
}

/** How `up` words the steps never started after a failure. */
const STEPS = { noun: ['step', 'steps'], need: ['needs', 'need'] } as { noun: [string, string]; need: [string, string] };

/**
 * `Done: 1 created, 0 updated, 34 unchanged in 2.1s`; a run that changed nothing and printed nothing
 * else is one line that names the stack (its heading was never printed).
 */
function summary(r: { counts: Record<ResourceAction, number>; wallMs: number; stack: string; region: string; account: string; events: ResourceEvent[] }, failed: boolean, headingShown: boolean): string {
  const c = r.counts;
  const changed = c.created + c.updated + c.deleted + c.failed + c.skipped;
  if (!failed && !changed && !headingShown) {
    return `No changes: stack ${r.stack} in ${r.region} (account ${r.account}) is up to date, ${c.unchanged} resources unchanged in ${formatDuration(r.wallMs)}`;
  }
  const parts = [`${c.created} created`, `${c.updated} updated`, `${c.unchanged} unchanged`];
  // What left the config (a switched network mode's old path, the other schedule engine) goes last.
  if (c.deleted) parts.push(`${c.deleted} deleted`);
  if (c.failed) parts.push(`${c.failed} failed`);
  if (c.skipped) parts.push(`${c.skipped} skipped`);
  return `${failed ? 'Failed' : 'Done'}: ${parts.join(', ')} in ${formatDuration(r.wallMs)}`;
}
