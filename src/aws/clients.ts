/**
 * The one place AWS clients are built. Each service's SDK package is imported only when a command asks
 * for it: loading @aws-sdk/client-ec2 alone costs ~100 ms, and `--help` and `logs` must stay fast.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { STSClient } from '@aws-sdk/client-sts';
import type { SchedulerClient } from '@aws-sdk/client-scheduler';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { UserError, awsErrorCode } from '../base/errors.js';
import { printable } from '../base/format.js';
import { configuredProfiles } from './profiles.js';
import { VERSION } from '../base/version.js';
import { Pacer, paced } from './pacing.js';

/** Options every client shares. */
export interface ClientOptions {
  region: string;
  /** Named profile from the shared config files. */
  profile?: string;
  /** Endpoint override for every service (local emulators). `AWS_ENDPOINT_URL` is read too. */
  endpointUrl?: string;
  /** Total attempts per call in the SDK's standard retry mode. */
  maxAttempts?: number;
  /** S3 only: follow a bucket's region redirect (a state bucket whose region the config does not name). */
  followRegionRedirects?: boolean;
  /**
   * The token buckets mutating calls wait for (pacing.ts). Default: one for the clients of this call,
   * which is one command's (a command's buckets start full, as AWS's do after a pause).
   */
  pacer?: Pacer;
}

export type ServiceName = 'ec2' | 'ecs' | 'ecr' | 'iam' | 's3' | 'secretsManager' | 'eventBridge' | 'logs' | 'sts' | 'scheduler' | 'sqs' | 'sns' | 'sfn' | 'cloudwatch';

/** Clients loaded for one command. Reading one that was not loaded is a programming error. */
export interface AwsClients {
  readonly ec2: EC2Client;
  readonly ecs: ECSClient;
  readonly ecr: ECRClient;
  readonly iam: IAMClient;
  readonly s3: S3Client;
  readonly secretsManager: SecretsManagerClient;
  readonly eventBridge: EventBridgeClient;
  readonly logs: CloudWatchLogsClient;
  readonly sts: STSClient;
  readonly scheduler: SchedulerClient;
  readonly sqs: SQSClient;
  readonly sns: SNSClient;
  /** Step Functions: the state machines of jobs with a timeout or retries. */
  readonly sfn: SFNClient;
  /** CloudWatch (metrics and alarms): the alarm on the dead-letter queue. */
  readonly cloudwatch: CloudWatchClient;
  /**
   * Clients of the same services that never resend a call themselves (`maxAttempts: 1`), for the creates
   * AWS offers no idempotency for (CreateVpc, CreateSubnet, AssociateRouteTable, RegisterTaskDefinition):
   * when the response of such a call is lost, the SDK's retry would create a second resource. Their
   * callers look the resource up before trying again (resources/lib/create.ts).
   */
  readonly once: Pick<AwsClients, 'ec2' | 'ecs'>;
}

/** Services `up`, `plan` and `down` need. */
export const ALL_SERVICES: ServiceName[] = ['ec2', 'ecs', 'ecr', 'iam', 's3', 'secretsManager', 'eventBridge', 'logs', 'sts', 'scheduler', 'sqs', 'sns', 'sfn', 'cloudwatch'];

/** Attempts per call: the SDK's standard mode defaults to 3, too few for a 40-call burst against EC2. */
export const DEFAULT_MAX_ATTEMPTS = 8;

/**
 * How long a connection may take to open. The SDK sets no limit, so an endpoint that drops packets (a
 * firewall, an emulator's port on a host that is down) held each attempt for the system's TCP timeout
 * (about two minutes on Linux), eight attempts in a row. Opening a TCP connection to AWS takes well
 * under a second from anywhere; a request waiting for a free socket is not counted.
 */
export const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Connections each client may hold open to its service. The SDK's Node handler keeps connections alive
 * and allows 50 per client by default (@smithy/node-http-handler); a walk runs up to 64 steps at once (the
 * engine's default parallelism) and a step's look may send two reads together, so with 50 the reads of a
 * 50-job stack queued for a socket, one wave of round trips after another. Connections are kept alive
 * (reused across calls), so the TLS handshakes are paid once per socket.
 */
export const SOCKETS_PER_CLIENT = 128;

const loaders: Record<ServiceName, () => Promise<new (config: object) => unknown>> = {
  ec2: async () => (await import('@aws-sdk/client-ec2')).EC2Client,
  ecs: async () => (await import('@aws-sdk/client-ecs')).ECSClient,
  ecr: async () => (await import('@aws-sdk/client-ecr')).ECRClient,
  iam: async () => (await import('@aws-sdk/client-iam')).IAMClient,
  s3: async () => (await import('@aws-sdk/client-s3')).S3Client,
  secretsManager: async () => (await import('@aws-sdk/client-secrets-manager')).SecretsManagerClient,
  eventBridge: async () => (await import('@aws-sdk/client-eventbridge')).EventBridgeClient,
  logs: async () => (await import('@aws-sdk/client-cloudwatch-logs')).CloudWatchLogsClient,
  sts: async () => (await import('@aws-sdk/client-sts')).STSClient,
  scheduler: async () => (await import('@aws-sdk/client-scheduler')).SchedulerClient,
  sqs: async () => (await import('@aws-sdk/client-sqs')).SQSClient,
  sns: async () => (await import('@aws-sdk/client-sns')).SNSClient,
  sfn: async () => (await import('@aws-sdk/client-sfn')).SFNClient,
  cloudwatch: async () => (await import('@aws-sdk/client-cloudwatch')).CloudWatchClient,
};

/** The endpoint override in force: the flag first, then the SDK's standard environment variable. */
export function endpointOverride(opts: Pick<ClientOptions, 'endpointUrl'>, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return opts.endpointUrl ?? env.AWS_ENDPOINT_URL ?? undefined;
}

/**
 * Refuse endpoint overrides that are not http(s) URLs, naming where each came from: `--endpoint-url`,
 * `AWS_ENDPOINT_URL`, or a service's own `AWS_ENDPOINT_URL_<SERVICE>` (which the SDK reads too).
 * Otherwise the SDK fails at the first call with `Invalid URL` or `Unknown`, and nothing says which.
 */
export function checkEndpointOverrides(opts: Pick<ClientOptions, 'endpointUrl'>, env: NodeJS.ProcessEnv = process.env): void {
  const sources: [string, string | undefined][] = [
    ['--endpoint-url', opts.endpointUrl],
    ...Object.keys(env).filter((k) => k === 'AWS_ENDPOINT_URL' || k.startsWith('AWS_ENDPOINT_URL_')).sort().map((k): [string, string | undefined] => [k, env[k]]),
  ];
  for (const [source, value] of sources) {
    if (value === undefined || (value === '' && source !== '--endpoint-url')) continue;
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (!url || !['http:', 'https:'].includes(url.protocol) || !url.hostname) {
      throw new UserError(
        `${source} "${printable(value, 100)}" is not an http(s) URL`,
        `set it to a URL such as http://localhost:4566${source === '--endpoint-url' ? '' : `, or unset ${source} to use AWS's own endpoints`}`,
      );
    }
  }
}

/** The SDK config object shared by every client (exported for tests). */
export function clientConfig(service: ServiceName, opts: ClientOptions, env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const endpoint = endpointOverride(opts, env);
  const config: Record<string, unknown> = {
    region: opts.region,
    retryMode: 'standard',
    maxAttempts: opts.maxAttempts ?? maxAttemptsFromEnv(env) ?? DEFAULT_MAX_ATTEMPTS,
    customUserAgent: `batchctl/${VERSION}`,
    requestHandler: {
      connectionTimeout: CONNECT_TIMEOUT_MS,
      httpAgent: { keepAlive: true, maxSockets: SOCKETS_PER_CLIENT },
      httpsAgent: { keepAlive: true, maxSockets: SOCKETS_PER_CLIENT },
    },
  };
  if (opts.profile) config.profile = opts.profile;
  if (endpoint) {
    config.endpoint = endpoint;
    // Emulators serve every bucket on one host; virtual-hosted names would not resolve.
    if (service === 's3') config.forcePathStyle = true;
  }
  if (service === 's3' && opts.followRegionRedirects) config.followRegionRedirects = true;
  // IAM is global per partition, but the client keeps the stack's region: the SDK's endpoint rules map it
  // to the partition's IAM endpoint and signing region (iam.amazonaws.com signed for us-east-1 in aws,
  // iam.cn-north-1.amazonaws.com.cn in aws-cn, iam.us-gov.amazonaws.com in GovCloud). Pinning us-east-1
  // would send aws-cn and GovCloud credentials to the commercial partition.
  return config;
}

/**
 * AWS_MAX_ATTEMPTS, which the SDK and the AWS CLI read: batchctl's own default would otherwise hide it.
 * (1 makes a command fail at the first error, as when checking an endpoint.)
 */
function maxAttemptsFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const v = env.AWS_MAX_ATTEMPTS;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`AWS_MAX_ATTEMPTS "${printable(v, 40)}" is not a whole number from 1 up`, 'set it to the attempts each AWS call may take (batchctl\'s default is 8), or unset it');
  return n;
}

/** Load and build the clients for the given services. */
export async function createAwsClients(opts: ClientOptions, services: ServiceName[]): Promise<AwsClients> {
  // The SDK warns on every Node 20 process that its 2027 releases need Node 22. The lock file pins the
  // SDK, so the notice is ours to act on, not the user's: keep it out of every command's output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  checkEndpointOverrides(opts);
  const built = new Map<ServiceName, unknown>();
  const ctors = new Map<ServiceName, new (config: object) => unknown>();
  const pacer = opts.pacer ?? new Pacer();
  const build = (s: ServiceName, Ctor: new (config: object) => unknown, o: ClientOptions) => {
    const client = new Ctor(clientConfig(s, o)) as MiddlewareHost & { send: (...a: any[]) => Promise<unknown> };
    client.middlewareStack.add(unreachableMiddleware(s, opts), { step: 'initialize', name: 'batchctlUnreachable' });
    return paced(client, s, pacer);
  };
  await Promise.all(
    services.map(async (s) => {
      const Ctor = await loaders[s]();
      ctors.set(s, Ctor);
      built.set(s, build(s, Ctor, opts));
    }),
  );
  const get = (s: ServiceName) => {
    const c = built.get(s);
    if (!c) throw new Error(`internal: AWS client '${s}' was not loaded for this command`);
    return c;
  };
  // Built on first use: most commands never create anything.
  const single = new Map<ServiceName, unknown>();
  const getOnce = (s: ServiceName) => {
    const Ctor = ctors.get(s);
    if (!Ctor) throw new Error(`internal: AWS client '${s}' was not loaded for this command`);
    if (!single.has(s)) single.set(s, build(s, Ctor, { ...opts, maxAttempts: 1 }));
    return single.get(s);
  };
  const once = {
    get ec2() { return getOnce('ec2') as EC2Client; },
    get ecs() { return getOnce('ecs') as ECSClient; },
  };
  return {
    once,
    get ec2() { return get('ec2') as EC2Client; },
    get ecs() { return get('ecs') as ECSClient; },
    get ecr() { return get('ecr') as ECRClient; },
    get iam() { return get('iam') as IAMClient; },
    get s3() { return get('s3') as S3Client; },
    get secretsManager() { return get('secretsManager') as SecretsManagerClient; },
    get eventBridge() { return get('eventBridge') as EventBridgeClient; },
    get logs() { return get('logs') as CloudWatchLogsClient; },
    get sts() { return get('sts') as STSClient; },
    get scheduler() { return get('scheduler') as SchedulerClient; },
    get sqs() { return get('sqs') as SQSClient; },
    get sns() { return get('sns') as SNSClient; },
    get sfn() { return get('sfn') as SFNClient; },
    get cloudwatch() { return get('cloudwatch') as CloudWatchClient; },
  };
}

/** Who we are: account and partition, from STS. Turns credential problems into one-line user errors. */
export async function callerIdentity(clients: AwsClients): Promise<{ account: string; arn: string; partition: string }> {
  const { GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  try {
    const out = await clients.sts.send(new GetCallerIdentityCommand({}));
    const arn = out.Arn ?? '';
    return { account: out.Account ?? '', arn, partition: arn.split(':')[1] || 'aws' };
  } catch (err) {
    const flag = (clients.sts.config as { profile?: string }).profile;
    throw credentialError(err, flag ? { name: flag, from: '--profile' } : undefined) ?? err;
  }
}

/**
 * A UserError for missing, expired or invalid credentials; undefined for other errors. `profile` is the
 * --profile in force; AWS_PROFILE is read here. The SDK's own message never names the profile, and when
 * AWS_PROFILE is set it ignores AWS_ACCESS_KEY_ID, so "set AWS_PROFILE" would be the wrong advice.
 */
export function credentialError(err: unknown, profile?: { name: string; from: string }, env: NodeJS.ProcessEnv = process.env): UserError | undefined {
  const code = awsErrorCode(err);
  const msg = err instanceof Error ? err.message : String(err);
  if (code === 'CredentialsProviderError' || /Could not load credentials|credential/i.test(msg) && code !== 'ExpiredToken') {
    if (code === 'CredentialsProviderError' || /Could not load credentials/i.test(msg)) {
      const p = profile ?? (env.AWS_PROFILE ? { name: env.AWS_PROFILE, from: 'AWS_PROFILE' } : undefined);
      if (p) {
        const name = printable(p.name, 64);
        const keysToo = env.AWS_ACCESS_KEY_ID ? '; AWS_ACCESS_KEY_ID is set too, but the SDK uses the profile when both are' : '';
        // The SDK says the same for a profile that does not exist and for one without credentials.
        const known = configuredProfiles(env);
        if (!known.names.includes(p.name)) {
          const unset = p.from === 'AWS_PROFILE' ? 'unset AWS_PROFILE, or ' : '';
          return new UserError(
            `profile "${name}" (${p.from}) is not configured`,
            known.names.length
              ? `use one of the configured profiles (${unset}pass --profile), or create it: aws configure --profile ${name}${keysToo}`
              : `${unset}create it: aws configure --profile ${name} (for SSO: aws configure sso --profile ${name})${keysToo}`,
            known.names.length
              ? [`configured profiles: ${known.names.map((n) => printable(n, 64)).join(', ')}`, `(from ${known.files.join(' and ')})`]
              : [`no profiles are configured: neither ${known.searched.join(' nor ')} has one`],
          );
        }
        return new UserError(
          `no AWS credentials from profile "${name}" (${p.from})`,
          `the profile exists but gave no credentials: for SSO run \`aws sso login --profile ${name}\`; otherwise check its keys, role_arn/source_profile or credential_process${keysToo}`,
        );
      }
      return new UserError(
        'no AWS credentials found',
        'set AWS_PROFILE (or pass --profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; for SSO run `aws sso login`',
      );
    }
  }
  if (['ExpiredToken', 'ExpiredTokenException', 'RequestExpired'].includes(code) || /expired/i.test(msg) && /token|credential|session/i.test(msg)) {
    return new UserError('your AWS credentials have expired', 'refresh them (for SSO: `aws sso login`) and run the command again');
  }
  if (['InvalidClientTokenId', 'SignatureDoesNotMatch', 'UnrecognizedClientException', 'InvalidAccessKeyId'].includes(code)) {
    return new UserError(`AWS rejected your credentials (${code})`, 'check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the profile you use');
  }
  return undefined;
}

/** The part of an SDK client that takes a middleware (typed here so no SDK type package is needed). */
interface MiddlewareHost {
  middlewareStack: { add(middleware: unknown, options: { step: 'initialize'; name: string }): void };
}

/** What an unreachable endpoint did, by the Node error code (or the SDK's TimeoutError). */
const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: 'connection refused, nothing listens there',
  ENOTFOUND: 'no such host name (DNS)',
  EAI_AGAIN: 'the host name could not be looked up (DNS)',
  ETIMEDOUT: 'the connection timed out',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  TimeoutError: `no connection within ${CONNECT_TIMEOUT_MS / 1000} s`,
};

/** Services as people name them, and as the SDK names their `AWS_ENDPOINT_URL_<SERVICE>` variable. */
const SERVICE_NAMES: Record<ServiceName, [display: string, envSuffix: string]> = {
  ec2: ['EC2', 'EC2'], ecs: ['ECS', 'ECS'], ecr: ['ECR', 'ECR'], iam: ['IAM', 'IAM'], s3: ['S3', 'S3'],
  secretsManager: ['Secrets Manager', 'SECRETS_MANAGER'], eventBridge: ['EventBridge', 'EVENTBRIDGE'], logs: ['CloudWatch Logs', 'CLOUDWATCH_LOGS'],
  sts: ['STS', 'STS'], scheduler: ['EventBridge Scheduler', 'SCHEDULER'], sqs: ['SQS', 'SQS'], sns: ['SNS', 'SNS'],
  sfn: ['Step Functions', 'SFN'], cloudwatch: ['CloudWatch', 'CLOUDWATCH'],
};

/** AWS's own endpoints in every partition end with one of these. */
const AWS_DNS_SUFFIXES = ['.amazonaws.com', '.amazonaws.com.cn', '.api.aws', '.amazonaws.eu', '.c2s.ic.gov', '.sc2s.sgov.gov', '.cloud.adc-e.uk', '.csp.hci.ic.gov'];

/** An endpoint could not be reached (after the SDK's retries): the URL, where it came from, and why. */
export class EndpointUnreachable extends UserError {
  override name = 'EndpointUnreachable';
  constructor(message: string, hint: string, readonly code: string, readonly url: string, override readonly cause: unknown) {
    super(message, hint);
  }
}

/**
 * Where the endpoint of a call came from: `--endpoint-url`, `AWS_ENDPOINT_URL`, the service's own
 * variable, AWS's default endpoint, or else the shared config file (`endpoint_url`, which the SDK reads).
 */
export function endpointSource(service: ServiceName, url: URL, opts: Pick<ClientOptions, 'endpointUrl' | 'region'>, env: NodeJS.ProcessEnv = process.env): { from: string; hint: string } {
  if (opts.endpointUrl) return { from: 'the endpoint from --endpoint-url', hint: 'is the emulator or service at that URL running? Check the --endpoint-url you passed' };
  if (env.AWS_ENDPOINT_URL) return { from: 'the endpoint from AWS_ENDPOINT_URL', hint: 'is the emulator or service at that URL running? Unset AWS_ENDPOINT_URL to use AWS\'s own endpoints' };
  const own = `AWS_ENDPOINT_URL_${SERVICE_NAMES[service][1]}`;
  if (env[own]) return { from: `the endpoint from ${own}`, hint: `is the service at that URL running? Unset ${own} to use AWS's own endpoint` };
  const [display] = SERVICE_NAMES[service];
  if (AWS_DNS_SUFFIXES.some((d) => url.hostname.endsWith(d))) {
    return {
      from: `AWS's ${display} endpoint for ${opts.region}`,
      hint: 'check the network connection, the proxy (HTTPS_PROXY, NO_PROXY) and DNS; a VPC without internet access needs an interface endpoint for the service',
    };
  }
  return { from: `the ${display} endpoint from your AWS config file (endpoint_url)`, hint: 'check endpoint_url in the profile (or its services section) in your AWS config file' };
}

/**
 * Turn "connect ECONNREFUSED 127.0.0.1:4566" (or an AggregateError with an empty message, which Node
 * gives when a host has both IPv4 and IPv6 addresses) into a message naming the URL and where it came
 * from. It sits before the SDK's retries, so only the final failure is rewritten.
 */
function unreachableMiddleware(service: ServiceName, opts: ClientOptions) {
  return (next: (args: unknown) => Promise<unknown>, context: { endpointV2?: { url?: URL }; commandName?: string }) => async (args: unknown) => {
    try {
      return await next(args);
    } catch (err) {
      throw unreachable(err, service, context.endpointV2?.url, context.commandName, opts) ?? err;
    }
  };
}

/** The EndpointUnreachable for a connection-level failure; undefined for anything else. */
export function unreachable(err: unknown, service: ServiceName, url: URL | undefined, command: string | undefined, opts: ClientOptions, env: NodeJS.ProcessEnv = process.env): EndpointUnreachable | undefined {
  if (!url || !err || typeof err !== 'object') return undefined;
  const e = err as { code?: string; name?: string; errors?: { code?: string }[]; $response?: unknown };
  // An answer came back (an HTTP status): the endpoint was reached.
  if (e.$response) return undefined;
  const code = [e.code, e.errors?.[0]?.code, e.name].find((c): c is string => !!c && c in UNREACHABLE);
  if (!code) return undefined;
  const origin = `${url.protocol}//${url.host}`;
  const { from, hint } = endpointSource(service, url, opts, env);
  const op = command ? ` for ${SERVICE_NAMES[service][0]} ${command.replace(/Command$/, '')}` : '';
  return new EndpointUnreachable(`cannot reach ${origin} (${from})${op}: ${UNREACHABLE[code]}`, hint, code, origin, err);
}
