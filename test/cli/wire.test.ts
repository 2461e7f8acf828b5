/**
 * The built CLI in its own process, its calls going over HTTP through the SDK's own request path (endpoint,
 * retry strategy, signing, the Node handler's sockets: test/fake-aws/wire.ts) to the fake served by this
 * process. What the in-process fake models, the wire does here for real: an answer lost after the call was
 * applied is a dropped connection, which the SDK resends when its client may, and which the product looks
 * up when its client may not (creates AWS cannot make idempotent).
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_PATH } from '../helpers/ctx.js';
import { runCli, served, stackDir, type Served } from '../helpers/http-cli.js';

let s: Served | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

describe('the built CLI over HTTP', () => {
  it('answers lost on the wire: CreateVpc is looked up, not sent again; PutRule is resent by the SDK; one of each', async () => {
    s = await served({ latencyMs: 0, pendingMs: 0 });
    s.fake.core.loseResponse('CreateVpc');
    s.fake.core.loseResponse((c) => c.op === 'PutRule' && c.input.Name === 'sample-batch');
    const { config } = stackDir(readFileSync(DEFAULT_CONFIG_PATH, 'utf8'));
    const run = await runCli(s, config, ['up', '--yes']);
    expect(run.stdout).toMatch(/Done: 43 created/);
    expect(run.calls.filter((c) => c.op === 'CreateVpc')).toHaveLength(1);
    expect([...s.fake.ec2.vpcs.values()].filter((v) => v.tags['batchctl:stack'] === 'sample-batch')).toHaveLength(1);
    // The SDK's standard retry sent the rule again (the same input): EventBridge's upsert left one rule.
    const puts = run.calls.filter((c) => c.op === 'PutRule' && c.input.Name === 'sample-batch');
    expect(puts.map((c) => c.lost ?? false)).toEqual([true, false]);
    expect([...s.fake.eventBridge.rules.keys()].filter((k) => k.includes('sample-batch')).length).toBe(2);
    // And a second up over the wire finds everything: nothing written.
    const again = await runCli(s, config, ['up', '--yes']);
    expect(again.mutating).toBe(0);
  });
});
