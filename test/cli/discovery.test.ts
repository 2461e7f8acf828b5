/**
 * Config discovery, as git finds its repository: without -c, commands use batch.config.yaml in the
 * current directory, else in the nearest directory above; commands that change things name the file
 * when it is not the one here; init refuses to start a second stack inside a stack's directory unless
 * asked (--nested).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { DEFAULT_CONFIG_PATH } from '../helpers/ctx.js';
import { captureCli } from '../helpers/cli.js';
import { withEnv } from '../helpers/env.js';
import { enclosingConfig, findConfig } from '../../src/config/discover.js';

const io = captureCli();
const { out, err } = io;
let fake: FakeAws;
const home = process.cwd();
beforeEach(() => {
  fake = createFakeAws();
});
afterEach(() => {
  fake.uninstall();
  process.chdir(home);
});

/** A stack directory `<tmp>/nightly-etl` with the repository's config, and its `batch/src` subdirectory. */
function stackTree() {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'discover-')));
  const stack = join(root, 'nightly-etl');
  const sub = join(stack, 'batch', 'src');
  mkdirSync(sub, { recursive: true });
  writeFileSync(join(stack, 'batch.config.yaml'), readFileSync(DEFAULT_CONFIG_PATH, 'utf8'));
  return { root, stack, sub };
}

describe('findConfig', () => {
  it('the current directory first, then each parent; relative to where it searched from', () => {
    const t = stackTree();
    expect(findConfig(t.stack)).toEqual({ path: 'batch.config.yaml', dir: t.stack, here: true });
    expect(findConfig(t.sub)).toEqual({ path: '../../batch.config.yaml', dir: t.stack, here: false });
    expect(findConfig(t.root)).toBeUndefined();
    expect(enclosingConfig(t.sub)?.dir).toBe(t.stack);
    expect(enclosingConfig(t.stack)).toBeUndefined();
  });
});

describe('commands from a subdirectory of the stack', () => {
  it('validate, plan, up and status work on the stack above, and up names the file it uses', async () => {
    const t = stackTree();
    process.chdir(t.sub);
    expect(await io.run('validate')).toBe(0);
    expect(out.join('')).toBe('../../batch.config.yaml: ok (stack sample-batch, region ap-northeast-1)\n');
    expect(await io.run('plan')).toBe(0);
    expect(out.join('')).toContain('Plan: 43 to create');
    expect(err.join('')).not.toContain('using');
    expect(await io.run('up', '--yes')).toBe(0);
    expect(err.join('')).toContain(`using ../../batch.config.yaml (the stack config of ${t.stack})\n`);
    // The state lives beside the config, not in the directory the command ran from.
    expect(existsSync(join(t.stack, '.batchctl', 'sample-batch.state.json'))).toBe(true);
    expect(existsSync(join(t.sub, '.batchctl'))).toBe(false);
    expect(await io.run('status')).toBe(0);
    expect(out.join('')).toContain('batchctl status: stack sample-batch');
  });

  it('in the stack directory itself, nothing is said about the file', async () => {
    const t = stackTree();
    process.chdir(t.stack);
    expect(await io.run('up', '--yes')).toBe(0);
    expect(err.join('')).not.toContain('using');
  });

  it('no config here or above: the directory is named, with the way out', async () => {
    const t = stackTree();
    process.chdir(t.root);
    expect(await io.run('plan')).toBe(2);
    expect(err.join('')).toBe(
      [
        `error: no batch.config.yaml in ${t.root} or any directory above it`,
        'hint: create one with `batchctl init` (in the directory the stack is for), or pass -c <file>',
        '',
      ].join('\n'),
    );
    expect(fake.core.calls).toEqual([]);
  });
});

describe('init inside a stack', () => {
  it('refuses in a subdirectory of another stack, writes nothing; --nested goes ahead', async () => {
    const t = stackTree();
    process.chdir(t.sub);
    await withEnv({ AWS_REGION: 'ap-northeast-1' }, async () => {
      expect(await io.run('init')).toBe(2);
      expect(err.join('')).toBe(
        [
          `error: ${t.sub} is inside the directory of the stack configured by ${join(t.stack, 'batch.config.yaml')}: commands run here use that config`,
          'hint: run batchctl there (it finds the config from any directory below it), or pass --nested to start a separate stack here',
          '',
        ].join('\n'),
      );
      expect(existsSync(join(t.sub, 'batch.config.yaml'))).toBe(false);
      expect(await io.run('init', '--nested')).toBe(0);
      expect(out.join('')).toContain('Wrote batch.config.yaml: stack src (from the directory name)');
      expect(existsSync(join(t.sub, 'batch.config.yaml'))).toBe(true);
    });
  });
});
