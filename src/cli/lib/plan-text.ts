/**
 * A plan as text, one line per resource that changes (every one with `all`) and the summary: what
 * `plan` prints, and what `up` shows before it asks.
 */
import { fmt } from '../../base/format.js';
import type { Plan } from '../../engine/plan.js';
import type { FieldChange } from '../../engine/types.js';

const MARK = { create: '+', update: '~', replace: '!', unchanged: '=', error: 'x', delete: '-', forget: '.' } as const;

/** A change that only deletes what was added outside batchctl (its lines say it all). */
const onlyRemoves = (c: FieldChange) =>
  !!c.removes?.length && (!!c.onlyRemoves || c.to === 'none' || (Array.isArray(c.to) && c.to.length === 0));

/** The lines of a plan's entries: `+ create    VPC    vpc`, each change, error and note below its entry. */
export function planEntryLines(plan: Pick<Plan, 'entries'>, opts: { all?: boolean } = {}): string[] {
  const out: string[] = [];
  for (const e of plan.entries) {
    const id = e.record?.id ? `  ${e.record.id}` : '';
    const note =
      e.external && e.action === 'unchanged'
        ? '  (read only: batchctl never changes or deletes it)'
        : e.action === 'replace'
          ? '  (up refuses: needs replacement)'
          : e.action === 'delete'
            ? '  (no longer in the config)'
            : e.conflict
              ? "  (up refuses: not this stack's)"
              : e.action === 'forget'
                ? '  (state record dropped)'
                : '';
    const hasDup = !!e.found?.duplicates?.length;
    // Yours (mode existing) is always shown: what the stack builds on, and that it stays as it is.
    if (e.action === 'unchanged' && !opts.all && !hasDup && !e.notes?.length && !e.external) continue;
    const action = e.external && e.action === 'unchanged' ? 'yours' : e.action;
    out.push(`${MARK[e.action]} ${action.padEnd(9)} ${e.label.padEnd(26)} ${e.key.padEnd(40)}${id}${note}`.trimEnd());
    for (const c of e.changes ?? []) {
      // What was added behind batchctl's back is shown as what it is, a deletion to come.
      if (!onlyRemoves(c)) out.push(`      ${c.field}: ${fmt(c.from, c.sensitive)} -> ${fmt(c.to, c.sensitive)}`);
      for (const r of c.removes ?? []) out.push(`      - delete ${r}: added outside batchctl`);
    }
    if (e.error) out.push(`      ${e.error.message}`);
    for (const n of e.notes ?? []) out.push(`      note: ${n}`);
  }
  return out;
}

/** `Plan: 43 to create, 0 to update, ...` or `No changes: 43 resources match the config.` */
export function planSummary(plan: Pick<Plan, 'entries' | 'counts' | 'pending'>): string {
  const c = plan.counts;
  const dups = plan.entries.reduce((n, e) => n + (e.found?.duplicates?.length ?? 0), 0);
  const added = plan.entries.reduce(
    (n, e) => n + (e.changes ?? []).reduce((m, x) => m + (x.removes?.length ?? 0), 0),
    0,
  );
  const duplicates = dups ? `, ${dups} duplicate${dups === 1 ? '' : 's'} to delete` : '';
  const additions = added ? `, ${added} addition${added === 1 ? '' : 's'} made outside batchctl to delete` : '';
  return plan.pending
    ? `Plan: ${c.create} to create, ${c.update} to update, ${c.delete} to delete, ${c.replace} refused (replacement), ` +
        `${c.error} errors, ${c.unchanged} unchanged${duplicates}${additions}.`
    : `No changes: ${c.unchanged} resources match the config.`;
}
