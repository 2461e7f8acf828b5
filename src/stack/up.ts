/**
 * `up` as one call: open the stack (config, clients, identity, lock, state), converge it, close. With a
 * saved plan (`up plan.json`), converge only if nothing moved since the plan was made, and make exactly
 * its changes (engine/saved-plan.ts).
 */
import { ALL_SERVICES } from '../aws/clients.js';
import { RESOURCE_KINDS } from '../resources/index.js';
import { isIamPropagationError } from '../resources/lib/iam-propagation.js';
import { up as converge, type EngineEnv, type UpOptions } from '../engine/engine.js';
import { StepsFailed } from '../engine/errors.js';
import type { RunResult } from '../engine/reporter.js';
import { basisOf, planOf, type Plan } from '../engine/plan.js';
import { preflight } from './preflight.js';
import { applyExactly, checkPlanIdentity, planBody, readSavedPlan, type SavedPlan } from '../engine/saved-plan.js';
import { openStack, type StackOptions } from '../engine/stack.js';
import { checkStackImages, type ImageCheck } from '../model/image-check.js';
import type { StackConfig } from '../config/schema.js';

/** The result of `up`, with what identifies the stack. */
export interface UpReport extends RunResult {
  stack: string;
  region: string;
  account: string;
  statePath: string;
  /** The saved plan applied, when one was. */
  plan?: { path: string; id: string; createdAt: string };
  /** Each job's image, and whether it is in its repository: `up` creates the repository, `push` fills it. */
  images: ImageCheck[];
  /** `approve` answered no: nothing was written. */
  declined?: boolean;
}

/** Options of `up`: the stack, the engine's, and a saved plan to apply instead of planning afresh. */
export interface RunUpOptions extends StackOptions, Omit<UpOptions, 'beforeFirstWrite' | 'beforeStep'> {
  /** A plan written by `plan --out`: applied only if nothing moved since, and only its changes. */
  planFile?: string;
  /**
   * Asked with the plan once everything is assessed, before the first write, when the plan changes
   * something `up` can make (the lock is held meanwhile, so what is shown is what is applied). False:
   * nothing is written and the report says `declined`. Not asked with a saved plan (it is the approval).
   */
  approve?: (plan: Plan, config: StackConfig) => Promise<boolean>;
}

/**
 * Converge the stack described by the config. Throws StepsFailed when steps failed: its `report` is this
 * report without `images`.
 */
export async function runUp(opts: RunUpOptions): Promise<UpReport> {
  // The plan file is checked (format, version, not edited) before any AWS call.
  const saved: SavedPlan | undefined = opts.planFile ? await readSavedPlan(opts.planFile) : undefined;
  const stack = await openStack(opts, ALL_SERVICES, saved ? `batchctl up ${opts.planFile}` : 'batchctl up');
  const head = {
    stack: stack.config.stack,
    region: stack.config.region,
    account: stack.account,
    statePath: stack.state.path,
    ...(saved ? { plan: { path: opts.planFile!, id: saved.id, createdAt: saved.createdAt } } : {}),
  };
  opts.reporter.info(`batchctl up: stack ${head.stack} in ${head.region} (account ${head.account})`, 'heading');
  try {
    if (saved)
      checkPlanIdentity(opts.planFile!, saved, {
        stack: head.stack,
        region: head.region,
        account: head.account,
        partition: stack.partition,
      });
    // Before the first write: a zone or endpoint service the account lacks stops `up` with nothing created.
    // It reads alongside the assessment (both only read) and is awaited before the first write.
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
    const env: EngineEnv = {
      config: stack.config,
      aws: stack.aws,
      account: stack.account,
      partition: stack.partition,
      reporter: opts.reporter,
      state: stack.state,
      clock: opts.clock,
      kinds: RESOURCE_KINDS,
      iamPropagation: isIamPropagationError,
    };
    if (saved) {
      const c = saved.counts;
      opts.reporter.info(
        `Applying the saved plan ${opts.planFile} (${saved.id}, made ${saved.createdAt}): ${c.create} to create, ${c.update} to update, ${c.delete} to delete, ${c.unchanged} unchanged`,
      );
    }
    // Read alongside the run (one call per repository): up never pushes, so what is missing now still is
    // at the end. A repository up is creating holds no image yet.
    const images = checkStackImages(stack.aws.ecr, stack.config, stack.account);
    images.catch(() => {});
    const approve = opts.approve;
    let declined = false;
    const exactly =
      saved &&
      applyExactly(opts.planFile!, saved, async (graph, assessment) => {
        // The basis is taken before the engine writes anything: the state version is the one this run read.
        const [plan, basis] = await Promise.all([
          planOf(env, graph, assessment),
          checking.then((checked) => basisOf(stack, checked)),
        ]);
        return { plan, body: planBody(plan, basis, RESOURCE_KINDS) };
      });
    const result = await converge(env, {
      parallel: opts.parallel,
      iamRetryBudgetMs: opts.iamRetryBudgetMs,
      ...(exactly ?? {}),
      async beforeFirstWrite(graph, assessment) {
        await checking;
        if (exactly) return exactly.beforeFirstWrite(graph, assessment);
        if (!approve) return;
        const plan = await planOf(env, graph, assessment);
        // Nothing to change, or a plan up refuses anyway (the engine says why next): nothing to ask.
        if (!plan.pending || plan.conflicts.length || plan.entries.some((e) => e.action === 'error')) return;
        if (await approve(plan, stack.config)) return;
        declined = true;
        return 'stop';
      },
    });
    // Nothing was written: the report says so, and no image is looked at.
    if (declined) return { ...head, ...result, images: [], declined: true };
    return { ...head, ...result, images: await images };
  } catch (err) {
    // The same failure, with what identifies the stack: the CLI prints its summary from it.
    if (err instanceof StepsFailed) throw new StepsFailed({ ...head, ...err.report });
    throw err;
  } finally {
    await stack.close();
  }
}
