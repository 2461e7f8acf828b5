/**
 * Preloaded into the real, built CLI (`node --import test/fake-aws/remote-preload.mjs bin/batchctl ...`):
 * every AWS SDK command goes to the fake AWS served at FAKE_AWS_URL (http.ts) instead of AWS. It patches
 * the SDK clients' common `send` and nothing else: no mocking library, no TypeScript loader, so the process
 * is the CLI a user runs (its start-up, its memory) with only its AWS answered by the fake. Used by
 * `npm run demo` (first-hour.ts) and bench/install.ts (the benchmarks of speed use wire.ts, which goes
 * through the SDK's own request path). Plain JavaScript on purpose: it loads without tsx.
 */
import { Agent, request } from 'node:http';
import { deserialize, serialize } from 'node:v8';
import { Client } from '@smithy/core/client';
import { isThrottlingError } from '@smithy/core/retry';
import { SDK_SERVICES } from './sdk-services.mjs';

const url = process.env.FAKE_AWS_URL;
if (!url) throw new Error('FAKE_AWS_URL is not set');

const SERVICES = SDK_SERVICES;

// node:http, as the SDK's own handler uses: fetch would load undici, some 12 MB the CLI never holds.
const agent = new Agent({ keepAlive: true });

/** @param {Buffer} body @returns {Promise<Buffer>} */
function post(body) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A streaming body (GetObject) crosses as bytes: give it back the SDK's body methods. */
function decodeOut(out) {
  if (!out?.Body?.__bytes) return out;
  const bytes = out.Body.__bytes;
  return {
    ...out,
    Body: {
      transformToString: async (enc = 'utf-8') => new TextDecoder(enc).decode(bytes),
      transformToByteArray: async () => new Uint8Array(bytes),
    },
  };
}

async function call(service, op, input) {
  const reply = deserialize(await post(serialize({ service, op, input, client: String(process.pid) })));
  if (reply.ok) return decodeOut(reply.out);
  throw Object.assign(new Error(reply.error.message), {
    name: reply.error.name,
    $fault: reply.error.status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: reply.error.status },
    sdkRetries: reply.error.sdkRetries,
  });
}

/** The SDK's standard retry for what the fake marks as its to retry (throttling): the client's own strategy. */
Client.prototype.send = async function send(command) {
  const service = SERVICES[this.config.serviceId];
  const op = command.constructor.name.replace(/Command$/, '');
  let strategy;
  let token;
  for (;;) {
    try {
      const out = await call(service, op, command.input);
      if (token) strategy.recordSuccess(token);
      return out;
    } catch (err) {
      if (!err.sdkRetries) throw err;
      strategy ??= await this.config.retryStrategy();
      token ??= await strategy.acquireInitialRetryToken('');
      try {
        token = await strategy.refreshRetryTokenForRetry(token, {
          errorType: isThrottlingError(err) ? 'THROTTLING' : 'TRANSIENT',
          error: err,
        });
      } catch {
        throw err;
      }
    }
  }
};
