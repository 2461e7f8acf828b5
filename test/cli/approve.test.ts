/**
 * `up` asks before it changes anything, as Terraform's apply does: on a terminal it shows the plan and
 * the monthly cost change, then `Apply? [y/N]`; --yes / --auto-approve skip the question; with nobody to
 * ask (no terminal, --json) it refuses any change (exit 2) having written nothing; a saved plan and a
 * no-op never ask. The pseudo-terminal runs talk to a fake AWS this test serves, so it counts their calls.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { serveFake, type ServedFake } from '../fake-aws/http.js';
import { scratch } from '../helpers/stack.js';
import { captureCli } from '../helpers/cli.js';
import { killLeftovers, REMOTE_CLI, spawnOnPty } from '../helpers/pty.js';

afterEach(killLeftovers);

describe('on a terminal', () => {
  let fake: FakeAws;
  let served: ServedFake;
  beforeEach(async () => {
    fake = createFakeAws({ install: false });
    served = await serveFake(fake);
  });
  afterEach(() => served.close());

  const up = (s: ReturnType<typeof scratch>, ...extra: string[]) =>
    spawnOnPty(['-c', s.configPath, '--state', s.statePath, 'up', ...extra], {
      cols: 120,
      cli: REMOTE_CLI,
      env: { FAKE_AWS_URL: served.url },
    });

  it('shows the plan and the monthly cost change, then asks; no creates nothing (exit 1)', async () => {
    const s = scratch();
    const child = up(s);
    await child.waitFor(/Apply\? \[y\/N\] /);
    const shown = child.output();
    expect(shown).toContain('batchctl up: stack sample-batch in ap-northeast-1 (account 123456789012)');
    expect(shown).toMatch(/\+ create {4}VPC {24}vpc/);
    expect(shown).toContain(
      'Plan: 43 to create, 0 to update, 0 to delete, 0 refused (replacement), 0 errors, 0 unchanged.',
    );
    expect(shown).toContain(
      'Monthly cost: $0.00 now, $90.88 once applied (+$90.88); on-demand prices as of 2025-06-01, runs of 5 minutes',
    );
    // Asked before the first write: the assessment read the account, nothing was written yet.
    expect(fake.core.count({ mutating: true })).toBe(0);
    child.proc.stdin!.write('n\r');
    const { code } = await child.exited();
    expect(code).toBe(1);
    expect(child.output()).toContain('Nothing was changed.');
    expect(fake.core.count({ mutating: true })).toBe(0);
    expect(existsSync(s.statePath)).toBe(false);
    expect(existsSync(`${s.statePath}.lock`)).toBe(false);
  });

  it('yes creates the stack; the next up has nothing to change and does not ask', async () => {
    const s = scratch();
    const first = up(s);
    await first.waitFor(/Apply\? \[y\/N\] /);
    first.proc.stdin!.write('y\r');
    expect((await first.exited()).code).toBe(0);
    expect(first.output()).toMatch(/Done: 43 created, 0 updated, 0 unchanged in /);
    fake.core.resetCalls();
    const again = up(s);
    expect((await again.exited()).code).toBe(0);
    expect(again.output()).not.toContain('Apply?');
    expect(again.output()).toMatch(
      /No changes: stack sample-batch in ap-northeast-1 \(account 123456789012\) is up to date, 43 resources unchanged/,
    );
    expect(fake.core.count({ mutating: true })).toBe(0);
  });

  it.each(['--yes', '--auto-approve', '-y'])('%s applies without asking', async (flag) => {
    const s = scratch();
    const child = up(s, flag);
    expect((await child.exited()).code).toBe(0);
    expect(child.output()).not.toContain('Apply?');
    expect(child.output()).toMatch(/Done: 43 created/);
  });
});

describe('with nobody to ask', () => {
  const io = captureCli();
  let fake: FakeAws;
  beforeEach(() => {
    fake = createFakeAws();
  });
  afterEach(() => fake.uninstall());

  it('no terminal and no --yes: exit 2, zero writes, no state, the hint names --yes', async () => {
    const s = scratch();
    expect(await io.run('-c', s.configPath, '--state', s.statePath, 'up')).toBe(2);
    expect(io.err.join('')).toBe(
      [
        'error: up asks before changing anything, and there is no terminal to ask on: nothing was changed',
        '  Plan: 43 to create, 0 to update, 0 to delete, 0 refused (replacement), 0 errors, 0 unchanged.',
        'hint: pass --yes (or --auto-approve) to apply what `batchctl plan` shows; or review `batchctl plan --out plan.json` and apply exactly it with `batchctl up plan.json`',
        '',
      ].join('\n'),
    );
    expect(fake.core.count({ mutating: true })).toBe(0);
    expect(existsSync(s.statePath)).toBe(false);
    expect(existsSync(join(s.dir, '.batchctl'))).toBe(false);
  });

  it('--json without --yes: refused the same way, as one JSON document', async () => {
    const s = scratch();
    expect(await io.run('-c', s.configPath, '--state', s.statePath, '--json', 'up')).toBe(2);
    expect(JSON.parse(io.out.join(''))).toMatchObject({
      ok: false,
      exitCode: 2,
      errors: expect.arrayContaining([expect.stringContaining('up --json does not ask')]),
    });
    expect(fake.core.count({ mutating: true })).toBe(0);
  });

  it('a no-op up needs no approval: one line, exit 0, nothing written', async () => {
    const s = scratch();
    expect(await io.run('-c', s.configPath, '--state', s.statePath, 'up', '--yes')).toBe(0);
    fake.core.resetCalls();
    expect(await io.run('-c', s.configPath, '--state', s.statePath, 'up')).toBe(0);
    expect(io.out.join('')).toMatch(
      /^No changes: stack sample-batch in ap-northeast-1 \(account 123456789012\) is up to date, 43 resources unchanged in [\d.]+s\n/,
    );
    expect(fake.core.count({ mutating: true })).toBe(0);
  });

  it('a saved plan is the approval: up <plan> applies it without --yes', async () => {
    const s = scratch();
    const plan = join(s.dir, 'plan.json');
    expect(await io.run('-c', s.configPath, '--state', s.statePath, 'plan', '--out', plan)).toBe(0);
    expect(await io.run('-c', s.configPath, '--state', s.statePath, 'up', plan)).toBe(0);
    expect(io.out.join('')).toMatch(/Done: 43 created/);
  });
});
