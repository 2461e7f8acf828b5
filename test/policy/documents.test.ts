/**
 * The operator policy as documents IAM takes: each within a managed policy's 6,144 characters, one per
 * group of commands, a group too big split by the services it touches, a statement too big by its
 * resources; more documents than a role takes by default is said, naming that limit. No statement is
 * lost or changed by the split: together the documents grant exactly what the one document would.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { POLICY_COMMANDS, operatorPolicy, type PolicyCommand, type PolicyTarget } from '../../src/info/policy.js';
import { POLICY_GROUPS, policyDocuments } from '../../src/info/policy-documents.js';
import { DEFAULT_CONFIG_PATH } from '../helpers/ctx.js';
import { scratch } from '../helpers/stack.js';

async function target(extra = ''): Promise<PolicyTarget> {
  const s = scratch();
  if (extra) s.editConfig((t) => `${t}${extra}`);
  const config = await loadConfig(extra ? s.configPath : DEFAULT_CONFIG_PATH, { env: {} });
  return {
    config,
    account: '123456789012',
    partition: 'aws',
    state: { kind: 's3', bucket: 'team-state', key: 'prod.json' },
  };
}

/** Every (action, resource, condition) a document grants: what IAM would allow, whatever the statements. */
function grants(
  docs: { Statement: { Action?: string | string[]; Resource?: string | string[]; Condition?: unknown }[] }[],
): Set<string> {
  const out = new Set<string>();
  for (const d of docs) {
    for (const s of d.Statement) {
      for (const a of [s.Action ?? []].flat())
        for (const r of [s.Resource ?? []].flat()) out.add(`${a} ${r} ${JSON.stringify(s.Condition ?? null)}`);
    }
  }
  return out;
}

const jobs = (n: number) =>
  `\njobs:\n  lister: { original: true }\n${Array.from({ length: n }, (_, i) => `  job-${String(i).padStart(2, '0')}: { task: { retries: 1 }, schedule: { engine: scheduler } }\n`).join('')}`;

describe('the policy in documents IAM takes', () => {
  for (const [what, extra] of [
    ['the sample stack', ''],
    ['50 jobs on both engines, with state machines', jobs(50)],
  ] as const) {
    it(`${what}: every document within 6144 characters; together exactly the grants of the one document`, async () => {
      const t = await target(extra);
      const { documents, warnings } = policyDocuments(t, POLICY_COMMANDS);
      expect(warnings).toEqual([]);
      for (const d of documents) {
        expect(d.size, d.name).toBeLessThanOrEqual(6144);
        expect(d.size).toBe(JSON.stringify(d.policy).length);
        expect(d.name).toMatch(/^batchctl-sample-batch-(provision|read|run|release)(-[a-z0-9-]+)?$/);
      }
      expect(grants(documents.map((d) => d.policy))).toEqual(grants([operatorPolicy(t, POLICY_COMMANDS)]));
      // Per group of commands too: a group's documents hold what its commands need, nothing of another's alone.
      for (const g of POLICY_GROUPS) {
        const mine = documents.filter(
          (d) => d.name === `batchctl-sample-batch-${g.name}` || d.name.startsWith(`batchctl-sample-batch-${g.name}-`),
        );
        expect(grants(mine.map((d) => d.policy))).toEqual(grants([operatorPolicy(t, g.commands as PolicyCommand[])]));
      }
    });
  }

  it('a smaller limit splits further, by service area, then by statement and resources; names stay unique', async () => {
    const t = await target(jobs(20));
    const { documents } = policyDocuments(t, ['up', 'down'], 1500);
    expect(documents.length).toBeGreaterThan(5);
    for (const d of documents) expect(d.size, d.name).toBeLessThanOrEqual(1500);
    expect(new Set(documents.map((d) => d.name)).size).toBe(documents.length);
    expect(grants(documents.map((d) => d.policy))).toEqual(grants([operatorPolicy(t, ['up', 'down'])]));
  });

  it('more documents than a role takes by default: said, naming the limit', async () => {
    const t = await target();
    const { documents, warnings } = policyDocuments(t, POLICY_COMMANDS, 1000);
    expect(documents.length).toBeGreaterThan(10);
    expect(warnings).toContain(
      `${documents.length} managed policies: over IAM's default of 10 managed policies attached to one role (raise it to 20 in Service Quotas, or print fewer commands with --for)`,
    );
  });

  it('a single statement over any limit is never printed without saying so', async () => {
    const t = await target();
    // 200 characters: no statement of the stack fits alone.
    const { documents, warnings } = policyDocuments(t, ['run-now'], 200);
    const over = documents.filter((d) => d.size > 200);
    expect(over.length).toBeGreaterThan(0);
    for (const d of over)
      expect(warnings).toContain(`${d.name} is ${d.size} characters, over IAM's 200 for a managed policy`);
  });
});
