/**
 * A paused schedule, recorded on the schedule itself. The state file is a cache that may be lost or
 * shared, so a pause kept only there would be undone by the first `up` that runs without it; the live
 * resource is what every `up` reads. An EventBridge rule carries the pause as a tag (`batchctl:paused`);
 * a Scheduler schedule takes no tags, so its description ends with the same text in brackets.
 */

import type { Ctx, Found } from '../engine/types.js';

/**
 * Why a schedule is paused: `batchctl pause` (only `resume` lifts it), or `down --endpoints` (the next `up` lifts it).
 */
export type PauseReason = 'user' | 'endpoints';

/** Who paused a schedule, when and why. */
export interface PauseMark {
  reason: PauseReason;
  /** ISO 8601, seconds. */
  at: string;
  /** The caller's ARN (STS), as far as a tag value may hold it. */
  by: string;
}

/** The rule tag that records a pause. Not a managed tag: `up` never removes it on its own account. */
export const TAG_PAUSED = 'batchctl:paused';

/** The reasons as the mark writes them. */
const REASONS: Record<PauseReason, string> = { user: 'user', endpoints: 'down-endpoints' };

/** Tag values take letters, digits, spaces and `_ . : / = + - @`: anything else in a caller ARN becomes `_`. */
const tagSafe = (s: string) => s.replace(/[^\p{L}\p{N}\s_.:/=+\-@]/gu, '_');

/** The mark as text: `user 2026-03-01T10:00:00Z arn:aws:iam::123456789012:user/alice`. */
export function markText(m: PauseMark): string {
  return `${REASONS[m.reason]} ${m.at} ${tagSafe(m.by)}`.slice(0, 256).trimEnd();
}

/** A mark read back from its text; undefined for text that is not one (someone else's tag value). */
export function parseMark(text: string | undefined): PauseMark | undefined {
  const m = /^(user|down-endpoints) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)(?: (.*))?$/.exec(text ?? '');
  if (!m) return undefined;
  return { reason: m[1] === 'user' ? 'user' : 'endpoints', at: m[2]!, by: m[3] ?? '' };
}

/** A new mark, now. */
export function newMark(reason: PauseReason, by: string, now: number): PauseMark {
  return { reason, at: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'), by };
}

/** Scheduler: the description's suffix carrying the mark. */
const SUFFIX = / \[batchctl:paused ([^\]]*)\]$/;

/** A schedule description with the mark appended (Scheduler takes at most 512 characters). */
export function withMark(description: string, m: PauseMark | undefined): string {
  if (!m) return description;
  const suffix = ` [${TAG_PAUSED} ${markText(m)}]`;
  return description.slice(0, Math.max(0, 512 - suffix.length)) + suffix;
}

/** A schedule description split into the text and the mark it carries. */
export function splitMark(description: string): { description: string; paused?: PauseMark } {
  const m = SUFFIX.exec(description);
  const paused = m ? parseMark(m[1]) : undefined;
  return paused ? { description: description.slice(0, m!.index), paused } : { description };
}

/**
 * The pause `up` keeps: the user's (only `batchctl resume` lifts it). A pause by `down --endpoints` is
 * lifted by the `up` that restores the endpoints (the schedule nodes depend on them).
 */
export const keptPause = (m: PauseMark | undefined): PauseMark | undefined => (m?.reason === 'user' ? m : undefined);

/** A mark in words, for plan, up and status. */
export function describeMark(m: PauseMark): string {
  const who = m.by ? ` by ${m.by}` : '';
  return m.reason === 'user'
    ? `paused${who} at ${m.at} (batchctl pause): up keeps it disabled; batchctl resume re-enables it`
    : `paused by down --endpoints (${m.by ? `${m.by}, ` : ''}${m.at}): runs would fail without the endpoints; the up that restores them resumes it`;
}

/** The mark as `plan` shows a change of it. */
export const markField = (m: PauseMark | undefined): string | undefined => (m ? markText(m) : undefined);

/** What a paused schedule's observed settings carry, whichever engine it is. */
export interface PausableSettings {
  state: 'ENABLED' | 'DISABLED';
  paused?: PauseMark;
}

/** Pausing and resuming a schedule of one engine (the rule's, the Scheduler schedule's). */
export interface Pausable<D extends PausableSettings> {
  /** Record the mark on the schedule, then disable it (in that order: see the rule's update). */
  pause(ctx: Ctx, found: Found<D>, mark: PauseMark): Promise<void>;
  /** Lift the mark, then give the schedule the config's state (`schedule.enabled`). */
  resume(ctx: Ctx, found: Found<D>, enabled: boolean): Promise<void>;
}
