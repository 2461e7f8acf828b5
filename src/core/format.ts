/** Small text formatting shared by commands. */

/** A setting's value for display: `(sensitive)` when it must never be printed. */
export function fmt(v: unknown, sensitive?: boolean): string {
  if (sensitive) return '(sensitive)';
  if (v === undefined) return '(none)';
  return typeof v === 'string' ? v : JSON.stringify(v);
}
