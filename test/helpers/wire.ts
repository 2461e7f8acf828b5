/**
 * The other end of real HTTP: a local server that receives the requests the SDK really sends (signed,
 * through the agents and proxies the product configured) and answers them with an empty success, or,
 * for the credential calls (STS AssumeRole, SSO GetRoleCredentials), with credentials. What a command
 * gets back still comes from the fake AWS: the wire tap (`wireTap`) sends every call the fake answers
 * over the wire first, so a test can check that every call of a command took the route it should.
 */
import { createServer as createHttp, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ROOT } from './ctx.js';
import type { FakeAws } from '../fake-aws/index.js';

export const TLS_DIR = join(ROOT, 'test/fixtures/tls');

export interface WireRequest {
  host: string;
  method: string;
  path: string;
  /** The operation: X-Amz-Target's, the query Action, or the REST path. */
  op: string;
}

export interface WireServer {
  port: number;
  url: string;
  readonly requests: WireRequest[];
  close(): Promise<void>;
}

const EXPIRY = new Date(Date.now() + 3_600_000);

function operation(req: IncomingMessage, body: string): string {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return target.split('.').at(-1) ?? target;
  const action = /(?:^|&)Action=([^&]+)/.exec(body)?.[1] ?? /[?&]Action=([^&]+)/.exec(req.url ?? '')?.[1];
  return action ?? `${req.method} ${(req.url ?? '').split('?')[0]}`;
}

function answer(req: WireRequest, res: ServerResponse): void {
  if (req.op === 'AssumeRole') {
    res
      .writeHead(200, { 'content-type': 'text/xml' })
      .end(
        `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>` +
          `<AccessKeyId>ASIAWIRETESTROLE0001</AccessKeyId><SecretAccessKey>wire-test-secret</SecretAccessKey>` +
          `<SessionToken>wire-test-token</SessionToken><Expiration>${EXPIRY.toISOString()}</Expiration></Credentials>` +
          `<AssumedRoleUser><AssumedRoleId>AROAWIRETEST:s</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/wire/s</Arn></AssumedRoleUser>` +
          `</AssumeRoleResult></AssumeRoleResponse>`,
      );
    return;
  }
  if (req.op === 'GET /federation/credentials') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        roleCredentials: {
          accessKeyId: 'ASIAWIRETESTSSO00001',
          secretAccessKey: 'wire-test-secret',
          sessionToken: 'wire-test-token',
          expiration: EXPIRY.getTime(),
        },
      }),
    );
    return;
  }
  const json = /json/.test(String(req.op)) || req.host.startsWith('scheduler.');
  res.writeHead(200, { 'content-type': json ? 'application/json' : 'text/xml' }).end(json ? '{}' : '');
}

/** Start the wire server: https with the test certificate (AWS's own host names), or plain http. */
export async function startWire(opts: { tls: boolean }): Promise<WireServer> {
  const requests: WireRequest[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const r = {
        host: String(req.headers.host ?? ''),
        method: req.method ?? '',
        path: req.url ?? '',
        op: operation(req, body),
      };
      requests.push(r);
      answer(r, res);
    });
  };
  const server = opts.tls
    ? createHttps(
        { key: readFileSync(join(TLS_DIR, 'server-key.pem')), cert: readFileSync(join(TLS_DIR, 'server.pem')) },
        handler,
      )
    : createHttp(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections?.();
        server.close(() => r());
      }),
  };
}

/**
 * Send every call the fake answers over the wire first, through the client's own middleware (signing,
 * retries, the request handler and its agents): its answer is thrown away, the fake's is returned. A
 * failure to connect fails the call; an answer the SDK cannot parse does not (the wire server's empty
 * success is not each operation's output).
 */
export function wireTap(fake: FakeAws): { calls: number } {
  const tally = { calls: 0 };
  fake.core.beforeCall = async (client, command) => {
    tally.calls++;
    const handler = (command as any).resolveMiddleware(client.middlewareStack, client.config, undefined);
    try {
      await handler(command);
    } catch (err) {
      if (!(err as { $response?: unknown }).$response) throw err;
    }
  };
  return tally;
}
