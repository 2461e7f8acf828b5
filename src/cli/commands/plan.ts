import type { Command } from 'commander';
import { runCommand, stackOptions } from '../lib/common.js';
import { countFlag, PARALLEL_MAX } from '../lib/flags.js';
import { planEntryLines, planSummary } from '../lib/plan-text.js';

/** Exit code of `plan --fail-on-changes` when `up` would change something (0, 1 and 2 are taken). */
export const EXIT_CHANGES_PENDING = 3;

/** `batchctl plan`: what `up` would change, field by field, without changing anything. */
export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('show what `up` would create, update or refuse to replace, field by field (read-only)')
    .option('--all', 'also list unchanged resources (as --verbose does)')
    .option('--fail-on-changes', `exit ${EXIT_CHANGES_PENDING} when changes are pending (for CI drift checks)`)
    // Terraform's name for the same thing; Terraform exits 2 for changes, but 2 is our user-error code.
    .option(
      '--detailed-exitcode',
      `the same as --fail-on-changes (exit ${EXIT_CHANGES_PENDING} with changes pending, 0 without, 1/2 on errors)`,
    )
    .option(
      '--out <file>',
      'save the plan for `batchctl up <file>`, which applies exactly it or refuses when anything moved since (not saved when up would refuse it)',
    )
    .option('--force', 'with --out: replace a file that is not a saved plan (never the config or the state)')
    .option('--parallel <n>', 'lookups in flight at once, 1 to 256', countFlag('--parallel', 1, PARALLEL_MAX), 64)
    .action(
      async (
        opts: {
          all?: boolean;
          failOnChanges?: boolean;
          detailedExitcode?: boolean;
          out?: string;
          force?: boolean;
          parallel: number;
        },
        cmd: Command,
      ) =>
        runCommand(cmd, async (flags) => {
          const [{ runPlan }, { WarningsReporter }, { imageWarnings }] = await Promise.all([
            import('../../stack/plan.js'),
            import('../lib/output.js'),
            import('../../model/image-check.js'),
          ]);
          const all = opts.all || flags.verbose;
          const reporter = new WarningsReporter();
          const plan = await runPlan({
            ...stackOptions(flags),
            reporter,
            parallel: opts.parallel,
            checkStateStorage: true,
            out: opts.out,
            force: opts.force,
          });
          const errors = plan.entries.filter((e) => e.action === 'error');
          const saved = plan.saved
            ? `Saved the plan as ${plan.saved.path} (${plan.saved.id}): apply exactly it with \`batchctl up ${plan.saved.path}\`.`
            : undefined;
          // Said on stderr so `--json` output stays one document.
          if (opts.out && !plan.saved)
            process.stderr.write(
              `warning: the plan was not saved to ${opts.out}: ${errors.some((e) => !e.conflict) ? 'it is incomplete (a read failed)' : 'up would refuse it'}\n`,
            );
          if (flags.json) {
            process.stdout.write(
              JSON.stringify(
                {
                  ok: errors.length === 0,
                  stack: plan.stack,
                  region: plan.region,
                  account: plan.account,
                  pending: plan.pending,
                  counts: plan.counts,
                  warnings: reporter.warnings,
                  resources: plan.entries.map((e) => ({
                    key: e.key,
                    kind: e.kind,
                    action: e.action,
                    id: e.record?.id,
                    changes: e.changes?.map((c) => ({
                      field: c.field,
                      from: c.sensitive ? '(sensitive)' : c.from,
                      to: c.sensitive ? '(sensitive)' : c.to,
                      replace: c.replace ?? false,
                      ...(c.removes?.length ? { removes: c.removes } : {}),
                    })),
                    error: e.error?.message,
                    ...(e.conflict ? { conflict: true } : {}),
                    ...(e.external ? { owner: 'you' } : {}),
                    ...(e.found?.duplicates?.length ? { duplicates: e.found.duplicates.map((d) => d.id) } : {}),
                    ...(e.notes?.length ? { notes: e.notes } : {}),
                  })),
                  conflicts: plan.conflicts.map((e) => e.key),
                  images: plan.images,
                  ...(plan.saved ? { saved: plan.saved } : {}),
                },
                null,
                2,
              ) + '\n',
            );
          } else {
            const out: string[] = [`batchctl plan: stack ${plan.stack} in ${plan.region} (account ${plan.account})`];
            out.push(...planEntryLines(plan, { all }));
            out.push(planSummary(plan));
            if (plan.conflicts.length)
              out.push(
                `up would refuse before changing anything: ${plan.conflicts.length} conflict${plan.conflicts.length === 1 ? '' : 's'} (${plan.conflicts.map((e) => e.key).join(', ')}).`,
              );
            if (saved) out.push(saved);
            // Converging is not running: a stack whose image is missing runs its schedule into failures.
            out.push(...imageWarnings(plan.images).map((w) => `warning: ${w}`));
            process.stdout.write(out.join('\n') + '\n');
          }
          // 1: the plan is incomplete (a read failed); 2: `up` would refuse (not ours, replacement).
          if (errors.some((e) => !e.conflict)) return 1;
          if (plan.conflicts.length) return 2;
          return (opts.failOnChanges || opts.detailedExitcode) && plan.pending ? EXIT_CHANGES_PENDING : 0;
        }),
    );
}
