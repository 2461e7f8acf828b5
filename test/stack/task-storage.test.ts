/**
 * `task.ephemeralStorageGiB`: the task definition asks Fargate for that much disk; left out, nothing is
 * registered for it (Fargate's 20 GiB, and a revision from before the key stays as it is); changed or
 * removed, a new revision.
 */
import { describe, expect, it } from 'vitest';
import { RegisterTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
import { freshFakeAws, scratch, upOn } from '../helpers/stack.js';
import type { FakeAws } from '../fake-aws/index.js';

const fresh = freshFakeAws();
const latest = (f: FakeAws) =>
  f.ecs.taskDefs.filter((t) => t.family === 'sample-batch' && t.status === 'ACTIVE').at(-1)!;

describe('ephemeral storage', () => {
  it('in the task definition when set, a new revision when it changes or goes, none registered when left out', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    expect(latest(f).input.ephemeralStorage).toBeUndefined();
    s.editConfig((t) =>
      t.replace('  command: [node, dist/main.js]\n', '  command: [node, dist/main.js]\n  ephemeralStorageGiB: 100\n'),
    );
    f.core.resetCalls();
    await upOn(s);
    expect(f.core.mutatingCalls().map((c) => c.op)).toEqual(['RegisterTaskDefinition']);
    expect(latest(f)).toMatchObject({ revision: 2, input: { ephemeralStorage: { sizeInGiB: 100 } } });
    f.core.resetCalls();
    await upOn(s);
    expect(f.core.mutatingCalls()).toEqual([]);
    s.editConfig((t) => t.replace('  ephemeralStorageGiB: 100\n', ''));
    await upOn(s);
    expect(latest(f).revision).toBe(3);
    expect(latest(f).input.ephemeralStorage).toBeUndefined();
  });

  it('the fake refuses what ECS does: outside 21-200 GiB', async () => {
    fresh();
    const ecs = new ECSClient({ region: 'ap-northeast-1' });
    const td = { family: 'x', containerDefinitions: [{ name: 'c', image: 'i' }] };
    await expect(
      ecs.send(new RegisterTaskDefinitionCommand({ ...td, ephemeralStorage: { sizeInGiB: 20 } })),
    ).rejects.toMatchObject({ name: 'ClientException' });
    await expect(
      ecs.send(new RegisterTaskDefinitionCommand({ ...td, ephemeralStorage: { sizeInGiB: 201 } })),
    ).rejects.toMatchObject({ name: 'ClientException' });
    await expect(
      ecs.send(new RegisterTaskDefinitionCommand({ ...td, ephemeralStorage: { sizeInGiB: 21 } })),
    ).resolves.toBeDefined();
  });
});
