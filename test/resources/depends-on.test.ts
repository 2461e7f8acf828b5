/**
 * A kind's `dependsOn` is what orders the deletion of its orphans (resources no node accounts for) against
 * other kinds: it must name exactly the kinds its nodes depend on. Checked here against the graphs of
 * configs that reach every kind (each network mode, your VPC with endpoints of ours, both schedule engines,
 * state machines, alerts by e-mail and to a topic, several jobs), and by buildGraph on every graph it builds.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configSchema, defaultBucketName, fillNames, type StackConfig } from '../../src/config/schema.js';
import { buildGraph } from '../../src/engine/graph.js';
import type { ResourceKind } from '../../src/engine/types.js';
import { RESOURCE_KINDS } from '../../src/resources/index.js';
import { ROOT } from '../helpers/ctx.js';

const GOOD = join(ROOT, 'test/config/good');

function configOf(raw: Record<string, unknown>): StackConfig {
  const c = fillNames(configSchema.parse(raw), String(raw.region ?? 'ap-northeast-1'));
  c.bucket.name ??= defaultBucketName(c.stack, '123456789012', c.region);
  return c;
}

/** `raw` with `section` of every job (and of the top level) laid over with `over`. */
function everyJob(
  raw: Record<string, unknown>,
  section: 'task' | 'schedule',
  over: Record<string, unknown>,
): Record<string, unknown> {
  const jobs = raw.jobs as Record<string, Record<string, unknown> | null> | undefined;
  const lay = (o: Record<string, unknown> | null | undefined) => ({
    ...o,
    [section]: { ...(o?.[section] as object | undefined), ...over },
  });
  return {
    ...lay(raw),
    ...(jobs ? { jobs: Object.fromEntries(Object.entries(jobs).map(([k, j]) => [k, lay(j)])) } : {}),
  };
}

/**
 * Every config of test/config/good as written, with every job run through its state machine, and with
 * every job on the other schedule engine: together they reach every kind, in every network mode.
 */
function configs(): { name: string; config: StackConfig }[] {
  return readdirSync(GOOD).flatMap((file) => {
    const raw = parse(readFileSync(join(GOOD, file), 'utf8')) as Record<string, unknown>;
    return [
      { name: file, config: configOf(raw) },
      { name: `${file}, timeouts`, config: configOf(everyJob(raw, 'task', { timeout: '30m', retries: 1 })) },
      {
        name: `${file}, scheduler`,
        config: configOf(everyJob(raw, 'schedule', { engine: 'scheduler', timezone: 'Asia/Tokyo' })),
      },
      { name: `${file}, rule`, config: configOf(everyJob(raw, 'schedule', { engine: 'rule', timezone: undefined })) },
      // In your VPC, batchctl's interface endpoints (and their group) when you list them.
      ...((raw.network as { mode?: string } | undefined)?.mode === 'existing'
        ? [
            {
              name: `${file}, endpoints`,
              config: configOf({
                ...raw,
                network: { ...(raw.network as object), interfaceEndpoints: ['logs', 'ssm'] },
              }),
            },
          ]
        : []),
    ];
  });
}

/** Per kind, the kinds its nodes depend on, across every graph (a kind's own nodes left out). */
function actualDependsOn(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>(RESOURCE_KINDS.map((k) => [k.kind, new Set()]));
  for (const { config } of configs()) {
    const graph = buildGraph(config, RESOURCE_KINDS);
    for (const n of graph.nodes) {
      for (const d of n.spec.deps) {
        const kind = graph.byKey.get(d)!.kind.kind;
        if (kind !== n.kind.kind) out.get(n.kind.kind)!.add(kind);
      }
    }
  }
  return out;
}

describe('dependsOn', () => {
  it('every kind has nodes in at least one of the configs (so the check below covers it)', () => {
    const seen = new Set(
      configs().flatMap(({ config }) => buildGraph(config, RESOURCE_KINDS).nodes.map((n) => n.kind.kind)),
    );
    expect(RESOURCE_KINDS.map((k) => k.kind).filter((k) => !seen.has(k))).toEqual([]);
  });

  it('names exactly the kinds its nodes depend on: none missing, none extra', () => {
    const actual = actualDependsOn();
    const wrong = RESOURCE_KINDS.flatMap((k) => {
      const has = actual.get(k.kind)!;
      const missing = [...has].filter((d) => !k.dependsOn.includes(d)).sort();
      const extra = k.dependsOn.filter((d) => !has.has(d));
      return missing.length || extra.length
        ? [`${k.kind}: missing ${JSON.stringify(missing)}, extra ${JSON.stringify(extra)}`]
        : [];
    });
    expect(wrong).toEqual([]);
  });

  it('buildGraph refuses a node whose dependency is of a kind its kind does not name', () => {
    const config = configs()[0]!.config;
    const vpc = RESOURCE_KINDS.find((k) => k.kind === 'ec2.vpc')!;
    const subnet = RESOURCE_KINDS.find((k) => k.kind === 'ec2.subnet')!;
    const undeclared: ResourceKind = { ...subnet, dependsOn: [] };
    expect(() => buildGraph(config, [vpc, undeclared])).toThrow(
      /internal: subnet\/\S+ \(ec2\.subnet\) depends on vpc, an ec2\.vpc, which ec2\.subnet's dependsOn does not name/,
    );
  });
});
