/**
 * Opening a stack for a command: config, clients, identity, state and lock, in the order that makes
 * user errors surface before any AWS call (a bad config never reaches AWS).
 */
import type { StackConfig } from '../config/schema.js';
import { defaultBucketName } from '../config/schema.js';
import { callerIdentity, createAwsClients, type AwsClients, type ServiceName } from '../aws/clients.js';
import type { Clock } from './clock.js';
import type { Reporter } from './reporter.js';
import { StateLock, StateStore, defaultStatePath } from './state.js';

/** Options shared by the commands that work on a stack. */
export interface StackOptions {
  /** Path of batch.config.yaml. */
  configPath: string;
  /** --region (wins over the config and the environment). */
  region?: string;
  profile?: string;
  endpointUrl?: string;
  /** --state: the state file (default .batchctl/<stack>.state.json). */
  statePath?: string;
  /** Remove a lock left by another run before taking it. */
  forceUnlock?: boolean;
  reporter: Reporter;
  clock?: Clock;
}

/** A stack opened for a command. Call `close()` in a finally block. */
export interface OpenStack {
  config: StackConfig;
  aws: AwsClients;
  account: string;
  partition: string;
  state: StateStore;
  close(): Promise<void>;
}

/** Load and validate the config only (no AWS client is loaded). */
export async function loadStackConfig(opts: Pick<StackOptions, 'configPath' | 'region'>): Promise<StackConfig> {
  const { loadConfig } = await import('../config/load.js');
  return loadConfig(opts.configPath, { region: opts.region });
}

/**
 * Open a stack: validate the config, build the clients for `services`, ask STS who we are, name the
 * bucket, and (when `lock` is set) take the state lock and read the state.
 */
export async function openStack(opts: StackOptions, services: ServiceName[], lockCommand?: string): Promise<OpenStack> {
  const config = await loadStackConfig(opts);
  const aws = await createAwsClients({ region: config.region, profile: opts.profile, endpointUrl: opts.endpointUrl }, services);
  const who = await callerIdentity(aws);
  config.bucket.name ??= defaultBucketName(config.stack, who.account, config.region);
  const statePath = opts.statePath ?? defaultStatePath(config.stack);
  const lock = lockCommand
    ? await StateLock.acquire(statePath, lockCommand, {
        forceUnlock: opts.forceUnlock,
        onStale: (h) => opts.reporter.warn(`took over a stale lock left by pid ${h.pid} (${h.command}, ${h.startedAt})`),
      })
    : undefined;
  try {
    const state = await StateStore.load(statePath, { stack: config.stack, region: config.region, account: who.account });
    return {
      config, aws, account: who.account, partition: who.partition, state,
      close: async () => { await lock?.release(); },
    };
  } catch (err) {
    await lock?.release();
    throw err;
  }
}
