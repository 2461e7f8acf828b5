/**
 * Rules zod cannot express field by field: CIDR arithmetic, AZ coverage, Fargate CPU/memory pairs,
 * schedule syntax, AWS naming rules (including the names derived from the stack) and tag limits.
 * Works on the raw YAML value, not on zod's output, so it still reports what it can when zod failed
 * elsewhere; a value of the wrong type is skipped here because zod already reports it.
 */
import { bucketNameProblems, keyProblem } from './state-location.js';
import { ARN_PARTITION, partitionOfRegion } from './regions.js';
import {
  DEFAULT_VPC_CIDR,
  INTERFACE_SERVICES,
  NETWORK_MODES,
  REQUIRED_INTERFACE_ENDPOINTS,
  deepMerge,
  networkSchema,
  scheduleEngine,
  taskSchema,
  type NetworkMode,
} from './schema.js';
import { nextRuns, parseScheduleExpression } from './cron.js';
import {
  AZ_SHAPE,
  CIDR_SHAPE,
  JOB_NAME_KEYS,
  STACK_NAME_DEFAULTS,
  STACK_SHAPE,
  defaultBucketName,
  jobName,
  type JobNameRole,
} from './names.js';
import { imageProblem } from './image.js';
import { MAX_SECRETS_PER_JOB, parseSecretRef } from './secret-ref.js';
import {
  BOUNDARY_MAX,
  DESCRIPTION_MAX,
  EXPRESSION_MAX,
  IMAGE_MAX,
  OVERRIDES_MAX,
  S3_KEY_MAX_BYTES,
  STREAM_NAME_MAX,
  TASK_DEFINITION_MAX,
  TASK_DEFINITION_REST,
  TIMEZONE_MAX,
} from './limits.js';
import {
  EXECUTION_LIMIT_SECONDS,
  MAX_RETRIES,
  formatRunDuration,
  parseRunDuration,
  runPolicyOf,
  worstCaseSeconds,
} from './run-policy.js';

export type PathKey = string | number;

/** One problem, located by its key path in the config. */
export interface Problem {
  path: PathKey[];
  message: string;
  /** Point at the key itself (an unknown or badly named key) rather than at its value. */
  atKey?: boolean;
  /** Not wrong, but worth saying (runs that would overlap): told, and the config still loads. */
  warning?: boolean;
}

export interface ValidateOptions {
  /** The resolved region (flag, config or environment); region-dependent checks are skipped without it. */
  region?: string;
  /** "Now", for the check that a cron can still fire. */
  now?: Date;
}

/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const range = (from: number, to: number, step: number) =>
  Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);

/** Fargate memory (MiB) allowed for each CPU value (units). */
export const FARGATE_MEMORY: Readonly<Record<number, readonly number[]>> = {
  256: [512, 1024, 2048],
  512: range(1024, 4096, 1024),
  1024: range(2048, 8192, 1024),
  2048: range(4096, 16384, 1024),
  4096: range(8192, 30720, 1024),
  8192: range(16384, 61440, 4096),
  16384: range(32768, 122880, 8192),
};

/** Without a NAT, each of these is the only way tasks reach the service. */
const REQUIRED_ENDPOINTS: Record<string, string> = {
  'ecr.api': 'image pulls (ECR API)',
  'ecr.dkr': 'image pulls (Docker registry)',
  logs: 'the awslogs driver',
  secretsmanager: 'injecting the S3_BUCKET_NAME secret',
};

/** Step Functions state machine names (a job's state machine takes its family's name): 1-80 characters. */
const STATE_MACHINE_NAME_MAX = 80;

function get(raw: unknown, path: PathKey[]): unknown {
  let v = raw;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<PathKey, unknown>)[k] : undefined;
  return v;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const list = (xs: readonly (string | number)[], conj = 'and') =>
  xs.length <= 2 ? xs.join(` ${conj} `) : `${xs.slice(0, -1).join(', ')} ${conj} ${xs[xs.length - 1]}`;

interface Net {
  base: number;
  prefix: number;
  text: string;
  path: PathKey[];
}

function ipText(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

/** Parse a CIDR that passed zod's shape check; reports bad octets, prefix limits and host bits. */
function parseCidr(text: string, path: PathKey[], what: string, out: Problem[]): Net | undefined {
  const m = CIDR_SHAPE.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  const bad = octets.find((o) => o > 255);
  if (bad !== undefined) return void out.push({ path, message: `${text}: octet ${bad} is over 255` });
  // AWS accepts /16 (65,536 addresses) to /28 (16 addresses) for both VPCs and subnets.
  if (prefix < 16 || prefix > 28)
    return void out.push({
      path,
      message: `${text}: a ${what} prefix must be /16 to /28 (AWS limits), got /${prefix}`,
    });
  const addr = octets.reduce((a, o) => a * 256 + o, 0);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const base = (addr & mask) >>> 0;
  if (base !== addr)
    return void out.push({
      path,
      message: `${text} is not a network address (host bits are set): use ${ipText(base)}/${prefix}`,
    });
  return { base, prefix, text, path };
}

const size = (n: Net) => 2 ** (32 - n.prefix);
const overlaps = (a: Net, b: Net) => a.base < b.base + size(b) && b.base < a.base + size(a);
const inside = (inner: Net, outer: Net) =>
  inner.base >= outer.base && inner.base + size(inner) <= outer.base + size(outer);

/** The network keys each mode reads; any other is a mistake worth reporting, not something to ignore. */
const MODE_KEYS: Record<NetworkMode, readonly string[]> = {
  'private-endpoints': ['mode', 'vpcCidr', 'batchSubnets', 'endpointSubnets', 'interfaceEndpoints', 's3Gateway'],
  // The same keys as private-endpoints, so switching is a change of the mode line only.
  public: ['mode', 'vpcCidr', 'batchSubnets', 'endpointSubnets', 'interfaceEndpoints', 's3Gateway'],
  existing: ['mode', 'vpcId', 'subnetIds', 'securityGroupIds', 'interfaceEndpoints', 's3Gateway', 'assignPublicIp'],
};

/** Why a key does not belong to a mode. */
function misplacedKey(key: string, mode: NetworkMode): string {
  if (mode === 'existing')
    return `${key} is for the VPC batchctl creates (modes private-endpoints and public); with existing, your VPC is network.vpcId and your subnets network.subnetIds`;
  if (key === 'assignPublicIp')
    return mode === 'public'
      ? 'public always starts tasks with a public IP; assignPublicIp is for mode existing'
      : 'private-endpoints never gives tasks a public IP; assignPublicIp is for mode existing';
  return `${key} is for mode existing (a VPC of yours); with ${mode}, batchctl creates the VPC from vpcCidr and batchSubnets`;
}

/** True when some job (the top-level task section included) has a secret from SSM Parameter Store. */
export function readsParameters(raw: unknown): boolean {
  const sections = [get(raw, ['task', 'secrets'])];
  const jobs = get(raw, ['jobs']);
  if (isRecord(jobs)) for (const j of Object.values(jobs)) sections.push(get(j, ['task', 'secrets']));
  return sections.some(
    (s) =>
      isRecord(s) &&
      Object.values(s).some((v) => {
        const from = isRecord(v) ? v.from : v;
        return typeof from === 'string' && from.startsWith('ssm:');
      }),
  );
}

function checkNetwork(raw: unknown, region: string | undefined, out: Problem[]): void {
  const network = get(raw, ['network']);
  if (!isRecord(network)) return;
  const modeRaw = network.mode ?? 'private-endpoints';
  if (!(NETWORK_MODES as readonly unknown[]).includes(modeRaw)) return;
  const mode = modeRaw as NetworkMode;
  for (const key of Object.keys(network)) {
    // Unknown keys are zod's to report; known keys of another mode are ours.
    if (key in networkSchema.shape && !MODE_KEYS[mode].includes(key))
      out.push({ path: ['network', key], atKey: true, message: misplacedKey(key, mode) });
  }
  checkEndpointList(raw, mode, out);
  if (mode === 'existing') return checkExisting(network, out);

  if (network.batchSubnets === undefined)
    out.push({
      path: ['network'],
      message: `missing required key "batchSubnets" (the subnets tasks run in, one per AZ) for mode ${mode}`,
    });
  if (mode === 'private-endpoints' && network.endpointSubnets === undefined) {
    out.push({
      path: ['network'],
      message:
        'missing required key "endpointSubnets" (where the interface endpoints live, one per AZ of the batch subnets) for mode private-endpoints',
    });
  }
  const vpcRaw = network.vpcCidr ?? DEFAULT_VPC_CIDR;
  const vpc = typeof vpcRaw === 'string' ? parseCidr(vpcRaw, ['network', 'vpcCidr'], 'VPC', out) : undefined;

  const nets: Net[] = [];
  const azs: Record<string, Map<string, number>> = { batchSubnets: new Map(), endpointSubnets: new Map() };
  for (const group of ['batchSubnets', 'endpointSubnets'] as const) {
    const subnets = get(raw, ['network', group]);
    if (!Array.isArray(subnets)) continue;
    subnets.forEach((s: unknown, i) => {
      const at = ['network', group, i];
      const cidr = get(s, ['cidr']);
      const net = typeof cidr === 'string' ? parseCidr(cidr, [...at, 'cidr'], 'subnet', out) : undefined;
      if (net) {
        if (vpc && !inside(net, vpc))
          out.push({ path: net.path, message: `${net.text} is outside the VPC ${vpc.text}` });
        const clash = nets.find((n) => overlaps(n, net));
        if (clash)
          out.push({ path: net.path, message: `${net.text} overlaps ${clash.path.join('.')} (${clash.text})` });
        nets.push(net);
      }
      const az = get(s, ['az']);
      if (typeof az !== 'string' || !AZ_SHAPE.test(az)) return;
      if (region && !new RegExp(`^${region}[a-z]$`).test(az)) {
        out.push({
          path: [...at, 'az'],
          message: `${az} is not an availability zone of region ${region}: its zones are named ${region} and a letter (\`batchctl plan\` checks which your account has)`,
        });
        return;
      }
      const first = azs[group]!.get(az);
      if (first !== undefined) {
        out.push({
          path: [...at, 'az'],
          message: `${az} already has a subnet in this list (network.${group}.${first}): use one subnet per AZ`,
        });
      } else azs[group]!.set(az, i);
    });
  }
  if (mode === 'public') return;
  // Tasks reach ECR, Logs and Secrets Manager through the endpoint ENIs; one per AZ keeps that traffic
  // in the AZ, and an AZ with tasks but no endpoint either crosses AZs or fails when the other AZ is down.
  const [batch, endpoints] = [azs.batchSubnets!, azs.endpointSubnets!];
  if (endpoints.size) {
    for (const [az, i] of batch) {
      if (!endpoints.has(az)) {
        out.push({
          path: ['network', 'batchSubnets', i, 'az'],
          message: `no endpoint subnet in ${az}: the interface endpoints need a network interface in every AZ where tasks run, else tasks there cross AZs or fail; add an endpointSubnets entry in ${az}`,
        });
      }
    }
  }
  if (batch.size) {
    for (const [az, i] of endpoints) {
      if (!batch.has(az)) {
        out.push({
          path: ['network', 'endpointSubnets', i, 'az'],
          message: `no batch subnet in ${az}: endpoint network interfaces there serve no task but are billed by the hour; use the batch subnets' AZs (${[...batch.keys()].join(', ')})`,
        });
      }
    }
  }
  if (Array.isArray(network.endpointSubnets) && network.endpointSubnets.length === 0) {
    out.push({
      path: ['network', 'endpointSubnets'],
      message:
        'at least one endpoint subnet: with private-endpoints the interface endpoints are the only way to ECR, Logs and Secrets Manager',
    });
  }
  // A job secret from Parameter Store is read through the ssm endpoint (the default list has it then).
  const parameters = readsParameters(raw);
  const endpointsRaw = network.interfaceEndpoints ?? [...REQUIRED_INTERFACE_ENDPOINTS, ...(parameters ? ['ssm'] : [])];
  if (Array.isArray(endpointsRaw)) {
    const needed = parameters
      ? { ...REQUIRED_ENDPOINTS, ssm: 'the job secrets from SSM Parameter Store' }
      : REQUIRED_ENDPOINTS;
    const missing = Object.keys(needed).filter((e) => !endpointsRaw.includes(e));
    if (missing.length && endpointsRaw.every((e) => (INTERFACE_SERVICES as readonly unknown[]).includes(e))) {
      out.push({
        path: ['network', 'interfaceEndpoints'],
        message: `missing ${list(missing)}: with private-endpoints there is no NAT, so tasks need them for ${list(missing.map((m) => needed[m]!))} (or use mode public or existing)`,
      });
    }
  }
  if (network.s3Gateway === false) {
    out.push({
      path: ['network', 's3Gateway'],
      message:
        'must be true: ECR serves image layers from S3, and without a NAT the S3 gateway endpoint is the only path, so image pulls would fail',
    });
  }
}

/** Each interface endpoint once. */
function checkEndpointList(raw: unknown, mode: NetworkMode, out: Problem[]): void {
  const endpointsRaw = get(raw, ['network', 'interfaceEndpoints']);
  if (!Array.isArray(endpointsRaw) || mode === 'public') return;
  const seen = new Set<unknown>();
  endpointsRaw.forEach((e, i) => {
    if (seen.has(e)) out.push({ path: ['network', 'interfaceEndpoints', i], message: `${String(e)} is listed twice` });
    seen.add(e);
  });
}

/** Mode `existing`: ids of the user's VPC, subnets and groups, within ECS's limits, each once. */
function checkExisting(network: Record<string, unknown>, out: Problem[]): void {
  if (network.vpcId === undefined)
    out.push({ path: ['network'], message: 'missing required key "vpcId" (your VPC) for mode existing' });
  const ids = (key: 'subnetIds' | 'securityGroupIds', max: number, what: string) => {
    const v = network[key];
    if (v === undefined) return;
    if (!Array.isArray(v)) return;
    if (key === 'subnetIds' && v.length === 0)
      out.push({ path: ['network', key], message: 'at least one subnet for the tasks' });
    if (v.length > max)
      out.push({ path: ['network', key], message: `${v.length} ${what}: ECS takes at most ${max} for a task` });
    const seen = new Map<unknown, number>();
    v.forEach((id, i) => {
      const first = seen.get(id);
      if (first !== undefined)
        out.push({
          path: ['network', key, i],
          message: `${String(id)} is listed twice (also network.${key}.${first})`,
        });
      else seen.set(id, i);
    });
  };
  if (network.subnetIds === undefined)
    out.push({
      path: ['network'],
      message: 'missing required key "subnetIds" (your subnets the tasks run in) for mode existing',
    });
  ids('subnetIds', 16, 'subnets');
  ids('securityGroupIds', 5, 'security groups');
  if (network.s3Gateway === true) {
    out.push({
      path: ['network', 's3Gateway'],
      message:
        'not available with existing: a gateway endpoint adds a route to your route tables, and batchctl never changes them; add an S3 gateway endpoint to your VPC yourself, or rely on your NAT gateway',
    });
  }
}

function describeMemory(cpu: number): string {
  const v = FARGATE_MEMORY[cpu]!;
  return v.length <= 3 ? list(v, 'or') : `${v[0]}-${v[v.length - 1]} in steps of ${v[1]! - v[0]!}`;
}

/**
 * A task section's cross-field rules; `task` is the section (a job's merged with the defaults), paths are
 * `task.*`. `repository`: the stack's image repository as a registry path (`<account>.dkr.ecr...`), when
 * the region and its name are known.
 */
function checkTask(task: unknown, region: string | undefined, out: Problem[], repository?: string): void {
  if (task !== undefined && !isRecord(task)) return;
  const defaults = taskSchema.parse({});
  checkTaskSizes(task, defaults, out);
  const cpu = get(task, ['cpu']) ?? defaults.cpu;
  const memory = get(task, ['memory']) ?? defaults.memory;
  if (isInt(cpu)) {
    const allowed = FARGATE_MEMORY[cpu];
    if (!allowed) {
      out.push({
        path: ['task', 'cpu'],
        message: `${cpu} is not a Fargate CPU value: expected one of ${list(Object.keys(FARGATE_MEMORY), 'or')}`,
      });
    } else if (isInt(memory) && !allowed.includes(memory)) {
      const fits = Object.entries(FARGATE_MEMORY)
        .filter(([, m]) => m.includes(memory))
        .map(([c]) => c);
      const alt = fits.length ? ` (${memory} MiB fits cpu ${list(fits, 'or')})` : '';
      const dflt = get(task, ['memory']) === undefined ? ' (the default)' : '';
      out.push({
        path: ['task', 'memory'],
        message: `memory ${memory}${dflt} is not valid with cpu ${cpu} on Fargate: expected ${describeMemory(cpu)}${alt}`,
      });
    }
  }
  const env = get(task, ['environment']);
  if (isRecord(env)) {
    for (const key of Object.keys(env)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
        out.push({
          path: ['task', 'environment', key],
          atKey: true,
          message: `"${key}" is not a valid environment variable name: letters, digits and _, not starting with a digit`,
        });
      } else if (key === 'S3_BUCKET_NAME') {
        out.push({
          path: ['task', 'environment', key],
          atKey: true,
          message: 'S3_BUCKET_NAME is injected from the secret; remove it from environment',
        });
      } else if (key === 'BATCH_JOB_NAME') {
        out.push({
          path: ['task', 'environment', key],
          atKey: true,
          message:
            "BATCH_JOB_NAME is set by batchctl (it scopes each job's duplicate guard); remove it from environment",
        });
      }
    }
  }
  const tag = get(task, ['imageTag']);
  if (typeof tag === 'string' && tag && !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) {
    out.push({
      path: ['task', 'imageTag'],
      message: `"${tag}" is not a valid image tag: up to 128 letters, digits, _ . -, not starting with . or -`,
    });
  }
  const image = get(task, ['image']);
  if (typeof image === 'string' && region) {
    const problem = imageProblem(image, region);
    if (problem) out.push({ path: ['task', 'image'], message: problem });
  }
  checkImageLength(task, repository, out);
  if (get(task, ['crossAccountImage']) === true && image === undefined) {
    out.push({
      path: ['task', 'crossAccountImage'],
      message: "applies to task.image only: without it the task runs the stack's own repository, in this account",
    });
  }
  if (get(task, ['capacity']) === 'spot' && get(task, ['cpuArchitecture']) === 'ARM64') {
    out.push({
      path: ['task', 'capacity'],
      message:
        'Fargate Spot runs Linux X86_64 tasks only, and this task is ARM64: use cpuArchitecture X86_64 for spot, or capacity on-demand',
    });
  }
  checkSecrets(task, region, out);
}

/**
 * `task.secrets`: each variable's name and reference; no name the task already has (environment,
 * S3_BUCKET_NAME, the BATCH_ variables batchctl sets), at most MAX_SECRETS_PER_JOB, and every secret in
 * the stack's region: batchctl checks each one exists with that region's endpoint before anything is
 * written, and in private-endpoints mode the tasks have no way to another region.
 */
function checkSecrets(task: unknown, region: string | undefined, out: Problem[]): void {
  const secrets = get(task, ['secrets']);
  if (!isRecord(secrets)) return;
  const env = get(task, ['environment']);
  const names = Object.keys(secrets);
  if (names.length > MAX_SECRETS_PER_JOB) {
    out.push({
      path: ['task', 'secrets'],
      message: `${names.length} secrets: at most ${MAX_SECRETS_PER_JOB} a job (each is named in the shared execution role's policy, which IAM limits to 10,240 characters)`,
    });
  }
  for (const name of names) {
    const at = ['task', 'secrets', name];
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,254}$/.test(name)) {
      out.push({
        path: at,
        atKey: true,
        message: `"${name}" is not a valid environment variable name: letters, digits and _, not starting with a digit, at most 255`,
      });
    } else if (name === 'S3_BUCKET_NAME' || name.startsWith('BATCH_')) {
      out.push({
        path: at,
        atKey: true,
        message: `${name} is batchctl's (S3_BUCKET_NAME and the BATCH_ variables are set for every job): give the secret another name`,
      });
    } else if (isRecord(env) && name in env) {
      out.push({
        path: at,
        atKey: true,
        message: `${name} is also in task.environment: a variable comes from one place, remove one of them`,
      });
    }
    const value = secrets[name];
    if (typeof value !== 'string' && !(isRecord(value) && typeof value.from === 'string')) continue;
    const ref = parseSecretRef(value as string | { from: string; kmsKeyArn?: string });
    if (typeof ref === 'string') {
      out.push({
        path: isRecord(value) && /kmsKeyArn/.test(ref) ? [...at, 'kmsKeyArn'] : isRecord(value) ? [...at, 'from'] : at,
        message: ref,
      });
    } else if (region && ref.region && ref.region !== region) {
      out.push({
        path: isRecord(value) ? [...at, 'from'] : at,
        message: `${ref.arn} is in ${ref.region}, not the stack's region ${region}: batchctl checks every secret in ${region} before it writes anything, and tasks in private subnets reach ${region} only; replicate it to ${region} (a Secrets Manager replica, or a copy of the parameter) and name that one`,
      });
    }
  }
}

function validTimeZone(tz: string): boolean {
  if (/^[+-]/.test(tz)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** A schedule section's rules; `raw` holds it under `schedule` (the top level, or a job's merged one). */
function checkSchedule(raw: unknown, now: Date, out: Problem[]): void {
  // What the rule or schedule takes: EventBridge PutRule and Scheduler CreateSchedule.
  const description = get(raw, ['schedule', 'description']);
  if (typeof description === 'string' && description.length > DESCRIPTION_MAX) {
    out.push({
      path: ['schedule', 'description'],
      message:
        `is ${description.length} characters: ` +
        `EventBridge rules and Scheduler schedules take at most ${DESCRIPTION_MAX}`,
    });
  }
  const tooLong = get(raw, ['schedule', 'expression']);
  if (typeof tooLong === 'string' && tooLong.length > EXPRESSION_MAX) {
    out.push({
      path: ['schedule', 'expression'],
      message: `is ${tooLong.length} characters: EventBridge and Scheduler take at most ${EXPRESSION_MAX}`,
    });
  }
  const zoneText = get(raw, ['schedule', 'timezone']);
  if (typeof zoneText === 'string' && zoneText.length > TIMEZONE_MAX) {
    out.push({
      path: ['schedule', 'timezone'],
      message: `is ${zoneText.length} characters: Scheduler takes at most ${TIMEZONE_MAX}`,
    });
  }
  const expr = get(raw, ['schedule', 'expression']);
  if (typeof expr === 'string') {
    const path = ['schedule', 'expression'];
    try {
      const parsed = parseScheduleExpression(expr);
      // Read in the configured zone (when it is a real one): Scheduler evaluates the fields there.
      const zone = get(raw, ['schedule', 'timezone']);
      if (
        parsed.kind === 'cron' &&
        nextRuns(expr, now, 1, typeof zone === 'string' && validTimeZone(zone) ? zone : 'UTC').length === 0
      ) {
        const past = Math.max(...parsed.fields.years) < now.getUTCFullYear();
        out.push({
          path,
          message: past
            ? `${expr} never fires: every year it allows is in the past`
            : `${expr} never fires: no calendar date matches its day and month fields (e.g. day 30 or 31 in FEB)`,
        });
      }
    } catch (err) {
      out.push({ path, message: `${expr}: ${(err as Error).message}` });
    }
  }
  const tz = get(raw, ['schedule', 'timezone']);
  if (typeof tz === 'string') {
    if (!validTimeZone(tz))
      out.push({ path: ['schedule', 'timezone'], message: `unknown IANA time zone "${tz}" (e.g. UTC, Asia/Tokyo)` });
    else if (tz !== 'UTC' && tz !== 'Etc/UTC' && get(raw, ['schedule', 'engine']) === 'rule') {
      out.push({
        path: ['schedule', 'timezone'],
        message: 'EventBridge rules run in UTC; use engine: scheduler or remove the time zone',
      });
    }
  }
  // Settings only EventBridge Scheduler has: with engine rule they would be silently ignored.
  if (get(raw, ['schedule', 'engine']) === 'rule') {
    const flex = get(raw, ['schedule', 'flexibleWindowMinutes']);
    if (isInt(flex) && flex > 0) {
      out.push({
        path: ['schedule', 'flexibleWindowMinutes'],
        message:
          'a flexible time window needs the scheduler engine: set engine: scheduler, or remove flexibleWindowMinutes',
      });
    }
  }
  const age = get(raw, ['schedule', 'retry', 'maximumEventAgeSeconds']);
  if (isInt(age) && (age < 60 || age > 86400)) {
    out.push({
      path: ['schedule', 'retry', 'maximumEventAgeSeconds'],
      message: `${age} is outside EventBridge's limits: expected 60 to 86400 seconds`,
    });
  }
  const attempts = get(raw, ['schedule', 'retry', 'maximumRetryAttempts']);
  if (isInt(attempts) && (attempts < 0 || attempts > 185)) {
    out.push({
      path: ['schedule', 'retry', 'maximumRetryAttempts'],
      message: `${attempts} is outside EventBridge's limits: expected 0 to 185`,
    });
  }
}

/** A job name: lowercase letters, digits and hyphens, starting and ending with a letter or digit. */
export const JOB_NAME = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

/** The shortest time between two runs of a schedule (over its next 50), in seconds; undefined when it cannot say. */
function schedulePeriodSeconds(expr: string, zone: string | undefined, now: Date): number | undefined {
  try {
    const runs = nextRuns(expr, now, 50, zone && validTimeZone(zone) ? zone : 'UTC');
    let min: number | undefined;
    for (let i = 1; i < runs.length; i++) {
      const gap = (runs[i]!.getTime() - runs[i - 1]!.getTime()) / 1000;
      min = min === undefined ? gap : Math.min(min, gap);
    }
    return min;
  } catch {
    return undefined;
  }
}

const retriesText = (n: number) => `${n} ${n === 1 ? 'retry' : 'retries'}`;

/**
 * `task.timeout` and `task.retries`: a duration Step Functions can hold, 0-10 retries, every attempt of a
 * run within an execution's year, and warnings for runs that would overlap the next scheduled one or
 * time out before a Fargate task has even started.
 */
function checkRunPolicy(
  sections: { task: unknown; schedule: unknown },
  now: Date,
  out: Problem[],
  checkFamily: boolean,
): void {
  const timeout = get(sections.task, ['timeout']);
  const retries = get(sections.task, ['retries']);
  let seconds: number | undefined;
  if (typeof timeout === 'string') {
    seconds = parseRunDuration(timeout);
    if (seconds === undefined) {
      out.push({
        path: ['task', 'timeout'],
        message: `"${timeout}" is not a duration: write a number with a unit, such as 30m, 2h, 1h30m or 1d`,
      });
    } else if (seconds === 0) {
      out.push({
        path: ['task', 'timeout'],
        message:
          'a timeout of 0 would stop every run at once: give the longest a run may take (e.g. 30m), or remove timeout for none',
      });
      seconds = undefined;
    } else if (seconds > EXECUTION_LIMIT_SECONDS) {
      out.push({
        path: ['task', 'timeout'],
        message: `${timeout} is over the limit: Step Functions ends an execution after one year (365d)`,
      });
      seconds = undefined;
    } else if (seconds < 60) {
      out.push({
        path: ['task', 'timeout'],
        warning: true,
        message: `${timeout} is shorter than a Fargate task often takes to start (a minute or so): the timeout counts from RunTask, so runs may time out before the job starts`,
      });
    }
  }
  if (isInt(retries) && (retries < 0 || retries > MAX_RETRIES)) {
    out.push({ path: ['task', 'retries'], message: `${retries} is outside 0-${MAX_RETRIES}` });
  }
  const family = get(sections.task, ['family']);
  const capacity = get(sections.task, ['capacity']);
  const spot = capacity === 'spot' ? capacity : undefined;
  if (
    checkFamily &&
    typeof family === 'string' &&
    family.length > STATE_MACHINE_NAME_MAX &&
    runPolicyOf({
      timeout: typeof timeout === 'string' ? timeout : undefined,
      retries: isInt(retries) ? retries : undefined,
      capacity: spot,
    })
  ) {
    out.push({
      path: ['task', 'family'],
      message: `the job's state machine takes its family's name, and "${family}" is over Step Functions' ${STATE_MACHINE_NAME_MAX} characters: set a shorter task.family`,
    });
  }
  if (seconds === undefined) return;
  const policy = runPolicyOf({
    timeout: timeout as string,
    retries: isInt(retries) && retries >= 0 && retries <= MAX_RETRIES ? retries : 0,
    capacity: spot,
  });
  const worst = policy && worstCaseSeconds(policy);
  if (worst !== undefined && worst > EXECUTION_LIMIT_SECONDS) {
    out.push({
      path: ['task', 'timeout'],
      message: `with ${retriesText(policy!.retries)} a run may last ${formatRunDuration(worst)} (every attempt up to ${timeout}, and the waits between them): over the one year Step Functions allows an execution`,
    });
    return;
  }
  const expr = get(sections.schedule, ['expression']) ?? 'cron(30 * * * ? *)';
  const zone = get(sections.schedule, ['timezone']);
  const period =
    typeof expr === 'string'
      ? schedulePeriodSeconds(expr, typeof zone === 'string' ? zone : undefined, now)
      : undefined;
  if (period === undefined) return;
  if (seconds > period) {
    out.push({
      path: ['task', 'timeout'],
      warning: true,
      message: `${timeout} is longer than the time between two runs of ${expr} (${formatRunDuration(period)}): a run that lasts that long overlaps the next one (the duplicate guard does not stop a new scheduled time)`,
    });
  } else if (worst !== undefined && worst > period) {
    out.push({
      path: ['task', 'retries'],
      warning: true,
      message: `with ${retriesText(policy!.retries)} a failing run may last ${formatRunDuration(worst)} (each attempt up to ${timeout}, and the waits between them), longer than the time between two runs of ${expr} (${formatRunDuration(period)}): its last attempts would overlap the next run`,
    });
  }
}

/**
 * The image reference ECS gets (ContainerDefinition image, at most 255): the tag form, and the digest
 * form `deploy` pins with task.imagePin digest. Its `repository` prefix when the task names no image.
 */
function checkImageLength(task: unknown, repository: string | undefined, out: Problem[]): void {
  const image = get(task, ['image']);
  const tag = get(task, ['imageTag']) ?? 'latest';
  const ref =
    typeof image === 'string' ? image : repository && typeof tag === 'string' ? `${repository}:${tag}` : undefined;
  if (!ref) return;
  const digest = `${ref.replace(/(@sha256:[0-9a-f]+|:[^:/@]+)$/, '')}@sha256:${'0'.repeat(64)}`;
  const pinned = get(task, ['imagePin']) === 'digest';
  const longest = pinned ? Math.max(ref.length, digest.length) : ref.length;
  if (longest <= IMAGE_MAX) return;
  const at =
    typeof image === 'string'
      ? ['task', 'image']
      : get(task, ['imageTag']) !== undefined
        ? ['task', 'imageTag']
        : ['task'];
  const why = pinned && digest.length > ref.length ? ' (pinned to its digest)' : '';
  const fix = typeof image === 'string' ? '' : '; use a shorter repository.name or task.imageTag';
  out.push({
    path: at,
    atKey: at.length === 1,
    message:
      `the image reference ECS gets would be ${longest} characters${why}: ` +
      `ECS takes at most ${IMAGE_MAX} (ContainerDefinition image)${fix}`,
  });
}

/**
 * What the command and the environment take in AWS: the command goes in every run's RunTask overrides
 * (with the variables batchctl adds: the scheduled time, the run id of a state machine's attempt, the
 * guard switch), which ECS takes up to 8,192 characters, JSON included; both go in the task definition,
 * at most 64 KiB with the rest of it (under 4 KiB of what batchctl writes).
 */
function checkTaskSizes(task: unknown, defaults: ReturnType<typeof taskSchema.parse>, out: Problem[]): void {
  const command = get(task, ['command']) ?? defaults.command;
  const container = get(task, ['containerName']) ?? defaults.containerName;
  const env = get(task, ['environment']) ?? {};
  if (!Array.isArray(command) || !command.every((c) => typeof c === 'string')) return;
  if (typeof container !== 'string' || !isRecord(env)) return;
  // The variables the triggers and the state machine add, at their longest (a state machine execution's ARN).
  const added = [
    { name: 'BATCH_SCHEDULED_TIME', value: '2000-01-01T00:00:00Z' },
    { name: 'BATCH_DUPLICATE_GUARD', value: 'off' },
    {
      name: 'BATCH_RUN_ID',
      value: `arn:aws-us-gov:states:us-gov-west-1:123456789012:execution:${'x'.repeat(80)}:${'x'.repeat(80)}`,
    },
  ];
  const overrides = JSON.stringify({ containerOverrides: [{ name: container, command, environment: added }] }).length;
  if (overrides > OVERRIDES_MAX) {
    out.push({
      path: ['task', 'command'],
      message:
        `makes every run's RunTask overrides ${overrides} characters (with the variables batchctl adds): ` +
        `ECS takes at most ${OVERRIDES_MAX}`,
    });
  }
  const environment = Object.entries(env).map(([name, value]) => ({ name, value }));
  const size = JSON.stringify({ command, environment }).length;
  if (size > TASK_DEFINITION_MAX - TASK_DEFINITION_REST) {
    out.push({
      path: get(task, ['environment']) !== undefined ? ['task', 'environment'] : ['task', 'command'],
      message:
        `the command and environment take ${size} characters of the task definition: ` +
        `ECS takes ${TASK_DEFINITION_MAX} in all, ${TASK_DEFINITION_MAX - TASK_DEFINITION_REST} of them for these`,
    });
  }
}

/**
 * The stack's repository as ECS names it (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`), when region
 * and name are known.
 */
function repositoryRef(raw: Record<string, unknown>, region: string | undefined): string | undefined {
  const name = get(raw, ['repository', 'name']) ?? get(raw, ['stack']);
  if (!region || typeof name !== 'string') return undefined;
  return `${'0'.repeat(12)}.dkr.ecr.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}/${name}`;
}

/** The per-job rules of one job's effective sections (the defaults with its overrides laid on). */
function checkJobSections(
  sections: { task: unknown; schedule: unknown; repository?: string },
  opts: ValidateOptions,
  out: Problem[],
  single = false,
): void {
  checkTask(sections.task, opts.region, out, sections.repository);
  checkSchedule({ schedule: sections.schedule }, opts.now ?? new Date(), out);
  // With jobs:, a job's family (its state machine's name) is checked with its other names.
  checkRunPolicy(sections, opts.now ?? new Date(), out, single);
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The task and schedule rules, per job. Without `jobs:` the top-level sections are the one job's, checked
 * where they are. With `jobs:` each job's effective sections are checked and every problem is placed
 * where its value comes from: the job's own key when the job sets it, else the top-level key it
 * inherits (once, naming the jobs that inherit it when not all do), else the job (a default's value).
 */
function checkJobs(raw: Record<string, unknown>, opts: ValidateOptions, out: Problem[]): void {
  const jobs = raw.jobs;
  const repository = repositoryRef(raw, opts.region);
  if (jobs === undefined) {
    return checkJobSections({ task: raw.task, schedule: raw.schedule, repository }, opts, out, true);
  }
  if (!isRecord(jobs)) return;
  const names = Object.keys(jobs);
  if (!names.length)
    out.push({
      path: ['jobs'],
      message: 'lists no job: add one (e.g. `main: {}`), or remove jobs for a stack with a single job',
    });
  const inherited = new Map<string, { problem: Problem; jobs: string[] }>();
  let original: string | undefined;
  for (const name of names) {
    if (!JOB_NAME.test(name)) {
      out.push({
        path: ['jobs', name],
        atKey: true,
        message: `"${name}" is not a job name: 1-40 lowercase letters, digits and hyphens, starting and ending with a letter or digit`,
      });
    }
    const job = jobs[name] ?? {};
    if (!isRecord(job)) continue;
    if (job.original === true) {
      if (original !== undefined)
        out.push({
          path: ['jobs', name, 'original'],
          message: `only one job can be the stack's original job: ${original} already is`,
        });
      else original = name;
    }
    if (get(job, ['iam', 'executionRoleName']) !== undefined) {
      out.push({
        path: ['jobs', name, 'iam', 'executionRoleName'],
        atKey: true,
        message: 'the execution role is shared by every job of the stack: set iam.executionRoleName at the top level',
      });
    }
    const found: Problem[] = [];
    const section = (k: 'task' | 'schedule') =>
      raw[k] === undefined || isRecord(raw[k]) ? deepMerge(raw[k] ?? {}, job[k]) : job[k];
    checkJobSections({ task: section('task'), schedule: section('schedule'), repository }, opts, found);
    for (const p of found) {
      if (get(job, p.path) === undefined && get(raw, p.path) !== undefined) {
        const key = `${p.path.join('.')}\u0000${p.message}`;
        const seen = inherited.get(key) ?? { problem: p, jobs: [] };
        seen.jobs.push(name);
        inherited.set(key, seen);
      } else out.push({ ...p, path: ['jobs', name, ...p.path] });
    }
  }
  checkJobImages(raw, names, out);
  for (const { problem, jobs: by } of inherited.values()) {
    const who =
      by.length === names.length
        ? ''
        : ` (inherited by ${by.length > 5 ? plural(by.length, 'job') : `job${by.length === 1 ? '' : 's'} ${list(by)}`})`;
    out.push({ ...problem, message: `${problem.message}${who}` });
  }
}

/**
 * Jobs that build different images must push them under different tags of the stack's repository:
 * `push` of one would otherwise replace the other's image, and that job would run the wrong code.
 */
function checkJobImages(raw: Record<string, unknown>, names: string[], out: Problem[]): void {
  const jobs = raw.jobs as Record<string, unknown>;
  const byTag = new Map<string, { job: string; build: string }>();
  for (const name of names) {
    const task = deepMerge(isRecord(raw.task) ? raw.task : {}, get(jobs[name], ['task'])) as Record<string, unknown>;
    if (task.image !== undefined) continue;
    const tag = typeof task.imageTag === 'string' ? task.imageTag : 'latest';
    const build = JSON.stringify([
      get(task, ['build', 'context']) ?? 'batch',
      get(task, ['build', 'dockerfile']) ?? null,
      task.cpuArchitecture ?? 'X86_64',
    ]);
    const first = byTag.get(tag);
    if (!first) byTag.set(tag, { job: name, build });
    else if (first.build !== build) {
      const at =
        get(jobs[name], ['task', 'imageTag']) !== undefined
          ? ['jobs', name, 'task', 'imageTag']
          : get(jobs[name], ['task', 'build']) !== undefined
            ? ['jobs', name, 'task', 'build']
            : ['jobs', name];
      out.push({
        path: at,
        atKey: at.length === 2,
        message: `builds another image than job ${first.job} under the same tag ${tag} of the stack's repository: pushing one would replace the other; give this job its own task.imageTag`,
      });
    }
  }
}

type NameCheck = (name: string) => string | undefined;

const pattern =
  (re: RegExp, min: number, max: number, chars: string): NameCheck =>
  (n) =>
    n.length < min || n.length > max
      ? `must be ${min}-${max} characters (got ${n.length})`
      : re.test(n)
        ? undefined
        : `may only contain ${chars}`;

const ecsName = pattern(/^[A-Za-z0-9_-]+$/, 1, 255, 'letters, digits, - and _');
const roleName = pattern(/^[\w+=,.@-]+$/, 1, 64, 'letters, digits and + = , . @ _ -');

/** The original job's derived name for a role (a config without `jobs:` has only that job, named as the stack). */
const originalJobs = (role: JobNameRole) => (stack: string) => jobName(stack, stack, true, role);

const NAMES: { path: PathKey[]; what: string; dflt?: (stack: string) => string; check: NameCheck }[] = [
  {
    path: ['repository', 'name'],
    what: 'ECR repository name',
    dflt: STACK_NAME_DEFAULTS['repository.name'],
    check: (n) =>
      pattern(
        /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/,
        2,
        256,
        'lowercase letters, digits and . _ - / (each part starting and ending with a letter or digit)',
      )(n),
  },
  {
    path: ['secret', 'name'],
    what: 'secret name',
    dflt: STACK_NAME_DEFAULTS['secret.name'],
    check: (n) =>
      pattern(/^[A-Za-z0-9/_+=.@-]+$/, 1, 512, 'letters, digits and / _ + = . @ -')(n) ??
      // Secrets Manager appends "-" and six random characters to the ARN; a name that already ends so
      // makes partial-ARN lookups ambiguous.
      (/-.{6}$/.test(n)
        ? 'must not end with a hyphen followed by six characters (Secrets Manager mistakes that for its ARN suffix)'
        : undefined),
  },
  {
    path: ['logs', 'group'],
    what: 'log group name',
    dflt: STACK_NAME_DEFAULTS['logs.group'],
    check: (n) =>
      pattern(/^[.\-_/#A-Za-z0-9]+$/, 1, 512, 'letters, digits and . - _ / #')(n) ??
      (n.startsWith('aws/') ? 'must not start with aws/ (reserved by AWS)' : undefined),
  },
  { path: ['cluster', 'name'], what: 'cluster name', dflt: STACK_NAME_DEFAULTS['cluster.name'], check: ecsName },
  { path: ['task', 'family'], what: 'task definition family', dflt: originalJobs('family'), check: ecsName },
  { path: ['task', 'containerName'], what: 'container name', check: ecsName },
  {
    path: ['schedule', 'name'],
    what: 'rule or schedule name',
    dflt: originalJobs('schedule'),
    check: pattern(/^[.\-_A-Za-z0-9]+$/, 1, 64, 'letters, digits and . - _'),
  },
  {
    path: ['iam', 'executionRoleName'],
    what: 'execution role name',
    dflt: STACK_NAME_DEFAULTS['iam.executionRoleName'],
    check: roleName,
  },
  { path: ['iam', 'taskRoleName'], what: 'task role name', dflt: originalJobs('task'), check: roleName },
  { path: ['iam', 'eventsRoleName'], what: 'EventBridge role name', dflt: originalJobs('events'), check: roleName },
  { path: ['iam', 'schedulerRoleName'], what: 'Scheduler role name', dflt: originalJobs('scheduler'), check: roleName },
  {
    path: ['iam', 'stateMachineRoleName'],
    what: 'state machine role name',
    dflt: originalJobs('stateMachine'),
    check: roleName,
  },
];

const nameRule = (path: readonly PathKey[]) => NAMES.find((n) => n.path.join('.') === path.join('.'))!;

/** One resolved name of a job: the value, and where it is set (undefined: derived from the stack and job names). */
interface JobName {
  value: string;
  at?: PathKey[];
}

/**
 * A job's names as `fillNames` resolves them: its own, else (original job only) the top-level
 * section's, else `<stack>-<job>` (`<stack>` for the original job) with the role's suffix.
 */
function jobNames(
  raw: Record<string, unknown>,
  stack: string,
  name: string,
  job: Record<string, unknown>,
  original: boolean,
): Record<JobNameRole, JobName> & { engine: 'rule' | 'scheduler'; runsStateMachine: boolean } {
  const one = (k: JobNameRole): JobName => {
    const path = JOB_NAME_KEYS[k];
    const own = get(job, [...path]);
    if (typeof own === 'string') return { value: own, at: ['jobs', name, ...path] };
    const top = get(raw, [...path]);
    if (original && typeof top === 'string') return { value: top, at: [...path] };
    return { value: jobName(stack, name, original, k) };
  };
  const schedule = deepMerge(
    isRecord(raw.schedule) ? raw.schedule : {},
    isRecord(job.schedule) ? job.schedule : {},
  ) as Record<string, unknown>;
  const engine = scheduleEngine({
    engine: schedule.engine === 'rule' || schedule.engine === 'scheduler' ? schedule.engine : undefined,
    timezone: typeof schedule.timezone === 'string' ? schedule.timezone : undefined,
  });
  const task = deepMerge(isRecord(raw.task) ? raw.task : {}, isRecord(job.task) ? job.task : {}) as Record<
    string,
    unknown
  >;
  const usesStateMachine = !!runPolicyOf({
    timeout: typeof task.timeout === 'string' ? task.timeout : undefined,
    retries: isInt(task.retries) ? task.retries : undefined,
    capacity: task.capacity === 'spot' ? 'spot' : undefined,
  });
  return {
    family: one('family'),
    schedule: one('schedule'),
    task: one('task'),
    events: one('events'),
    scheduler: one('scheduler'),
    stateMachine: one('stateMachine'),
    runsStateMachine: usesStateMachine,
    engine,
  };
}

/**
 * The names of a stack with `jobs:`: each job's explicit names pass AWS's rules where they are set, its
 * derived ones where the job is (a long job name makes `<stack>-<job>-scheduler` longer than IAM's 64),
 * and no two jobs share a family, a rule or schedule name, or a role.
 */
function checkJobNames(raw: Record<string, unknown>, stack: string, out: Problem[]): void {
  const jobs = raw.jobs;
  if (!isRecord(jobs)) return;
  const list = Object.entries(jobs).map(([name, j]) => [name, isRecord(j) ? j : {}] as const);
  if (!list.some(([, j]) => j.original === true)) {
    for (const k of ['family', 'schedule', 'task', 'events', 'scheduler', 'stateMachine'] as const) {
      const path = JOB_NAME_KEYS[k];
      if (get(raw, [...path]) !== undefined) {
        out.push({
          path: [...path],
          atKey: true,
          message: `names the stack's original job's ${nameRule(path).what}, and no job is marked original: true; mark the job that keeps it, or set it in a job`,
        });
      }
    }
  }
  const taken = new Map<string, string>([
    [
      `role:${typeof get(raw, ['iam', 'executionRoleName']) === 'string' ? get(raw, ['iam', 'executionRoleName']) : STACK_NAME_DEFAULTS['iam.executionRoleName'](stack)}`,
      'the execution role',
    ],
  ]);
  const prefixes = new Map<string, string>();
  // A second `original: true` is reported on its own (checkJobs): only the first has the pre-jobs names.
  const firstOriginal = list.find(([, j]) => j.original === true)?.[0];
  for (const [name, job] of list) {
    if (!JOB_NAME.test(name)) continue;
    const original = name === firstOriginal;
    const names = jobNames(raw, stack, name, job, original);
    const used: JobNameRole[] = [
      'family',
      'schedule',
      'task',
      names.engine === 'scheduler' ? 'scheduler' : 'events',
      ...(names.runsStateMachine ? ['stateMachine' as const] : []),
    ];
    if (names.runsStateMachine && names.family.value.length > STATE_MACHINE_NAME_MAX) {
      out.push({
        path: names.family.at ?? ['jobs', name],
        atKey: !names.family.at,
        message: `the job's state machine takes its family's name, and "${names.family.value}" is over Step Functions' ${STATE_MACHINE_NAME_MAX} characters: set a shorter task.family`,
      });
    }
    for (const k of used) {
      const n = names[k];
      const rule = nameRule(JOB_NAME_KEYS[k]);
      const where = n.at ?? ['jobs', name];
      if (n.at) {
        // Explicit names in the top-level sections are checked where they are, with the others.
        const p = n.at[0] === 'jobs' ? rule.check(n.value) : undefined;
        if (p) out.push({ path: n.at, message: `${rule.what} "${n.value}": ${p}` });
      } else {
        const p = rule.check(n.value);
        if (p)
          out.push({
            path: where,
            atKey: true,
            message: `the default ${rule.what} "${n.value}" ${p}; set ${JOB_NAME_KEYS[k].join('.')} in this job, or use a shorter job name`,
          });
      }
      // Rules and schedules are separate namespaces; roles are one (IAM names are account-wide).
      const space = k === 'family' ? 'family' : k === 'schedule' ? `schedule:${names.engine}` : 'role';
      const owner = taken.get(`${space}:${n.value}`);
      if (owner)
        out.push({
          path: where,
          atKey: !n.at,
          message: `${rule.what} "${n.value}" is also ${owner}'s: every job needs its own`,
        });
      else taken.set(`${space}:${n.value}`, `job ${name}`);
    }
    // Each job's log streams are `<prefix>/...` in the shared group: two jobs with one prefix mix their runs.
    const prefix = original
      ? typeof get(raw, ['logs', 'streamPrefix']) === 'string'
        ? String(get(raw, ['logs', 'streamPrefix']))
        : 'ecs'
      : name;
    const other = prefixes.get(prefix);
    if (other)
      out.push({
        path: ['jobs', name],
        atKey: true,
        message: `its log streams would be prefixed ${prefix}/, as job ${other}'s (the original job's logs.streamPrefix): rename the job or change logs.streamPrefix`,
      });
    else prefixes.set(prefix, name);
  }
}

function checkNames(raw: unknown, region: string | undefined, out: Problem[]): void {
  const stack = get(raw, ['stack']);
  const validStack = typeof stack === 'string' && STACK_SHAPE.test(stack) ? stack : undefined;
  const withJobs = isRecord(raw) && raw.jobs !== undefined;
  const perJob = new Set(Object.values(JOB_NAME_KEYS).map((p) => p.join('.')));
  for (const { path, what, dflt, check } of NAMES) {
    const v = get(raw, path);
    if (typeof v === 'string') {
      const p = check(v);
      if (p) out.push({ path, message: `${what} "${v}": ${p}` });
    } else if (v === undefined && dflt && validStack && !(withJobs && perJob.has(path.join('.')))) {
      const name = dflt(validStack);
      const p = check(name);
      if (p)
        out.push({
          path: ['stack'],
          message: `the default ${what} "${name}" ${p}; set ${path.join('.')} or choose another stack name`,
        });
    }
  }
  if (withJobs && validStack) checkJobNames(raw as Record<string, unknown>, validStack, out);
  const jobs = isRecord(raw) && isRecord(raw.jobs) ? raw.jobs : {};
  for (const [name, job] of Object.entries(jobs)) {
    const c = get(job, ['task', 'containerName']);
    if (typeof c === 'string' && ecsName(c))
      out.push({ path: ['jobs', name, 'task', 'containerName'], message: `container name "${c}": ${ecsName(c)}` });
  }
  const bucket = get(raw, ['bucket', 'name']);
  if (typeof bucket === 'string') {
    const p = bucketNameProblems(bucket);
    if (p) out.push({ path: ['bucket', 'name'], message: `bucket name "${bucket}": ${p}` });
  } else if (bucket === undefined && validStack && region) {
    // The engine names the bucket <stack>-<12-digit account>-<region> once it knows the account.
    const name = defaultBucketName(validStack, '0'.repeat(12), region);
    if (name.length > 63) {
      out.push({
        path: ['stack'],
        message: `the default bucket name ${validStack}-<account>-${region} would be ${name.length} characters (S3 allows 63): set bucket.name or choose a shorter stack name`,
      });
    }
  }
  const stateBucket = get(raw, ['state', 's3', 'bucket']);
  if (typeof stateBucket === 'string') {
    const p = bucketNameProblems(stateBucket);
    if (p) out.push({ path: ['state', 's3', 'bucket'], message: `bucket name "${stateBucket}": ${p}` });
    // `down --force` empties and deletes the stack's bucket: a state inside it would go with it.
    else if (stateBucket === bucket)
      out.push({
        path: ['state', 's3', 'bucket'],
        message: "the state cannot live in the stack's own bucket (down deletes it): use a bucket of its own",
      });
  }
  // The same rules as `--state s3://...` and `state migrate --to` (state-location.ts).
  const stateKey = get(raw, ['state', 's3', 'key']);
  const keyWhy = typeof stateKey === 'string' ? keyProblem(stateKey) : undefined;
  if (keyWhy)
    out.push({ path: ['state', 's3', 'key'], message: `${keyWhy} (an object key such as batchctl/prod.state.json)` });
  const prefix = get(raw, ['logs', 'streamPrefix']);
  if (typeof prefix === 'string' && /[:*]/.test(prefix))
    out.push({ path: ['logs', 'streamPrefix'], message: 'log stream names cannot contain : or *' });
  // The awslogs driver names each task's stream `<prefix>/<container>/<task id>` (32 hex characters).
  const container = get(raw, ['task', 'containerName']) ?? 'batch';
  const stream =
    typeof prefix === 'string' && typeof container === 'string' ? prefix.length + container.length + 34 : 0;
  if (stream > STREAM_NAME_MAX) {
    out.push({
      path: ['logs', 'streamPrefix'],
      message:
        `makes log stream names ${stream} characters (<prefix>/${container}/<task id>): ` +
        `CloudWatch Logs takes at most ${STREAM_NAME_MAX}`,
    });
  }
  const keyBytes = typeof stateKey === 'string' ? Buffer.byteLength(stateKey, 'utf8') : 0;
  if (keyBytes > S3_KEY_MAX_BYTES) {
    out.push({
      path: ['state', 's3', 'key'],
      message: `is ${keyBytes} bytes: S3 object keys take at most ${S3_KEY_MAX_BYTES} (UTF-8)`,
    });
  }
  const jobsRaw = isRecord(raw) && isRecord(raw.jobs) ? raw.jobs : {};
  for (const [name, job] of Object.entries(jobsRaw)) {
    const b = get(job, ['iam', 'permissionsBoundary']);
    if (typeof b === 'string') checkBoundary(b, ['jobs', name, 'iam', 'permissionsBoundary'], region, out);
  }
  const boundary = get(raw, ['iam', 'permissionsBoundary']);
  if (typeof boundary === 'string') checkBoundary(boundary, ['iam', 'permissionsBoundary'], region, out);
}

/**
 * IAM's PermissionsBoundary (the top level's, or a job's): a managed policy's ARN, at most 2,048
 * characters, in the stack's partition.
 */
function checkBoundary(boundary: string, path: PathKey[], region: string | undefined, out: Problem[]): void {
  if (boundary.length > BOUNDARY_MAX) {
    out.push({ path, message: `is ${boundary.length} characters: IAM takes at most ${BOUNDARY_MAX}` });
    return;
  }
  const m = new RegExp(`^arn:(${ARN_PARTITION}):iam::(\\d{12}|aws):policy\\/[\\w+=,.@/-]+$`).exec(boundary);
  if (!m) {
    out.push({ path, message: 'expected a managed policy ARN such as arn:aws:iam::123456789012:policy/Boundary' });
  } else if (region && m[1] !== partitionOfRegion(region)) {
    out.push({
      path,
      message:
        `the policy is in partition ${m[1]}, the stack's region ${region} in ${partitionOfRegion(region)}: ` +
        'a role can only use a policy of its own partition',
    });
  }
}

function checkLogs(raw: unknown, out: Problem[]): void {
  const days = get(raw, ['logs', 'retentionDays']);
  if (!isInt(days) || (LOG_RETENTION_DAYS as readonly number[]).includes(days)) return;
  const below = LOG_RETENTION_DAYS.filter((d) => d < days).pop();
  const above = LOG_RETENTION_DAYS.find((d) => d > days);
  const near = [below, above].filter((d) => d !== undefined);
  out.push({
    path: ['logs', 'retentionDays'],
    message: `${days} is not a retention CloudWatch Logs accepts: nearest are ${list(near as number[])} (allowed: ${LOG_RETENTION_DAYS.join(', ')})`,
  });
}

/** Tag keys batchctl sets itself, and AWS's own prefix. */
const RESERVED_TAG_PREFIXES = ['aws:', 'batchctl:'];
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

function checkTags(raw: unknown, out: Problem[]): void {
  const tags = get(raw, ['tags']);
  if (!isRecord(tags)) return;
  const keys = Object.keys(tags);
  // AWS allows 50 tags per resource; batchctl adds batchctl:stack, batchctl:logical and Name.
  if (keys.length > 40)
    out.push({
      path: ['tags'],
      message: `${keys.length} tags: at most 40 extra tags (AWS allows 50 per resource and batchctl adds its own)`,
    });
  for (const key of keys) {
    const path = ['tags', key];
    const reserved = RESERVED_TAG_PREFIXES.find((p) => key.toLowerCase().startsWith(p));
    if (reserved) out.push({ path, atKey: true, message: `tag key "${key}" uses the reserved prefix ${reserved}` });
    else if (key.length > 128)
      out.push({ path, atKey: true, message: `tag key is ${key.length} characters: at most 128` });
    else if (!key.length || !TAG_CHARS.test(key))
      out.push({
        path,
        atKey: true,
        message: `tag key "${key}" must be 1-128 letters, digits, spaces and _ . : / = + - @`,
      });
    const value = tags[key];
    if (typeof value !== 'string') continue;
    if (value.length > 256) out.push({ path, message: `tag value is ${value.length} characters: at most 256` });
    else if (!TAG_CHARS.test(value))
      out.push({ path, message: 'tag values may only contain letters, digits, spaces and _ . : / = + - @' });
  }
}

/** An e-mail address SNS will take: local@domain.tld, no spaces, no empty or doubled dots. */
const EMAIL =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}$/;

function checkNotify(raw: unknown, region: string | undefined, out: Problem[]): void {
  const notify = get(raw, ['notify']);
  if (!isRecord(notify)) return;
  const emails = get(notify, ['emails']);
  const topicArn = get(notify, ['topicArn']);
  const hasEmails = Array.isArray(emails) && emails.length > 0;
  if (!hasEmails && topicArn === undefined) {
    out.push({
      path: ['notify'],
      message:
        'lists no e-mail addresses (notify.emails) and no topic (notify.topicArn): give one, or remove the notify section for no alerts',
    });
  }
  if (Array.isArray(emails)) {
    const seen = new Map<string, number>();
    emails.forEach((e: unknown, i) => {
      if (typeof e !== 'string') return;
      if (!EMAIL.test(e))
        return void out.push({
          path: ['notify', 'emails', i],
          message: `"${e}" is not a valid e-mail address (expected name@domain.tld, no spaces)`,
        });
      const first = seen.get(e.toLowerCase());
      if (first !== undefined)
        out.push({ path: ['notify', 'emails', i], message: `${e} is listed twice (also notify.emails.${first})` });
      else seen.set(e.toLowerCase(), i);
    });
  }
  if (typeof topicArn === 'string') {
    const m = new RegExp(`^arn:${ARN_PARTITION}:sns:([a-z]{2,4}(-[a-z]+)+-\\d):(\\d{12}):([A-Za-z0-9_-]{1,256})$`).exec(
      topicArn,
    );
    if (!m)
      out.push({
        path: ['notify', 'topicArn'],
        message: `"${topicArn}" is not an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<topic name>)`,
      });
    else if (region && m[1] !== region) {
      out.push({
        path: ['notify', 'topicArn'],
        message: `the topic is in ${m[1]}, the stack in ${region}: EventBridge rules can only target a topic in their own region`,
      });
    }
    if (hasEmails) {
      out.push({
        path: ['notify', 'emails'],
        message:
          'give e-mail addresses or topicArn, not both: with your own topic, subscribe the addresses to it yourself',
      });
    }
  }
}

/**
 * Every cross-field and AWS-limit problem in a raw (parsed YAML, not yet zod-validated) config.
 * Never throws on partial or mistyped input.
 */
export function validateConfig(raw: unknown, opts: ValidateOptions = {}): Problem[] {
  const out: Problem[] = [];
  if (!isRecord(raw)) return out;
  checkNetwork(raw, opts.region, out);
  checkJobs(raw, opts, out);
  checkNames(raw, opts.region, out);
  checkLogs(raw, out);
  checkTags(raw, out);
  checkNotify(raw, opts.region, out);
  return out;
}
