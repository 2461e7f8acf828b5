/**
 * Shell completion for bash, zsh and fish (`batchctl completion <shell>`), generated from the command
 * tree, and run in the shells themselves: bash through its completion function, fish through
 * `complete -C`, zsh through its completion function with the completion system's builtins recording
 * what they were offered (they only exist inside a live completion widget). `batchctl` on the PATH is
 * the built CLI, so job names come from a real config.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/ctx.js';
import { captureCli } from '../helpers/cli.js';
import { completionScript } from '../../src/cli/lib/completion.js';
import { buildProgram } from '../../src/cli/main.js';

const dir = mkdtempSync(join(tmpdir(), 'batchctl-completion-'));
const scripts: Record<string, string> = {};
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  for (const shell of ['bash', 'zsh', 'fish'] as const) {
    scripts[shell] = join(dir, `batchctl.${shell}`);
    writeFileSync(scripts[shell]!, completionScript(buildProgram(), shell));
  }
  // `batchctl` as the scripts call it, for job names: the built CLI.
  const bin = join(dir, 'bin');
  spawnSync('mkdir', ['-p', bin]);
  writeFileSync(join(bin, 'batchctl'), `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'bin/batchctl')}" "$@"\n`);
  chmodSync(join(bin, 'batchctl'), 0o755);
  env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  writeFileSync(
    join(dir, 'two.yaml'),
    spawnSync('cat', [join(ROOT, 'batch.config.yaml')], { encoding: 'utf8' }).stdout,
  );
});

function shell(bin: string, script: string): string {
  const res = spawnSync(bin, ['-c', script], { cwd: ROOT, env, encoding: 'utf8', timeout: 30_000 });
  if (res.error) throw new Error(`${bin} is needed for this test (apt-get install ${bin}): ${res.error.message}`);
  expect(res.stderr, `${bin}: ${script}`).toBe('');
  return res.stdout;
}

/** What bash offers for the words (the last one is being completed). */
const bash = (...words: string[]) =>
  shell(
    'bash',
    `source ${scripts.bash}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _batchctl; printf '%s\\n' "\${COMPREPLY[@]}"`,
  )
    .split('\n')
    .filter(Boolean);

/** What fish offers for the command line. */
const fish = (line: string) =>
  shell('fish', `source ${scripts.fish}; complete -C '${line}'`)
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t')[0]!);

/** What zsh's completion function offers, filtered by the word's prefix as zsh would. */
const zsh = (...words: string[]) =>
  shell(
    'zsh',
    `compdef() { :; }
_describe() { local n=\${@[-1]}; print -rl -- \${(@)\${(P)n}%%:*}; }
compadd() { [[ $1 == -a ]] && print -rl -- \${(P)2}; }
_files() { print -r -- "<files $*>"; }
compset() { :; }
source ${scripts.zsh}
words=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=\${#words}; _batchctl`,
  )
    .split('\n')
    .filter((w) => w && (w.startsWith('<') || w.startsWith(words.at(-1)!.replace(/^--[a-z-]+=/, ''))));

describe('bash', () => {
  it('commands, subcommands, options, option values, files and job names', () => {
    expect(bash('batchctl', 'lo')).toEqual(['logs']);
    expect(bash('batchctl', 'r')).toEqual(['run-now', 'resume', 'rollback']);
    expect(bash('batchctl', 'up', '--par')).toEqual(['--parallel']);
    expect(bash('batchctl', '--output', '')).toEqual(['text', 'json']);
    expect(bash('batchctl', 'status', '--output=j')).toEqual(['json']);
    expect(bash('batchctl', 'state', '')).toEqual(['migrate']);
    expect(bash('batchctl', 'state', 'migrate', '--t')).toEqual(['--to']);
    expect(bash('batchctl', 'plan', '--out', 'batch.config.y')).toEqual(['batch.config.yaml']);
    expect(bash('batchctl', 'push', '--context', 'bat')).toEqual(['batch']);
    expect(bash('batchctl', 'logs', '')).toEqual(['sample-batch']);
    expect(bash('batchctl', '-c', join(dir, 'two.yaml'), 'run-now', 'sam')).toEqual(['sample-batch']);
    // A flag's value is not taken for a command: `--region up` does not make `up` the command.
    expect(bash('batchctl', '--region', 'up', 'pla')).toEqual(['plan']);
    expect(bash('batchctl', 'completion', '--')).not.toContain('--version');
  });
});

describe('zsh', () => {
  it("the same offers through zsh's completion functions", () => {
    expect(zsh('batchctl', 'lo')).toEqual(['logs']);
    expect(zsh('batchctl', 'up', '--par')).toEqual(['--parallel']);
    expect(zsh('batchctl', '--output', '')).toEqual(['text', 'json']);
    expect(zsh('batchctl', 'state', '')).toEqual(['migrate']);
    expect(zsh('batchctl', 'plan', '--out', '')).toEqual(['<files >']);
    expect(zsh('batchctl', 'push', '--context', '')).toEqual(['<files -/>']);
    expect(zsh('batchctl', 'logs', '')).toEqual(['sample-batch']);
  });
});

describe('fish', () => {
  it('the same offers through `complete -C`', () => {
    expect(fish('batchctl lo')).toEqual(['logs']);
    expect(fish('batchctl up --par')).toEqual(['--parallel']);
    expect(fish('batchctl --output ').sort()).toEqual(['json', 'text']);
    expect(fish('batchctl state ')).toEqual(['migrate']);
    expect(fish('batchctl state migrate --t')).toEqual(['--to']);
    expect(fish('batchctl logs ')).toEqual(['sample-batch']);
    expect(fish('batchctl plan --out batch.config.y')).toEqual(['batch.config.yaml']);
  });
});

describe('batchctl completion', () => {
  const cli = captureCli();
  it('prints the script for each shell; any other shell is exit 2 with the ones there are', async () => {
    for (const s of ['bash', 'zsh', 'fish']) {
      expect(await cli.run('completion', s)).toBe(0);
      expect(cli.out.join('')).toContain('batchctl');
    }
    expect(await cli.run('completion', 'tcsh')).toBe(2);
    expect(cli.err.join('')).toMatch(/no completion for shell "tcsh"\nhint: pass one of bash, zsh, fish/);
  });
});
