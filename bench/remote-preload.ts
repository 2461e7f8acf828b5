/**
 * Preloaded into the real CLI (`node --import`) by bench/jobs.ts to measure its memory: every AWS SDK
 * command goes to the fake AWS served at FAKE_AWS_URL (test/fake-aws/http.ts) instead of AWS. Kept
 * apart from test/fake-aws/remote-cli.ts on purpose: that one loads the whole fake and its mocking
 * library, tens of MB the CLI itself never holds; this patches the SDK clients' common `send` and
 * nothing else, so the process's peak RSS is the CLI's own.
 */
import { Agent, request } from 'node:http';
import { deserialize, serialize } from 'node:v8';
import { Client } from '@smithy/core/client';
import { isThrottlingError } from '@smithy/core/retry';

const url = process.env.FAKE_AWS_URL;
if (!url) throw new Error('FAKE_AWS_URL is not set');

/** The fake's service names, by the SDK's service ids. */
const SERVICES: Record<string, string> = {
  EC2: 'ec2', ECS: 'ecs', ECR: 'ecr', IAM: 'iam', S3: 's3', 'Secrets Manager': 'secretsManager', EventBridge: 'eventbridge',
  'CloudWatch Logs': 'logs', STS: 'sts', Scheduler: 'scheduler', SQS: 'sqs', SNS: 'sns',
};

type Reply = { ok: true; out: any } | { ok: false; error: { name: string; message: string; status: number; sdkRetries?: boolean } };

// node:http, as the SDK's own handler uses: fetch would load undici, some 12 MB the CLI never holds.
const agent = new Agent({ keepAlive: true });

function post(body: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = request(url!, { method: 'POST', agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function call(service: string, op: string, input: unknown): Promise<unknown> {
  const reply = deserialize(await post(serialize({ service, op, input, client: String(process.pid) }))) as Reply;
  if (reply.ok) return reply.out;
  const e = Object.assign(new Error(reply.error.message), {
    name: reply.error.name, $fault: reply.error.status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: reply.error.status }, sdkRetries: reply.error.sdkRetries,
  });
  throw e;
}

/** The SDK's standard retry for what the fake marks as its to retry (throttling): the client's own strategy. */
Client.prototype.send = async function send(this: any, command: any) {
  const service = SERVICES[this.config.serviceId];
  const op = command.constructor.name.replace(/Command$/, '');
  let strategy: any;
  let token: any;
  for (;;) {
    try {
      const out = await call(service!, op, command.input);
      if (token) strategy.recordSuccess(token);
      return out;
    } catch (err: any) {
      if (!err.sdkRetries) throw err;
      strategy ??= await this.config.retryStrategy();
      token ??= await strategy.acquireInitialRetryToken('');
      try {
        token = await strategy.refreshRetryTokenForRetry(token, { errorType: isThrottlingError(err) ? 'THROTTLING' : 'TRANSIENT', error: err });
      } catch {
        throw err;
      }
    }
  }
} as never;
