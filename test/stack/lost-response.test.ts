/**
 * Lost responses: AWS applies a call and its answer never arrives (a reset connection, a proxy's 5xx).
 * The fake applies the call, loses the answer, and, like the SDK's standard retry mode, resends it when
 * the calling client allows more attempts. Every mutating call of `up` (both schedule engines, alerts on)
 * and of `down` has its answer lost in turn; after the run (and at most one rerun) the fake must hold
 * exactly what a clean run leaves: no duplicate, nothing missing.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { EC2Client, CreateVpcCommand } from '@aws-sdk/client-ec2';
import type { FakeAws, InventoryEntry } from '../fake-aws/index.js';
import { scratch, upOn, freshFakeAws, type Scratch } from '../helpers/stack.js';
import { runDown } from '../../src/stack/down.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import { createAwsClients } from '../../src/aws/clients.js';
import { existingNetwork, userNetwork } from '../helpers/network.js';

const fresh = freshFakeAws();

interface Scenario {
  name: string;
  configure(s: Scratch): void;
  /** What exists before batchctl runs (your network, for mode existing). */
  prepare?(f: FakeAws, s: Scratch): Promise<void>;
}

const SCENARIOS: Scenario[] = [
  { name: 'rule engine', configure: () => {} },
  {
    name: 'scheduler engine, dead-letter queue, notify e-mails',
    configure: (s) =>
      s.editConfig(
        (t) =>
          t.replace(
            /^schedule:\n/m,
            'schedule:\n  engine: scheduler\n  timezone: Asia/Tokyo\n  deadLetterQueue: true\n',
          ) + '\nnotify:\n  emails: [ops@example.com]\n',
      ),
  },
  // The job's state machine (timeout and retries), its role and the trigger role that may only start it.
  {
    name: 'timeout and retries: the state machine path',
    configure: (s) =>
      s.editConfig((t) => {
        const on = t.replace(/^task:\n/m, 'task:\n  timeout: 15m\n  retries: 2\n');
        expect(on).toMatch(/^task:\n {2}timeout: 15m\n {2}retries: 2\n/m);
        return on;
      }),
  },
  // The internet gateway (no token: created once, found by its tags), its attachment and its route.
  {
    name: 'network mode public',
    configure: (s) => s.editConfig((t) => t.replace('mode: private-endpoints', 'mode: public')),
  },
  {
    name: 'network mode existing, with an endpoint',
    configure: () => {},
    prepare: async (f, s) => {
      const net = await userNetwork(f);
      s.editConfig((t) =>
        existingNetwork(t, { vpcId: net.vpcId, subnetIds: net.privateSubnets, extra: ['interfaceEndpoints: [logs]'] }),
      );
    },
  },
];

/** A fresh fake with the scenario's stack (and what exists before batchctl), the call log empty. */
async function setUp(sc: Scenario): Promise<{ f: FakeAws; s: Scratch; before: InventoryEntry[] }> {
  const f = fresh();
  const s = stackFor(sc);
  await sc.prepare?.(f, s);
  f.core.resetCalls();
  return { f, s, before: ours(f) };
}

function stackFor(sc: Scenario): Scratch {
  const s = scratch();
  sc.configure(s);
  return s;
}

/** Ours in the fake: a secret in its recovery window is deleted, not counted. */
const ours = (f: FakeAws): InventoryEntry[] =>
  f.inventory().filter((e) => !(e.type === 'secretsmanager.secret' && e.settings.pendingDeletion));
const stateResources = (s: Scratch) =>
  JSON.parse(readFileSync(s.statePath, 'utf8')).resources as Record<string, unknown>;

async function downOn(s: Scratch) {
  return runDown({
    configPath: s.configPath,
    statePath: s.statePath,
    reporter: new RecordingReporter(),
    interactive: false,
    yes: true,
  });
}

/** A clean `up`: the inventory to reach and the mutating calls it makes. */
async function clean(sc: Scenario) {
  const { f, s } = await setUp(sc);
  await upOn(s, { parallel: 4 });
  const inventory = f.inventory();
  const up = f.core.mutatingCalls().map((c) => `${c.service}:${c.op}`);
  f.core.resetCalls();
  await downOn(s);
  const down = f.core.mutatingCalls().map((c) => `${c.service}:${c.op}`);
  return { inventory, up, down };
}

describe('the fake models the SDK below which the answer is lost', () => {
  it('a client with retries resends the applied call (a second VPC: why CreateVpc must never be retried blindly); a single-attempt client sees the loss', async () => {
    const f = fresh();
    f.core.loseResponse('CreateVpc');
    await new EC2Client({ region: 'ap-northeast-1', maxAttempts: 3 }).send(
      new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }),
    );
    expect(f.ec2.vpcs.size).toBe(2);
    expect(f.core.calls.map((c) => [c.op, c.attempt, c.lost ?? false])).toEqual([
      ['CreateVpc', 1, true],
      ['CreateVpc', 2, false],
    ]);

    f.core.loseResponse('CreateVpc', { status: 503 });
    const once = (await createAwsClients({ region: 'ap-northeast-1' }, ['ec2'])).once.ec2;
    await expect(once.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 503 },
    });
    expect(f.ec2.vpcs.size).toBe(3);
  });
});

describe.each(SCENARIOS)('lost answers: $name', (sc) => {
  it('up: the answer of every mutating call is lost in turn; one rerun at most; exactly the clean inventory', async () => {
    const ref = await clean(sc);
    expect(ref.up.length).toBeGreaterThan(sc.prepare ? 15 : 30);
    for (const status of [undefined, 503]) {
      for (let i = 0; i < ref.up.length; i++) {
        const { f, s } = await setUp(sc);
        const lost = f.core.loseResponse((c) => c.mutatingSeq === i, { status });
        const first = await upOn(s, { parallel: 4 }).catch((e: Error) => e);
        expect(lost.times, `call #${i} ${ref.up[i]} was reached`).toBe(0);
        if (first instanceof Error) await upOn(s, { parallel: 4 });
        expect(f.inventory(), `answer of #${i} ${ref.up[i]} lost (${status ?? 'reset'})`).toEqual(ref.inventory);
      }
    }
  }, 300_000);

  it('down: the answer of every mutating call is lost in turn; one rerun at most; nothing of ours left', async () => {
    const ref = await clean(sc);
    expect(ref.down.length).toBeGreaterThan(sc.prepare ? 15 : 25);
    for (let i = 0; i < ref.down.length; i++) {
      const { f, s, before } = await setUp(sc);
      await upOn(s, { parallel: 4 });
      f.core.resetCalls();
      const lost = f.core.loseResponse((c) => c.mutatingSeq === i);
      const first = await downOn(s).catch((e: Error) => e);
      expect(lost.times, `call #${i} ${ref.down[i]} was reached`).toBe(0);
      if (first instanceof Error) await downOn(s);
      expect(ours(f), `answer of #${i} ${ref.down[i]} lost`).toEqual(before);
      expect(stateResources(s)).toEqual({});
    }
  }, 300_000);
});
