/**
 * Two resources carrying one node's tags (two runs raced from two state files, or an interrupted run
 * left one) never split the stack: every run keeps the same one, `plan` and `status` show the others,
 * and `up` deletes them once the stack has converged.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { InventoryEntry } from '../fake-aws/index.js';
import { freshFakeAws, scratch, upOn } from '../helpers/stack.js';
import { runPlan } from '../../src/stack/plan.js';
import { runStatus } from '../../src/runs/status.js';
import { renderStatus } from '../../src/cli/commands/status.js';
import { RecordingReporter } from '../../src/engine/reporter.js';

const fresh = freshFakeAws();

/** The scheduler engine with a dead-letter queue and alerts: every kind batchctl has. */
const SCHEDULER = (s: ReturnType<typeof scratch>) =>
  s.editConfig(
    (t) =>
      t.replace(/^schedule:\n/m, 'schedule:\n  engine: scheduler\n  deadLetterQueue: true\n') +
      '\nnotify:\n  emails: [ops@example.com]\n',
  );

async function cleanInventory(
  configure: (s: ReturnType<typeof scratch>) => void = () => {},
): Promise<InventoryEntry[]> {
  const f = fresh();
  const s = scratch();
  configure(s);
  await upOn(s);
  return f.inventory();
}

const count = (inv: InventoryEntry[]) => {
  const out: Record<string, number> = {};
  for (const e of inv) out[`${e.type} ${e.key}`] = (out[`${e.type} ${e.key}`] ?? 0) + 1;
  return out;
};

describe('duplicates', () => {
  it('an empty duplicate VPC of ours: plan and status show it, up deletes it and says so', async () => {
    const clean = await cleanInventory();
    const f = fresh();
    const s = scratch();
    await upOn(s);
    const kept = JSON.parse(readFileSync(s.statePath, 'utf8')).resources.vpc.id as string;
    const dup = (
      await new EC2Client({ region: 'ap-northeast-1' }).send(
        new CreateVpcCommand({
          CidrBlock: '192.168.0.0/16',
          TagSpecifications: [
            {
              ResourceType: 'vpc',
              Tags: [
                { Key: 'batchctl:stack', Value: 'sample-batch' },
                { Key: 'batchctl:logical', Value: 'vpc' },
              ],
            },
          ],
        }),
      )
    ).Vpc!.VpcId!;

    const plan = await runPlan({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() });
    expect(plan.pending).toBe(true);
    const vpc = plan.entries.find((e) => e.key === 'vpc')!;
    expect(vpc).toMatchObject({ action: 'unchanged', record: { id: kept }, found: { duplicates: [{ id: dup }] } });
    expect(vpc.notes).toEqual([
      `${dup} carries this resource's tags too (a concurrent or interrupted run made it): keeping ${kept}; up deletes the duplicate once the stack has converged`,
    ]);
    const status = await runStatus({
      configPath: s.configPath,
      statePath: s.statePath,
      reporter: new RecordingReporter(),
      displayTimeZone: 'UTC',
    });
    expect(status.resources.find((r) => r.key === 'vpc')!.duplicates).toEqual([dup]);
    expect(renderStatus(status).join('\n')).toContain(`note: vpc: ${dup} carries this resource's tags too`);

    const report = await upOn(s);
    expect(report.events.find((e) => e.key === `vpc#${dup}`)).toMatchObject({
      action: 'deleted',
      message: `duplicate of ${kept} (vpc)`,
    });
    expect(report.reporter.warnings.some((w) => w.startsWith(`vpc: ${dup} carries this resource's tags too`))).toBe(
      true,
    );
    expect(f.ec2.vpcs.has(dup)).toBe(false);
    expect(f.inventory()).toEqual(clean);
  });

  it.each([
    ['rule engine', () => {}],
    ['scheduler engine, dead-letter queue, notify e-mails', SCHEDULER],
  ] as const)(
    'two up runs started together from two directories (two state files): exactly one of everything after at most one rerun each (%s)',
    async (_name, configure) => {
      const clean = await cleanInventory(configure);
      for (const latencyMs of [0, 1, 2, 5]) {
        const f = fresh();
        f.core.latencyMs = latencyMs;
        const a = scratch();
        const b = scratch();
        configure(a);
        configure(b);
        const first = await Promise.allSettled([upOn(a), upOn(b)]);
        const failed = first.filter((r) => r.status === 'rejected').length;
        await upOn(a);
        await upOn(b);
        expect(count(f.inventory()), `latency ${latencyMs} ms (${failed} of the two concurrent runs failed)`).toEqual(
          count(clean),
        );
        expect(f.inventory()).toEqual(clean);
        // Both state files now name the same resources (a subscription pending confirmation has no ARN to
        // list: one run may have kept the one Subscribe returned).
        const ids = (s: typeof a) =>
          Object.entries(
            JSON.parse(readFileSync(s.statePath, 'utf8')).resources as Record<string, { kind: string; id: string }>,
          )
            .filter(([, r]) => r.kind !== 'sns.subscription')
            .map(([k, r]) => `${k} ${r.id}`)
            .sort();
        expect(ids(a)).toEqual(ids(b));
      }
    },
    120_000,
  );
});
