/**
 * The state machine kind under AWS as it is: a create whose answer is lost, a name taken by someone
 * else's state machine, a concurrent run of this stack, a role still propagating, a crash before the
 * config changed, tags converging, and a state machine still being deleted when the job needs it again.
 */
import { describe, expect, it, vi } from 'vitest';
import { freshFakeAws, scratch, settleWithFakeTimers, upOn, type Scratch } from '../helpers/stack.js';

const fresh = freshFakeAws();
const SM = 'arn:aws:states:ap-northeast-1:123456789012:stateMachine:sample-batch';

function withTimeout(s: Scratch, timeout = '30m'): void {
  s.editConfig((t) =>
    t.replace('  command: [node, dist/main.js]\n', `  command: [node, dist/main.js]\n  timeout: ${timeout}\n`),
  );
}

const definition = (f: ReturnType<typeof fresh>) => JSON.parse(f.sfn.machines.get(SM)!.definition);

describe('the state machine kind', () => {
  it('a CreateStateMachine whose answer is lost: the SDK resends it, and the same state machine comes back (one, tagged)', async () => {
    const f = fresh();
    const s = scratch();
    withTimeout(s);
    f.core.loseResponse('CreateStateMachine');
    const up = await upOn(s);
    expect(up.counts.failed).toBe(0);
    expect(f.core.calls.filter((c) => c.op === 'CreateStateMachine')).toHaveLength(2);
    expect(f.sfn.machines.size).toBe(1);
    expect(f.sfn.machines.get(SM)!.tags).toMatchObject({ 'batchctl:stack': 'sample-batch' });
  });

  it("a state machine of that name that is not ours (no tag, or another stack's) is refused and left alone", async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    // Someone's own state machine, named like our family, with a role of theirs.
    const { SFNClient, CreateStateMachineCommand } = await import('@aws-sdk/client-sfn');
    const { IAMClient, CreateRoleCommand } = await import('@aws-sdk/client-iam');
    const theirs = await new IAMClient({ region: 'ap-northeast-1' }).send(
      new CreateRoleCommand({
        RoleName: 'theirs',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'states.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        }),
      }),
    );
    const def = JSON.stringify({ StartAt: 'x', States: { x: { Type: 'Succeed' } } });
    await new SFNClient({ region: 'ap-northeast-1' }).send(
      new CreateStateMachineCommand({
        name: 'sample-batch',
        definition: def,
        roleArn: theirs.Role!.Arn,
        tags: [{ key: 'batchctl:stack', value: 'other' }],
      }),
    );
    withTimeout(s);
    f.core.resetCalls();
    const up = await upOn(s).catch((e: Error) => e);
    expect((up as Error).message).toMatch(/state-machine/);
    expect((up as Error).message).toMatch(/carries the tag of stack 'other'/);
    expect(f.sfn.machines.get(SM)!.definition).toBe(def);
    expect(f.core.mutatingCalls().filter((c) => c.service === 'sfn')).toEqual([]);
  });

  it('created meanwhile by a concurrent run of this stack (StateMachineAlreadyExists): adopted, then converged to this definition', async () => {
    const f = fresh();
    const s = scratch();
    withTimeout(s);
    // The other run's state machine appears between our find and our create, with an older definition.
    let injected = false;
    f.core.observers.push((call) => {
      if (injected || call.op !== 'CreateStateMachine') return;
      injected = true;
      const other = {
        ...call.input,
        definition: call.input.definition.replace('"TimeoutSeconds":1800', '"TimeoutSeconds":60'),
      };
      void f.core.invoke('sfn', 'CreateStateMachine', other);
    });
    const up = await upOn(s);
    expect(up.counts.failed).toBe(0);
    // Ours was refused (the other run's, sent from inside ours, went first), then adopted and converged.
    expect(f.core.calls.filter((c) => c.op === 'CreateStateMachine').map((c) => c.error)).toEqual([
      'StateMachineAlreadyExists',
      undefined,
    ]);
    expect(f.core.calls.filter((c) => c.op === 'UpdateStateMachine')).toHaveLength(1);
    expect(definition(f).States['Run task'].TimeoutSeconds).toBe(1800);
    expect(f.sfn.machines.size).toBe(1);
  });

  it('waits for a new state machine role to propagate before Step Functions accepts it', async () => {
    const f = fresh();
    vi.useFakeTimers({
      now: Date.parse('2026-11-28T00:00:00Z'),
      toFake: ['setTimeout', 'clearTimeout', 'Date', 'setInterval', 'clearInterval'],
    });
    const s = scratch();
    await settleWithFakeTimers(upOn(s));
    f.iam.propagationMs = 12_000;
    withTimeout(s);
    const up = await settleWithFakeTimers(upOn(s));
    expect(up.counts.failed).toBe(0);
    expect(
      f.core.calls.filter((c) => c.op === 'CreateStateMachine' && c.error === 'AccessDeniedException').length,
    ).toBeGreaterThan(0);
    expect(up.reporter.progress.some((p) => /waiting for IAM role .* to propagate/.test(p.message))).toBe(true);
    expect(f.sfn.machines.size).toBe(1);
  });

  it('a crash right after the create, then the timeout changed: the next up finds it by name and tag and updates it', async () => {
    const f = fresh();
    const s = scratch();
    withTimeout(s);
    f.core.inject({ kind: 'crash', match: (c) => c.op === 'CreateStateMachine' });
    await expect(upOn(s)).rejects.toThrow(/simulated crash after sfn:CreateStateMachine/);
    s.editConfig((t) => t.replace('timeout: 30m', 'timeout: 45m'));
    f.core.resetCalls();
    const up = await upOn(s);
    expect(up.counts.failed).toBe(0);
    expect(f.core.calls.filter((c) => c.service === 'sfn' && c.mutating).map((c) => c.op)).toEqual([
      'UpdateStateMachine',
    ]);
    expect(definition(f).States['Run task'].TimeoutSeconds).toBe(2700);
  });

  it('tags follow the config: added, changed and removed keys, never the ones others set', async () => {
    const f = fresh();
    const s = scratch();
    withTimeout(s);
    await upOn(s);
    f.sfn.machines.get(SM)!.tags.owner = 'someone';
    s.editConfig((t) => t.replace('stack: sample-batch\n', 'stack: sample-batch\ntags: { team: data }\n'));
    await upOn(s);
    expect(f.sfn.machines.get(SM)!.tags).toMatchObject({
      team: 'data',
      owner: 'someone',
      'batchctl:stack': 'sample-batch',
    });
    s.editConfig((t) => t.replace('tags: { team: data }\n', ''));
    f.core.resetCalls();
    await upOn(s);
    expect(
      f.core
        .mutatingCalls()
        .filter((c) => c.service === 'sfn')
        .map((c) => c.op),
    ).toEqual(['UntagResource']);
    expect(f.sfn.machines.get(SM)!.tags).toEqual({
      'batchctl:stack': 'sample-batch',
      'batchctl:logical': 'state-machine',
      owner: 'someone',
    });
  });

  it('needed again while the old one is still being deleted: up waits for the name to come free', async () => {
    const f = fresh();
    vi.useFakeTimers({
      now: Date.parse('2026-11-28T00:00:00Z'),
      toFake: ['setTimeout', 'clearTimeout', 'Date', 'setInterval', 'clearInterval'],
    });
    const s = scratch();
    withTimeout(s);
    await settleWithFakeTimers(upOn(s));
    f.sfn.deletingMs = 30_000;
    s.editConfig((t) => t.replace('  timeout: 30m\n', ''));
    await settleWithFakeTimers(upOn(s));
    expect(f.sfn.machines.get(SM)!.status).toBe('DELETING');
    withTimeout(s);
    const up = await settleWithFakeTimers(upOn(s));
    expect(up.counts.failed).toBe(0);
    expect(f.core.calls.filter((c) => c.op === 'CreateStateMachine').map((c) => c.error)).toContain(
      'StateMachineDeleting',
    );
    expect(f.sfn.machines.get(SM)!.status).toBe('ACTIVE');
    expect(up.reporter.progress.some((p) => /state machine sample-batch still being deleted/.test(p.message))).toBe(
      true,
    );
  });
});
