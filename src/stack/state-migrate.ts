/**
 * `batchctl state migrate --to <file|s3://bucket/key>`: move the state (local to S3, S3 to local, or
 * between keys) so that at every instant exactly one place holds the authoritative state:
 *   A. the source is replaced by a "moving" marker that carries the state (conditional on what was read);
 *   B. the destination is written (conditional: nothing there, or a marker of an earlier move back);
 *   C. the source marker drops its copy and just says where the state went.
 * The stack's lock (in the account, the same one every changing command takes) is held throughout, so no
 * converging run writes either place meanwhile.
 *
 * Killed at any point, it is recovered by running it again, without any other flag:
 * - the same command (`--to` the destination) finishes the move: after A it writes B and C; after B,
 *   finding the destination already holding the moved state, only C;
 * - `--to` the place the move started from undoes it: the destination's copy, if B was written, becomes a
 *   marker pointing back (never two states), then the source gets its state back.
 * A lock left by the killed run is taken over when it was this machine's (the process is gone); from
 * another machine, `--force-unlock <id>` removes it (the one lock: it is the same id every command names).
 */
import { callerIdentity, createAwsClients } from '../aws/clients.js';
import { defaultBucketName } from '../config/schema.js';
import { UserError, awsStep } from '../base/errors.js';
import {
  loadStackConfig,
  lockStack,
  openStateBackend,
  stackFlags,
  stateLocationOf,
  type StackOptions,
} from '../engine/stack.js';
import {
  StateMoved,
  locationText,
  looksLikeState,
  parseStateText,
  serializeState,
  stateLocationFrom,
  type MovedMarker,
  type StateBackend,
  type StateData,
  type StateLocation,
} from '../state/state.js';
import { randomBytes } from 'node:crypto';

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
  /** An interrupted migration was undone: the state is back where it was (`from` and `to` are the same). */
  undone?: boolean;
  /** The move had finished already (run again after it was killed before it could say so): nothing done. */
  alreadyMoved?: boolean;
  /** The config lines that point commands at the new place. */
  configHint: string;
}

const COMMAND = 'batchctl state migrate';

export async function runStateMigrate(opts: MigrateOptions): Promise<MigrateReport> {
  const config = await loadStackConfig(opts);
  const from = stateLocationOf(opts, config);
  const to = stateLocationFrom(opts.to, { s3: config.state?.s3 });
  const aws = await createAwsClients(
    { region: config.region, profile: opts.profile, endpointUrl: opts.endpointUrl, pacer: opts.pacer },
    ['sts', 'ssm'],
  );
  const who = await callerIdentity(aws);
  config.bucket.name ??= defaultBucketName(config.stack, who.account, config.region);
  const expect = { stack: config.stack, region: config.region, account: who.account };
  const warn = (m: string) => opts.reporter.warn(m);

  const lock = await lockStack(opts, config, who, COMMAND, aws);
  try {
    if (from.kind === 'local' && from.legacyPath) {
      const { adoptLegacyState } = await import('../state/local.js');
      await adoptLegacyState(from.path, from.legacyPath, warn);
    }
    const bopts = { ...opts, region: config.region, stackBucket: config.bucket.name };
    const [src, dst] = await Promise.all([openStateBackend(from, bopts), openStateBackend(to, bopts)]);
    if (to.kind === 'local') {
      const { guardOutputPath } = await import('../base/files.js');
      // An existing state there is checked below (refused, or the marker of a move back); anything else
      // is not a state file to replace.
      await guardOutputPath(to.path, {
        what: 'the state',
        protect: [{ path: opts.configPath, what: 'the config' }],
        accepts: looksLikeState,
        forceFlag: null,
      });
    }
    const flags = stackFlags(opts);
    const result: { resources: number; resumed: boolean; undone?: boolean; alreadyMoved?: boolean } =
      (await sameLocation(src, dst))
        ? await undo(src, expect, bopts, who.arn)
        : await move(src, dst, expect, who.arn, flags);
    for (const a of await (result.undone ? src : dst).advice()) warn(a);
    return {
      stack: config.stack,
      from: src.location,
      to: dst.location,
      ...result,
      configHint: configHint(result.undone ? from : to),
    };
  } finally {
    await lock.release();
  }
}

const writeId = () => randomBytes(6).toString('hex');

/** The marker of a move of `data` to `to`, with the state while the move is in progress. */
function markerOf(data: StateData, to: string, caller: string, withState: boolean): MovedMarker {
  return {
    schemaVersion: data.schemaVersion,
    movedTo: to,
    movedAt: new Date().toISOString(),
    movedBy: caller,
    ...(withState ? { state: data } : {}),
    writeId: writeId(),
  };
}

async function move(
  src: StateBackend,
  dst: StateBackend,
  expect: { stack: string; region: string; account: string },
  caller: string,
  flags: string,
): Promise<{ resources: number; resumed: boolean; alreadyMoved?: boolean }> {
  const snap = await src.read();
  if (!snap)
    throw new UserError(
      `there is no state at ${src.location} to move`,
      'pass --state (or set state.s3 in the config) to name where the state is now',
    );
  const parsed = parseStateText(snap.text, src.location, expect);
  // The move finished (a run killed after its last write): the same command again has nothing to do.
  if ('moved' in parsed && !parsed.moved.state && parsed.moved.movedTo === dst.location) {
    const there = await dst.read();
    const t = there && parseStateText(there.text, dst.location, expect);
    if (t && 'state' in t)
      return { resources: Object.keys(t.state.resources).length, resumed: true, alreadyMoved: true };
  }
  let data: StateData;
  let srcVersion = snap.version;
  let resumed = false;
  if ('moved' in parsed) {
    // Only an interrupted move to this same destination may be resumed (or undone: --to the source).
    if (parsed.moved.movedTo !== dst.location || !parsed.moved.state)
      throw new StateMoved(src.location, parsed.moved, flags);
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
    } else if (resumed && 'state' in t && sameRecords(t.state, data)) {
      written = true; // step B happened before the interruption
    } else {
      throw new UserError(
        `a state already exists at ${dst.location}: refusing to overwrite it`,
        'move it aside first, or migrate to another place',
      );
    }
  }

  const step = (what: string, fn: () => Promise<string>) =>
    awsStep(`${what} (run the same command again to finish the move)`, fn);
  if (!resumed)
    srcVersion = await step(`marking ${src.location} as moving`, () =>
      src.write(serializeState(markerOf(data, dst.location, caller, true)), srcVersion),
    ); // A
  if (!written)
    await step(`writing the state to ${dst.location}`, () =>
      dst.write(serializeState({ ...data, writeId: writeId() }), dstExpected),
    ); // B
  await step(`leaving at ${src.location} only where the state went`, () =>
    src.write(serializeState(markerOf(data, dst.location, caller, false)), srcVersion),
  ); // C
  return { resources: Object.keys(data.resources).length, resumed };
}

/**
 * `--to` the place a move started from, while that move is unfinished: put the state back. The
 * destination's copy (when step B was written) first becomes a marker pointing back here, so no other
 * place holds a state; then this place gets the state its marker carries.
 */
async function undo(
  src: StateBackend,
  expect: { stack: string; region: string; account: string },
  bopts: Parameters<typeof openStateBackend>[1],
  caller: string,
): Promise<{ resources: number; resumed: boolean; undone: true }> {
  const snap = await src.read();
  const parsed = snap && parseStateText(snap.text, src.location, expect);
  if (!snap || !parsed || !('moved' in parsed) || !parsed.moved.state) {
    throw new UserError(`the state is already at ${src.location}`, 'name another place with --to');
  }
  const { moved } = parsed;
  const data = moved.state!;
  const dst = await openStateBackend(stateLocationFrom(moved.movedTo), bopts);
  const there = await dst.read();
  // Step B was written: that copy becomes a marker pointing back. Anything else there is not this move's.
  const t = there && parseStateText(there.text, dst.location, expect);
  if (there && t && 'state' in t && sameRecords(t.state, data)) {
    await dst.write(serializeState(markerOf(data, src.location, caller, false)), there.version);
  }
  await src.write(serializeState({ ...data, writeId: writeId() }), snap.version);
  return { resources: Object.keys(data.resources).length, resumed: true, undone: true };
}

/** The same records and tag keys: the state a move carries (its time and write id aside). */
function sameRecords(a: StateData, b: StateData): boolean {
  return JSON.stringify([a.resources, a.tagKeys ?? []]) === JSON.stringify([b.resources, b.tagKeys ?? []]);
}

async function sameLocation(a: StateBackend, b: StateBackend): Promise<boolean> {
  if (a.kind !== b.kind) return false;
  if (a.kind === 's3') return a.location === b.location;
  const { LocalStateBackend } = await import('../state/local.js');
  return (
    (await (a as InstanceType<typeof LocalStateBackend>).file()) ===
    (await (b as InstanceType<typeof LocalStateBackend>).file())
  );
}

function configHint(to: StateLocation): string {
  if (to.kind === 's3') return `state:\n  s3:\n    bucket: ${to.bucket}\n    key: ${to.key}`;
  return `remove the config's state section if ${locationText(to)} is the default (.batchctl/<stack>.state.json beside the config), else pass --state ${locationText(to)}`;
}
