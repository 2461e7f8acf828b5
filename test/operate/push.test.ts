/**
 * `batchctl push` against the fake AWS with a fake `docker` executable on PATH that records its
 * arguments and stdin: the build, login and push sequence, the password only ever on stdin, the
 * digest, and the errors (docker missing, a failing step, no repository yet).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { scratch, upOn, type Scratch } from '../helpers/stack.js';
import { buildProgram } from '../../src/cli/main.js';
import { runPush } from '../../src/releases/push.js';
import { UserError } from '../../src/base/errors.js';
import { silentReporter } from '../../src/engine/reporter.js';

const DIGEST = `sha256:${'ab12'.repeat(16)}`;
const PASSWORD = 'fake-registry-password';
const URI = '123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/sample-batch';

/** A `docker` that appends {argv, stdin} as one JSON line to $FAKE_DOCKER_LOG and fails $FAKE_DOCKER_FAIL. */
const FAKE_DOCKER = `const fs = require('node:fs');
const argv = process.argv.slice(2);
const stdin = argv.includes('--password-stdin') ? fs.readFileSync(0, 'utf8') : null;
fs.appendFileSync(process.env.FAKE_DOCKER_LOG, JSON.stringify({ argv, stdin }) + '\\n');
if (process.env.FAKE_DOCKER_FAIL === argv[0]) { process.stderr.write(argv[0] + ': something broke\\n'); process.exit(17); }
if (argv[0] === 'build') process.stderr.write('#1 [internal] load build definition from Dockerfile\\n#12 naming to ' + argv[argv.indexOf('-t') + 1] + ' done\\n');
if (argv[0] === 'login') process.stdout.write('Login Succeeded\\n');
if (argv[0] === 'push') {
  process.stdout.write('The push refers to repository [' + argv[1].split(':')[0] + ']\\n5f70bf18a086: Pushed\\n');
  process.stdout.write(argv[1].split(':').pop() + ': digest: ${DIGEST} size: 1234\\n');
}
`;

let fake: FakeAws;
let s: Scratch;
let binDir: string;
let log: string;
let savedPath: string | undefined;
let out: string[];
let err: string[];

beforeEach(async () => {
  fake = createFakeAws();
  s = scratch();
  await upOn(s);
  mkdirSync(join(s.dir, 'batch'));
  binDir = mkdtempSync(join(tmpdir(), 'fake-docker-'));
  installDocker(FAKE_DOCKER);
  log = join(binDir, 'calls.jsonl');
  savedPath = process.env.PATH;
  process.env.PATH = `${binDir}:${savedPath}`;
  process.env.FAKE_DOCKER_LOG = log;
  delete process.env.FAKE_DOCKER_FAIL;
  out = [];
  err = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((t) => {
    out.push(String(t));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((t) => {
    err.push(String(t));
    return true;
  });
  process.exitCode = undefined;
});

afterEach(() => {
  vi.restoreAllMocks();
  process.env.PATH = savedPath;
  delete process.env.FAKE_DOCKER_LOG;
  delete process.env.FAKE_DOCKER_FAIL;
  fake.uninstall();
  process.exitCode = undefined;
});

/**
 * `docker` on PATH: a shell wrapper running this CommonJS script (a .cjs file, whatever the test runner's module
 * default).
 */
function installDocker(script: string): void {
  writeFileSync(join(binDir, 'docker.cjs'), script);
  writeFileSync(join(binDir, 'docker'), `#!/bin/sh\nexec "${process.execPath}" "${join(binDir, 'docker.cjs')}" "$@"\n`);
  chmodSync(join(binDir, 'docker'), 0o755);
}

const calls = (): { argv: string[]; stdin: string | null }[] =>
  existsSync(log)
    ? readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
    : [];

async function cli(...args: string[]): Promise<number> {
  await buildProgram().parseAsync(['node', 'batchctl', '-c', s.configPath, '--state', s.statePath, ...args]);
  return Number(process.exitCode ?? 0);
}

describe('batchctl push', () => {
  it('builds, logs in with the password on stdin only, pushes and prints the digest', async () => {
    fake.core.resetCalls();
    expect(await cli('push')).toBe(0);
    const c = calls();
    expect(c.map((x) => x.argv[0])).toEqual(['build', 'login', 'push']);
    expect(c[0]!.argv).toEqual(['build', '--platform', 'linux/amd64', '-t', `${URI}:latest`, join(s.dir, 'batch')]);
    expect(c[1]!.argv).toEqual([
      'login',
      '--username',
      'AWS',
      '--password-stdin',
      '123456789012.dkr.ecr.ap-northeast-1.amazonaws.com',
    ]);
    expect(c[1]!.stdin).toBe(PASSWORD);
    expect(c[2]!.argv).toEqual(['push', `${URI}:latest`]);
    expect(c.flatMap((x) => x.argv).join(' ')).not.toContain(PASSWORD);
    expect(c.filter((x) => x.stdin !== null)).toHaveLength(1);

    expect(out.join('')).toBe(`pushed ${URI}:latest@${DIGEST}\n`);
    // docker's own output reaches stderr as it runs; the password reaches no output at all.
    expect(err.join('')).toContain('5f70bf18a086: Pushed');
    expect(err.join('')).toContain('Login Succeeded');
    expect(out.join('') + err.join('')).not.toContain(PASSWORD);
    // Only ECR and STS, read-only.
    expect(fake.core.calls.map((x) => x.op).sort()).toEqual([
      'DescribeRepositories',
      'GetAuthorizationToken',
      'GetCallerIdentity',
    ]);
  });

  it('--context, --tag, --file and --json', async () => {
    const ctxDir = mkdtempSync(join(tmpdir(), 'ctx-'));
    writeFileSync(join(ctxDir, 'Other.Dockerfile'), 'FROM scratch\n');
    expect(
      await cli('--json', 'push', '--context', ctxDir, '--tag', 'v1.2.3', '--file', join(ctxDir, 'Other.Dockerfile')),
    ).toBe(0);
    expect(calls()[0]!.argv).toEqual([
      'build',
      '--platform',
      'linux/amd64',
      '-f',
      join(ctxDir, 'Other.Dockerfile'),
      '-t',
      `${URI}:v1.2.3`,
      ctxDir,
    ]);
    expect(calls()[2]!.argv).toEqual(['push', `${URI}:v1.2.3`]);
    expect(JSON.parse(out.join(''))).toEqual({
      ok: true,
      image: `${URI}:v1.2.3`,
      digest: DIGEST,
      images: [{ jobs: ['sample-batch'], image: `${URI}:v1.2.3`, digest: DIGEST }],
    });
  });

  it('builds for ARM64 when the task runs on ARM64', async () => {
    s.editConfig((t) =>
      t.replace('  command: [node, dist/main.js]', '  command: [node, dist/main.js]\n  cpuArchitecture: ARM64'),
    );
    await runPush({ configPath: s.configPath, statePath: s.statePath, reporter: silentReporter, output: () => {} });
    expect(calls()[0]!.argv.slice(1, 3)).toEqual(['--platform', 'linux/arm64']);
  });

  it('docker missing: one-line UserError, exit 2, nothing run', async () => {
    process.env.PATH = mkdtempSync(join(tmpdir(), 'empty-path-'));
    const e = await runPush({ configPath: s.configPath, statePath: s.statePath, reporter: silentReporter }).catch(
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).message).toBe('docker is not installed or not on PATH');
    expect(await cli('push')).toBe(2);
    expect(err.join('')).toMatch(/^error: docker is not installed or not on PATH\nhint: install Docker/);
    expect(calls()).toEqual([]);
  });

  it('a failing step is named with its exit code (exit 1) and later steps do not run', async () => {
    process.env.FAKE_DOCKER_FAIL = 'login';
    expect(await cli('push')).toBe(1);
    expect(err.join('')).toContain(
      "error: docker login failed (exit code 17)\nhint: docker's own output above says why the login failed: fix that, then run `batchctl push` again (`docker version` checks that docker works)\n",
    );
    expect(calls().map((x) => x.argv[0])).toEqual(['build', 'login']);
    expect(err.join('') + out.join('')).not.toContain(PASSWORD);
  });

  it("docker without its daemon: the build fails with docker's words, and the hint says to start Docker", async () => {
    installDocker(`process.stderr.write('Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\\n');
process.exit(1);
`);
    expect(await cli('push')).toBe(1);
    expect(err.join('')).toContain(
      [
        'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
        'error: docker build failed (exit code 1)',
        'hint: the Docker daemon is not running: start Docker (Docker Desktop, or `sudo systemctl start docker`), check with `docker version`, then run `batchctl push` again',
        '',
      ].join('\n'),
    );
  });

  it('redacts the password if docker ever echoes it', async () => {
    installDocker(`const login = process.argv[2] === 'login';
process.stderr.write('got ' + (login ? require('node:fs').readFileSync(0, 'utf8') : '') + ' ok');
process.exit(login ? 3 : 0);
`);
    const lines: string[] = [];
    const e = await runPush({
      configPath: s.configPath,
      statePath: s.statePath,
      reporter: silentReporter,
      output: (t) => lines.push(t),
    }).catch((x: unknown) => x);
    expect((e as Error).message).toBe('docker login failed (exit code 3)');
    expect(lines.join('')).toContain('got *** ok');
    expect(lines.join('')).not.toContain(PASSWORD);
  });

  it('no repository yet: tells to run up first, before any docker step', async () => {
    fake.ecr.repositories.clear();
    const e = await runPush({ configPath: s.configPath, statePath: s.statePath, reporter: silentReporter }).catch(
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).hint).toMatch(/run batchctl up first/);
    expect(calls()).toEqual([]);
  });
});
