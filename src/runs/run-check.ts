/**
 * Before `run-now` starts a task: the runs it knows would fail. A task whose image is not in its
 * repository stops with CannotPullContainerError; in network mode private-endpoints, a task whose
 * subnets have no interface endpoints (after `down --endpoints`) stops with ResourceInitializationError
 * before its container starts (it reaches neither ECR, nor the secret, nor the logs). Both are billed,
 * alert, and print no log: `run-now` says so instead, and starts nothing unless forced.
 *
 * Budget: one DescribeTaskDefinition and one DescribeImages; in private-endpoints mode one
 * DescribeVpcEndpoints (the stack's endpoints, by its tag).
 */
import { DescribeTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { DescribeVpcEndpointsCommand } from '@aws-sdk/client-ec2';
import type { AwsClients } from '../aws/clients.js';
import type { JobConfig, StackConfig } from '../config/schema.js';
import { checkImages } from '../model/image-check.js';
import { containerImage } from '../model/images.js';
import { K } from '../model/keys.js';
import { TAG_LOGICAL, TAG_STACK } from '../engine/types.js';

/** Whether the stack's tasks reach AWS services only through its interface endpoints. */
export const needsEndpoints = (config: StackConfig): boolean =>
  config.network.mode === 'private-endpoints' && config.network.interfaceEndpoints.length > 0;

/** Why a run would fail before its container starts, with what fixes it. */
export interface RunBlocker {
  what: string;
  fix: string;
}

/** The image the task definition runs is not in its repository (or the repository does not exist). */
async function imageBlocker(
  aws: Pick<AwsClients, 'ecs' | 'ecr'>,
  config: StackConfig,
  account: string,
  job: JobConfig,
  taskDefinition: string,
): Promise<RunBlocker | undefined> {
  const td = (await aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition }))).taskDefinition;
  const image = containerImage(td, job.task.containerName);
  if (!image) return undefined;
  const refs = [{ job: job.name, image }];
  const [check] = await checkImages(aws.ecr, refs, { account, ownRepository: config.repository.name });
  if (check?.state !== 'missing') return undefined;
  const where = check.noRepository
    ? `a repository (${check.repository} does not exist)`
    : `repository ${check.repository}`;
  const push = `batchctl push${config.jobs.length > 1 ? ` ${job.name}` : ''}${job.task.imagePin === 'digest' ? ' --deploy' : ''}`;
  return {
    what: `its image ${check.short} is not in ${where}: the task would stop with CannotPullContainerError`,
    fix: check.ours ? `push it first: \`${push}\`` : `push ${check.short} to ${check.repository} first (task.image)`,
  };
}

/** Some interface endpoint the tasks need is missing, or not available yet. */
async function endpointBlocker(aws: Pick<AwsClients, 'ec2'>, config: StackConfig): Promise<RunBlocker | undefined> {
  if (!needsEndpoints(config)) return undefined;
  const ours = { Name: `tag:${TAG_STACK}`, Values: [config.stack] };
  const out = await aws.ec2.send(new DescribeVpcEndpointsCommand({ Filters: [ours] }));
  const state = new Map<string, string>();
  for (const ep of out.VpcEndpoints ?? []) {
    const key = ep.Tags?.find((t) => t.Key === TAG_LOGICAL)?.Value;
    if (key) state.set(key, (ep.State ?? '').toLowerCase());
  }
  const stateOf = (service: string) => state.get(K.interfaceEndpoint(service)) ?? 'missing';
  const down = config.network.interfaceEndpoints.filter((s) => !['available', 'pending'].includes(stateOf(s)));
  const pending = config.network.interfaceEndpoints.filter((s) => stateOf(s) === 'pending');
  const them = (l: string[]) =>
    `the interface endpoint${l.length === 1 ? '' : 's'} ${l.join(', ')} ${l.length === 1 ? 'is' : 'are'}`;
  if (down.length) {
    return {
      what:
        `${them(down)} down (\`batchctl down --endpoints\` removes them): in network mode private-endpoints the task` +
        ' could not pull its image nor read its secret, and would stop with ResourceInitializationError',
      fix: 'restore them with `batchctl up` (which also resumes the schedules down --endpoints paused)',
    };
  }
  if (pending.length) {
    return {
      what: `${them(pending)} still being created: the task could not reach ECR and Secrets Manager yet`,
      fix: 'wait for `batchctl up` to finish (it waits for them), then run again',
    };
  }
  return undefined;
}

/** What would make a run of `job` (its task definition `taskDefinition`) fail before its container starts. */
export async function runBlockers(
  aws: Pick<AwsClients, 'ecs' | 'ecr' | 'ec2'>,
  config: StackConfig,
  account: string,
  job: JobConfig,
  taskDefinition: string,
): Promise<RunBlocker[]> {
  const found = await Promise.all([
    imageBlocker(aws, config, account, job, taskDefinition),
    endpointBlocker(aws, config),
  ]);
  return found.filter((b): b is RunBlocker => !!b);
}
