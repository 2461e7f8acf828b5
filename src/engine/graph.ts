/**
 * The dependency graph, built from data: each kind's nodes and their declared deps. `up` walks it
 * forwards, `down` walks it reversed.
 */
import type { StackConfig } from '../config/schema.js';
import type { NodeSpec, ResourceKind } from './types.js';

/** Something to delete: a graph node (with its node deps) or an orphan (ordered by its kind). */
export interface DeletionTarget {
  key: string;
  kind: string;
  deps: string[];
  orphan: boolean;
}

/** A node with its kind. */
export interface GraphNode {
  key: string;
  kind: ResourceKind;
  spec: NodeSpec;
}

export interface Graph {
  /** Nodes in a topological order (every node after its deps). */
  nodes: GraphNode[];
  byKey: Map<string, GraphNode>;
  /** Reverse edges: who depends on a key. */
  dependants: Map<string, string[]>;
}

/** Build and check the graph for a config. Throws on an unknown dependency or a cycle (programming errors). */
export function buildGraph(config: StackConfig, kinds: readonly ResourceKind[]): Graph {
  const byKey = new Map<string, GraphNode>();
  for (const kind of kinds) {
    for (const spec of kind.nodes(config)) {
      if (byKey.has(spec.key)) throw new Error(`internal: duplicate node key ${spec.key}`);
      byKey.set(spec.key, { key: spec.key, kind, spec });
    }
  }
  const dependants = new Map<string, string[]>([...byKey.keys()].map((k) => [k, []]));
  for (const n of byKey.values()) {
    for (const d of n.spec.deps) {
      const dep = byKey.get(d);
      if (!dep) throw new Error(`internal: ${n.key} depends on unknown node ${d}`);
      // dependsOn orders orphans' deletions (deletionPrerequisites): it must name every kind depended on.
      if (dep.kind !== n.kind && !n.kind.dependsOn.includes(dep.kind.kind)) {
        const which = `${d}, an ${dep.kind.kind}, which ${n.kind.kind}'s dependsOn does not name`;
        throw new Error(`internal: ${n.key} (${n.kind.kind}) depends on ${which}`);
      }
      dependants.get(d)!.push(n.key);
    }
    for (const p of n.spec.partOf ?? [])
      if (!n.spec.deps.includes(p)) throw new Error(`internal: ${n.key} is part of ${p}, which is not a dependency`);
  }
  // Kahn's algorithm, keeping declaration order among ready nodes so output is stable.
  const indegree = new Map([...byKey.values()].map((n) => [n.key, n.spec.deps.length]));
  const ready = [...byKey.keys()].filter((k) => indegree.get(k) === 0);
  const order: GraphNode[] = [];
  while (ready.length) {
    const k = ready.shift()!;
    order.push(byKey.get(k)!);
    for (const d of dependants.get(k)!) {
      indegree.set(d, indegree.get(d)! - 1);
      if (indegree.get(d) === 0) ready.push(d);
    }
  }
  if (order.length !== byKey.size) {
    const stuck = [...indegree].filter(([, v]) => v > 0).map(([k]) => k);
    throw new Error(`internal: dependency cycle among ${stuck.join(', ')}`);
  }
  return { nodes: order, byKey, dependants };
}

/**
 * The nodes `keep` selects, in the same order. Their dependencies outside the selection are dropped: a
 * read-only walk of the selection (status) reads those records from the state instead.
 */
export function subgraph(graph: Graph, keep: (n: GraphNode) => boolean): Graph {
  const kept = new Set(graph.nodes.filter(keep).map((n) => n.key));
  const nodes = graph.nodes
    .filter((n) => kept.has(n.key))
    .map((n) => ({
      ...n,
      spec: {
        ...n.spec,
        deps: n.spec.deps.filter((d) => kept.has(d)),
        ...(n.spec.partOf ? { partOf: n.spec.partOf.filter((d) => kept.has(d)) } : {}),
      },
    }));
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const dependants = new Map<string, string[]>(
    nodes.map((n) => [n.key, (graph.dependants.get(n.key) ?? []).filter((d) => byKey.has(d))]),
  );
  return { nodes, byKey, dependants };
}

/**
 * Each node's longest chain of dependants (0: nothing depends on it): which ready step `up` starts first
 * when more are ready than it may run at once. Writes queue for AWS's throttling buckets while holding a
 * step: started in graph order, the 100 IAM policies of 50 jobs held the steps the task definitions
 * (which wait for the roles, and for a bucket of their own) needed, and those came last.
 */
export function chainHeights(graph: Graph): Map<string, number> {
  const height = new Map<string, number>();
  for (const n of [...graph.nodes].reverse()) {
    height.set(n.key, Math.max(-1, ...graph.dependants.get(n.key)!.map((d) => height.get(d)!)) + 1);
  }
  return height;
}

/**
 * The longest path through the graph when each node costs `cost(key)`: the best wall time any
 * scheduler can reach with unlimited parallelism.
 */
export function criticalPath(graph: Graph, cost: (key: string) => number): { length: number; path: string[] } {
  const best = new Map<string, { length: number; path: string[] }>();
  for (const n of graph.nodes) {
    let prev: { length: number; path: string[] } = { length: 0, path: [] };
    for (const d of n.spec.deps) {
      const b = best.get(d)!;
      if (b.length > prev.length) prev = b;
    }
    best.set(n.key, { length: prev.length + cost(n.key), path: [...prev.path, n.key] });
  }
  let out = { length: 0, path: [] as string[] };
  for (const b of best.values()) if (b.length > out.length) out = b;
  return out;
}

/**
 * The keys each target waits for: its dependants. Between graph nodes those are the graph's edges; an
 * orphan has no node edges, so kinds order it: it waits for every target of a kind that depends on its
 * kind (transitively), and targets of the kinds it depends on wait for it.
 */
export function deletionPrerequisites(
  targets: DeletionTarget[],
  kinds: readonly ResourceKind[],
): (key: string) => string[] {
  // Every kind a kind depends on, transitively (each kind's own set: a shared one would make a kind
  // seem to depend on its siblings' dependencies, and order deletions in a cycle).
  const closure = new Map<string, Set<string>>();
  const reach = (kind: string): Set<string> => {
    const known = closure.get(kind);
    if (known) return known;
    const out = new Set<string>();
    closure.set(kind, out);
    for (const d of kinds.find((k) => k.kind === kind)?.dependsOn ?? []) {
      out.add(d);
      for (const x of reach(d)) out.add(x);
    }
    return out;
  };
  const out = new Map<string, string[]>(targets.map((t) => [t.key, []]));
  for (const a of targets) {
    for (const b of targets) {
      if (a === b) continue;
      // b depends on a: a waits until b is deleted.
      const nodeEdge = !a.orphan && !b.orphan && b.deps.includes(a.key);
      const kindEdge = (a.orphan || b.orphan) && a.kind !== b.kind && reach(b.kind).has(a.kind);
      if (nodeEdge || kindEdge) out.get(a.key)!.push(b.key);
    }
  }
  return (key) => out.get(key) ?? [];
}
