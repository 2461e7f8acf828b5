/** Small text formatting shared by commands. */

/** A setting's value for display: `(sensitive)` when it must never be printed. */
export function fmt(v: unknown, sensitive?: boolean): string {
  if (sensitive) return '(sensitive)';
  if (v === undefined) return '(none)';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

// C0 controls, DEL, C1 controls, bidirectional overrides and isolates (they reorder what a terminal
// shows), lone surrogates, and U+FFFD (what undecodable bytes became).
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufffd]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Text from outside (a config file, an environment variable) made safe to echo on one terminal line:
 * unprintable characters escaped (`\x07`, `\u202e`), and cut to `max` characters. A binary file fed as
 * a config must not write megabytes of raw bytes, or terminal control codes, back to the terminal.
 */
export function printable(text: string, max = 200): string {
  const escaped = text.replace(UNPRINTABLE, (c) => {
    const n = c.charCodeAt(0);
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
  if (escaped.length <= max) return escaped;
  // Never cut a surrogate pair in two: half of one is itself unprintable.
  const end = /[\ud800-\udbff]/.test(escaped[max - 2] ?? '') ? max - 2 : max - 1;
  return `${escaped.slice(0, end)}…`;
}

/** Edit distance between two words (insertions, deletions, substitutions). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The closest candidate for a typo, if it is close enough to be what was meant. */
export function nearest(word: string, candidates: string[]): string | undefined {
  const lower = word.toLowerCase();
  const exact = candidates.find((c) => c.toLowerCase() === lower);
  if (exact) return exact;
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(lower, c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}
