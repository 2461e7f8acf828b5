/**
 * Hostile input: a config with hundreds of problems, control codes or bidi overrides in its keys, a
 * binary or non-UTF-8 file, a huge file, and an AWS_ENDPOINT_URL that is not a URL. Each gets one clear
 * message of bounded size, with nothing unprintable echoed back, and exit 2.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { MAX_CONFIG_BYTES, loadConfig, parseConfigText } from '../../src/config/load.js';
import { UserError, ConfigError } from '../../src/base/errors.js';
import { printable } from '../../src/base/format.js';
import { checkEndpointOverrides } from '../../src/aws/clients.js';
import { DEFAULT_CONFIG_PATH, ROOT } from '../helpers/ctx.js';

const valid = readFileSync(DEFAULT_CONFIG_PATH, 'utf8');
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ufffd]/;

function fileWith(content: string | Buffer, name = 'batch.config.yaml'): string {
  const path = join(mkdtempSync(join(tmpdir(), 'batchctl-hostile-')), name);
  writeFileSync(path, content);
  return path;
}

async function refusal(path: string): Promise<ConfigError> {
  const err = await loadConfig(path, { env: {} }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

describe('config errors are capped', () => {
  it('57 problems: the first 20, then a count of the rest', () => {
    const text = valid.replace(
      'cluster:\n',
      `cluster:\n${Array.from({ length: 57 }, (_, i) => `  extra${i}: 1\n`).join('')}`,
    );
    const err = (() => {
      try {
        parseConfigText(text, 'batch.config.yaml', { env: {} });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('loaded');
    })();
    expect(err.problems).toHaveLength(57);
    expect(err.message).toBe('batch.config.yaml has 57 problems (the first 20 are shown)');
    expect(err.details).toHaveLength(21);
    expect(err.details[0]).toMatch(/^batch\.config\.yaml:\d+:3 {2}cluster\.extra0 {2}unknown key "extra0"/);
    expect(err.details[20]).toBe('… and 37 more problems');
  });
});

describe('unprintable input is escaped, long input shortened', () => {
  it('escape codes, bidi overrides and a 10,000-character key come back escaped and cut', () => {
    const errorOf = (text: string) => {
      try {
        parseConfigText(text, 'batch.config.yaml', { env: {} });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('loaded');
    };
    const err = errorOf(valid.replace('cluster:\n', 'cluster:\n  "\\e[2J\\e[31mred": 1\n  "abc\\u202edcba": 2\n'));
    const out = [err.message, ...err.details].join('\n');
    expect(err.details).toHaveLength(2);
    expect(out).not.toMatch(UNPRINTABLE);
    expect(out).toContain('unknown key "\\x1b[2J\\x1b[31mred"');
    expect(out).toContain('unknown key "abc\\u202edcba"');
    // YAML's own messages quote the offending text: a 10,000-character key comes back cut short.
    const long = errorOf(valid.replace('cluster:\n', `cluster:\n  ${'k'.repeat(10_000)}: 3\n`));
    expect(long.details).toHaveLength(1);
    expect(long.details[0]!.length).toBeLessThan(600);
  });

  it('printable() keeps ordinary text, including non-ASCII letters and emoji, intact', () => {
    expect(printable('東京 café 🚀')).toBe('東京 café 🚀');
    expect(printable('a\tb\nc\u0007')).toBe('a\\tb\\nc\\x07');
    expect(printable('x'.repeat(500), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(printable(`${'x'.repeat(8)}🚀🚀`, 10)).toBe(`${'x'.repeat(8)}…`);
  });
});

describe('files that are not YAML text', () => {
  it('binary (NUL bytes): one problem where the first NUL is', async () => {
    const err = await refusal(
      fileWith(
        Buffer.concat([Buffer.from('stack: x\nregion: '), Buffer.from([0, 1, 2, 0xff, 0xfe]), Buffer.alloc(50_000, 7)]),
      ),
    );
    expect(err.details).toEqual([
      expect.stringMatching(/:2:9 {2}\(root\) {2}the file is binary \(it contains a NUL byte here\), not YAML text/),
    ]);
  });

  it('not UTF-8 (a Latin-1 comment): one problem at its line and column', async () => {
    const err = await refusal(
      fileWith(
        Buffer.concat([
          Buffer.from(valid.slice(0, valid.indexOf('\n') + 1)),
          Buffer.from('# caf\xe9\n', 'latin1'),
          Buffer.from(valid.slice(valid.indexOf('\n') + 1)),
        ]),
      ),
    );
    expect(err.details).toEqual([expect.stringMatching(/:2:6 {2}\(root\) {2}the file is not UTF-8 text here/)]);
  });

  it('over 1 MiB: refused before parsing', async () => {
    const err = await refusal(fileWith(`${valid}\n${'# padding\n'.repeat(MAX_CONFIG_BYTES / 10 + 1)}`));
    expect(err.details).toEqual([
      expect.stringMatching(/:1:1 {2}\(root\) {2}the file is 1\.0 MiB: a batchctl config is a few KB/),
    ]);
  });

  it('the built CLI on 2 MB of random bytes: exit 2, a few lines, nothing unprintable', () => {
    const path = fileWith(Buffer.from(Array.from({ length: 2_000_000 }, (_, i) => (i * 7919 + 13) % 256)));
    const res = spawnSync(process.execPath, [join(ROOT, 'bin/batchctl'), '-c', path, 'validate'], { encoding: 'utf8' });
    expect(res.status).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr.length).toBeLessThan(1000);
    expect(res.stderr).not.toMatch(UNPRINTABLE);
    // Under the size limit, random bytes are binary: still one short problem.
    const small = fileWith(Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919 + 13) % 256)));
    const res2 = spawnSync(process.execPath, [join(ROOT, 'bin/batchctl'), '-c', small, 'validate'], {
      encoding: 'utf8',
    });
    expect(res2.status).toBe(2);
    expect(res2.stderr.length).toBeLessThan(1000);
    expect(res2.stderr).toMatch(/binary|not UTF-8/);
  });
});

describe('an endpoint override that is not a URL', () => {
  it('names the variable (or flag) it came from', () => {
    const check = (env: NodeJS.ProcessEnv, flag?: string) => {
      try {
        checkEndpointOverrides({ endpointUrl: flag }, env);
        return undefined;
      } catch (e) {
        expect(e).toBeInstanceOf(UserError);
        return (e as UserError).message;
      }
    };
    expect(check({ AWS_ENDPOINT_URL: 'localhost:4566' })).toBe(
      'AWS_ENDPOINT_URL "localhost:4566" is not an http(s) URL',
    );
    expect(check({ AWS_ENDPOINT_URL: 'not a url' })).toBe('AWS_ENDPOINT_URL "not a url" is not an http(s) URL');
    expect(check({ AWS_ENDPOINT_URL_S3: 'ftp://files' })).toBe(
      'AWS_ENDPOINT_URL_S3 "ftp://files" is not an http(s) URL',
    );
    expect(check({}, 'http//localhost')).toBe('--endpoint-url "http//localhost" is not an http(s) URL');
    expect(
      check({ AWS_ENDPOINT_URL: 'http://localhost:4566', AWS_ENDPOINT_URL_STS: 'https://sts.example.com' }),
    ).toBeUndefined();
    expect(check({ AWS_ENDPOINT_URL: '' })).toBeUndefined();
  });

  it('the built CLI: exit 2 with the variable named, before any AWS call', () => {
    const res = spawnSync(process.execPath, [join(ROOT, 'bin/batchctl'), '-c', DEFAULT_CONFIG_PATH, 'plan'], {
      encoding: 'utf8',
      env: {
        ...process.env,
        AWS_ENDPOINT_URL: 'localhost:4566',
        AWS_ACCESS_KEY_ID: 'AKIDTEST',
        AWS_SECRET_ACCESS_KEY: 'x',
      },
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toBe(
      'error: AWS_ENDPOINT_URL "localhost:4566" is not an http(s) URL\nhint: set it to a URL such as http://localhost:4566, or unset AWS_ENDPOINT_URL to use AWS\'s own endpoints\n',
    );
  });
});
