/**
 * `batchctl init`: write a commented config whose names all derive from the stack name. No AWS call and
 * no AWS client: the account id (the only name part that needs one) is left for `up` to fill in, and the
 * zones are checked by `plan`'s preflight.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { parseConfigText } from '../config/load.js';
import { unknownRegionMessage } from '../config/regions.js';
import { defaultZones, renderConfig } from './template.js';
import { enclosingConfig } from '../config/discover.js';
import { profileRegion } from '../aws/profiles.js';
import { UserError, ConfigError } from '../base/errors.js';
import { printable } from '../base/format.js';

/** What `init` takes. */
export interface InitOptions {
  /** Where to write the config (never over an existing file). */
  configPath: string;
  /** Default: the config's directory name, made a valid stack name. */
  stack?: string;
  /** Default: AWS_REGION, AWS_DEFAULT_REGION, then the profile's region in the shared config file. */
  region?: string;
  /** The profile whose region applies when no region is given (--profile, else AWS_PROFILE, else default). */
  profile?: string;
  /** Write it even inside another stack's directory tree (a directory above holds a batch.config.yaml). */
  nested?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** What `init` wrote. */
export interface InitReport {
  path: string;
  stack: string;
  region: string;
  /** Where the region came from: `--region`, `AWS_REGION`, `profile dev`... */
  regionFrom: string;
  /** Where the stack name came from: `--stack` or `the directory name`. */
  stackFrom: string;
  zones: [string, string];
  /** The names the stack's resources will have. */
  names: Record<string, string>;
}

const STACK_NAME = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;

export async function runInit(opts: InitOptions): Promise<InitReport> {
  const env = opts.env ?? process.env;
  const path = opts.configPath;
  // Said first, whatever else is wrong; the write below is what really guards against overwriting.
  if (existsSync(path)) throw alreadyExists(path);
  // Commands run below a stack's directory find its config (as git finds its repository): a second
  // stack there would change which stack they work on, so it is made only when asked.
  const outer = opts.nested ? undefined : enclosingConfig(dirname(resolve(path)));
  if (outer) {
    throw new UserError(
      `${printable(dirname(resolve(path)))} is inside the directory of the stack configured by ${printable(outer.path)}: commands run here use that config`,
      'run batchctl there (it finds the config from any directory below it), or pass --nested to start a separate stack here',
    );
  }
  const [stack, stackFrom] =
    opts.stack !== undefined ? [opts.stack, '--stack'] : [stackFromDirectory(path), 'the directory name'];
  if (!STACK_NAME.test(stack)) {
    throw new UserError(
      `${stackFrom === '--stack' ? '--stack' : 'the directory name, as a stack name,'} "${printable(stack, 64)}" is not a stack name`,
      'pass --stack with 2-32 characters: lowercase letters, digits and hyphens, starting with a letter',
    );
  }
  const [region, regionFrom] = resolveInitRegion(opts, env);
  const unknown = unknownRegionMessage(region, regionFrom);
  if (unknown) throw new UserError(unknown, 'pass --region with the region the stack is for');

  const text = renderConfig({ stack, region });
  // What is written must pass `validate`: a stack name can make a derived name break an AWS rule.
  let config;
  try {
    config = parseConfigText(text, path, { env: {} });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new UserError(
      `the names derived from stack "${stack}" would not be valid`,
      `choose another ${stackFrom === '--stack' ? '--stack' : 'stack name with --stack'}`,
      err.problems.map((p) => p.message),
    );
  }
  try {
    // `wx`: created only if absent, in one step, so a file that appears meanwhile is not overwritten either.
    await writeFile(path, text, { flag: 'wx', mode: 0o644 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw alreadyExists(path);
    if (code === 'ENOENT')
      throw new UserError(`cannot write ${printable(path)}: the directory ${printable(dirname(path))} does not exist`);
    throw new UserError(
      `cannot write ${printable(path)}: ${code ?? (err as Error).message}`,
      'check the directory and its permissions, or pass --config',
    );
  }
  return {
    path,
    stack,
    region,
    regionFrom,
    stackFrom,
    zones: defaultZones(region),
    names: {
      repository: config.repository.name,
      bucket: `${stack}-<account id>-${region}`,
      secret: config.secret.name,
      logGroup: config.logs.group,
      cluster: config.cluster.name,
      taskFamily: config.jobs[0]!.task.family,
      schedule: config.jobs[0]!.schedule.name,
      roles: `${stack}-execution, ${stack}-task, ${stack}-events`,
    },
  };
}

const alreadyExists = (path: string) =>
  new UserError(
    `${printable(path)} already exists: init never overwrites a config`,
    'edit it, or pass --config with another file name (then -c <file> with every command)',
  );

/** The directory a config is written to, as a stack name: `My Batch_Jobs` -> `my-batch-jobs`. */
export function stackFromDirectory(configPath: string): string {
  return basename(dirname(resolve(configPath)))
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, 32)
    .replace(/-+$/, '');
}

function resolveInitRegion(opts: InitOptions, env: NodeJS.ProcessEnv): [string, string] {
  if (opts.region) return [opts.region, '--region'];
  if (env.AWS_REGION) return [env.AWS_REGION, 'AWS_REGION'];
  if (env.AWS_DEFAULT_REGION) return [env.AWS_DEFAULT_REGION, 'AWS_DEFAULT_REGION'];
  const profile = opts.profile ?? env.AWS_PROFILE ?? 'default';
  const fromProfile = profileRegion(profile, env);
  if (fromProfile) return [fromProfile, `the region of profile ${profile}`];
  throw new UserError(
    'no region: init needs the region the stack is for',
    'pass --region (or set AWS_REGION, or a region in your AWS profile)',
  );
}
