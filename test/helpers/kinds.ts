/**
 * One kind's steps on the fake, as the engine runs them for a node, without the engine (its retries,
 * reporting and state file): for the tests of a resource kind (test/resources/). A test keeps its own
 * context and records map (a fresh one per test); these helpers read them through `get`.
 */
import type { StackConfig } from '../../src/config/schema.js';
import type { Ctx, Found, NodeSpec, ResourceKind, ResourceRecord, FieldChange } from '../../src/engine/types.js';

/** The steps of kinds on a test's context, recording each converged node's record in its records map. */
export interface KindSteps {
  /** The node of `kind` with this key (left out: the kind's first node). */
  node<P>(kind: ResourceKind<any, P>, key?: string, config?: StackConfig): NodeSpec<P>;
  /**
   * What the engine does for one node: find (with its record), then create, or diff and update; never a
   * replacement, nor anything not ours (both throw). The record goes to the records map.
   */
  converge<D, P>(kind: ResourceKind<D, P>, key?: string, ctx?: Ctx): Promise<ResourceRecord>;
  /**
   * Find (with the recorded record by default; `null`: the state was lost) and diff against the desired
   * settings. `changes` is undefined when nothing was found.
   */
  findAndDiff<D, P>(
    kind: ResourceKind<D, P>,
    key?: string,
    recorded?: ResourceRecord | null,
    ctx?: Ctx,
  ): Promise<{ found: Found<D> | undefined; changes: FieldChange[] | undefined }>;
}

export function kindSteps(get: () => { ctx: Ctx; records: Map<string, ResourceRecord> }): KindSteps {
  const node = <P>(kind: ResourceKind<any, P>, key?: string, config: StackConfig = get().ctx.config): NodeSpec<P> => {
    const nodes = kind.nodes(config);
    const n = key === undefined ? nodes[0] : nodes.find((x) => x.key === key);
    if (!n) throw new Error(`no node ${key ?? `of ${kind.kind}`}`);
    return n;
  };
  return {
    node,
    async converge(kind, key, ctx = get().ctx) {
      const { records } = get();
      const n = node(kind, key, ctx.config);
      // As the engine does: the settings wanted are computed knowing what was found.
      const found = await kind.find(ctx, n, records.get(n.key));
      const desired = await kind.desired(ctx, n, found);
      let rec: ResourceRecord;
      if (!found) rec = await kind.create(ctx, n, desired);
      else {
        if (!found.owned) throw new Error(`${n.key} exists but is not ours`);
        const changes = kind.diff(desired, found.observed);
        if (changes.some((c) => c.replace))
          throw new Error(`${n.key} needs replacement: ${changes.map((c) => c.field)}`);
        rec = (changes.length ? await kind.update!(ctx, n, found, desired, changes) : undefined) ?? found.record;
      }
      records.set(n.key, rec);
      return rec;
    },
    async findAndDiff(kind, key, recorded, ctx = get().ctx) {
      const n = node(kind, key, ctx.config);
      const found = await kind.find(ctx, n, recorded === null ? undefined : (recorded ?? get().records.get(n.key)));
      return { found, changes: found ? kind.diff(await kind.desired(ctx, n, found), found.observed) : undefined };
    },
  };
}
