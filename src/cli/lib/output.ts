/**
 * Reporter implementations for the terminal: an ora spinner on a TTY, plain lines otherwise, and
 * nothing but the final JSON document with --json. The terminal ones are quiet unless --verbose: a line
 * for what changed or failed, none for what stood unchanged (see `shownByDefault`).
 */
import type { InfoKind, Reporter, ResourceEvent } from '../../engine/reporter.js';
import { registerCleanup } from '../../base/cleanup.js';

/** How output is rendered. */
export type OutputMode = 'tty' | 'plain' | 'json';

export function outputMode(
  json: boolean | undefined,
  stream: NodeJS.WriteStream = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): OutputMode {
  if (json) return 'json';
  return canAnimate(stream, env) ? 'tty' : 'plain';
}

/**
 * Whether a spinner can be drawn: a TTY that is not `dumb`, outside CI, with a known non-zero width.
 * Terminals under `script` and some CI runners report 0 columns: ora then computes an infinite line
 * count and never stops writing cursor codes (84 MB in 60 s, Ctrl-C ignored), so those get plain lines.
 */
export function canAnimate(stream: NodeJS.WriteStream = process.stderr, env: NodeJS.ProcessEnv = process.env): boolean {
  return !!stream.isTTY && !env.CI && env.TERM !== 'dumb' && (stream.columns ?? 0) > 0;
}

/**
 * Whether colour may be written to this stream (the spinner's is the only colour batchctl writes): the
 * conventions every CLI shares. FORCE_COLOR wins (`0` or `false` turns colour off); a non-empty NO_COLOR
 * turns it off (no-color.org); otherwise a terminal that says it has colours (Node's hasColors reads TERM,
 * NODE_DISABLE_COLORS and the CI variables). ora's colour library reads neither NO_COLOR nor the terminal.
 */
export function colorEnabled(
  stream: NodeJS.WriteStream = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (env.FORCE_COLOR !== undefined) return !['0', 'false'].includes(env.FORCE_COLOR);
  if (env.NO_COLOR) return false;
  if (!stream.isTTY) return false;
  return typeof stream.hasColors === 'function' ? stream.hasColors(env) : env.TERM !== 'dumb';
}

/** The subset of an ora spinner the reporters use. */
interface OraLike {
  text: string;
  readonly isSpinning: boolean;
  start(): unknown;
  stop(): unknown;
  clear(): unknown;
  render(): unknown;
  stopAndPersist(o: { symbol: string }): unknown;
}

/**
 * An ora spinner on stderr that is safe on odd terminals: it never starts while the width is 0 or
 * unknown, stops for good if the terminal is resized to 0 columns, and is stopped (cursor shown) if the
 * process is interrupted. ora is imported only here: it is the heaviest UI dependency.
 */
export class Spinner {
  private broken = false;
  private readonly onResize = () => {
    if (!canAnimate(this.stream)) {
      this.broken = true;
      this.ora.stop();
    }
  };
  private readonly unregister: () => void;

  private constructor(
    private readonly ora: OraLike,
    private readonly stream: NodeJS.WriteStream,
  ) {
    stream.on('resize', this.onResize);
    this.unregister = registerCleanup(() => {
      this.ora.stop();
    });
  }

  static async create(stream: NodeJS.WriteStream = process.stderr): Promise<Spinner> {
    const { default: ora } = await import('ora');
    return new Spinner(ora({ stream, discardStdin: false, color: colorEnabled(stream) ? 'cyan' : false }), stream);
  }

  /** False once the terminal cannot show a spinner: callers print plain lines instead. */
  get usable(): boolean {
    return !this.broken && canAnimate(this.stream);
  }
  get isSpinning(): boolean {
    return this.ora.isSpinning;
  }
  set text(t: string) {
    this.ora.text = t;
  }
  /** The usable width for one spinner line. */
  get width(): number {
    return this.stream.columns || 80;
  }
  start(): void {
    if (this.usable && !this.ora.isSpinning) this.ora.start();
  }
  stop(): void {
    if (this.ora.isSpinning) this.ora.stop();
  }
  clear(): void {
    if (this.ora.isSpinning) this.ora.clear();
  }
  render(): void {
    if (this.ora.isSpinning && this.usable) this.ora.render();
  }
  stopAndPersist(symbol: string): void {
    if (this.usable) this.ora.stopAndPersist({ symbol });
  }
  /** Stop and forget the terminal (the command is over). */
  dispose(): void {
    this.ora.stop();
    this.stream.removeListener('resize', this.onResize);
    this.unregister();
  }
}

const ACTION_WIDTH = 10;

/** One finished-resource line: `created    VPC                 vpc                 vpc-0abc`. */
export function formatEvent(e: ResourceEvent): string {
  const id = e.action === 'failed' || e.action === 'skipped' ? (e.message ?? '') : (e.id ?? '');
  const extra = e.changes?.length ? `  (${e.changes.join(', ')})` : '';
  return `${e.action.padEnd(ACTION_WIDTH)} ${e.label.padEnd(26)} ${e.key.padEnd(40)} ${id}${extra}`.trimEnd();
}

/** Wall time as `1m05s` / `3.2s`. */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m}m${String(s).padStart(2, '0')}s`;
}

/**
 * Whether a finished step gets a line of its own. Quiet (the default): only what changed or went wrong
 * (created, updated, deleted, failed, and a skip that says why); unchanged and already-gone resources
 * are in the summary's counts, and steps never started after a failure collapse into one line per
 * failed step at the end (`notStartedLines`). `--verbose`: every step.
 */
export function shownByDefault(e: ResourceEvent): boolean {
  return !(e.action === 'unchanged' || e.action === 'absent' || e.notStarted);
}

/** How a terminal reporter renders: every line (`--verbose`) or only what changed. */
export interface RenderOptions {
  verbose?: boolean;
}

/** A terminal reporter: it can say whether the run's heading was printed (a summary then need not repeat it). */
export interface TerminalReporter extends Reporter {
  headingShown(): boolean;
  /** Print the held heading now (before a question that needs it: which stack, which account). */
  showHeading(): void;
  /** Stop the spinner until the next step starts (a question is about to be asked). */
  pause?(): void;
  stop?(): void;
}

/**
 * The heading (`batchctl up: stack ...`) held back until another line is printed, so that a run printing
 * nothing else prints only its summary. With --verbose it is printed at once.
 */
class Heading {
  private pending?: string;
  private shown = false;
  constructor(
    private readonly verbose: boolean,
    private readonly write: (line: string) => void,
  ) {}
  set(message: string): void {
    if (this.verbose) this.print(message);
    else this.pending = message;
  }
  /** Before any other line. */
  flush(): void {
    if (this.pending === undefined) return;
    const m = this.pending;
    this.pending = undefined;
    this.print(m);
  }
  get wasShown(): boolean {
    return this.shown;
  }
  private print(message: string): void {
    this.shown = true;
    this.write(message);
  }
}

/** Plain lines on stdout: one per finished resource (see `shownByDefault`), waits at most every 15 s per resource. */
export class PlainReporter implements TerminalReporter {
  private lastProgress = new Map<string, number>();
  private readonly heading: Heading;
  private readonly verbose: boolean;
  constructor(
    private readonly out: (line: string) => void = (l) => process.stdout.write(l + '\n'),
    opts: RenderOptions = {},
  ) {
    this.verbose = !!opts.verbose;
    this.heading = new Heading(this.verbose, out);
  }
  private line(text: string): void {
    this.heading.flush();
    this.out(text);
  }
  stepStarted(): void {}
  stepProgress(key: string, message: string): void {
    const now = Date.now();
    if (now - (this.lastProgress.get(key) ?? 0) < 15_000) return;
    this.lastProgress.set(key, now);
    this.line(`${'waiting'.padEnd(ACTION_WIDTH)} ${key}: ${message}`);
  }
  stepDone(e: ResourceEvent): void {
    if (this.verbose || shownByDefault(e)) this.line(formatEvent(e));
  }
  info(message: string, kind?: InfoKind): void {
    if (kind === 'heading') this.heading.set(message);
    else this.line(message);
  }
  warn(message: string): void {
    process.stderr.write(`warning: ${message}\n`);
  }
  headingShown(): boolean {
    return this.heading.wasShown;
  }
  showHeading(): void {
    this.heading.flush();
  }
}

/**
 * The steps never started after a failure, one line per failed step they waited for:
 * `12 steps not started: they need vpc (failed)`. With --verbose each had its own line already.
 */
export function notStartedLines(
  events: ResourceEvent[],
  what: { noun: [string, string]; need: [string, string] },
): string[] {
  const groups = new Map<string, number>();
  for (const e of events) {
    if (e.action !== 'skipped' || !e.notStarted) continue;
    const key = e.notStarted.after.join(', ');
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return [...groups].map(([after, n]) => {
    const [one, many] = what.noun;
    const head = `${n} ${n === 1 ? one : many} not started`;
    if (!after) return `${head}: nothing new starts once a step has failed`;
    const causes = after
      .split(', ')
      .map((k) => `${k} (failed)`)
      .join(', ');
    return `${head}: ${n === 1 ? 'it' : 'they'} ${n === 1 ? what.need[0] : what.need[1]} ${causes}`;
  });
}

/** Nothing while running; the command prints one JSON document at the end. Warnings go to stderr. */
export class JsonReporter implements Reporter {
  readonly events: ResourceEvent[] = [];
  readonly warnings: string[] = [];
  stepStarted(): void {}
  stepProgress(): void {}
  stepDone(e: ResourceEvent): void {
    this.events.push(e);
  }
  info(): void {}
  warn(message: string): void {
    this.warnings.push(message);
    process.stderr.write(`warning: ${message}\n`);
  }
}

/**
 * A spinner listing the steps in flight (with the latest wait message), and a persisted line per
 * finished resource that `shownByDefault` keeps (every one with --verbose). Should the terminal lose its
 * width, the finished lines still print.
 */
export async function createTtyReporter(opts: RenderOptions = {}): Promise<TerminalReporter & { stop(): void }> {
  const spinner = await Spinner.create();
  const inFlight = new Map<string, string>();
  const refresh = () => {
    const [first, ...rest] = [...inFlight];
    if (!first || !spinner.usable) {
      spinner.stop();
      return;
    }
    const head = first[1] ? `${first[0]}: ${first[1]}` : first[0];
    const text = rest.length ? `${head}  (+${rest.length} more: ${rest.map(([k]) => k).join(', ')})` : head;
    // A spinner line that wraps leaves a copy of itself on every redraw: keep it to one row.
    const width = spinner.width - 3;
    spinner.text = text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
    spinner.start();
  };
  const write = (line: string) => {
    const was = spinner.isSpinning;
    if (was) spinner.clear();
    process.stdout.write(line + '\n');
    if (was) spinner.render();
  };
  const heading = new Heading(!!opts.verbose, write);
  const print = (line: string) => {
    heading.flush();
    write(line);
  };
  return {
    stepStarted(key) {
      inFlight.set(key, '');
      refresh();
    },
    stepProgress(key, message) {
      inFlight.set(key, message);
      refresh();
    },
    stepDone(e) {
      inFlight.delete(e.key);
      if (opts.verbose || shownByDefault(e)) print(formatEvent(e));
      refresh();
    },
    info(message, kind) {
      if (kind === 'heading') heading.set(message);
      else print(message);
    },
    warn(message) {
      print(`warning: ${message}`);
    },
    headingShown() {
      return heading.wasShown;
    },
    showHeading() {
      heading.flush();
    },
    pause() {
      spinner.stop();
    },
    stop() {
      spinner.dispose();
    },
  };
}

/** Build the reporter for a mode. */
export async function createReporter(
  mode: OutputMode,
  opts: RenderOptions = {},
): Promise<Reporter & { stop?(): void; pause?(): void; headingShown?(): boolean; showHeading?(): void }> {
  if (mode === 'json') return new JsonReporter();
  if (mode === 'tty') return createTtyReporter(opts);
  return new PlainReporter(undefined, opts);
}

/**
 * Nothing but warnings, on stderr as they come (and kept for a JSON document): for read-only commands
 * that print one result at the end, so a state moved or an S3 state bucket without versioning is said.
 */
export class WarningsReporter implements Reporter {
  readonly warnings: string[] = [];
  stepStarted(): void {}
  stepProgress(): void {}
  stepDone(): void {}
  info(): void {}
  warn(message: string): void {
    this.warnings.push(message);
    process.stderr.write(`warning: ${message}\n`);
  }
}
