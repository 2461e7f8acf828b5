import { randomUUID } from 'node:crypto';
import type { StackConfig } from '../config/schema.js';
import type { AwsClients } from '../aws/clients.js';
import { MissingRecord, WaitTimeout } from '../base/errors.js';
import type { Clock } from '../base/clock.js';
import { realClock } from '../base/clock.js';
import type { Reporter } from './reporter.js';
import { silentReporter } from './reporter.js';
import { TAG_LOGICAL, TAG_STACK, type Ctx, type Found, type ResourceRecord } from './types.js';

/** What it takes to build a context. */
export interface ContextOptions {
  config: StackConfig;
  aws: AwsClients;
  account: string;
  partition?: string;
  reporter?: Reporter;
  clock?: Clock;
  runId?: string;
  /** Records known so far (from the state file, then updated as steps finish). */
  records?: Map<string, ResourceRecord>;
  /** The node key progress messages are attributed to (the engine sets one per step). */
  stepKey?: string;
  /** Config tag keys earlier runs applied (from the state): still ours to remove if the config dropped them. */
  previousTagKeys?: readonly string[];
  /** What the walk found of each node so far (see Ctx.assessed). */
  assessed?: Map<string, Found | null>;
  /** The node this step's node was created with (see Ctx.createdWith). */
  createdWith?: string;
  /** Where `intend` writes (the engine's state, during `up`). */
  intend?: (record: ResourceRecord) => Promise<void>;
  /** A walk's shared reads (see Ctx.memo); none: every read runs. */
  memo?: Map<string, Promise<unknown>>;
}

/**
 * Build a context. The engine builds one per step (so waits report against that step); they share the
 * records map, so a step sees what its dependencies recorded.
 */
export function buildContext(opts: ContextOptions): Ctx {
  const records = opts.records ?? new Map<string, ResourceRecord>();
  const reporter = opts.reporter ?? silentReporter;
  const clock = opts.clock ?? realClock;
  const stepKey = opts.stepKey ?? '';
  return {
    config: opts.config,
    stack: opts.config.stack,
    region: opts.config.region,
    account: opts.account,
    partition: opts.partition ?? 'aws',
    aws: opts.aws,
    reporter,
    clock,
    runId: opts.runId ?? randomUUID(),
    baseTags: { ...opts.config.tags, [TAG_STACK]: opts.config.stack },
    tagKeys: new Set([TAG_STACK, TAG_LOGICAL, ...Object.keys(opts.config.tags), ...(opts.previousTagKeys ?? [])]),
    assessed: (key) => opts.assessed?.get(key),
    ...(opts.createdWith ? { createdWith: opts.createdWith } : {}),
    intend: async (record) => opts.intend?.(record),
    memo<T>(key: string, read: () => Promise<T>): Promise<T> {
      const memo = opts.memo;
      if (!memo) return read();
      if (!memo.has(key)) {
        const p = read();
        memo.set(key, p);
        // A failed read is not remembered: the next node asks again (and reports its own error).
        p.catch(() => memo.delete(key));
      }
      return memo.get(key) as Promise<T>;
    },
    record(key) {
      const r = records.get(key);
      if (!r) throw new MissingRecord(stepKey, key);
      return r;
    },
    maybeRecord: (key) => records.get(key),
    recordsOf: (kind) => [...records.values()].filter((r) => r.kind === kind),
    async waitFor(what, check, { budgetMs, intervalMs = 5000 }) {
      const start = clock.now();
      for (;;) {
        const v = await check();
        if (v !== undefined) return v;
        const waited = clock.now() - start;
        if (waited >= budgetMs) throw new WaitTimeout(what, budgetMs);
        reporter.stepProgress(
          stepKey,
          `waiting for ${what} (${Math.round(waited / 1000)} s of ${Math.round(budgetMs / 1000)} s)`,
        );
        await clock.sleep(Math.min(intervalMs, Math.max(0, budgetMs - waited)) || intervalMs);
      }
    },
  };
}
