/**
 * Usage errors and help, through the built bin (commander exits the process on a usage error): an
 * unknown command gets at most a few lines naming the command meant (words from other tools mapped),
 * an unknown option its command's help pointer, never the whole help; every command's help shows the
 * global options it honours.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers/ctx.js';
import { buildProgram } from '../../src/cli/main.js';
import { FOREIGN_COMMANDS, unknownCommandLines } from '../../src/cli/lib/unknown.js';
import { honours } from '../../src/cli/lib/help.js';

const bin = join(ROOT, 'bin/batchctl');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: ROOT, encoding: 'utf8' });
const lines = (text: string) => text.trimEnd().split('\n');

describe('an unknown command', () => {
  it('destroy: exit 2, at most 5 lines, naming down, without the help', () => {
    const r = run('destroy');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr).length).toBeLessThanOrEqual(5);
    expect(r.stderr).toBe(
      [
        "error: unknown command 'destroy'",
        'hint: `batchctl down` deletes the stack (Terraform: destroy); `batchctl --help` lists every command',
        '',
      ].join('\n'),
    );
    expect(r.stderr).not.toContain('Usage:');
  });

  it.each([
    ['apply', 'batchctl up'],
    ['delete', 'batchctl down'],
    ['run', 'batchctl run-now'],
    ['tail', 'batchctl logs --tail'],
  ])('%s names %s', (word, meant) => {
    const r = run(word);
    expect(r.status).toBe(2);
    expect(lines(r.stderr)).toHaveLength(2);
    expect(lines(r.stderr)[1]).toContain(`\`${meant}\``);
  });

  it('a typo gets the nearest command; a word far from every command only the pointer to the list', () => {
    expect(lines(run('stauts').stderr)).toEqual([
      "error: unknown command 'stauts'",
      'hint: did you mean `batchctl status`? (`batchctl --help` lists every command)',
    ]);
    expect(unknownCommandLines('xyzzy-frobnicate', ['up', 'down'])).toEqual([
      "error: unknown command 'xyzzy-frobnicate'",
      'hint: `batchctl --help` lists every command',
    ]);
  });

  it('a subcommand of state: the state command is named', () => {
    const r = run('state', 'migrat');
    expect(r.status).toBe(2);
    expect(lines(r.stderr)).toEqual([
      "error: unknown command 'migrat'",
      'hint: did you mean `batchctl state migrate`? (`batchctl state --help` lists every command)',
    ]);
  });

  it('plan is ours: no mapping; every mapped word names a real command', () => {
    expect(FOREIGN_COMMANDS.plan).toBeUndefined();
    const names = new Set(buildProgram().commands.map((c) => c.name()));
    for (const [word, m] of Object.entries(FOREIGN_COMMANDS)) {
      expect(names.has(word), word).toBe(false);
      if (!m.command.startsWith('--')) expect(names.has(m.command.split(' ')[0]!), word).toBe(true);
    }
  });
});

describe('an unknown option or value', () => {
  it('names the option and the command whose options to read, in two lines', () => {
    const r = run('status', '--bogus');
    expect(r.status).toBe(2);
    expect(lines(r.stderr)).toEqual([
      "error: unknown option '--bogus'",
      '(`batchctl status --help` lists its options)',
    ]);
  });

  it('a misspelt option gets the one meant', () => {
    const r = run('plan', '--fail-on-change');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('Did you mean --fail-on-changes?');
    expect(lines(r.stderr).length).toBeLessThanOrEqual(3);
  });

  it('--output yaml: the allowed values, not the help', () => {
    const r = run('--output', 'yaml', 'status');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("argument 'yaml' is invalid. Allowed choices are text, json.");
    expect(r.stderr).not.toContain('Usage:');
    expect(lines(r.stderr).length).toBeLessThanOrEqual(2);
  });

  it("another tool's option: what to use here", () => {
    const r = run('up', '--dry-run');
    expect(r.status).toBe(2);
    expect(lines(r.stderr)).toEqual([
      "error: unknown option '--dry-run'",
      'hint: `batchctl plan` shows what would change without changing anything',
      '(`batchctl up --help` lists its options)',
    ]);
  });
});

describe('--help of every command', () => {
  const program = buildProgram();
  const all = program.commands.flatMap((c) => (c.commands.length ? c.commands : [c]));

  it.each(all.map((c) => [c.parent === program ? c.name() : `${c.parent!.name()} ${c.name()}`, c] as const))(
    '%s lists the global options it honours, and no other',
    (_name, cmd) => {
      const help = cmd.helpInformation();
      const globals = help.slice(help.indexOf('Global Options:'));
      expect(help).toContain('Global Options:');
      for (const o of program.options) {
        if (o.attributeName() === 'version') continue;
        expect(globals.includes(o.long!), `${o.long} in ${cmd.name()} --help`).toBe(honours(cmd, o));
      }
    },
  );

  it('init shows --region and --profile (it needs a region), not --state', () => {
    const r = run('init', '--help');
    expect(r.status).toBe(0);
    const globals = r.stdout.slice(r.stdout.indexOf('Global Options:'));
    expect(globals).toContain('--region <region>');
    expect(globals).toContain('--profile <name>');
    expect(globals).not.toContain('--state');
    expect(globals).not.toContain('--version');
  });
});
