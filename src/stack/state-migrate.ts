/**
 * `batchctl state migrate --to <file|s3://bucket/key>`: move the state (local to S3, S3 to local, or
 * between keys) so that at every instant exactly one place holds the authoritative state:
 *   A. the source is replaced by a "moving" marker that carries the state (conditional on what was read);
 *   B. the destination is written (conditional: nothing there, or a marker of an earlier move back);
 *   C. the source marker drops its copy and just says where the state went.
 * A run interrupted after A or B is finished by running the same command again. Runs that read the
 * source afterwards stop with "the state moved to ...", instead of starting a second, empty state.
 * Both locks are held throughout, so no converging run writes either place meanwhile.
 */
import { callerIdentity, createAwsClients } from '../aws/clients.js';
import { defaultBucketName } from '../config/schema.js';
import { UserError } from '../base/errors.js';
import { loadStackConfig, openStateBackend, stateLocationOf, type StackOptions } from '../engine/stack.js';
import {
  StateMoved, locationText, parseS3Url, parseStateText, serializeState,
  type MovedMarker, type StateBackend, type StateData, type StateLocation,
} from '../state/state.js';
import { resolve } from 'node:path';

export interface MigrateOptions extends StackOptions {
  /** Where to: a file path, or `s3://bucket/key`. */
  to: string;
}

/** What a migration did. */
export interface MigrateReport {
  stack: string;
  from: string;
  to: string;
  /** Records in the moved state. */
  resources: number;
  /** An interrupted migration was finished. */
  resumed: boolean;
  /** The config lines that point commands at the new place. */
  configHint: string;
}

const COMMAND = 'batchctl state migrate';

export async function runStateMigrate(opts: MigrateOptions): Promise<MigrateReport> {
  const config = await loadStackConfig(opts);
  const from = stateLocationOf(opts, config);
  const s3 = parseS3Url(opts.to);
  const to: StateLocation = s3 ? { kind: 's3', ...s3 } : { kind: 'local', path: resolve(opts.to) };
  const aws = await createAwsClients({ region: config.region, profile: opts.profile, endpointUrl: opts.endpointUrl }, ['sts']);
  const who = await callerIdentity(aws);
  config.bucket.name ??= defaultBucketName(config.stack, who.account, config.region);
  const expect = { stack: config.stack, region: config.region, account: who.account };
  const warn = (m: string) => opts.reporter.warn(m);

  if (from.kind === 'local' && from.legacyPath) {
    const { adoptLegacyState } = await import('../state/local.js');
    await adoptLegacyState(from.path, from.legacyPath, warn);
  }
  const bopts = { ...opts, region: config.region, stackBucket: config.bucket.name };
  const [src, dst] = await Promise.all([openStateBackend(from, bopts), openStateBackend(to, bopts)]);
  if (await sameLocation(src, dst)) throw new UserError(`the state is already at ${dst.location}`, 'name another place with --to');

  const srcLock = await src.lock({ command: COMMAND, caller: who.arn, forceUnlock: opts.forceUnlock, warn });
  try {
    const dstLock = await dst.lock({ command: COMMAND, caller: who.arn, warn });
    try {
      const moved = await move(src, dst, expect, who.arn);
      for (const a of await dst.advice()) warn(a);
      return { stack: config.stack, from: src.location, to: dst.location, ...moved, configHint: configHint(to) };
    } finally {
      await dstLock.release();
    }
  } finally {
    await srcLock.release();
  }
}

async function move(
  src: StateBackend, dst: StateBackend, expect: { stack: string; region: string; account: string }, caller: string,
): Promise<{ resources: number; resumed: boolean }> {
  const snap = await src.read();
  if (!snap) throw new UserError(`there is no state at ${src.location} to move`, 'pass --state (or set state.s3 in the config) to name where the state is now');
  const parsed = parseStateText(snap.text, src.location, expect);
  let data: StateData;
  let srcVersion = snap.version;
  let resumed = false;
  if ('moved' in parsed) {
    // Only an interrupted move to this same destination may be resumed.
    if (parsed.moved.movedTo !== dst.location || !parsed.moved.state) throw new StateMoved(src.location, parsed.moved);
    data = parsed.moved.state;
    resumed = true;
  } else {
    data = parsed.state;
  }

  const there = await dst.read();
  let dstExpected: string | undefined;
  let written = false;
  if (there) {
    const t = parseStateText(there.text, dst.location, expect);
    if ('moved' in t && t.moved.movedTo === src.location && !t.moved.state) {
      dstExpected = there.version; // the marker of an earlier move the other way
    } else if (resumed && 'state' in t && JSON.stringify(t.state.resources) === JSON.stringify(data.resources)) {
      written = true; // step B happened before the interruption
    } else {
      throw new UserError(`a state already exists at ${dst.location}: refusing to overwrite it`, 'move it aside first, or migrate to another place');
    }
  }

  const marker = (withState: boolean): MovedMarker => ({
    schemaVersion: data.schemaVersion, movedTo: dst.location, movedAt: new Date().toISOString(), movedBy: caller,
    ...(withState ? { state: data } : {}),
  });
  if (!resumed) srcVersion = await src.write(serializeState(marker(true)), srcVersion); // A
  if (!written) await dst.write(serializeState(data), dstExpected); // B
  await src.write(serializeState(marker(false)), srcVersion); // C
  return { resources: Object.keys(data.resources).length, resumed };
}

async function sameLocation(a: StateBackend, b: StateBackend): Promise<boolean> {
  if (a.kind !== b.kind) return false;
  if (a.kind === 's3') return a.location === b.location;
  const { LocalStateBackend } = await import('../state/local.js');
  return (await (a as InstanceType<typeof LocalStateBackend>).file()) === (await (b as InstanceType<typeof LocalStateBackend>).file());
}

function configHint(to: StateLocation): string {
  if (to.kind === 's3') return `state:\n  s3:\n    bucket: ${to.bucket}\n    key: ${to.key}`;
  return `remove the config's state section if ${locationText(to)} is the default (.batchctl/<stack>.state.json beside the config), else pass --state ${locationText(to)}`;
}
