/**
 * How runs read in text, the same in `status` and `history` (and the tables of `cost` and `outputs`):
 * columns, durations, times in UTC, and how a run stopped.
 */

/** Left-aligned columns, two spaces apart, trailing blanks trimmed. */
export function table(rows: string[][], indent = '  '): string[] {
  const widths: number[] = [];
  for (const r of rows)
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  return rows.map((r) =>
    (indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).trimEnd(),
  );
}

/** Seconds as `45s`, `5m03s`, `1h02m`. */
export function formatSeconds(s: number): string {
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** An ISO time as `2026-11-28 00:30:15` (UTC), or `-`. */
export const utcTime = (iso: string | undefined): string =>
  iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '-';

/** A stopped run's ECS stop code and reason. */
export interface StoppedRun {
  exitCode?: number;
  stopCode?: string;
  stoppedReason?: string;
}

/**
 * How a run stopped: its stop code, and for a failure its reason too. A clean exit's reason is always
 * "Essential container in task exited": only failures need the text.
 */
export function stopReasonText(r: StoppedRun): string {
  return r.exitCode === 0 || !r.stoppedReason ? (r.stopCode ?? '') : `${r.stopCode ?? ''}: ${r.stoppedReason}`;
}
