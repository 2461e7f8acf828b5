/**
 * Opening a stack for a command: config, clients, identity, state and lock, in the order that makes
 * user errors surface before any AWS call (a bad config never reaches AWS).
 */
import type { StackConfig } from '../config/schema.js';
import { defaultBucketName, jobsReadParameters } from '../config/schema.js';
import { callerIdentity, createAwsClients, type AwsClients, type ServiceName } from '../aws/clients.js';
import type { Pacer } from '../aws/pacing.js';
import type { Clock } from '../base/clock.js';
import type { Reporter } from './reporter.js';
import { resolve } from 'node:path';
import { UserError, awsStep } from '../base/errors.js';
import {
  StateStore,
  locationText,
  resolveStateLocation,
  type StateBackend,
  type StateLocation,
} from '../state/state.js';
import type { HeldLock } from '../state/lock.js';

/** Options shared by the commands that work on a stack. */
export interface StackOptions {
  /** Path of batch.config.yaml. */
  configPath: string;
  /** --region (wins over the config and the environment). */
  region?: string;
  profile?: string;
  endpointUrl?: string;
  /**
   * --state: a file or `s3://bucket/key`. Default: the config's `state.s3`, else
   * `.batchctl/<stack>.state.json` beside the config file.
   */
  statePath?: string;
  /** Remove the lock with this id before taking it (a run that died holding it). */
  forceUnlock?: string;
  /** Warn about how the state is stored (an S3 state bucket without versioning): `plan` does. */
  checkStateStorage?: boolean;
  reporter: Reporter;
  clock?: Clock;
  /** The buckets the stack's mutating calls wait for (aws/pacing.ts); default: AWS's rates, fresh for this command. */
  pacer?: Pacer;
}

/** A stack opened for a command. Call `close()` in a finally block. */
export interface OpenStack {
  config: StackConfig;
  aws: AwsClients;
  account: string;
  partition: string;
  /** The STS caller ARN (who runs this command). */
  caller: string;
  state: StateStore;
  close(): Promise<void>;
}

/** Load and validate the config only (no AWS client is loaded); its warnings go to the reporter. */
export async function loadStackConfig(
  opts: Pick<StackOptions, 'configPath' | 'region' | 'profile'> & { reporter?: Pick<Reporter, 'warn'> },
): Promise<StackConfig> {
  const [{ loadConfig }, { profileRegionInForce }] = await Promise.all([
    import('../config/load.js'),
    import('../aws/profiles.js'),
  ]);
  return loadConfig(opts.configPath, {
    region: opts.region,
    warn: opts.reporter && ((m) => opts.reporter!.warn(m)),
    profileRegion: profileRegionInForce(opts.profile),
  });
}

/** The flags that point a command at this config and state, as the user typed them (for hints). */
export function stackFlags(opts: Pick<StackOptions, 'configPath' | 'statePath'>): string {
  const config = resolve(opts.configPath) === resolve('batch.config.yaml') ? '' : `-c ${opts.configPath}`;
  return [config, opts.statePath ? `--state ${opts.statePath}` : ''].filter(Boolean).join(' ');
}

/** Where this command's state lives (flag, config, default). */
export function stateLocationOf(
  opts: Pick<StackOptions, 'statePath' | 'configPath'>,
  config: StackConfig,
): StateLocation {
  return resolveStateLocation({
    flag: opts.statePath,
    stack: config.stack,
    configPath: opts.configPath,
    s3: config.state?.s3,
  });
}

/**
 * The backend of a location. An S3 state gets its own client, in the bucket's region when the config
 * names it (the state bucket is often in another region than the stack), else following S3's redirect.
 */
export async function openStateBackend(
  loc: StateLocation,
  opts: Pick<StackOptions, 'profile' | 'endpointUrl'> & { region: string; stackBucket?: string },
): Promise<StateBackend> {
  if (loc.kind === 'local') {
    const { LocalStateBackend } = await import('../state/local.js');
    return new LocalStateBackend(loc.path);
  }
  if (opts.stackBucket && loc.bucket === opts.stackBucket) {
    throw new UserError(
      `the state ${locationText(loc)} is in the stack's own bucket, which \`down\` deletes`,
      'keep the state in a bucket of its own (one bucket can hold the states of many stacks)',
    );
  }
  const [{ S3StateBackend }, clients] = await Promise.all([
    import('../state/s3.js'),
    createAwsClients(
      {
        region: loc.region ?? opts.region,
        profile: opts.profile,
        endpointUrl: opts.endpointUrl,
        followRegionRedirects: !loc.region,
      },
      ['s3'],
    ),
  ]);
  return new S3StateBackend(clients.s3, loc.bucket, loc.key, loc.region ?? opts.region);
}

/**
 * Take the stack's lock, in the account (state/lock.ts): the SSM client is loaded only here, by the
 * commands that change the stack.
 */
export async function lockStack(
  opts: Pick<StackOptions, 'profile' | 'endpointUrl' | 'pacer' | 'forceUnlock' | 'reporter'>,
  config: Pick<StackConfig, 'stack' | 'region'>,
  who: { arn: string },
  command: string,
  aws?: AwsClients,
): Promise<HeldLock> {
  const [{ StackLock }, clients] = await Promise.all([
    import('../state/lock.js'),
    aws ??
      createAwsClients(
        { region: config.region, profile: opts.profile, endpointUrl: opts.endpointUrl, pacer: opts.pacer },
        ['ssm'],
      ),
  ]);
  return new StackLock(clients.ssm, config.stack, config.region).lock({
    command,
    caller: who.arn,
    forceUnlock: opts.forceUnlock,
    warn: (m) => opts.reporter.warn(m),
  });
}

/**
 * Open a stack: validate the config, build the clients for `services`, ask STS who we are, name the
 * bucket, and (when `lockCommand` is set) take the stack's lock; then read the state. `loaded`: the
 * config, when the command has loaded it already.
 */
export async function openStack(
  opts: StackOptions,
  services: ServiceName[],
  lockCommand?: string,
  loaded?: StackConfig,
): Promise<OpenStack> {
  // A command that read the config already passes it: loading it again would repeat its warnings.
  const config = loaded ?? (await loadStackConfig(opts));
  const location = stateLocationOf(opts, config);
  // SSM holds the stack's lock (taken by the commands that change the stack) and job secrets from
  // Parameter Store: a command that needs neither does not load its SDK.
  const needsSsm = lockCommand !== undefined || jobsReadParameters(config.jobs);
  const wanted: ServiceName[] = needsSsm
    ? services.includes('ssm')
      ? services
      : [...services, 'ssm']
    : services.filter((s) => s !== 'ssm');
  const clientOptions = {
    region: config.region,
    profile: opts.profile,
    endpointUrl: opts.endpointUrl,
    pacer: opts.pacer,
  };
  // Who we are is asked as soon as STS's client is loaded: the other clients load (EC2's alone is a few
  // hundred milliseconds of compiling) while that first call is on the wire.
  const loading = createAwsClients(clientOptions, wanted);
  loading.catch(() => {});
  const who = await awsStep('checking who you are (your AWS credentials)', async () =>
    callerIdentity(wanted.length > 1 ? await createAwsClients(clientOptions, ['sts']) : await loading),
  );
  const aws = await loading;
  config.bucket.name ??= defaultBucketName(config.stack, who.account, config.region);
  const warn = (m: string) => opts.reporter.warn(m);
  // The lock first: the state is read, and the legacy file moved, only by the run that holds it.
  const lock: HeldLock | undefined = lockCommand
    ? await awsStep(`taking the lock of stack ${config.stack}`, () => lockStack(opts, config, who, lockCommand, aws))
    : undefined;
  try {
    if (location.kind === 'local' && location.legacyPath) {
      const { adoptLegacyState } = await import('../state/local.js');
      await adoptLegacyState(location.path, location.legacyPath, warn);
    }
    const backend = await openStateBackend(location, {
      ...opts,
      region: config.region,
      stackBucket: config.bucket.name,
    });
    const [state, advice] = await Promise.all([
      awsStep(`reading the state ${backend.location}`, () =>
        StateStore.open(
          backend,
          { stack: config.stack, region: config.region, account: who.account },
          stackFlags(opts),
        ),
      ),
      opts.checkStateStorage ? backend.advice() : [],
    ]);
    for (const a of advice) warn(a);
    if (lockCommand) await backend.checkWritable?.();
    return {
      config,
      aws,
      account: who.account,
      partition: who.partition,
      caller: who.arn,
      state,
      close: async () => {
        await lock?.release();
      },
    };
  } catch (err) {
    await lock?.release();
    throw err;
  }
}
