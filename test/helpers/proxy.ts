/**
 * A forward proxy on 127.0.0.1 for tests, as a corporate proxy behaves: CONNECT opens a tunnel (for
 * https), an absolute-form request is forwarded (for http). AWS's host names do not resolve here (no
 * network), so every target is sent to one local server, `upstream`, whatever host it names. It records
 * what it was asked, and can demand credentials (407) or refuse (403).
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';

export interface ProxyRecord {
  method: string;
  /** `host:port` for CONNECT, the absolute URL otherwise. */
  target: string;
  /** The Proxy-Authorization header, if any. */
  auth?: string;
}

export interface TestProxy {
  url: string;
  port: number;
  readonly records: ProxyRecord[];
  close(): Promise<void>;
}

export interface TestProxyOptions {
  /** Where every tunnel and forwarded request goes. */
  upstream: { port: number };
  /** Demand this `user:password` (407 otherwise). */
  auth?: string;
  /** Refuse every request with this status. */
  refuse?: number;
}

export async function startProxy(opts: TestProxyOptions): Promise<TestProxy> {
  const records: ProxyRecord[] = [];
  const sockets = new Set<Socket>();
  const expected = opts.auth ? `Basic ${Buffer.from(opts.auth).toString('base64')}` : undefined;
  const denied = (req: IncomingMessage): number | undefined => {
    if (opts.refuse) return opts.refuse;
    if (expected && req.headers['proxy-authorization'] !== expected) return 407;
    return undefined;
  };
  const server: Server = createServer((req, res) => {
    records.push({ method: req.method ?? '', target: req.url ?? '', auth: req.headers['proxy-authorization'] });
    const no = denied(req);
    if (no) {
      res.writeHead(no, no === 407 ? { 'proxy-authenticate': 'Basic realm="test"' } : {}).end();
      return;
    }
    const url = new URL(req.url ?? '/');
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const up = httpRequest(
      {
        host: '127.0.0.1',
        port: opts.upstream.port,
        method: req.method,
        path: `${url.pathname}${url.search}`,
        headers,
      },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    records.push({ method: 'CONNECT', target: req.url ?? '', auth: req.headers['proxy-authorization'] });
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    const no = denied(req);
    if (no) {
      client.end(`HTTP/1.1 ${no} ${no === 407 ? 'Proxy Authentication Required' : 'Forbidden'}\r\n\r\n`);
      return;
    }
    const up = netConnect({ host: '127.0.0.1', port: opts.upstream.port }, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    sockets.add(up);
    up.on('close', () => sockets.delete(up));
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    records,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
