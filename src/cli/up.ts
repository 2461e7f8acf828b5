import type { Command } from 'commander';
import { runCommand, positiveInt } from './common.js';
import { createReporter, formatDuration, outputMode, JsonReporter } from './output.js';
import type { ResourceAction } from '../core/reporter.js';

/** `batchctl up`: create or converge every resource of the stack. */
export function registerUp(program: Command): void {
  program
    .command('up')
    .argument('[plan]', 'a plan saved by `plan --out`: apply exactly its changes, or refuse (exit 2, nothing changed) when anything moved since it was made')
    .description('create or update every resource of the stack, in dependency order (idempotent)')
    .option('--parallel <n>', 'steps in flight at once (mutating calls are paced per AWS throttling bucket whatever the number)', positiveInt('--parallel'), 64)
    .option('--force-unlock <lock-id>', 'first remove the lock with this id (a run that died holding it; the lock error names it)')
    .action(async (planFile: string | undefined, opts: { parallel: number; forceUnlock?: string }, cmd: Command) =>
      runCommand(cmd, async (flags) => {
        const mode = outputMode(flags.json);
        const reporter = await createReporter(mode);
        const { runUp } = await import('../core/up.js');
        let report;
        try {
          report = await runUp({
            configPath: flags.config, region: flags.region, profile: flags.profile, endpointUrl: flags.endpointUrl,
            statePath: flags.state, forceUnlock: opts.forceUnlock, reporter, parallel: opts.parallel, planFile,
          });
        } catch (err) {
          reporter.stop?.();
          const partial = (err as { report?: { counts: Record<ResourceAction, number>; wallMs: number } }).report;
          if (partial && mode !== 'json') process.stdout.write(summary(partial.counts, partial.wallMs, true) + '\n');
          throw err;
        }
        reporter.stop?.();
        if (mode === 'json') {
          const events = (reporter as JsonReporter).events;
          process.stdout.write(JSON.stringify({
            ok: true, stack: report.stack, region: report.region, account: report.account, statePath: report.statePath,
            ...(report.plan ? { plan: report.plan } : {}),
            resources: events.map((e) => ({ key: e.key, kind: e.kind, action: e.action, id: e.id, arn: e.arn, changes: e.changes })),
            counts: report.counts, wallMs: report.wallMs,
          }, null, 2) + '\n');
        } else {
          process.stdout.write(summary(report.counts, report.wallMs, false) + '\n');
        }
        return 0;
      }),
    );
}

function summary(c: Record<ResourceAction, number>, wallMs: number, failed: boolean): string {
  const parts = [`${c.created} created`, `${c.updated} updated`, `${c.unchanged} unchanged`];
  // What left the config (a switched network mode's old path, the other schedule engine) goes last.
  if (c.deleted) parts.push(`${c.deleted} deleted`);
  if (c.failed) parts.push(`${c.failed} failed`);
  if (c.skipped) parts.push(`${c.skipped} skipped`);
  return `${failed ? 'Failed' : 'Done'}: ${parts.join(', ')} in ${formatDuration(wallMs)}`;
}
