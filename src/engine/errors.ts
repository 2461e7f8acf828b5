/**
 * The engine's refusals and its failed run, gathered: what `plan` shows as a conflict, what stops `up`
 * before its first write, what a saved plan refuses, and a run whose steps failed (with what it did).
 * Their codes are listed with every other in base/errors.ts. Imports: base, and the engine's own types.
 */
import { UserError, RunFailed, type ErrorCode } from '../base/errors.js';
import { fmt } from '../base/format.js';
import type { RunResult } from './reporter.js';
import { TAG_STACK, describeOwner, type FieldChange, type Found } from './types.js';

/** A change `up` will not make: it needs the resource replaced. */
export class ReplacementRefused extends UserError {
  override name = 'ReplacementRefused';
  override readonly code: ErrorCode = 'REPLACEMENT_REFUSED';
  constructor(
    readonly key: string,
    readonly label: string,
    readonly changes: FieldChange[],
  ) {
    const fields = changes.map((c) => `${c.field} (${fmt(c.from, c.sensitive)} -> ${fmt(c.to, c.sensitive)})`);
    super(
      `${label} ${key} would have to be replaced to change ${fields.join(', ')}`,
      'batchctl never replaces a resource silently: revert the setting, or remove the resource (batchctl down) ' +
        'and run up again',
    );
  }
}

/** A resource of the user's that the config names (an `external` kind) and that does not exist. */
export class ExternalMissing extends UserError {
  override name = 'ExternalMissing';
  override readonly code: ErrorCode = 'EXTERNAL_MISSING';
  constructor(
    readonly key: string,
    readonly label: string,
  ) {
    super(
      `${label} ${key.split('/').pop()} (${key}) does not exist in this account and region: it is named in the config, ` +
        'and batchctl never creates it',
      'check network.vpcId and network.subnetIds (and the region), then run `batchctl plan`',
    );
  }
}

/**
 * A resource exists under the node's name (or tags) and is not this stack's: never adopted, never touched.
 * `notes` and `ignoredRecord` say what the assessment saw on the way (a state record that is not ours).
 */
export class NotOurs extends UserError {
  override name = 'NotOurs';
  override readonly code: ErrorCode = 'NOT_OURS';
  constructor(
    readonly key: string,
    readonly label: string,
    readonly found: Found,
    stack: string,
    readonly notes: string[] = [],
    /** The state's record for the node named another resource that is not ours either: it was ignored. */
    readonly ignoredRecord = false,
  ) {
    const what = `${label} ${found.record.id} (${key}) already exists`;
    super(
      found.owner
        ? `${what} and ${describeOwner(found)}: it is that stack's, and batchctl never touches it`
        : `${what} but ${describeOwner(found)}: it is not part of stack '${stack}'`,
      found.owner
        ? `give stack '${stack}' its own name for it in the config, or pick another stack name`
        : // A kind that knows better (a resource AWS cannot tag) says what to do instead.
          (found.hint ??
            'batchctl never adopts resources it did not create: rename it in the config, ' +
              `or tag it ${TAG_STACK}=${stack} if it really is this stack's`),
    );
  }
}

/** The hint of every refused saved plan: make a new one. */
export const REPLAN = 'make a new plan (batchctl plan --out <file>), review it, and apply that one';

const cap = (lines: string[], max: number) =>
  lines.length <= max ? lines : [...lines.slice(0, max - 1), `... and ${lines.length - max + 1} more`];

/** The saved plan no longer matches the stack: something moved since it was made. Nothing was changed. */
export class PlanMoved extends UserError {
  override name = 'PlanMoved';
  override readonly code: ErrorCode = 'PLAN_MOVED';
  constructor(
    path: string,
    saved: { id: string; createdAt: string },
    readonly moved: string[],
    { during = false, follow = 0 } = {},
  ) {
    const changes = `${moved.length} change${moved.length === 1 ? '' : 's'}`;
    const follows = `${follow} planned change${follow === 1 ? '' : 's'} that follow${follow === 1 ? 's' : ''}`;
    super(
      during
        ? `the saved plan ${path} (${saved.id}) no longer matches the stack: ${moved.join('; ')}; ` +
            'that step was not made'
        : `the saved plan ${path} (${saved.id}, made ${saved.createdAt}) no longer matches the stack: ${changes} ` +
            'since it was made; nothing was changed',
      during
        ? 'something changed the stack while this plan was applied: run batchctl plan to see where it stands'
        : `${REPLAN} (a plan is valid only against the state and resources it read)`,
      during
        ? []
        : [...cap(moved, 25), ...(follow ? [`and ${follows} from ${moved.length === 1 ? 'it' : 'these'}`] : [])],
    );
  }
}

/**
 * Steps of a run failed. `report` is what the run did, every step's event included: the engine's
 * RunResult, or the report of the operation that ran it (`up`'s, `down`'s), which extends it.
 */
export class StepsFailed<R extends RunResult = RunResult> extends RunFailed {
  override name = 'StepsFailed';
  constructor(readonly report: R) {
    super(report.failures);
  }
}
