/**
 * `up` as one call: open the stack (config, clients, identity, lock, state), converge it, close.
 */
import { ALL_SERVICES } from '../aws/clients.js';
import { RESOURCE_KINDS } from '../resources/index.js';
import { isIamPropagationError } from '../resources/lib/iam-propagation.js';
import { up as converge, type RunResult, type UpOptions } from './engine.js';
import { preflight } from './preflight.js';
import { openStack, type StackOptions } from './stack.js';

/** The result of `up`, with what identifies the stack. */
export interface UpReport extends RunResult {
  stack: string;
  region: string;
  account: string;
  statePath: string;
}

/** Converge the stack described by the config. Throws RunFailed (carrying `.result`) when steps failed. */
export async function runUp(opts: StackOptions & UpOptions): Promise<UpReport> {
  const stack = await openStack(opts, ALL_SERVICES, 'batchctl up');
  const head = { stack: stack.config.stack, region: stack.config.region, account: stack.account, statePath: stack.state.path };
  opts.reporter.info(`batchctl up: stack ${head.stack} in ${head.region} (account ${head.account})`);
  try {
    // Before the first write: a zone or endpoint service the account lacks stops `up` with nothing created.
    await preflight({ config: stack.config, aws: stack.aws, account: stack.account, partition: stack.partition, configPath: opts.configPath, records: stack.state.records() });
    const result = await converge(
      {
        config: stack.config, aws: stack.aws, account: stack.account, partition: stack.partition,
        reporter: opts.reporter, state: stack.state, clock: opts.clock, kinds: RESOURCE_KINDS,
        iamPropagation: isIamPropagationError,
      },
      { parallel: opts.parallel, iamRetryBudgetMs: opts.iamRetryBudgetMs },
    );
    return { ...head, ...result };
  } catch (err) {
    const result = (err as { result?: RunResult }).result;
    if (result) Object.assign(err as object, { report: { ...head, ...result } });
    throw err;
  } finally {
    await stack.close();
  }
}
