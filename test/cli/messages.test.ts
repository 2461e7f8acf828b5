/**
 * The messages a newcomer meets first, through the CLI: an unknown region with the nearest real one,
 * AWS_REGION disagreeing with the config, an endpoint that cannot be reached (the real SDK against a
 * closed local port), `logs --task` for a run that does not exist, `--output`, and every suggested
 * `aws ...` command carrying `--region`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CreateLogGroupCommand, CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { scratch } from '../helpers/stack.js';
import { ROOT } from '../helpers/ctx.js';
import { withEnv } from '../helpers/env.js';
import { captureCli } from '../helpers/cli.js';
import { unreachable } from '../../src/aws/clients.js';
import { KNOWN_REGIONS, REGIONS_BY_PARTITION } from '../../src/config/regions.js';
import { detachLines } from '../../src/cli/commands/run-now.js';

const io = captureCli();
const { out, err } = io;
const cli = io.run;
let fake: FakeAws | undefined;
afterEach(() => {
  fake?.uninstall();
  fake = undefined;
});

describe('an unknown region', () => {
  it('is named with the nearest real region, wherever it came from, before any AWS call', async () => {
    const s = scratch();
    fake = createFakeAws();
    expect(await cli('-c', s.configPath, '--region', 'eu-wst-1', 'plan')).toBe(2);
    // A flag's mistake names the flag, not a line of the config file.
    expect(err.join('')).toBe(
      'error: --region "eu-wst-1" is not an AWS region: did you mean eu-west-1?\nhint: pass --region with an AWS region, or leave it out to use the config\'s\n',
    );
    s.editConfig((t) => t.replace('region: ap-northeast-1', 'region: ap-northest-1'));
    expect(await cli('-c', s.configPath, 'validate')).toBe(2);
    expect(err.join('')).toContain(':3:9  region  "ap-northest-1" is not an AWS region: did you mean ap-northeast-1?');
    s.editConfig((t) => t.replace('region: ap-northest-1\n', ''));
    expect(await withEnv({ AWS_REGION: 'us-est-1' }, () => cli('-c', s.configPath, 'validate'))).toBe(2);
    expect(err.join('')).toBe(
      'error: AWS_REGION "us-est-1" is not an AWS region: did you mean us-east-1?\nhint: set AWS_REGION to an AWS region, or set region in the config\n',
    );
    expect(fake.core.calls).toEqual([]);
  });

  it("the list is the SDK's own partition data, so a new SDK with a new region fails here until the list follows", () => {
    const file = join(
      ROOT,
      'node_modules/@aws-sdk/core/dist-es/submodules/client/util-endpoints/lib/aws/partitions.js',
    );
    const data = JSON.parse(
      readFileSync(file, 'utf8')
        .replace(/^export const partitionsInfo = /, '')
        .replace(/;\s*$/, ''),
    ) as { partitions: { id: string; regions: Record<string, unknown> }[] };
    const sdk = Object.fromEntries(
      data.partitions.map((p) => [
        p.id,
        Object.keys(p.regions)
          .filter((r) => !r.endsWith('-global'))
          .sort(),
      ]),
    );
    expect(Object.fromEntries(Object.entries(REGIONS_BY_PARTITION).map(([p, rs]) => [p, [...rs].sort()]))).toEqual(sdk);
    expect(KNOWN_REGIONS).toContain('ap-northeast-1');
  });
});

describe('AWS_REGION and the config disagree', () => {
  it('a warning says which region is used and why; the command goes on', async () => {
    const s = scratch();
    fake = createFakeAws();
    expect(await withEnv({ AWS_REGION: 'us-east-1' }, () => cli('-c', s.configPath, 'validate'))).toBe(0);
    expect(err.join('')).toBe(
      "warning: AWS_REGION is us-east-1 but the config's region is ap-northeast-1: batchctl uses ap-northeast-1, because the config's region wins over the environment (pass --region to choose another)\n",
    );
    expect(out.join('')).toContain('ok (stack sample-batch, region ap-northeast-1)');
    // Commands that talk to AWS say it once, through their reporter.
    expect(
      await withEnv({ AWS_REGION: 'us-east-1' }, () => cli('-c', s.configPath, '--state', s.statePath, 'cost')),
    ).toBe(0);
    expect(err.join('').match(/AWS_REGION is us-east-1/g)).toHaveLength(1);
    // --region decides: nothing to warn about. The same region: nothing either.
    expect(
      await withEnv({ AWS_REGION: 'us-east-1' }, () =>
        cli('-c', s.configPath, '--region', 'ap-northeast-1', 'validate'),
      ),
    ).toBe(0);
    expect(err.join('')).toBe('');
    expect(await withEnv({ AWS_REGION: 'ap-northeast-1' }, () => cli('-c', s.configPath, 'validate'))).toBe(0);
    expect(err.join('')).toBe('');
  });
});

describe('an endpoint that cannot be reached', () => {
  /** A local port where nothing listens (bound, then closed). */
  async function closedPort(): Promise<number> {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const { port } = srv.address() as { port: number };
    await new Promise((r) => srv.close(r));
    return port;
  }
  // The real SDK, no fake: credentials that sign, one attempt per call so the test does not wait out retries.
  const env = {
    AWS_PROFILE: undefined,
    AWS_ACCESS_KEY_ID: 'AKIDTEST',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_SESSION_TOKEN: undefined,
    AWS_MAX_ATTEMPTS: '1',
    AWS_ENDPOINT_URL: undefined,
  };

  it('names the URL and where it came from: --endpoint-url or AWS_ENDPOINT_URL (exit 2, no bare ECONNREFUSED)', async () => {
    const s = scratch();
    const url = `http://127.0.0.1:${await closedPort()}`;
    expect(
      await withEnv(env, () => cli('-c', s.configPath, '--state', s.statePath, '--endpoint-url', url, 'plan')),
    ).toBe(2);
    expect(err.join('')).toBe(
      `error: cannot reach ${url} (the endpoint from --endpoint-url) for STS GetCallerIdentity: connection refused, nothing listens there\n` +
        'hint: is the emulator or service at that URL running? Check the --endpoint-url you passed\n',
    );
    expect(
      await withEnv({ ...env, AWS_ENDPOINT_URL: url }, () => cli('-c', s.configPath, '--state', s.statePath, 'status')),
    ).toBe(2);
    expect(err.join('')).toMatch(
      new RegExp(
        `^error: cannot reach ${url} \\(the endpoint from AWS_ENDPOINT_URL\\) for STS GetCallerIdentity: connection refused.*\\nhint: .*Unset AWS_ENDPOINT_URL to use AWS's own endpoints\\n$`,
      ),
    );
    // logs loads no STS: its first call is CloudWatch Logs'.
    expect(await withEnv({ ...env, AWS_ENDPOINT_URL: url }, () => cli('-c', s.configPath, 'logs'))).toBe(2);
    expect(err.join('')).toMatch(/^error: cannot reach .* for CloudWatch Logs FilterLogEvents: connection refused/);
  });

  it("a host name that does not resolve, and AWS's own endpoint, are said as such", async () => {
    const s = scratch();
    expect(
      await withEnv(env, () =>
        cli('-c', s.configPath, '--state', s.statePath, '--endpoint-url', 'http://no-such-host.invalid:4566', 'plan'),
      ),
    ).toBe(2);
    expect(err.join('')).toMatch(
      /^error: cannot reach http:\/\/no-such-host\.invalid:4566 \(the endpoint from --endpoint-url\) for STS GetCallerIdentity: (no such host name|the host name could not be looked up) \(DNS\)\n/,
    );
    // No network here to fail on AWS's endpoint for real: the same error, as the SDK raises it.
    const dns = Object.assign(new Error('getaddrinfo ENOTFOUND sts.eu-west-1.amazonaws.com'), {
      code: 'ENOTFOUND',
      $metadata: { attempts: 8 },
    });
    const e = unreachable(
      dns,
      'sts',
      new URL('https://sts.eu-west-1.amazonaws.com/'),
      'GetCallerIdentityCommand',
      { region: 'eu-west-1' },
      {},
    )!;
    expect(e.message).toBe(
      "cannot reach https://sts.eu-west-1.amazonaws.com (AWS's STS endpoint for eu-west-1) for STS GetCallerIdentity: no such host name (DNS)",
    );
    expect(e.hint).toMatch(/network connection, the proxy/);
    // A service's own variable, and a connection that timed out.
    const timeout = Object.assign(new Error('the request socket did not establish a connection'), {
      name: 'TimeoutError',
    });
    expect(
      unreachable(
        timeout,
        's3',
        new URL('http://minio:9000/b'),
        'GetObjectCommand',
        { region: 'eu-west-1' },
        { AWS_ENDPOINT_URL_S3: 'http://minio:9000' },
      )?.message,
    ).toBe(
      'cannot reach http://minio:9000 (the endpoint from AWS_ENDPOINT_URL_S3) for S3 GetObject: no connection within 5 s',
    );
    // An answer from the server is not "unreachable", whatever its code.
    expect(
      unreachable(
        Object.assign(new Error('x'), { name: 'TimeoutError', $response: { statusCode: 504 } }),
        'sts',
        new URL('https://x'),
        undefined,
        { region: 'r' },
        {},
      ),
    ).toBeUndefined();
  });
});

describe('logs --task for a run that does not exist', () => {
  const GROUP = '/ecs/SampleBatch';
  const run = (id: string) => `ecs/batch/${id}`;

  it('exits 2 and lists the recent runs, latest first', async () => {
    const s = scratch();
    fake = createFakeAws();
    await new CloudWatchLogsClient({ region: 'ap-northeast-1' }).send(
      new CreateLogGroupCommand({ logGroupName: GROUP }),
    );
    const now = Date.now();
    const ids = [
      '1111aaaa2222bbbb3333cccc4444dddd',
      '5555eeee6666ffff7777aaaa8888bbbb',
      '9999cccc0000dddd1111eeee2222ffff',
    ];
    ids.forEach((id, n) =>
      fake!.logs.addEvents(GROUP, run(id), [{ timestamp: now - (3 - n) * 3600_000, message: `run ${n}` }]),
    );
    fake.logs.addEvents(GROUP, 'other/stream', [{ timestamp: now, message: 'not a run of this job' }]);
    expect(await cli('-c', s.configPath, 'logs', '--task', 'deadbeef')).toBe(2);
    const text = err.join('');
    expect(text).toMatch(
      /^error: no run deadbeef in log group \/ecs\/SampleBatch\n {2}recent runs \(latest first\):\n/,
    );
    const listed = [...text.matchAll(/^ {4}([0-9a-f]{32}) {2}last event /gm)].map((m) => m[1]);
    expect(listed).toEqual([...ids].reverse());
    expect(text).toMatch(/\nhint: pass one of these with --task/);
    // A run that exists: its events, exit 0.
    expect(await cli('-c', s.configPath, 'logs', '--task', ids[1]!.slice(0, 8))).toBe(0);
    expect(out.join('')).toContain('run 1');
  });

  it('no run at all yet: says to start one', async () => {
    const s = scratch();
    fake = createFakeAws();
    await new CloudWatchLogsClient({ region: 'ap-northeast-1' }).send(
      new CreateLogGroupCommand({ logGroupName: GROUP }),
    );
    expect(await cli('-c', s.configPath, 'logs', '--task', 'deadbeef')).toBe(2);
    expect(err.join('')).toBe(
      'error: no run deadbeef in log group /ecs/SampleBatch\nhint: no run has written to this log group yet: start one with `batchctl run-now`\n',
    );
  });
});

describe('--output', () => {
  it('json is --json, on every command', async () => {
    const s = scratch();
    fake = createFakeAws();
    expect(await cli('-c', s.configPath, 'validate', '--output', 'json')).toBe(0);
    expect(JSON.parse(out.join(''))).toMatchObject({ ok: true, stack: 'sample-batch' });
    expect(await cli('--output', 'json', '-c', s.configPath, '--state', s.statePath, 'plan')).toBe(0);
    expect(JSON.parse(out.join(''))).toMatchObject({ ok: true });
    // text is the default: the same as leaving it out.
    expect(await cli('-c', s.configPath, '--output', 'text', 'validate')).toBe(0);
    expect(out.join('')).toMatch(/: ok \(stack sample-batch/);
    // Errors too are one JSON document.
    expect(await cli('-c', '/nonexistent/x.yaml', '--output', 'json', 'validate')).toBe(2);
    expect(JSON.parse(out.join(''))).toMatchObject({ ok: false, exitCode: 2 });
  });

  it('anything else, or --json with --output text, is a usage error: exit 2', () => {
    const bin = join(ROOT, 'bin/batchctl');
    const yaml = spawnSync(process.execPath, [bin, 'validate', '--output', 'yaml'], { cwd: ROOT, encoding: 'utf8' });
    expect(yaml.status).toBe(2);
    expect(yaml.stderr).toMatch(/argument 'yaml' is invalid\. Allowed choices are text, json/);
    const both = spawnSync(process.execPath, [bin, 'validate', '--json', '--output', 'text'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(both.status).toBe(2);
    expect(both.stderr).toBe('error: --json and --output text contradict each other: pass one of them\n');
  });
});

describe('suggested aws commands', () => {
  it("carry --region: the stack's region is rarely the CLI's default one", () => {
    // Every `aws <service> <operation>` written in the source, outside comments. Profile and login
    // commands (aws configure, aws sso login) work on the local profile, not in a region.
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
        d.isDirectory() ? walk(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
      );
    const offenders: string[] = [];
    let seen = 0;
    for (const file of walk(join(ROOT, 'src'))) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, n) => {
          if (/^\s*(\/\/|\*|\/\*)/.test(line)) return;
          for (const m of line.matchAll(/\baws (?!configure\b|sso\b)([a-z0-9]+) [a-z][a-z-]+[^`'")]*/g)) {
            seen++;
            if (!/--region\b/.test(m[0])) offenders.push(`${file.slice(ROOT.length)}:${n + 1}: ${m[0]}`);
          }
        });
    }
    expect(seen).toBeGreaterThan(4);
    expect(offenders).toEqual([]);
    expect(
      detachLines({
        taskId: 'abc',
        taskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/c/abc',
        cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/c',
      })[2],
    ).toMatch(/aws ecs stop-task --cluster c --task \S+ --region eu-west-1$/);
  });
});
