/** Small text formatting shared by commands. */

/** A setting's value for display: `(sensitive)` when it must never be printed. */
export function fmt(v: unknown, sensitive?: boolean): string {
  if (sensitive) return '(sensitive)';
  if (v === undefined) return '(none)';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

// C0 controls, DEL, C1 controls, bidirectional overrides and isolates (they reorder what a terminal
// shows), lone surrogates, and U+FFFD (what undecodable bytes became).
const UNPRINTABLE =
  /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufffd]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

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

/** A size as people read it: `512 B`, `1.5 KiB`, `12.3 MiB`, `2.0 GiB`. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}
