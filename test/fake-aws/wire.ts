/**
 * Preloaded into the real CLI (`node --import <this, bundled> bin/batchctl ...`, AWS_ENDPOINT_URL pointing at a
 * fake served by http.ts): every AWS call goes over HTTP to that fake through the SDK's own request path:
 * endpoint resolution, the retry strategy (it resends what the fake refuses as throttled or answers with a
 * 5xx, and what it loses by dropping the connection), signing, and the Node HTTP handler with its agent
 * (sockets per client, keep-alive). Only the protocol is swapped: the request body is the command's input,
 * the answer its output, as http.ts exchanges them (v8 serialisation), not AWS's XML or JSON. So what a
 * benchmark measures is the CLI's own process (start, module loading, connection pool) and the wire, not
 * the SDK's parsing of AWS's formats.
 *
 * Kept free of the fake itself and of the mocking library: the process's memory is the CLI's own.
 */
import { deserialize, serialize } from 'node:v8';
import { Client } from '@smithy/core/client';
import { HttpRequest } from '@smithy/core/protocols';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SDK_SERVICES } from './sdk-services.mjs';

const SERVICES: Record<string, string> = SDK_SERVICES;

type Reply = { ok: true; out: any } | { ok: false; error: { name: string; message: string; status: number } };

async function bytes(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** A streaming body (GetObject) arrives as its bytes (http.ts): give it the SDK stream's methods back. */
function withBody(out: any): any {
  const raw = out?.Body?.__bytes as Uint8Array | undefined;
  if (!raw) return out;
  return {
    ...out,
    Body: {
      transformToString: async (enc = 'utf-8') => new TextDecoder(enc).decode(raw),
      transformToByteArray: async () => new Uint8Array(raw),
    },
  };
}

/** What the SDK's serde middleware asks of a protocol (client.config.protocol), over http.ts's format. */
function wireProtocol(service: string) {
  return {
    getShapeId: () => 'batchctl.fake#wire',
    getRequestType: () => HttpRequest,
    getResponseType: () => Object,
    setSerdeContext() {},
    async serializeRequest(
      op: { name: string },
      input: unknown,
      ctx: { endpoint: () => Promise<{ protocol: string; hostname: string; port?: number }> },
    ) {
      const ep = await ctx.endpoint();
      const body = serialize({ service, op: op.name, input, client: String(process.pid) });
      return new HttpRequest({
        protocol: ep.protocol,
        hostname: ep.hostname,
        port: ep.port,
        method: 'POST',
        path: '/',
        headers: { 'content-type': 'application/x-v8-serialized', 'content-length': String(body.length) },
        body,
      });
    },
    async deserializeResponse(
      _op: unknown,
      _ctx: unknown,
      response: { statusCode: number; body: AsyncIterable<Uint8Array> },
    ) {
      const reply = deserialize(await bytes(response.body)) as Reply;
      const $metadata = { httpStatusCode: response.statusCode, requestId: 'fake' };
      if (reply.ok) return { ...withBody(reply.out), $metadata };
      // Shaped like the SDK's ServiceException: `name` is the AWS code, which the retry strategy classifies.
      throw Object.assign(new Error(reply.error.message), {
        name: reply.error.name,
        Code: reply.error.name,
        $fault: reply.error.status >= 500 ? 'server' : 'client',
        $metadata: { ...$metadata, httpStatusCode: reply.error.status },
      });
    },
  };
}

/** FAKE_MAX_SOCKETS: the sockets per client to use instead of the CLI's own setting (a benchmark's comparison). */
const maxSockets = Number(process.env.FAKE_MAX_SOCKETS) || undefined;

interface SdkClient {
  config: { serviceId: string; protocol: unknown; requestHandler?: unknown };
}

// The serde middleware reads `config.protocol` at each call, so swapping it before the first send is enough.
const send = Client.prototype.send;
const wired = new WeakSet<object>();
Client.prototype.send = function wiredSend(this: SdkClient, ...args: unknown[]) {
  if (!wired.has(this)) {
    const service = SERVICES[this.config.serviceId];
    if (!service) throw new Error(`fake AWS over HTTP: no fake for the SDK service ${this.config.serviceId}`);
    this.config.protocol = wireProtocol(service);
    if (maxSockets) this.config.requestHandler = new NodeHttpHandler({ httpAgent: { keepAlive: true, maxSockets } });
    wired.add(this);
  }
  return (send as (...a: unknown[]) => Promise<unknown>).apply(this, args);
} as typeof send;
