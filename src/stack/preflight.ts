/**
 * The preflight: what the config asks of this account and region, checked before `plan` shows a plan
 * and before `up` writes anything. Validation (`validate`) cannot know it: zone names are per account
 * (`ap-northeast-1b` exists only in older accounts), and interface endpoint services are not offered in
 * every zone. Without it `up` created 16 resources before CreateSubnet failed.
 *
 * It also refuses `task.image` in another account unless the config says that account grants the pull,
 * and a job secret (`task.secrets`) that does not exist: looked up by its metadata, never its value.
 *
 * It also says, before the first write, when the region has no CloudWatch Logs resource-policy slot left
 * for the run history's policy (shared by every batchctl stack of the region: resources/lib/log-policies.ts).
 *
 * Three read calls in parallel (DescribeAvailabilityZones, DescribeVpcEndpointServices,
 * DescribeResourcePolicies); the endpoint service lookup and the resource policies are shared with the
 * nodes that need them, which then make no call of their own for them.
 */
import { DescribeAvailabilityZonesCommand, type AvailabilityZone } from '@aws-sdk/client-ec2';
import type { Problem } from '../config/validate.js';
import { parseEcrImage } from '../config/image.js';
import { endpointServicesFor } from '../resources/lib/endpoint-services.js';
import { secretsLookupFor } from '../resources/lib/job-secrets.js';
import { jobSecrets, placeOf } from '../model/secrets.js';
import { accountLogPolicies, checkLogPolicySlot } from '../resources/lib/log-policies.js';
import {
  list,
  preflightRead,
  serviceProblems,
  switchProblem,
  type PreflightEnv,
  type PreflightReport,
} from './preflight-checks.js';

/**
 * Zone states that take new subnets and endpoints. `impaired` and `unavailable` do not; `information`
 * and `constrained` carry a notice but still accept resources.
 */
const USABLE_STATES = new Set(['available', 'information', 'constrained']);

const oneOf = (xs: string[]) => (xs.length === 1 ? xs[0]! : `one of ${xs.join(', ')}`);

/**
 * Check the config against the account; throw a ConfigError (exit 2) pointing at the config lines that
 * cannot work, with the zones that would. Read-only.
 */
export async function preflight(env: PreflightEnv): Promise<PreflightReport> {
  const { config } = env;
  const problems: Problem[] = modeSwitchProblems(env);
  for (const job of config.jobs) {
    const image = job.task.image ? parseEcrImage(job.task.image) : undefined;
    if (image && image.account !== env.account && !job.task.crossAccountImage) {
      problems.push({
        // The job's own task section (or the job, when it inherits the image), or the top level for a stack without
        // jobs.
        path:
          config.jobs.length === 1 && job.original && job.name === config.stack
            ? ['task', 'image']
            : ['jobs', job.name, 'task', 'image'],
        message: `${job.task.image} is in account ${image.account}, not this one (${env.account}): the task can pull it only if that repository's policy lets this account or the execution role pull (ecr:BatchGetImage, ecr:GetDownloadUrlForLayer, ecr:BatchCheckLayerAvailability); once it does, set task.crossAccountImage: true`,
      });
    }
  }
  // The job secrets and the region's log resource policies are read alongside the network's reads.
  const secrets = jobSecretProblems(env);
  secrets.catch(() => {});
  const [report, logPolicies] = await Promise.all([
    config.network.mode === 'existing'
      ? (await import('./preflight-existing.js')).preflightExisting(env, problems)
      : preflightOwnedNetwork(env, problems),
    preflightRead('CloudWatch Logs resource policies', () => accountLogPolicies(env.aws.logs)),
  ]);
  const found = await secrets;
  problems.push(...found.problems);
  for (const w of found.warnings) env.warn?.(w);
  report.calls += found.calls;
  if (problems.length) {
    const { configErrorAt } = await import('../config/load.js');
    throw await configErrorAt(env.configPath, problems, 'nothing was changed; fix them and run `batchctl plan`');
  }
  checkLogPolicySlot(logPolicies, config.stack, config.region);
  return { ...report, calls: report.calls + 1 };
}

/**
 * Every job secret exists (and, in another account, can be used): a missing one is a problem at the
 * `task.secrets` entry that names it, where the job's own section or the top level sets it.
 */
async function jobSecretProblems(
  env: PreflightEnv,
): Promise<{ problems: Problem[]; warnings: string[]; calls: number }> {
  const { config } = env;
  if (!config.jobs.some((j) => Object.keys(j.task.secrets ?? {}).length))
    return { problems: [], warnings: [], calls: 0 };
  const lookup = await preflightRead('job secrets', () =>
    secretsLookupFor(env.aws, config, { account: env.account, region: config.region, partition: env.partition }),
  );
  const raw = await rawConfig(env.configPath);
  const problems: Problem[] = [];
  const warnings: string[] = [];
  for (const p of lookup.problems) {
    const users = config.jobs.flatMap((job) =>
      jobSecrets(job)
        .filter((s) => placeOf(s.ref) === placeOf(p.ref))
        .map((s) => ({ job, env: s.env })),
    );
    if (p.warning) {
      warnings.push(`${users.map((u) => `${u.env} of job ${u.job.name}`).join(', ')}: ${p.message}`);
      continue;
    }
    const seen = new Set<string>();
    for (const u of users) {
      const own = ['jobs', u.job.name, 'task', 'secrets', u.env];
      const path = getIn(raw, own) !== undefined ? own : ['task', 'secrets', u.env];
      if (seen.has(path.join('.'))) continue;
      seen.add(path.join('.'));
      const who = config.jobs.length > 1 ? ` (job ${u.job.name})` : '';
      problems.push({ path, message: `${p.message}${who}` });
    }
  }
  return { problems, warnings, calls: lookup.calls };
}

/** The config file as data, to tell a job's own key from one it inherits; empty when unreadable. */
async function rawConfig(file: string): Promise<unknown> {
  const [{ readFile }, { parse }] = await Promise.all([import('node:fs/promises'), import('yaml')]);
  try {
    return parse(await readFile(file, 'utf8'));
  } catch {
    return {};
  }
}

function getIn(v: unknown, path: (string | number)[]): unknown {
  let cur = v;
  for (const k of path) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k as string];
  }
  return cur;
}

/**
 * Switching to or from `existing` would move the job to another VPC (yours, or one batchctl creates):
 * refused, whatever else the config says. The state tells which VPC the stack has been using.
 */
function modeSwitchProblems(env: PreflightEnv): Problem[] {
  const mode = env.config.network.mode;
  const recs = [...(env.records?.values() ?? [])];
  const ours = recs.find((r) => r.kind === 'ec2.vpc');
  const yours = recs.find((r) => r.kind === 'ec2.existing-vpc');
  if (mode === 'existing' && ours)
    return [
      switchProblem(
        `stack ${env.config.stack} has its own VPC ${ours.id} (mode private-endpoints or public)`,
        'existing',
      ),
    ];
  if (mode !== 'existing' && yours)
    return [switchProblem(`stack ${env.config.stack} runs in your VPC ${yours.id} (mode existing)`, mode)];
  return [];
}

/**
 * Modes `private-endpoints` and `public`: the zones of the subnets batchctl creates, and the endpoint
 * services they need. Two read calls in parallel.
 */
async function preflightOwnedNetwork(env: PreflightEnv, problems: Problem[]): Promise<PreflightReport> {
  const { config } = env;
  const [azOut, lookup] = await Promise.all([
    preflightRead('availability zones', () => env.aws.ec2.send(new DescribeAvailabilityZonesCommand({}))),
    preflightRead('VPC endpoint services', () => endpointServicesFor(env.aws.ec2, config)),
  ]);
  const zones = new Map<string, AvailabilityZone>();
  for (const z of azOut.AvailabilityZones ?? []) {
    // Local and Wavelength Zones host neither Fargate tasks nor interface endpoints.
    if (z.ZoneName && (z.ZoneType ?? 'availability-zone') === 'availability-zone') zones.set(z.ZoneName, z);
  }
  const usable = [...zones.values()]
    .filter((z) => USABLE_STATES.has(z.State ?? 'available'))
    .map((z) => z.ZoneName!)
    .sort();
  const services = serviceProblems(config, lookup.services, problems);
  const interfaces = services.filter((s) => s.type === 'Interface');
  // A service answered without zones (GovCloud names only) cannot be checked per zone: it does not block.
  const lacking = (az: string) => interfaces.filter((s) => s.zones && !s.zones.includes(az)).map((s) => s.short);

  // Validation pairs every batch subnet with an endpoint subnet in the same zone, so a zone works for
  // either list only when it offers every interface endpoint; only the endpoint subnet is told what lacks.
  const works = usable.filter((az) => lacking(az).length === 0);
  const checkList = (which: 'batchSubnets' | 'endpointSubnets', needsServices: boolean) => {
    const subnets = config.network[which];
    subnets.forEach((s, i) => {
      const others = subnets.filter((_, j) => j !== i).map((o) => o.az);
      const alternatives = works.filter((az) => !others.includes(az));
      const suggest = alternatives.length
        ? `: use ${oneOf(alternatives)}`
        : works.length
          ? ` (the zones that would work, ${list(works)}, already have a subnet in ${which})`
          : '';
      const z = zones.get(s.az);
      if (!z) {
        problems.push({
          path: ['network', which, i, 'az'],
          message: `${s.az} is not an availability zone this account can use in ${config.region} (zone names differ between accounts)${suggest}`,
        });
      } else if (!USABLE_STATES.has(z.State ?? 'available')) {
        problems.push({
          path: ['network', which, i, 'az'],
          message: `${s.az} is ${z.State}${z.Messages?.[0]?.Message ? ` (${z.Messages[0].Message})` : ''}${suggest}`,
        });
      } else if (needsServices && lacking(s.az).length) {
        const missing = lacking(s.az);
        problems.push({
          path: ['network', which, i, 'az'],
          message: `${s.az} does not offer the ${list(missing)} interface endpoint${missing.length > 1 ? 's' : ''}${suggest || `: no zone of ${config.region} offers all of ${list(interfaces.map((x) => x.short))}`}`,
        });
      }
    });
  };
  checkList('batchSubnets', false);
  checkList('endpointSubnets', true);
  return { calls: 1 + lookup.calls, zones: usable, services };
}
