/**
 * How the core tells the outside world what it is doing. The CLI renders it (spinner on a TTY, plain
 * lines otherwise, JSON with --json); tests record it.
 */

/** What happened to one resource. */
export type ResourceAction = 'created' | 'updated' | 'unchanged' | 'deleted' | 'absent' | 'failed' | 'skipped';

/** One finished resource step. */
export interface ResourceEvent {
  key: string;
  kind: string;
  label: string;
  action: ResourceAction;
  id?: string;
  arn?: string;
  /** Fields that changed, for `updated`. */
  changes?: string[];
  /** The error message, for `failed`; the reason, for `skipped`. */
  message?: string;
  durationMs?: number;
  /**
   * `skipped` because the run stopped before this step started: `after` names the failed steps it was
   * waiting for, through the steps in between (empty: it needed none, it was simply not started once a
   * step had failed). Terminals collapse these into one line per failed step.
   */
  notStarted?: { after: string[] };
}

/** The outcome of a run of steps (`up`'s convergence, its clean-up, `down`'s deletions). */
export interface RunResult {
  events: ResourceEvent[];
  counts: Record<ResourceAction, number>;
  wallMs: number;
  /** Empty when the run succeeded. */
  failures: Error[];
}

/** How many events of each action. */
export function countActions(events: ResourceEvent[]): Record<ResourceAction, number> {
  const counts: Record<ResourceAction, number> = {
    created: 0,
    updated: 0,
    unchanged: 0,
    deleted: 0,
    absent: 0,
    failed: 0,
    skipped: 0,
  };
  for (const e of events) counts[e.action] += 1;
  return counts;
}

/**
 * `heading`: what the run is about (stack, region, account). Terminals print it before the first other
 * line (or at once with --verbose), never on its own: a run that changes nothing prints one line.
 */
export type InfoKind = 'heading';

export interface Reporter {
  /** A step began (shown as in flight). */
  stepStarted(key: string, label: string): void;
  /** A step is waiting for something (endpoint pending, IAM propagation...). */
  stepProgress(key: string, message: string): void;
  /** A step ended. */
  stepDone(event: ResourceEvent): void;
  /** A free-form informational line. */
  info(message: string, kind?: InfoKind): void;
  warn(message: string): void;
}

/** A reporter that keeps everything; used by tests and by --json rendering. */
export class RecordingReporter implements Reporter {
  readonly started: string[] = [];
  readonly progress: { key: string; message: string }[] = [];
  readonly events: ResourceEvent[] = [];
  readonly infos: string[] = [];
  readonly warnings: string[] = [];
  stepStarted(key: string): void {
    this.started.push(key);
  }
  stepProgress(key: string, message: string): void {
    this.progress.push({ key, message });
  }
  stepDone(event: ResourceEvent): void {
    this.events.push(event);
  }
  info(message: string): void {
    this.infos.push(message);
  }
  warn(message: string): void {
    this.warnings.push(message);
  }
  /** The action per resource key. */
  actions(): Record<string, ResourceAction> {
    return Object.fromEntries(this.events.map((e) => [e.key, e.action]));
  }
}

/** Discards everything. */
export const silentReporter: Reporter = {
  stepStarted() {},
  stepProgress() {},
  stepDone() {},
  info() {},
  warn() {},
};
