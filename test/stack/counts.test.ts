/**
 * One count everywhere: plan, up, status and down count the stack's resources the same way (the
 * config's graph), whatever AWS makes on its own along the way (a new bucket's encryption, public access
 * block and versioning come with it: created by the run that creates the bucket, as plan said).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { scratch, type Scratch } from '../helpers/stack.js';
import { ROOT } from '../helpers/ctx.js';
import { captureCli } from '../helpers/cli.js';

const io = captureCli();
let fake: FakeAws;
beforeEach(() => {
  fake = createFakeAws();
});
afterEach(() => fake.uninstall());

const cli = (s: Scratch, ...args: string[]) => io.run('-c', s.configPath, '--state', s.statePath, ...args);
const json = () => JSON.parse(io.out.join(''));

describe('the count of resources', () => {
  it.each([
    ['the sample stack (private endpoints)', (t: string) => t, 43],
    ['network mode public', (t: string) => t.replace(/^ {2}mode: private-endpoints.*$/m, '  mode: public'), 0],
  ])('%s: plan, up, status and down agree', async (_name, edit, expected) => {
    const s = scratch(edit(readFileSync(join(ROOT, 'batch.config.yaml'), 'utf8')));
    expect(await cli(s, '--json', 'plan')).toBe(0);
    const planned = json().counts.create as number;
    if (expected) expect(planned).toBe(expected);
    expect(await cli(s, 'plan')).toBe(0);
    expect(io.out.join('')).toContain(`Plan: ${planned} to create, 0 to update`);
    expect(await cli(s, 'up', '--yes')).toBe(0);
    expect(io.out.join('')).toMatch(new RegExp(`Done: ${planned} created, 0 updated, 0 unchanged in `));
    expect(await cli(s, '--json', 'status')).toBe(0);
    expect(json().total).toBe(planned);
    expect(await cli(s, 'status')).toBe(0);
    expect(io.out.join('')).toContain(`Resources: ${planned} in the stack, `);
    expect(await cli(s, 'down', '--yes')).toBe(0);
    expect(io.out.join('')).toMatch(new RegExp(`Done: ${planned} deleted in `));
  });
});
