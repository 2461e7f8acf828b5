/**
 * HTTP(S) proxies from the environment, for every AWS call. The AWS SDK for JavaScript reads no proxy
 * variable (its guide says to pass an agent), while the AWS CLI, Terraform, gh and npm all honour
 * HTTPS_PROXY, HTTP_PROXY and NO_PROXY: behind a corporate proxy batchctl could reach nothing. These
 * agents follow the rules those tools share (curl's): the lower-case variable wins over the upper-case
 * one, NO_PROXY lists host names, domain suffixes, `host:port`, IP addresses and CIDR blocks, and `*`.
 * An https target goes through a CONNECT tunnel (TLS end to end: the proxy sees only the host name), an
 * http target (a local emulator) is sent to the proxy in absolute form. Each request is routed on its
 * own host, so one client can reach a proxied and an excluded host (S3 names a host per bucket).
 */
import { Agent as HttpAgent, type AgentOptions, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions } from 'node:https';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { readFileSync } from 'node:fs';
import { ProxyConfigError } from '../base/errors.js';

/** A proxy in force: its URL and the variable that named it. */
export interface ProxyChoice {
  url: URL;
  from: string;
}

/** The proxy variables, as read once per command. */
export interface ProxyEnv {
  http?: ProxyChoice;
  https?: ProxyChoice;
  noProxy: NoProxyRule[];
  /** The variable NO_PROXY was read from, for messages. */
  noProxyFrom?: string;
}

/** One entry of NO_PROXY. */
export type NoProxyRule =
  | { kind: 'all' }
  | { kind: 'host'; host: string; port?: number }
  | { kind: 'cidr'; base: bigint; bits: number; v6: boolean };

/** The variable's value, lower-case name first (curl, Python and Node's own proxy support agree). */
function variable(env: NodeJS.ProcessEnv, name: string): [string, string] | undefined {
  for (const n of [name.toLowerCase(), name.toUpperCase()]) {
    const v = env[n]?.trim();
    if (v) return [v, n];
  }
  return undefined;
}

/** A proxy URL as curl reads it: a scheme-less `host:port` means http. */
function proxyUrl(value: string, from: string): ProxyChoice {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ProxyConfigError(`${from} is not a URL`, from);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ProxyConfigError(
      `${from} uses ${url.protocol.slice(0, -1)}: only http:// and https:// proxies are supported`,
      from,
    );
  }
  if (!url.hostname) throw new ProxyConfigError(`${from} names no host`, from);
  return { url, from };
}

/** Read the proxy variables; undefined when none names a proxy (the SDK's own agents are then used). */
export function proxyEnv(env: NodeJS.ProcessEnv = process.env): ProxyEnv | undefined {
  const http = variable(env, 'http_proxy');
  const https = variable(env, 'https_proxy');
  if (!http && !https) return undefined;
  const no = variable(env, 'no_proxy');
  return {
    ...(http ? { http: proxyUrl(...http) } : {}),
    ...(https ? { https: proxyUrl(...https) } : {}),
    noProxy: no ? parseNoProxy(no[0]) : [],
    ...(no ? { noProxyFrom: no[1] } : {}),
  };
}

/** Parse NO_PROXY: entries split on commas or spaces. */
export function parseNoProxy(value: string): NoProxyRule[] {
  const rules: NoProxyRule[] = [];
  for (const raw of value.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') {
      rules.push({ kind: 'all' });
      continue;
    }
    const cidr = /^(.+)\/(\d{1,3})$/.exec(entry);
    if (cidr) {
      const addr = cidr[1]!.replace(/^\[|\]$/g, '');
      const v = isIP(addr);
      const bits = Number(cidr[2]);
      if (v && bits <= (v === 4 ? 32 : 128)) rules.push({ kind: 'cidr', base: ipBits(addr), bits, v6: v === 6 });
      continue;
    }
    // `[::1]:8080`, `[::1]`, `host:port`, `::1`, `host`; a leading `*.` or `.` means the domain and below.
    let host = entry;
    let port: number | undefined;
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    if (bracketed) {
      host = bracketed[1]!;
      port = bracketed[2] ? Number(bracketed[2]) : undefined;
    } else if (!isIP(entry)) {
      const hp = /^(.*):(\d+)$/.exec(entry);
      if (hp) {
        host = hp[1]!;
        port = Number(hp[2]);
      }
    }
    host = host.replace(/^\*?\./, '');
    if (host) rules.push({ kind: 'host', host, ...(port !== undefined ? { port } : {}) });
  }
  return rules;
}

/** An IP address as a number (IPv4 in 32 bits, IPv6 in 128). */
function ipBits(addr: string): bigint {
  if (isIP(addr) === 4) return addr.split('.').reduce((n, part) => (n << 8n) | BigInt(Number(part)), 0n);
  // Expand `::` and an embedded IPv4 tail, then read the eight groups.
  let text = addr;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = ipBits(v4[1]!);
    text = `${text.slice(0, -v4[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

/** Whether NO_PROXY sends this host (and port) straight to it. */
export function bypassesProxy(hostname: string, port: number, rules: NoProxyRule[]): boolean {
  const host = hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  const ip = isIP(host);
  for (const r of rules) {
    if (r.kind === 'all') return true;
    if (r.kind === 'cidr') {
      if (!ip || (ip === 6) !== r.v6) continue;
      const width = r.v6 ? 128n : 32n;
      const shift = width - BigInt(r.bits);
      if (ipBits(host) >> shift === r.base >> shift) return true;
      continue;
    }
    if (r.port !== undefined && r.port !== port) continue;
    if (host === r.host || (!ip && host.endsWith(`.${r.host}`))) return true;
  }
  return false;
}

/** The proxy a request to this URL goes through, or undefined to go straight there. */
export function proxyFor(
  target: { protocol: string; hostname: string; port?: string | number },
  env: ProxyEnv,
): ProxyChoice | undefined {
  const secure = target.protocol === 'https:';
  const choice = secure ? env.https : env.http;
  if (!choice) return undefined;
  const port = Number(target.port) || (secure ? 443 : 80);
  return bypassesProxy(target.hostname, port, env.noProxy) ? undefined : choice;
}

/** What a connection through a proxy failed on: carried by the error, for the unreachable message. */
export interface ProxyFailure {
  /** The proxy's origin, without credentials. */
  proxy: string;
  /** The variable that named it. */
  from: string;
  /** The proxy's answer to CONNECT, when it gave one. */
  status?: number;
  statusText?: string;
}

/** The proxy origin for messages: never the user name or password. */
export function proxyOrigin(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

function basicAuth(url: URL): string | undefined {
  if (!url.username && !url.password) return undefined;
  return `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
}

/** Tag a connection error with the proxy it came from. */
function viaProxy<E extends Error>(err: E, choice: ProxyChoice, answer?: { status: number; text: string }): E {
  const failure: ProxyFailure = {
    proxy: proxyOrigin(choice.url),
    from: choice.from,
    ...(answer ? { status: answer.status, statusText: answer.text } : {}),
  };
  return Object.assign(err, { proxy: failure });
}

/** Open a TCP (or, for an https:// proxy, TLS) connection to the proxy. */
function toProxy(choice: ProxyChoice, tls: ConnectionOptions): Socket {
  const port = Number(choice.url.port) || (choice.url.protocol === 'https:' ? 443 : 80);
  const host = choice.url.hostname.replace(/^\[|\]$/g, '');
  return choice.url.protocol === 'https:'
    ? tlsConnect({ host, port, servername: isIP(host) ? undefined : host, ca: tls.ca })
    : netConnect({ host, port });
}

/**
 * Open a tunnel to host:port through the proxy with CONNECT; resolves with the proxy connection once the
 * proxy answered 2xx. Anything else (407, 403, a closed connection) is an error naming the proxy.
 */
export function openTunnel(
  choice: ProxyChoice,
  host: string,
  port: number,
  tls: ConnectionOptions = {},
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = toProxy(choice, tls);
    const authority = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
    const auth = basicAuth(choice.url);
    let head = Buffer.alloc(0);
    const fail = (err: Error, answer?: { status: number; text: string }) => {
      socket.destroy();
      reject(viaProxy(err, choice, answer));
    };
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 16_384)
          fail(Object.assign(new Error('the proxy answered CONNECT with an oversized header'), { code: 'EPROXY' }));
        return;
      }
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.removeListener('end', onEnd);
      const status = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(head.subarray(0, head.indexOf('\r\n')).toString('latin1'));
      const code = status ? Number(status[1]) : 0;
      if (code >= 200 && code < 300) {
        // Bytes after the header belong to the tunnel (none, before we sent anything): give them back.
        const rest = head.subarray(end + 4);
        if (rest.length) socket.unshift(rest);
        resolve(socket);
        return;
      }
      const text = status?.[2] ?? 'no HTTP answer';
      fail(
        Object.assign(new Error(`the proxy answered CONNECT ${authority} with ${code || '?'} ${text}`.trim()), {
          code: 'EPROXY',
        }),
        { status: code, text },
      );
    };
    const onError = (err: Error) => fail(err);
    const onEnd = () =>
      fail(
        Object.assign(new Error(`the proxy closed the connection before answering CONNECT ${authority}`), {
          code: 'ECONNRESET',
        }),
      );
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('end', onEnd);
    const lines = [
      `CONNECT ${authority} HTTP/1.1`,
      `Host: ${authority}`,
      ...(auth ? [`Proxy-Authorization: ${auth}`] : []),
      '',
      '',
    ];
    socket.write(lines.join('\r\n'));
  });
}

type Created = (err: Error | null, socket: Duplex) => void;

/** Options both agents take: the proxy variables and TLS settings (a CA bundle) for the targets. */
export interface RoutingOptions {
  env?: ProxyEnv;
  /** PEM bundle that replaces Node's CA store for TLS (AWS_CA_BUNDLE). */
  ca?: string | Buffer;
}

/**
 * The https agent: a tunnel through the proxy for proxied hosts, a direct TLS connection otherwise.
 * Node's agent calls createConnection with a callback when it returns nothing, which lets the tunnel
 * open asynchronously; the SDK's connection timeout runs until the socket is handed over.
 */
export class RoutingHttpsAgent extends HttpsAgent {
  constructor(
    private readonly routing: RoutingOptions,
    options: HttpsAgentOptions = {},
  ) {
    super({ ...options, ...(routing.ca ? { ca: routing.ca } : {}) });
  }

  override createConnection(options: any, callback?: Created): any {
    const choice =
      this.routing.env &&
      proxyFor({ protocol: 'https:', hostname: options.host, port: options.port }, this.routing.env);
    if (!choice) return (HttpsAgent.prototype as any).createConnection.call(this, options, callback);
    openTunnel(choice, options.host, Number(options.port) || 443, { ca: this.routing.ca }).then(
      (raw) => {
        const secure = tlsConnect({
          ...options,
          socket: raw,
          servername: options.servername ?? (isIP(options.host) ? undefined : options.host),
        });
        secure.once('error', (err) => viaProxy(err, choice));
        callback?.(null, secure);
      },
      (err: Error) => callback?.(err, undefined as never),
    );
    return undefined;
  }
}

/**
 * The http agent: requests to proxied hosts are sent to the proxy with the target's absolute URL as
 * their path (the form proxies expect for http), others straight to the host.
 */
export class RoutingHttpAgent extends HttpAgent {
  constructor(
    private readonly routing: RoutingOptions,
    options: AgentOptions = {},
  ) {
    super(options);
  }

  private choiceFor(options: {
    host?: string | null;
    hostname?: string | null;
    port?: number | string | null;
  }): ProxyChoice | undefined {
    const hostname = options.hostname ?? options.host ?? 'localhost';
    return this.routing.env && proxyFor({ protocol: 'http:', hostname, port: options.port ?? 80 }, this.routing.env);
  }

  /** Node's Agent entry point for a request (not in Node's type declarations). */
  addRequest(req: ClientRequest, options: any): void {
    const choice = this.choiceFor(options);
    if (choice) {
      const port = Number(options.port) || 80;
      const host = isIP(options.host) === 6 ? `[${options.host}]` : options.host;
      // Headers are written at the request's first write, after this: the new path and header go out.
      req.path = `http://${host}${port === 80 ? '' : `:${port}`}${req.path}`;
      const auth = basicAuth(choice.url);
      if (auth) req.setHeader('Proxy-Authorization', auth);
      // One pool per proxy, not per target host: the connection goes to the proxy.
      options = { ...options, [PROXY]: choice };
    }
    (HttpAgent.prototype as unknown as { addRequest(r: ClientRequest, o: unknown): void }).addRequest.call(
      this,
      req,
      options,
    );
  }

  override getName(options: any): string {
    const choice: ProxyChoice | undefined = options?.[PROXY];
    return choice ? `proxy:${proxyOrigin(choice.url)}` : super.getName(options);
  }

  override createConnection(options: any, callback?: Created): any {
    const choice: ProxyChoice | undefined = options?.[PROXY];
    if (!choice) return (HttpAgent.prototype as any).createConnection.call(this, options, callback);
    const socket = toProxy(choice, { ca: this.routing.ca });
    socket.once('error', (err) => viaProxy(err, choice));
    return socket;
  }
}

const PROXY = Symbol('batchctl.proxy');

/** Read AWS_CA_BUNDLE (as the AWS CLI does): a PEM file that replaces the trusted CAs for AWS calls. */
export function caBundle(env: NodeJS.ProcessEnv = process.env): { path: string; pem: Buffer } | undefined {
  const path = env.AWS_CA_BUNDLE?.trim();
  if (!path) return undefined;
  return { path, pem: readFileSync(path) };
}
