/**
 * `batchctl plan`: open the stack (no lock: read-only), run the preflight `up` runs, assess the whole
 * graph (engine/plan.ts) and read each job's image; with `out`, save the plan for `up <file>`
 * (engine/saved-plan.ts).
 */
import { basisOf, planStack, type Plan, type PlanBasis } from '../engine/plan.js';
import type { StackOptions } from '../engine/stack.js';
import type { ImageCheck } from '../model/image-check.js';

/** A plan with the stack's identity, as the `plan` command reports it. */
export interface PlanReport extends Plan {
  stack: string;
  region: string;
  account: string;
  /** What the plan was made from (config, state version, preflight), for `--out`. */
  basis: PlanBasis;
  /** With `out`: the plan file written; absent when the plan has errors or conflicts (not saved). */
  saved?: { path: string; id: string };
  /** Each job's image, and whether it is in its repository (scheduled runs fail until it is). */
  images: ImageCheck[];
}

/**
 * `batchctl plan`: open the stack (no lock: read-only) and plan it; with `out`, save the plan for
 * `up <file>` (engine/saved-plan.ts).
 */
export async function runPlan(
  opts: StackOptions & { parallel?: number; out?: string; force?: boolean },
): Promise<PlanReport> {
  const [{ openStack, loadStackConfig }, { RESOURCE_KINDS }, { ALL_SERVICES }, { checkStackImages }] =
    await Promise.all([
      import('../engine/stack.js'),
      import('../resources/index.js'),
      import('../aws/clients.js'),
      import('../model/image-check.js'),
    ]);
  const config = await loadStackConfig(opts);
  // Where the plan goes is checked before any AWS call: never the config or the state, never a file that
  // is not an older plan (unless --force).
  if (opts.out) await guardPlanFile(opts.out, opts, config);
  const stack = await openStack(opts, ALL_SERVICES, undefined, config);
  try {
    // What `up` would refuse before writing, `plan` refuses too: a plan that `up` cannot apply is no plan.
    const { preflight } = await import('./preflight.js');
    // Read alongside the walk, as `up` does; its refusal wins over the plan once both are done.
    const checking = preflight({
      config: stack.config,
      aws: stack.aws,
      account: stack.account,
      partition: stack.partition,
      configPath: opts.configPath,
      records: stack.state.records(),
      warn: (m) => opts.reporter.warn(m),
    });
    checking.catch(() => {});
    // The images are read alongside the walk: one call per repository, no wait added.
    const [plan, images] = await Promise.all([
      planStack(
        {
          config: stack.config,
          aws: stack.aws,
          account: stack.account,
          partition: stack.partition,
          reporter: opts.reporter,
          state: stack.state,
          clock: opts.clock,
          kinds: RESOURCE_KINDS,
        },
        { parallel: opts.parallel },
      ),
      checkStackImages(stack.aws.ecr, stack.config, stack.account),
    ]);
    const basis = basisOf(stack, await checking);
    const report: PlanReport = {
      ...plan,
      stack: stack.config.stack,
      region: stack.config.region,
      account: stack.account,
      basis,
      images,
    };
    // A plan `up` would refuse, or could not complete, is shown but not saved (the caller says so).
    if (opts.out && !plan.conflicts.length && !plan.entries.some((e) => e.action === 'error')) {
      const { writeSavedPlan } = await import('../engine/saved-plan.js');
      const saved = await writeSavedPlan(opts.out, plan, basis, RESOURCE_KINDS);
      report.saved = { path: opts.out, id: saved.id };
    }
    return report;
  } finally {
    await stack.close();
  }
}

/** Refuse `plan --out` onto the config, the state (and its pre-0.2 place), or another file than a plan. */
async function guardPlanFile(
  out: string,
  opts: StackOptions & { force?: boolean },
  config: import('../config/schema.js').StackConfig,
): Promise<void> {
  const [{ guardOutputPath }, { isSavedPlanText }, { stateLocationOf }] = await Promise.all([
    import('../base/files.js'),
    import('../engine/saved-plan.js'),
    import('../engine/stack.js'),
  ]);
  const state = stateLocationOf(opts, config);
  await guardOutputPath(out, {
    what: 'the plan',
    force: opts.force,
    accepts: isSavedPlanText,
    protect: [
      { path: opts.configPath, what: 'the config' },
      ...(state.kind === 'local' ? [{ path: state.path, what: 'the state' }] : []),
      ...(state.kind === 'local' && state.legacyPath
        ? [{ path: state.legacyPath, what: 'the state (at its pre-0.2 place)' }]
        : []),
    ],
  });
}
