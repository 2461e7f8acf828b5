/**
 * The one place AWS clients are built. Each service's SDK package is imported only when a command asks
 * for it: loading @aws-sdk/client-ec2 alone costs ~100 ms, and `--help` and `logs` must stay fast.
 * Code loaded on demand imports it through `./sdk/<service>.js`, which re-exports by name the client and
 * the commands so loaded: `await import('@aws-sdk/client-ec2')` is a namespace, and the bundle then keeps
 * all of its 800 commands (1 MB of JavaScript more to load for plan, up and status).
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
import type { SSMClient } from '@aws-sdk/client-ssm';
import { EndpointUnreachable, UserError, awsErrorCode } from '../base/errors.js';
import { printable } from '../base/format.js';
import { parseCount } from '../base/duration.js';
import { configuredProfiles } from './profiles.js';
import { VERSION } from '../base/version.js';
import { Pacer, paced } from './pacing.js';
import { caBundle, proxyEnv, RoutingHttpAgent, RoutingHttpsAgent, type ProxyEnv, type ProxyFailure } from './proxy.js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';

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
  /** Proxies and CA bundle; default: read from the environment once per createAwsClients. */
  network?: NetworkSettings;
}

/** How AWS calls reach AWS: the proxy variables and AWS_CA_BUNDLE, read once per command. */
export interface NetworkSettings {
  proxy?: ProxyEnv;
  ca?: { path: string; pem: Buffer };
}

/**
 * Read the proxy variables and AWS_CA_BUNDLE. A malformed proxy URL or an unreadable bundle is the
 * user's to fix (exit 2), named by its variable: a proxy URL may hold a password, so it is never echoed.
 */
export function networkSettings(env: NodeJS.ProcessEnv = process.env): NetworkSettings {
  let proxy: ProxyEnv | undefined;
  try {
    proxy = proxyEnv(env);
  } catch (err) {
    // The user's to fix (exit 2), with the hint naming the variable.
    throw err;
  }
  let ca: NetworkSettings['ca'];
  try {
    ca = caBundle(env);
  } catch (err) {
    throw new UserError(
      `AWS_CA_BUNDLE "${printable(env.AWS_CA_BUNDLE ?? '', 200)}" cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      'set it to a PEM file of the certificates to trust for AWS calls, or unset it',
    );
  }
  return { ...(proxy ? { proxy } : {}), ...(ca ? { ca } : {}) };
}

export type ServiceName =
  | 'ec2'
  | 'ecs'
  | 'ecr'
  | 'iam'
  | 's3'
  | 'secretsManager'
  | 'eventBridge'
  | 'logs'
  | 'sts'
  | 'scheduler'
  | 'sqs'
  | 'sns'
  | 'sfn'
  | 'cloudwatch'
  | 'ssm';

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
   * SSM Parameter Store: the stack's lock (taken by the commands that change the stack), and checking that the
   * job secrets it holds exist (their metadata, never a value). Loaded only by the commands that need either.
   */
  readonly ssm: SSMClient;
  /**
   * Clients of the same services that never resend a call themselves (`maxAttempts: 1`), for the creates
   * AWS offers no idempotency for (CreateVpc, CreateSubnet, AssociateRouteTable, RegisterTaskDefinition):
   * when the response of such a call is lost, the SDK's retry would create a second resource. Their
   * callers look the resource up before trying again (resources/lib/create.ts).
   */
  readonly once: Pick<AwsClients, 'ec2' | 'ecs'>;
}

/**
 * Services `up`, `plan` and `down` need. `ssm` is loaded only for a config with a job secret from
 * Parameter Store (engine/stack.ts drops it otherwise).
 */
export const ALL_SERVICES: ServiceName[] = [
  'ec2',
  'ecs',
  'ecr',
  'iam',
  's3',
  'secretsManager',
  'eventBridge',
  'logs',
  'sts',
  'scheduler',
  'sqs',
  'sns',
  'sfn',
  'cloudwatch',
  'ssm',
];

/** Attempts per call: the SDK's standard mode defaults to 3, too few for a 40-call burst against EC2. */
export const DEFAULT_MAX_ATTEMPTS = 8;

/** The most AWS_MAX_ATTEMPTS may ask for. */
export const MAX_ATTEMPTS_LIMIT = 20;

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
  ec2: async () => (await import('./sdk/ec2.js')).EC2Client,
  ecs: async () => (await import('./sdk/ecs.js')).ECSClient,
  ecr: async () => (await import('./sdk/ecr.js')).ECRClient,
  iam: async () => (await import('./sdk/iam.js')).IAMClient,
  s3: async () => (await import('./sdk/s3.js')).S3Client,
  secretsManager: async () => (await import('./sdk/secrets-manager.js')).SecretsManagerClient,
  eventBridge: async () => (await import('./sdk/eventbridge.js')).EventBridgeClient,
  logs: async () => (await import('./sdk/cloudwatch-logs.js')).CloudWatchLogsClient,
  sts: async () => (await import('./sdk/sts.js')).STSClient,
  scheduler: async () => (await import('./sdk/scheduler.js')).SchedulerClient,
  sqs: async () => (await import('./sdk/sqs.js')).SQSClient,
  sns: async () => (await import('./sdk/sns.js')).SNSClient,
  sfn: async () => (await import('./sdk/sfn.js')).SFNClient,
  cloudwatch: async () => (await import('./sdk/cloudwatch.js')).CloudWatchClient,
  ssm: async () => (await import('./sdk/ssm.js')).SSMClient,
};

/** The endpoint override in force: the flag first, then the SDK's standard environment variable. */
export function endpointOverride(
  opts: Pick<ClientOptions, 'endpointUrl'>,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  return opts.endpointUrl ?? env.AWS_ENDPOINT_URL ?? undefined;
}

/**
 * Refuse endpoint overrides that are not http(s) URLs, naming where each came from: `--endpoint-url`,
 * `AWS_ENDPOINT_URL`, or a service's own `AWS_ENDPOINT_URL_<SERVICE>` (which the SDK reads too).
 * Otherwise the SDK fails at the first call with `Invalid URL` or `Unknown`, and nothing says which.
 */
export function checkEndpointOverrides(
  opts: Pick<ClientOptions, 'endpointUrl'>,
  env: NodeJS.ProcessEnv = process.env,
): void {
  const sources: [string, string | undefined][] = [
    ['--endpoint-url', opts.endpointUrl],
    ...Object.keys(env)
      .filter((k) => k === 'AWS_ENDPOINT_URL' || k.startsWith('AWS_ENDPOINT_URL_'))
      .sort()
      .map((k): [string, string | undefined] => [k, env[k]]),
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
export function clientConfig(
  service: ServiceName,
  opts: ClientOptions,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, unknown> {
  const endpoint = endpointOverride(opts, env);
  const config: Record<string, unknown> = {
    region: opts.region,
    retryMode: 'standard',
    maxAttempts: opts.maxAttempts ?? maxAttemptsFromEnv(env) ?? DEFAULT_MAX_ATTEMPTS,
    customUserAgent: `batchctl/${VERSION}`,
    requestHandler: requestHandlerOptions(opts.network ?? networkSettings(env)),
  };
  if (opts.profile) config.profile = opts.profile;
  const handler = config.requestHandler as HandlerOptions;
  if (handler.httpsAgent instanceof RoutingHttpsAgent) {
    // The credential chain builds clients of its own (SSO, SSO OIDC, STS for a role): they must take the
    // same route. STS inherits the parent client's handler, SSO and SSO OIDC only what clientConfig says.
    config.credentialDefaultProvider = (init: { clientConfig?: object } & Record<string, unknown>) =>
      defaultProvider({ ...init, clientConfig: { ...init.clientConfig, requestHandler: handler } });
  }
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

interface HandlerOptions {
  connectionTimeout: number;
  httpAgent: RoutingHttpAgent | AgentSettings;
  httpsAgent: RoutingHttpsAgent | AgentSettings;
}

interface AgentSettings {
  keepAlive: boolean;
  maxSockets: number;
}

/**
 * The SDK's request handler options: its own agents, with these settings, when no proxy and no CA bundle
 * is set (the handler builds them), else agents that route each request (proxy or not, per NO_PROXY) and
 * trust the bundle. Either way: keep-alive, SOCKETS_PER_CLIENT sockets per host.
 */
function requestHandlerOptions(net: NetworkSettings): HandlerOptions {
  const agent: AgentSettings = { keepAlive: true, maxSockets: SOCKETS_PER_CLIENT };
  const base = { connectionTimeout: CONNECT_TIMEOUT_MS };
  if (!net.proxy && !net.ca) return { ...base, httpAgent: { ...agent }, httpsAgent: { ...agent } };
  const routing = { env: net.proxy, ca: net.ca?.pem };
  return {
    ...base,
    httpAgent: new RoutingHttpAgent(routing, agent),
    httpsAgent: new RoutingHttpsAgent(routing, agent),
  };
}

/**
 * AWS_MAX_ATTEMPTS, which the SDK and the AWS CLI read: batchctl's own default would otherwise hide it.
 * (1 makes a command fail at the first error, as when checking an endpoint.)
 */
function maxAttemptsFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const v = env.AWS_MAX_ATTEMPTS;
  if (v === undefined || v === '') return undefined;
  try {
    // 20 attempts already wait minutes on a failing endpoint (backoff up to 20 s each): more only hangs.
    return parseCount(v, 'AWS_MAX_ATTEMPTS', 1, MAX_ATTEMPTS_LIMIT);
  } catch (err) {
    throw new UserError(
      (err as Error).message.replace(v.trim(), printable(v.trim(), 40)),
      `set it to the attempts each AWS call may take, 1 to ${MAX_ATTEMPTS_LIMIT} (batchctl's default is ${DEFAULT_MAX_ATTEMPTS}), or unset it`,
    );
  }
}

/** Load and build the clients for the given services. */
export async function createAwsClients(opts: ClientOptions, services: ServiceName[]): Promise<AwsClients> {
  // The SDK warns on every Node 20 process that its releases after the first week of January 2027 need
  // Node 22. Those releases never reach an installed batchctl: the package ships npm-shrinkwrap.json, so
  // npm installs the SDK runtime this version was tested with (and the clients are in the bundle). The
  // notice is the project's to act on (a batchctl release that takes such an SDK raises engines to 22);
  // README's "Supported Node.js versions" tells users, not a warning on every command.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  checkEndpointOverrides(opts);
  opts = { ...opts, network: opts.network ?? networkSettings() };
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
    get ec2() {
      return getOnce('ec2') as EC2Client;
    },
    get ecs() {
      return getOnce('ecs') as ECSClient;
    },
  };
  return {
    once,
    get ec2() {
      return get('ec2') as EC2Client;
    },
    get ecs() {
      return get('ecs') as ECSClient;
    },
    get ecr() {
      return get('ecr') as ECRClient;
    },
    get iam() {
      return get('iam') as IAMClient;
    },
    get s3() {
      return get('s3') as S3Client;
    },
    get secretsManager() {
      return get('secretsManager') as SecretsManagerClient;
    },
    get eventBridge() {
      return get('eventBridge') as EventBridgeClient;
    },
    get logs() {
      return get('logs') as CloudWatchLogsClient;
    },
    get sts() {
      return get('sts') as STSClient;
    },
    get scheduler() {
      return get('scheduler') as SchedulerClient;
    },
    get sqs() {
      return get('sqs') as SQSClient;
    },
    get sns() {
      return get('sns') as SNSClient;
    },
    get sfn() {
      return get('sfn') as SFNClient;
    },
    get cloudwatch() {
      return get('cloudwatch') as CloudWatchClient;
    },
    get ssm() {
      return get('ssm') as SSMClient;
    },
  };
}

/** Who we are: account and partition, from STS. Turns credential problems into one-line user errors. */
export async function callerIdentity(
  clients: AwsClients,
): Promise<{ account: string; arn: string; partition: string }> {
  const { GetCallerIdentityCommand } = await import('./sdk/sts.js');
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
export function credentialError(
  err: unknown,
  profile?: { name: string; from: string },
  env: NodeJS.ProcessEnv = process.env,
): UserError | undefined {
  const code = awsErrorCode(err);
  const msg = err instanceof Error ? err.message : String(err);
  if (
    code === 'CredentialsProviderError' ||
    (/Could not load credentials|credential/i.test(msg) && code !== 'ExpiredToken')
  ) {
    if (code === 'CredentialsProviderError' || /Could not load credentials/i.test(msg)) {
      const p = profile ?? (env.AWS_PROFILE ? { name: env.AWS_PROFILE, from: 'AWS_PROFILE' } : undefined);
      if (p) {
        const name = printable(p.name, 64);
        const keysToo = env.AWS_ACCESS_KEY_ID
          ? '; AWS_ACCESS_KEY_ID is set too, but the SDK uses the profile when both are'
          : '';
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
              ? [
                  `configured profiles: ${known.names.map((n) => printable(n, 64)).join(', ')}`,
                  `(from ${known.files.join(' and ')})`,
                ]
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
  if (
    ['ExpiredToken', 'ExpiredTokenException', 'RequestExpired'].includes(code) ||
    (/expired/i.test(msg) && /token|credential|session/i.test(msg))
  ) {
    return new UserError(
      'your AWS credentials have expired',
      'refresh them (for SSO: `aws sso login`) and run the command again',
    );
  }
  if (
    ['InvalidClientTokenId', 'SignatureDoesNotMatch', 'UnrecognizedClientException', 'InvalidAccessKeyId'].includes(
      code,
    )
  ) {
    return new UserError(
      `AWS rejected your credentials (${code})`,
      'check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the profile you use',
    );
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
  EPROXY: 'the proxy refused the tunnel',
  // TLS: the certificate presented is not one Node trusts (a proxy that inspects TLS presents its own).
  SELF_SIGNED_CERT_IN_CHAIN: 'the certificate chain ends in a certificate that is not trusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the certificate was issued by a CA that is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the certificate cannot be verified',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the certificate is self-signed',
  CERT_HAS_EXPIRED: 'the certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the certificate is for another host name',
};

/** TLS verification failures: the fix is a CA bundle, not the network. */
const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Services as people name them, and as the SDK names their `AWS_ENDPOINT_URL_<SERVICE>` variable. */
const SERVICE_NAMES: Record<ServiceName, [display: string, envSuffix: string]> = {
  ec2: ['EC2', 'EC2'],
  ecs: ['ECS', 'ECS'],
  ecr: ['ECR', 'ECR'],
  iam: ['IAM', 'IAM'],
  s3: ['S3', 'S3'],
  secretsManager: ['Secrets Manager', 'SECRETS_MANAGER'],
  eventBridge: ['EventBridge', 'EVENTBRIDGE'],
  logs: ['CloudWatch Logs', 'CLOUDWATCH_LOGS'],
  sts: ['STS', 'STS'],
  scheduler: ['EventBridge Scheduler', 'SCHEDULER'],
  sqs: ['SQS', 'SQS'],
  sns: ['SNS', 'SNS'],
  sfn: ['Step Functions', 'SFN'],
  cloudwatch: ['CloudWatch', 'CLOUDWATCH'],
  ssm: ['SSM', 'SSM'],
};

/** AWS's own endpoints in every partition end with one of these. */
const AWS_DNS_SUFFIXES = [
  '.amazonaws.com',
  '.amazonaws.com.cn',
  '.api.aws',
  '.amazonaws.eu',
  '.c2s.ic.gov',
  '.sc2s.sgov.gov',
  '.cloud.adc-e.uk',
  '.csp.hci.ic.gov',
];

/**
 * Where the endpoint of a call came from: `--endpoint-url`, `AWS_ENDPOINT_URL`, the service's own
 * variable, AWS's default endpoint, or else the shared config file (`endpoint_url`, which the SDK reads).
 */
export function endpointSource(
  service: ServiceName,
  url: URL,
  opts: Pick<ClientOptions, 'endpointUrl' | 'region'>,
  env: NodeJS.ProcessEnv = process.env,
): { from: string; hint: string } {
  if (opts.endpointUrl)
    return {
      from: 'the endpoint from --endpoint-url',
      hint: 'is the emulator or service at that URL running? Check the --endpoint-url you passed',
    };
  if (env.AWS_ENDPOINT_URL)
    return {
      from: 'the endpoint from AWS_ENDPOINT_URL',
      hint: "is the emulator or service at that URL running? Unset AWS_ENDPOINT_URL to use AWS's own endpoints",
    };
  const own = `AWS_ENDPOINT_URL_${SERVICE_NAMES[service][1]}`;
  if (env[own])
    return {
      from: `the endpoint from ${own}`,
      hint: `is the service at that URL running? Unset ${own} to use AWS's own endpoint`,
    };
  const [display] = SERVICE_NAMES[service];
  if (AWS_DNS_SUFFIXES.some((d) => url.hostname.endsWith(d))) {
    return {
      from: `AWS's ${display} endpoint for ${opts.region}`,
      hint: 'check the network connection, the proxy (HTTPS_PROXY, NO_PROXY) and DNS; a VPC without internet access needs an interface endpoint for the service',
    };
  }
  return {
    from: `the ${display} endpoint from your AWS config file (endpoint_url)`,
    hint: 'check endpoint_url in the profile (or its services section) in your AWS config file',
  };
}

/**
 * Turn "connect ECONNREFUSED 127.0.0.1:4566" (or an AggregateError with an empty message, which Node
 * gives when a host has both IPv4 and IPv6 addresses) into a message naming the URL and where it came
 * from. It sits before the SDK's retries, so only the final failure is rewritten.
 */
function unreachableMiddleware(service: ServiceName, opts: ClientOptions) {
  return (next: (args: unknown) => Promise<unknown>, context: { endpointV2?: { url?: URL }; commandName?: string }) =>
    async (args: unknown) => {
      try {
        return await next(args);
      } catch (err) {
        throw (
          unreachable(err, service, context.endpointV2?.url, context.commandName, opts) ??
          nameFailedAnswer(err, service, context.commandName)
        );
      }
    };
}

/** HTTP status texts for the statuses AWS and the proxies in front of it answer failures with. */
const STATUS_TEXT: Record<number, string> = {
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  403: 'Forbidden',
  404: 'Not Found',
  407: 'Proxy Authentication Required',
  429: 'Too Many Requests',
};

/** The service, operation and HTTP status of a failed answer, as the middleware recorded them (undefined: none). */
export interface FailedAnswer {
  service: string;
  operation: string;
  status: number;
  attempts: number;
  /** The answer carried no AWS error code (a proxy's or a load balancer's page): the SDK calls it Unknown. */
  noCode: boolean;
}

/** What nameFailedAnswer recorded on an error. */
export function failedAnswerOf(err: unknown): FailedAnswer | undefined {
  return (err as { batchctlAnswer?: FailedAnswer } | null)?.batchctlAnswer;
}

/**
 * A failed answer after the SDK's last attempt, named: `S3 GetObject answered HTTP 503 Service Unavailable
 * (no AWS error code in the answer) after 8 attempts`. A server error (5xx), or any answer without an AWS
 * error code (the SDK then says only "Unknown"), gets that message; the error keeps its name, code and
 * metadata, so whoever classifies it (not found, throttled, lost) still can. Other AWS errors are left as
 * they are: their code and message already say what happened.
 */
export function nameFailedAnswer(err: unknown, service: ServiceName, command: string | undefined): unknown {
  if (!err || typeof err !== 'object') return err;
  const e = err as {
    name?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number; attempts?: number };
    batchctlAnswer?: FailedAnswer;
  };
  const status = e.$metadata?.httpStatusCode;
  if (typeof status !== 'number' || e.batchctlAnswer) return err;
  // A page a JSON-protocol client cannot parse (a proxy's HTML) surfaces as a SyntaxError carrying the
  // answer's metadata: no AWS error code either, as the XML-protocol clients already say ("Unknown").
  const unparsed = e.name === 'SyntaxError';
  const noCode = !e.name || e.name === 'Unknown' || e.name === 'UnknownError' || e.name === 'Error' || unparsed;
  if (status < 500 && !noCode) return err;
  const attempts = e.$metadata?.attempts ?? 1;
  const operation = (command ?? '').replace(/Command$/, '');
  const answer: FailedAnswer = { service: SERVICE_NAMES[service][0], operation, status, attempts, noCode };
  const aws = noCode
    ? 'no AWS error code in the answer'
    : `${e.name}${e.message && e.message !== e.name ? `: ${printable(e.message, 200)}` : ''}`;
  const message = `${answer.service} ${operation} answered HTTP ${status}${STATUS_TEXT[status] ? ` ${STATUS_TEXT[status]}` : ''} (${aws})${attempts > 1 ? ` after ${attempts} attempts` : ''}`;
  try {
    Object.defineProperty(err, 'batchctlAnswer', { value: answer, enumerable: false });
    Object.defineProperty(err, 'message', { value: message, enumerable: false, writable: true, configurable: true });
    if (unparsed) {
      Object.defineProperty(err, 'name', { value: 'Unknown', enumerable: false, writable: true, configurable: true });
    }
  } catch {
    // A frozen error: left as it is.
  }
  return err;
}

/** The EndpointUnreachable for a connection-level failure; undefined for anything else. */
export function unreachable(
  err: unknown,
  service: ServiceName,
  url: URL | undefined,
  command: string | undefined,
  opts: ClientOptions,
  env: NodeJS.ProcessEnv = process.env,
): EndpointUnreachable | undefined {
  if (!url || !err || typeof err !== 'object') return undefined;
  const e = err as { code?: string; name?: string; errors?: { code?: string }[]; $response?: unknown };
  // An answer came back (an HTTP status): the endpoint was reached.
  if (e.$response) return undefined;
  const code = [e.code, e.errors?.[0]?.code, e.name].find((c): c is string => !!c && c in UNREACHABLE);
  if (!code) return undefined;
  const origin = `${url.protocol}//${url.host}`;
  const op = command ? ` for ${SERVICE_NAMES[service][0]} ${command.replace(/Command$/, '')}` : '';
  const proxy = (err as { proxy?: ProxyFailure }).proxy;
  if (proxy) {
    const why = proxy.status
      ? `the proxy answered ${proxy.status} ${proxy.statusText ?? ''}`.trim()
      : UNREACHABLE[code];
    const hint =
      proxy.status === 407
        ? `the proxy wants credentials: give them in ${proxy.from} (http://user:password@host:port)`
        : proxy.status
          ? `the proxy does not let batchctl reach ${url.host}: ask for it to be allowed, or, if the host is reachable without the proxy, add it to NO_PROXY`
          : TLS_CODES.has(code)
            ? `a proxy that inspects TLS presents its own certificate: set AWS_CA_BUNDLE to its CA certificate (PEM)`
            : `is the proxy in ${proxy.from} running and reachable? Check ${proxy.from}, or add ${url.hostname} to NO_PROXY to go without it`;
    return new EndpointUnreachable(
      `cannot reach ${origin} through the proxy ${proxy.proxy} (${proxy.from})${op}: ${why}`,
      hint,
      code,
      origin,
      err,
    );
  }
  const { from, hint } = endpointSource(service, url, opts, env);
  const tlsHint =
    'set AWS_CA_BUNDLE to a PEM file with the CA that issued it (a proxy or gateway that inspects TLS has its own CA)';
  return new EndpointUnreachable(
    `cannot reach ${origin} (${from})${op}: ${UNREACHABLE[code]}`,
    TLS_CODES.has(code) ? tlsHint : hint,
    code,
    origin,
    err,
  );
}
