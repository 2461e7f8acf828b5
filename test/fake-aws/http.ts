/**
 * One in-memory fake AWS shared by several processes: the parent serves it over HTTP on localhost, and
 * each child (remote-cli.ts) runs the real CLI with its SDK clients forwarding every command there.
 * What crosses the wire is the command's input and output (v8 serialisation keeps Dates and bytes),
 * not AWS's wire protocol: the SDK's own request signing and parsing are not under test here, the
 * product's behaviour across processes is (two `up` runs, one account, one S3 lock).
 */
import { createServer, type Server } from 'node:http';
import { deserialize, serialize } from 'node:v8';
import type { AddressInfo } from 'node:net';
import { FakeAwsError, lostAnswer } from './core.js';
import { retriedBySdk } from './throttling.js';
import type { FakeAws } from './index.js';

type Request = ServedCall;
type Reply =
  | { ok: true; out: unknown }
  | { ok: false; error: { name: string; message: string; status: number; sdkRetries?: boolean } };

/** A streaming body (GetObject) cannot be serialised: send its bytes, rebuild it on the other side. */
async function encodeOut(out: any): Promise<unknown> {
  if (out?.Body && typeof out.Body.transformToByteArray === 'function')
    return { ...out, Body: { __bytes: await out.Body.transformToByteArray() } };
  return out;
}

function decodeOut(out: any): unknown {
  if (out?.Body?.__bytes) {
    const bytes: Uint8Array = out.Body.__bytes;
    return {
      ...out,
      Body: {
        transformToString: async (enc = 'utf-8') => new TextDecoder(enc).decode(bytes),
        transformToByteArray: async () => new Uint8Array(bytes),
      },
    };
  }
  return out;
}

export interface ServedFake {
  url: string;
  close(): Promise<void>;
}

/** A call as the served fake receives it, for `ServeOptions.intercept`. */
export interface ServedCall {
  service: string;
  op: string;
  input: any;
  client: string;
}

export interface ServeOptions {
  /** Hold every call until this many distinct processes have called: their runs start together. */
  waitForClients?: number;
  /**
   * Called with each call before it is applied, and again after (with `applied`). Returning 'drop' closes
   * the connection without an answer (and, before, without applying the call): with the calling process
   * killed here, that is a kill -9 at exactly that moment.
   */
  intercept?: (call: ServedCall, applied: boolean) => 'drop' | void | Promise<'drop' | void>;
}

/**
 * Serve `fake` (created with `install: false`) on 127.0.0.1. With `waitForClients: n`, every call is
 * held until n distinct processes have called: their runs start together, whatever their start-up time.
 */
export async function serveFake(fake: FakeAws, opts: ServeOptions = {}): Promise<ServedFake> {
  const clients = new Set<string>();
  let open!: () => void;
  const gate = new Promise<void>((r) => {
    open = r;
  });
  if (!opts.waitForClients) open();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const call = deserialize(Buffer.concat(chunks)) as Request;
      clients.add(call.client);
      if (clients.size >= (opts.waitForClients ?? 0)) open();
      await gate;
      let reply: Reply;
      if ((await opts.intercept?.(call, false)) === 'drop') {
        res.destroy();
        return;
      }
      try {
        const out = await fake.core.invoke(call.service, call.op, call.input, call.client);
        if ((await opts.intercept?.(call, true)) === 'drop') {
          res.destroy();
          return;
        }
        reply = { ok: true, out: await encodeOut(out) };
      } catch (err) {
        const lost = lostAnswer(err);
        const status = (lost as FakeAwsError | undefined)?.$metadata?.httpStatusCode;
        // Applied, then the answer lost: the connection drops (the caller's SDK sees ECONNRESET), or a proxy's 5xx.
        if (lost && !status) return void res.socket?.destroy();
        const e = (lost ?? err) as FakeAwsError;
        reply = {
          ok: false,
          error: {
            name: e.name,
            message: e.message,
            status: e.$metadata?.httpStatusCode ?? 500,
            sdkRetries: (e as { sdkRetries?: boolean }).sdkRetries,
          },
        };
        res.statusCode = reply.error.status;
      }
      res.end(serialize(reply));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    // Clients keep their connections open (keep-alive): close them, or close() waits for them to time out.
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** In a child: send every SDK command to the fake served at `url`. */
export function installRemoteFake(fake: FakeAws, url: string): void {
  fake.core.installRemote(async (service, op, input) => {
    const res = await fetch(url, {
      method: 'POST',
      body: serialize({ service, op, input, client: String(process.pid) }),
    }).catch((err: unknown) => {
      // The served fake dropped the connection: a response lost after the call was applied.
      throw Object.assign(new Error(`socket hang up (response of ${op} lost)`), {
        code: 'ECONNRESET',
        $metadata: {},
        cause: err,
      });
    });
    const reply = deserialize(Buffer.from(await res.arrayBuffer())) as Reply;
    if (!reply.ok) {
      const e = new FakeAwsError(reply.error.name, reply.error.message, reply.error.status);
      // Throttling: the child's SDK retries it, as its own retry strategy says (core.ts).
      throw reply.error.sdkRetries ? retriedBySdk(e) : e;
    }
    return decodeOut(reply.out);
  });
}
