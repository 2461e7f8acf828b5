/**
 * NO_COLOR and terminals without colour: the spinner's colour is the only colour batchctl writes, and
 * it follows the conventions (FORCE_COLOR, NO_COLOR, the terminal's own answer). `up` runs on a real
 * pseudo-terminal, slowed so the spinner draws.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { scratch } from '../helpers/stack.js';
import { killLeftovers, spawnOnPty } from '../helpers/pty.js';
import { withEnv } from '../helpers/env.js';
import { colorEnabled } from '../../src/cli/lib/output.js';
import { buildProgram } from '../../src/cli/main.js';

afterEach(killLeftovers);

/** Select Graphic Rendition: what colours text (`ESC [ 36 m`); cursor and sync codes are not colour. */
const SGR = /\x1b\[[0-9;]*m/g;
const SPINNER_FRAME = '\x1b[?2026h';
const upYes = () =>
  buildProgram()
    .commands.find((c) => c.name() === 'up')
    ?.options.some((o) => o.long === '--yes')
    ? ['--yes']
    : [];

async function upOnTerminal(env: Record<string, string>): Promise<string> {
  const s = scratch();
  const child = await withEnv({ FORCE_COLOR: undefined, NO_COLOR: undefined }, async () =>
    spawnOnPty(['-c', s.configPath, '--state', s.statePath, 'up', ...upYes()], {
      cols: 100,
      env: { FAKE_LATENCY_MS: '60', ...env },
    }),
  );
  const { code } = await child.exited();
  const out = child.output();
  expect(code, out.slice(-2000)).toBe(0);
  expect(out).toContain(SPINNER_FRAME);
  return out;
}

describe('colour', () => {
  it('NO_COLOR: the spinner still turns, with no colour code', async () => {
    const out = await upOnTerminal({ NO_COLOR: '1' });
    expect(out.match(SGR) ?? []).toEqual([]);
  });

  it('a colour terminal without NO_COLOR gets the coloured spinner', async () => {
    const out = await upOnTerminal({});
    expect((out.match(SGR) ?? []).length).toBeGreaterThan(0);
  });

  it('FORCE_COLOR wins, then NO_COLOR, then what the terminal says (TERM=dumb, not a terminal)', () => {
    const tty = {
      isTTY: true,
      hasColors: (env: NodeJS.ProcessEnv) => env.TERM !== 'dumb',
    } as unknown as NodeJS.WriteStream;
    const pipe = { isTTY: false } as unknown as NodeJS.WriteStream;
    expect(colorEnabled(tty, { TERM: 'xterm-256color' })).toBe(true);
    expect(colorEnabled(tty, { TERM: 'xterm-256color', NO_COLOR: '1' })).toBe(false);
    expect(colorEnabled(tty, { TERM: 'xterm-256color', NO_COLOR: '' })).toBe(true);
    expect(colorEnabled(tty, { TERM: 'dumb' })).toBe(false);
    expect(colorEnabled(pipe, {})).toBe(false);
    expect(colorEnabled(pipe, { FORCE_COLOR: '1' })).toBe(true);
    expect(colorEnabled(tty, { FORCE_COLOR: '0' })).toBe(false);
    expect(colorEnabled(tty, { NO_COLOR: '1', FORCE_COLOR: '1' })).toBe(true);
  });
});
