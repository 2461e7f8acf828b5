/**
 * Proxies from the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) for every AWS call, and AWS_CA_BUNDLE.
 * The commands run against the fake AWS, and every call the fake answers is first sent for real through
 * the client's own middleware and request handler (test/helpers/wire.ts): over TLS to AWS's own host
 * names, which do not resolve here, so a call that did not go through the local proxy fails the command.
 * The credential chain's own calls (STS AssumeRole for a role profile, SSO GetRoleCredentials) are real
 * calls too, answered by the wire server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { captureCli } from '../helpers/cli.js';
import { scratch, type Scratch } from '../helpers/stack.js';
import { withEnv } from '../helpers/env.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startWire, TLS_DIR, wireTap, type WireServer } from '../helpers/wire.js';
import { RoutingHttpsAgent, bypassesProxy, parseNoProxy, proxyEnv, proxyFor } from '../../src/aws/proxy.js';
import { SOCKETS_PER_CLIENT, clientConfig } from '../../src/aws/clients.js';
import { buildProgram } from '../../src/cli/main.js';

const cli = captureCli();
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** The machine's AWS variables out of the way; static keys (no credential call) unless a test sets a profile. */
const BASE = {
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  AWS_SESSION_TOKEN: undefined,
  AWS_PROFILE: undefined,
  AWS_ENDPOINT_URL: undefined,
  AWS_MAX_ATTEMPTS: '1',
  HTTPS_PROXY: undefined,
  https_proxy: undefined,
  HTTP_PROXY: undefined,
  http_proxy: undefined,
  NO_PROXY: undefined,
  no_proxy: undefined,
  AWS_CA_BUNDLE: undefined,
  AWS_CONFIG_FILE: undefined,
  AWS_SHARED_CREDENTIALS_FILE: undefined,
};
const CA = join(TLS_DIR, 'ca.pem');

interface Rig {
  fake: FakeAws;
  tally: { calls: number };
  wire: WireServer;
  proxy: TestProxy;
  s: Scratch;
}

async function rig(opts: { tls: boolean; proxyAuth?: string; refuse?: number }): Promise<Rig> {
  const fake = createFakeAws();
  closers.push(() => fake.uninstall());
  const s = scratch();
  const tally = wireTap(fake);
  const wire = await startWire({ tls: opts.tls });
  closers.push(() => wire.close());
  const proxy = await startProxy({ upstream: { port: wire.port }, auth: opts.proxyAuth, refuse: opts.refuse });
  closers.push(() => proxy.close());
  return { fake, tally, wire, proxy, s };
}

const run = (r: Rig, ...args: string[]) => cli.run('-c', r.s.configPath, '--state', r.s.statePath, ...args);

/**
 * A home of its own with the shared config files for `profile`, and the environment that uses them through the proxy.
 */
function profileHome(r: Rig, profile: string): { home: string; env: Record<string, string | undefined> } {
  const home = mkdtempSync(join(tmpdir(), 'batchctl-home-'));
  return {
    home,
    env: {
      ...BASE,
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_PROFILE: profile,
      HOME: home,
      AWS_CONFIG_FILE: join(home, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
      HTTPS_PROXY: r.proxy.url,
      AWS_CA_BUNDLE: CA,
    },
  };
}

describe('NO_PROXY and the proxy variables', () => {
  it('lower case wins over upper case; a scheme-less value is http; http and https each their own', () => {
    const env = proxyEnv({
      HTTPS_PROXY: 'http://upper:1',
      https_proxy: 'lower:3128',
      HTTP_PROXY: 'http://plain:8080',
    })!;
    expect(env.https?.url.href).toBe('http://lower:3128/');
    expect(env.https?.from).toBe('https_proxy');
    expect(env.http?.url.href).toBe('http://plain:8080/');
    expect(proxyEnv({ NO_PROXY: '*' })).toBeUndefined();
    expect(() => proxyEnv({ HTTPS_PROXY: 'socks5://user:secret@h:1080' })).toThrow(/HTTPS_PROXY uses socks5/);
  });

  it('hosts, domains and their subdomains, host:port, IPv4 and IPv6 literals and CIDR blocks, and *', () => {
    const rules = parseNoProxy(
      'localhost, .internal.example,corp.example  *.svc.test,10.0.0.0/8,[::1],s3.amazonaws.com:8443,fd00::/8',
    );
    const by = (host: string, port = 443) => bypassesProxy(host, port, rules);
    expect(by('localhost')).toBe(true);
    expect(by('api.internal.example')).toBe(true);
    expect(by('internal.example')).toBe(true);
    expect(by('corp.example')).toBe(true);
    expect(by('a.b.corp.example')).toBe(true);
    expect(by('notcorp.example')).toBe(false);
    expect(by('x.svc.test')).toBe(true);
    expect(by('10.1.2.3')).toBe(true);
    expect(by('11.1.2.3')).toBe(false);
    expect(by('::1')).toBe(true);
    expect(by('[::1]')).toBe(true);
    expect(by('fd12::5')).toBe(true);
    expect(by('s3.amazonaws.com', 8443)).toBe(true);
    expect(by('s3.amazonaws.com', 443)).toBe(false);
    expect(by('sts.amazonaws.com')).toBe(false);
    expect(bypassesProxy('anything', 1, parseNoProxy('*'))).toBe(true);
  });

  it('https calls take HTTPS_PROXY, http calls HTTP_PROXY, and NO_PROXY wins over both', () => {
    const env = proxyEnv({ HTTPS_PROXY: 'http://p:1', NO_PROXY: '127.0.0.1' })!;
    expect(proxyFor({ protocol: 'https:', hostname: 'ec2.eu-west-1.amazonaws.com' }, env)?.from).toBe('HTTPS_PROXY');
    expect(proxyFor({ protocol: 'http:', hostname: 'localstack' }, env)).toBeUndefined();
    expect(proxyFor({ protocol: 'https:', hostname: '127.0.0.1', port: 4566 }, env)).toBeUndefined();
  });

  it("without a proxy variable or a CA bundle, the SDK's own agents are used", () => {
    const handler = clientConfig('ec2', { region: 'eu-west-1' }, {}).requestHandler as Record<string, unknown>;
    // Settings for the agents the SDK builds itself (batchctl's sockets per client), not agents of ours.
    expect(handler.httpsAgent).toEqual({ keepAlive: true, maxSockets: SOCKETS_PER_CLIENT });
    expect(handler.httpsAgent).not.toBeInstanceOf(RoutingHttpsAgent);
    expect(clientConfig('ec2', { region: 'eu-west-1' }, {}).credentialDefaultProvider).toBeUndefined();
  });

  it('a proxy URL that is not one, or an unreadable CA bundle: exit 2 naming the variable, never its value', async () => {
    const r = await rig({ tls: true });
    let code = await withEnv({ ...BASE, HTTPS_PROXY: 'ftp://user:hunter2@proxy:21' }, () => run(r, 'status'));
    expect(code).toBe(2);
    expect(cli.err.join('')).toMatch(/HTTPS_PROXY uses ftp: only http:\/\/ and https:\/\/ proxies are supported/);
    expect(cli.err.join('')).not.toContain('hunter2');
    code = await withEnv({ ...BASE, AWS_CA_BUNDLE: join(r.s.dir, 'missing.pem') }, () => run(r, 'status'));
    expect(code).toBe(2);
    expect(cli.err.join('')).toMatch(/AWS_CA_BUNDLE ".*missing\.pem" cannot be read: ENOENT/);
    expect(r.fake.core.count()).toBe(0);
  });
});

describe('every AWS call of a command goes through HTTPS_PROXY', () => {
  it('up, plan, status, logs and down: each call tunnels to its AWS host through the proxy', async () => {
    const r = await rig({ tls: true, proxyAuth: 'ops:s3cret word' });
    const env = { ...BASE, HTTPS_PROXY: `http://ops:s3cret%20word@127.0.0.1:${r.proxy.port}`, AWS_CA_BUNDLE: CA };
    // `up` asks on a terminal; where it has --yes (to say yes without one), pass it.
    const upYes = buildProgram()
      .commands.find((c) => c.name() === 'up')
      ?.options.some((o) => o.long === '--yes')
      ? ['--yes']
      : [];
    for (const args of [['up', ...upYes], ['plan'], ['status'], ['logs', '--since', '1h'], ['down', '--yes']]) {
      const before = { calls: r.tally.calls, wire: r.wire.requests.length };
      const code = await withEnv(env, () => run(r, ...args));
      expect(code, `${args.join(' ')}: ${cli.err.join('')}`).toBe(0);
      const calls = r.tally.calls - before.calls;
      expect(calls, args.join(' ')).toBeGreaterThan(0);
      // One request on the wire per call, each through a tunnel the proxy opened (the names do not resolve).
      expect(r.wire.requests.length - before.wire, args.join(' ')).toBe(calls);
    }
    expect(r.fake.core.count()).toBe(r.tally.calls);
    const tunnels = r.proxy.records.filter((p) => p.method === 'CONNECT');
    expect(tunnels.length).toBe(r.proxy.records.length);
    expect(tunnels.every((t) => /^[a-z0-9.-]+\.amazonaws\.com:443$/.test(t.target))).toBe(true);
    expect(tunnels.every((t) => t.auth === `Basic ${Buffer.from('ops:s3cret word').toString('base64')}`)).toBe(true);
    // ssm: the stack's lock, which up and down take.
    expect(new Set(r.wire.requests.map((w) => w.host.split('.')[0]))).toEqual(
      new Set([
        'sts',
        'ssm',
        'ec2',
        'api',
        'iam',
        'logs',
        'secretsmanager',
        'ecs',
        'sqs',
        'sample-batch-123456789012-ap-northeast-1',
        'events',
      ]),
    );
  });

  it("a role profile's STS AssumeRole goes through the proxy too", async () => {
    const r = await rig({ tls: true });
    const { home, env } = profileHome(r, 'deploy');
    writeFileSync(
      join(home, 'config'),
      '[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deploy\nsource_profile = keys\nregion = ap-northeast-1\n',
    );
    writeFileSync(
      join(home, 'credentials'),
      '[keys]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n',
    );
    const code = await withEnv(env, () => run(r, 'plan'));
    expect(code, cli.err.join('')).toBe(0);
    const assumed = r.wire.requests.filter((w) => w.op === 'AssumeRole');
    expect(assumed.length).toBeGreaterThan(0);
    expect(assumed.every((w) => w.host === 'sts.ap-northeast-1.amazonaws.com')).toBe(true);
    expect(r.wire.requests.length).toBe(r.tally.calls + assumed.length);
  });

  it("an SSO profile's GetRoleCredentials goes through the proxy too", async () => {
    const r = await rig({ tls: true });
    const { home, env } = profileHome(r, 'sso');
    const startUrl = 'https://d-1234567890.awsapps.com/start';
    writeFileSync(
      join(home, 'config'),
      `[profile sso]\nsso_start_url = ${startUrl}\nsso_region = ap-northeast-1\nsso_account_id = 123456789012\nsso_role_name = Deploy\nregion = ap-northeast-1\n`,
    );
    mkdirSync(join(home, '.aws', 'sso', 'cache'), { recursive: true });
    const token = {
      accessToken: 'test-sso-access-token',
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      region: 'ap-northeast-1',
      startUrl,
    };
    writeFileSync(
      join(home, '.aws', 'sso', 'cache', `${createHash('sha1').update(startUrl).digest('hex')}.json`),
      JSON.stringify(token),
    );
    const code = await withEnv(env, () => run(r, 'status'));
    expect(code, cli.err.join('')).toBe(0);
    const sso = r.wire.requests.filter((w) => w.op === 'GET /federation/credentials');
    expect(sso.length).toBeGreaterThan(0);
    expect(sso.every((w) => w.host === 'portal.sso.ap-northeast-1.amazonaws.com')).toBe(true);
    expect(r.proxy.records.some((p) => p.target === 'portal.sso.ap-northeast-1.amazonaws.com:443')).toBe(true);
    expect(r.wire.requests.length).toBe(r.tally.calls + sso.length);
  });
});

describe('HTTP_PROXY, NO_PROXY and failures', () => {
  it('an http endpoint (an emulator) through HTTP_PROXY: each call forwarded in absolute form', async () => {
    const r = await rig({ tls: false });
    // A host name that does not resolve: only the proxy can reach it.
    const env = { ...BASE, AWS_ENDPOINT_URL: 'http://aws.emulator.invalid:4566', HTTP_PROXY: r.proxy.url };
    const code = await withEnv(env, () => run(r, 'plan'));
    expect(code, cli.err.join('')).toBe(0);
    expect(r.proxy.records.length).toBe(r.tally.calls);
    expect(r.proxy.records.every((p) => p.target.startsWith('http://aws.emulator.invalid:4566/'))).toBe(true);
    expect(r.wire.requests.length).toBe(r.tally.calls);
  });

  it('a host in NO_PROXY is reached directly: the proxy sees nothing', async () => {
    const r = await rig({ tls: false });
    const env = {
      ...BASE,
      AWS_ENDPOINT_URL: `http://127.0.0.1:${r.wire.port}`,
      HTTP_PROXY: r.proxy.url,
      HTTPS_PROXY: r.proxy.url,
      NO_PROXY: 'localhost,127.0.0.1',
    };
    const code = await withEnv(env, () => run(r, 'plan'));
    expect(code, cli.err.join('')).toBe(0);
    expect(r.tally.calls).toBeGreaterThan(10);
    expect(r.wire.requests.length).toBe(r.tally.calls);
    expect(r.proxy.records).toEqual([]);
  });

  it('a proxy that wants credentials: the error names the proxy and the variable, not AWS', async () => {
    const r = await rig({ tls: true, proxyAuth: 'ops:pw' });
    const code = await withEnv({ ...BASE, HTTPS_PROXY: r.proxy.url, AWS_CA_BUNDLE: CA }, () => run(r, 'status'));
    expect(code).toBe(2);
    const err = cli.err.join('');
    expect(err).toMatch(
      new RegExp(
        `cannot reach https://sts\\.ap-northeast-1\\.amazonaws\\.com through the proxy ${r.proxy.url} \\(HTTPS_PROXY\\) for STS GetCallerIdentity: the proxy answered 407`,
      ),
    );
    expect(err).toMatch(/hint: the proxy wants credentials: give them in HTTPS_PROXY/);
  });

  it('a proxy that is not running: the hint says to check it or bypass it with NO_PROXY', async () => {
    const r = await rig({ tls: true });
    await r.proxy.close();
    const code = await withEnv({ ...BASE, HTTPS_PROXY: r.proxy.url, AWS_CA_BUNDLE: CA }, () => run(r, 'status'));
    expect(code).toBe(2);
    expect(cli.err.join('')).toMatch(
      /through the proxy .* \(HTTPS_PROXY\) for STS GetCallerIdentity: connection refused/,
    );
    expect(cli.err.join('')).toMatch(/hint: is the proxy in HTTPS_PROXY running and reachable\? .*NO_PROXY/);
  });

  it('a certificate nothing trusts (a TLS-inspecting proxy): the hint names AWS_CA_BUNDLE', async () => {
    const r = await rig({ tls: true });
    const code = await withEnv({ ...BASE, HTTPS_PROXY: r.proxy.url }, () => run(r, 'status'));
    expect(code).toBe(2);
    expect(cli.err.join('')).toMatch(/hint: a proxy that inspects TLS presents its own certificate: set AWS_CA_BUNDLE/);
  });
});
