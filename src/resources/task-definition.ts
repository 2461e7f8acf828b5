/**
 * The task definition family. Task definitions are immutable: a change registers a new revision, and
 * the schedule target names the family (no revision), so the next run uses the latest ACTIVE one.
 * Old revisions are kept while the stack lives: a running task may still use one, and with
 * `task.imagePin: digest` they are the record of what was deployed (`batchctl rollback` reads them).
 */
import {
  DeleteTaskDefinitionsCommand,
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type RegisterTaskDefinitionCommandInput,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { createHash } from 'node:crypto';
import { MissingRecord, awsErrorCode } from '../base/errors.js';
import type { Ctx, FieldChange, Found, NodeSpec, ResourceKind, ResourceRecord } from '../engine/types.js';
import { K, jobKey } from '../model/keys.js';
import { jobOf, type JobParams } from '../model/jobs.js';
import { ENV_JOB_NAME } from '../model/guard.js';
import { familyArnOf, repositoryUri, secretArn } from '../model/policies.js';
import { containerImage, imageToRun, parseRef } from '../model/images.js';
import { ecsTagList, ecsTagRecord, managedTags, ownershipOf, resourceTags, tagChanges } from './lib/tags.js';
import { createOnce } from './lib/create.js';
import { convergeTags } from './lib/aws-calls.js';
import { secretMeta } from './lib/job-secrets.js';
import { jobSecrets, valueFromOf } from '../model/secrets.js';
import type { JobConfig } from '../config/schema.js';

/** The registrable content of a revision (RegisterTaskDefinition's input minus family and tags). */
export type TaskDefContent = Omit<RegisterTaskDefinitionCommandInput, 'family' | 'tags'>;

export interface TaskDefDesired {
  family: string;
  content: TaskDefContent;
  tags: Record<string, string>;
  /** The job's `task.imagePin` (not a setting of the revision: what `plan` says of its image). */
  imagePin?: 'tag' | 'digest';
}

/** Fields a revision's content may have; everything else DescribeTaskDefinition returns is read-only. */
const CONTENT_FIELDS = [
  'taskRoleArn',
  'executionRoleArn',
  'networkMode',
  'containerDefinitions',
  'volumes',
  'placementConstraints',
  'requiresCompatibilities',
  'cpu',
  'memory',
  'pidMode',
  'ipcMode',
  'proxyConfiguration',
  'inferenceAccelerators',
  'ephemeralStorage',
  'runtimePlatform',
  'enableFaultInjection',
] as const;

const byName = (a: { name?: string }, b: { name?: string }) => (a.name ?? '').localeCompare(b.name ?? '');

/** Drop what is empty: ECS returns `[]` for every list left out, and `{}` is the same as absent. */
function strip(v: unknown): unknown {
  if (Array.isArray(v)) {
    const a = v.map(strip).filter((x) => x !== undefined);
    return a.length ? a : undefined;
  }
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    const entries = Object.entries(v)
      .map(([k, x]) => [k, strip(x)] as const)
      .filter(([, x]) => x !== undefined);
    return entries.length ? Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b))) : undefined;
  }
  return v === null ? undefined : v;
}

/**
 * The canonical content: both what we register and what DescribeTaskDefinition returns reduce to the
 * same value when converged. ECS fills defaults on read (container cpu 0, essential true, empty
 * portMappings/mountPoints/volumesFrom/systemControls/environment, enableFaultInjection false), and
 * keeps environment and secrets in the order given.
 */
export function canonicalContent(c: TaskDefContent | TaskDefinition): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const f of CONTENT_FIELDS) picked[f] = (c as Record<string, unknown>)[f];
  if (picked.enableFaultInjection === false) delete picked.enableFaultInjection;
  picked.requiresCompatibilities = [...((picked.requiresCompatibilities as string[] | undefined) ?? [])].sort();
  picked.containerDefinitions = [...((c.containerDefinitions ?? []) as Record<string, any>[])]
    .sort(byName)
    .map((cd) => {
      const x = { ...cd };
      if (x.cpu === 0) delete x.cpu;
      if (x.essential === undefined) x.essential = true;
      x.environment = [...(x.environment ?? [])].sort(byName);
      x.secrets = [...(x.secrets ?? [])].sort(byName);
      return x;
    });
  return (strip(picked) ?? {}) as Record<string, unknown>;
}

/**
 * A family's latest ACTIVE revision, or the revision `family:n` / its ARN names, with its tags; undefined when there is
 * none.
 */
export async function describeRevision(
  ctx: Ctx,
  family: string,
): Promise<{ td: TaskDefinition; tags: Record<string, string> } | undefined> {
  try {
    const out = await ctx.aws.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: family, include: ['TAGS'] }),
    );
    // DescribeTaskDefinition(family) returns the latest ACTIVE revision; INACTIVE means deregistered.
    if (!out.taskDefinition || out.taskDefinition.status !== 'ACTIVE') return undefined;
    return { td: out.taskDefinition, tags: ecsTagRecord(out.tags) };
  } catch (err) {
    // ECS has no NotFound code here: an unknown family is a generic ClientException.
    if (awsErrorCode(err) === 'ClientException' && /unable to describe task definition/i.test((err as Error).message))
      return undefined;
    throw err;
  }
}

/**
 * What a revision holds, in a few bytes: its canonical content and the tags batchctl manages. Two
 * revisions, or a revision and the config's wish, with the same digest need no update.
 */
export function digestOf(content: TaskDefContent | TaskDefinition, tags: Record<string, string>): string {
  const sorted = Object.fromEntries(Object.entries(tags).sort(([a], [b]) => a.localeCompare(b)));
  return createHash('sha256')
    .update(JSON.stringify([canonicalContent(content), sorted]))
    .digest('hex')
    .slice(0, 32);
}

/** A revision's record; `image` is its container's image (the deployed one, with `imagePin: digest`). */
export function record(td: TaskDefinition, tags: Record<string, string>): ResourceRecord {
  const arn = td.taskDefinitionArn ?? '';
  const image = td.containerDefinitions?.[0]?.image;
  return {
    kind: 'ecs.task-definition',
    id: td.family ?? '',
    arn,
    attrs: {
      revision: String(td.revision ?? ''),
      familyArn: familyArnOf(arn),
      digest: digestOf(td, tags),
      ...(image ? { image } : {}),
    },
  };
}

/**
 * The latest ACTIVE revision ARN of each family starting with `prefix`: one paged ListTaskDefinitions
 * per walk for every family named after the stack (`<stack>`, `<stack>-<job>`), shared by all the jobs.
 */
function latestRevisions(ctx: Ctx, prefix: string): Promise<Map<string, { revision: number; arn: string }>> {
  return ctx.memo(`ecs:task-definitions:${prefix}`, async () => {
    const latest = new Map<string, { revision: number; arn: string }>();
    let nextToken: string | undefined;
    do {
      const out = await ctx.aws.ecs.send(
        new ListTaskDefinitionsCommand({ familyPrefix: prefix, status: 'ACTIVE', nextToken }),
      );
      for (const arn of out.taskDefinitionArns ?? []) {
        const m = /:task-definition\/([A-Za-z0-9_-]+):(\d+)$/.exec(arn);
        if (!m) continue;
        const have = latest.get(m[1]!);
        if (!have || Number(m[2]) > have.revision) latest.set(m[1]!, { revision: Number(m[2]), arn });
      }
      nextToken = out.nextToken;
    } while (nextToken);
    return latest;
  });
}

/**
 * The recorded revision, when it is still its family's latest ACTIVE one and holds what the config asks
 * for (same digest), without a DescribeTaskDefinition: revisions are immutable, and this one was
 * registered by this stack with our tag and exactly this content. Undefined when any of that is not so
 * (another revision came, the config changed, a record from before digests): the caller describes it.
 * `down` and stale records still read the tags (ownerOf) before anything is deleted.
 */
async function unchangedRevision(
  ctx: Ctx,
  node: NodeSpec<JobParams>,
  recorded: ResourceRecord | undefined,
  family: string,
  listed: Map<string, { arn: string }>,
): Promise<Found<TaskDefDesired> | undefined> {
  if (!recorded?.arn || !recorded.attrs?.digest || recorded.id !== family) return undefined;
  // A job with secrets: its content depends on what AWS says of them (their full ARNs), which only plan
  // and up look up; `down` and the others describe the revision instead (a secret gone must not stop them).
  if (jobSecrets(jobOf(ctx.config, node.params.job)).length) return undefined;
  const latest = listed.get(family);
  if (latest?.arn !== recorded.arn) return undefined;
  // With a pinned image, what the config asks for depends on the image the revision runs.
  if (jobOf(ctx.config, node.params.job).task.imagePin === 'digest' && !recorded.attrs.image) return undefined;
  let d: TaskDefDesired;
  try {
    d = await desiredFor(ctx, node, recorded.attrs.image);
  } catch (err) {
    if (err instanceof MissingRecord) return undefined;
    throw err;
  }
  // Observed as find would read it: the revision's settings (imagePin is the config's, not the revision's).
  return digestOf(d.content, d.tags) === recorded.attrs.digest
    ? { record: recorded, owned: true, observed: { family: d.family, content: d.content, tags: d.tags } }
    : undefined;
}

/** Every revision ARN of exactly this family with this status (familyPrefix also matches longer names). */
export async function revisions(ctx: Ctx, family: string, status: 'ACTIVE' | 'INACTIVE'): Promise<string[]> {
  // Family names are [A-Za-z0-9_-]: nothing to escape.
  const exact = new RegExp(`:task-definition/${family}:\\d+$`);
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const out = await ctx.aws.ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family, status, nextToken }));
    arns.push(...(out.taskDefinitionArns ?? []).filter((a) => exact.test(a)));
    nextToken = out.nextToken;
  } while (nextToken);
  return arns;
}

/**
 * Two runs of the stack racing (two state files) both register the same content: the later revision
 * duplicates the one before it. When the previous revision is ours and identical, the new one is
 * deregistered and the previous kept, so every run ends on the same revision.
 */
async function keepEarlier(ctx: Ctx, td: TaskDefinition): Promise<TaskDefinition> {
  const rev = td.revision ?? 0;
  if (rev < 2) return td;
  const prev = await describeRevision(ctx, `${td.family}:${rev - 1}`);
  if (
    !prev ||
    !ownershipOf(ctx, prev.tags).owned ||
    JSON.stringify(canonicalContent(prev.td)) !== JSON.stringify(canonicalContent(td))
  )
    return td;
  await ctx.aws.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: td.taskDefinitionArn }));
  return prev.td;
}

/** A job's own secrets as container secrets: each variable's name and where ECS reads it from. */
async function jobSecretEntries(ctx: Ctx, job: JobConfig): Promise<{ name: string; valueFrom: string }[]> {
  const out = [];
  for (const s of jobSecrets(job))
    out.push({ name: s.env, valueFrom: valueFromOf(s.ref, await secretMeta(ctx, s.ref)) });
  return out;
}

/**
 * The revision the config asks for. `live`: the image the current revision runs, which a pinned job keeps
 * (model/images.ts).
 */
async function desiredFor(ctx: Ctx, node: NodeSpec<JobParams>, live: string | undefined): Promise<TaskDefDesired> {
  const job = jobOf(ctx.config, node.params.job);
  const t = job.task;
  // Every job but the original one names itself to the job: its duplicate guard claims under its own prefix.
  const env: Record<string, string> = job.original ? t.environment : { ...t.environment, [ENV_JOB_NAME]: job.name };
  return {
    family: t.family,
    tags: resourceTags(ctx, node.key),
    imagePin: t.imagePin,
    content: {
      requiresCompatibilities: ['FARGATE'],
      networkMode: 'awsvpc',
      cpu: String(t.cpu),
      memory: String(t.memory),
      runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: t.cpuArchitecture },
      // Left out, Fargate's 20 GiB (nothing registered: a revision from before the key stays as it is).
      ...(t.ephemeralStorageGiB !== undefined ? { ephemeralStorage: { sizeInGiB: t.ephemeralStorageGiB } } : {}),
      executionRoleArn: ctx.record(K.role('execution')).arn,
      taskRoleArn: ctx.record(jobKey(job, K.role('task'))).arn,
      containerDefinitions: [
        {
          name: t.containerName,
          image: await imageToRun(ctx, job, t.image ?? `${repositoryUri(ctx)}:${t.imageTag}`, live),
          essential: true,
          // The schedule target overrides the command too (as in the article); the default here lets a
          // manual run work without an override.
          command: t.command,
          environment: Object.keys(env)
            .sort()
            .map((name) => ({ name, value: env[name] })),
          // Only ARNs and JSON keys are stored: ECS resolves each value at task start, as the execution role.
          secrets: [
            { name: 'S3_BUCKET_NAME', valueFrom: `${secretArn(ctx)}:S3_BUCKET_NAME::` },
            ...(await jobSecretEntries(ctx, job)),
          ],
          logConfiguration: {
            logDriver: 'awslogs',
            // One log group for the stack; each job's streams are `<its prefix>/<container>/<task id>`.
            options: {
              'awslogs-group': ctx.config.logs.group,
              'awslogs-region': ctx.region,
              'awslogs-stream-prefix': job.streamPrefix,
            },
          },
          // No portMappings: the article maps port 80, but a batch job serves nothing.
        },
      ],
    },
  };
}

/** A job's task definition family (one per job). */
export const taskDefinition: ResourceKind<TaskDefDesired, JobParams> = {
  kind: 'ecs.task-definition',
  label: 'ECS task definition',
  dependsOn: ['ecr.repository', 'secretsmanager.secret', 'iam.role', 'logs.log-group'],
  costly: false,

  nodes: (config) =>
    config.jobs.map((job) => ({
      key: jobKey(job, K.taskDefinition),
      deps: [K.repository, K.secret, K.role('execution'), jobKey(job, K.role('task')), K.logGroup],
      params: { job: job.name },
    })),

  desired(ctx, node, found) {
    const live =
      found?.record.attrs?.image ??
      containerImage(found?.observed.content, jobOf(ctx.config, node.params.job).task.containerName);
    return desiredFor(ctx, node, live);
  },

  notes(d) {
    const image = containerImage(d.content, String(d.content.containerDefinitions?.[0]?.name));
    if (d.imagePin !== 'digest' || !image || parseRef(image).digest) return [];
    return [
      `runs ${image}, not pinned to a digest yet (task.imagePin: digest): \`batchctl deploy\` or \`batchctl push --deploy\` pins it`,
    ];
  },

  // The families' latest revisions, in the walk's first round rather than once each job's roles are assessed.
  prefetch(ctx, nodes) {
    const families = new Set(nodes.map((n) => jobOf(ctx.config, n.params.job).task.family));
    for (const f of families) latestRevisions(ctx, f.startsWith(ctx.stack) ? ctx.stack : f).catch(() => undefined);
  },

  async find(ctx, node, recorded) {
    const family = jobOf(ctx.config, node.params.job).task.family;
    const listing = (f: string) => latestRevisions(ctx, f.startsWith(ctx.stack) ? ctx.stack : f);
    const listed = await listing(family);
    const same = await unchangedRevision(ctx, node, recorded, family, listed);
    if (same) return same;
    // The listing has no ACTIVE revision of the family (nor of the recorded one): there is none to describe.
    const recordedListed = !recorded || recorded.id === family ? false : (await listing(recorded.id)).has(recorded.id);
    if (!listed.has(family) && !recordedListed) return undefined;
    let got = recorded ? await describeRevision(ctx, recorded.id) : undefined;
    if (!got && recorded?.id !== family) got = await describeRevision(ctx, family);
    if (!got) return undefined;
    const tags = managedTags(ctx, got.tags);
    return {
      record: record(got.td, tags),
      ...ownershipOf(ctx, got.tags),
      observed: { family: got.td.family ?? '', content: got.td as TaskDefContent, tags },
    };
  },

  async create(ctx, node, d) {
    let out;
    try {
      // RegisterTaskDefinition takes no token and each call adds a revision: sent once, and after a lost
      // answer the family's latest revision is adopted when it has exactly this content and our tag.
      const want = JSON.stringify(canonicalContent(d.content));
      out = await createOnce(
        ctx,
        `${node.key} (RegisterTaskDefinition)`,
        async (): Promise<{ taskDefinition?: TaskDefinition }> =>
          ctx.aws.once.ecs.send(
            new RegisterTaskDefinitionCommand({ ...d.content, family: d.family, tags: ecsTagList(d.tags) }),
          ),
        async () => {
          const got = await describeRevision(ctx, d.family);
          return got && ownershipOf(ctx, got.tags).owned && JSON.stringify(canonicalContent(got.td)) === want
            ? { taskDefinition: got.td }
            : undefined;
        },
      );
    } catch (err) {
      // A role created seconds ago is refused with a bare "Role is not valid" that names neither role.
      // Rethrown naming them (same code) so the engine's propagation retry can say which it waits for.
      if (awsErrorCode(err) !== 'ClientException' || !/role is not valid/i.test((err as Error).message)) throw err;
      const named = new Error(
        `Role is not valid (ECS cannot use the execution role '${d.content.executionRoleArn}' or the task role '${d.content.taskRoleArn}' yet)`,
        { cause: err },
      );
      named.name = 'ClientException';
      throw named;
    }
    if (!out.taskDefinition) throw new Error(`RegisterTaskDefinition returned no task definition for ${d.family}`);
    return record(await keepEarlier(ctx, out.taskDefinition), d.tags);
  },

  diff(d, o) {
    const changes: FieldChange[] = [];
    if (d.family !== o.family) changes.push({ field: 'family', from: o.family, to: d.family, replace: true });
    const want = canonicalContent(d.content);
    const have = canonicalContent(o.content);
    for (const f of [...new Set([...Object.keys(want), ...Object.keys(have)])].sort()) {
      if (f === 'containerDefinitions') continue;
      if (JSON.stringify(want[f]) !== JSON.stringify(have[f])) changes.push({ field: f, from: have[f], to: want[f] });
    }
    const wc = (want.containerDefinitions ?? []) as Record<string, unknown>[];
    const hc = (have.containerDefinitions ?? []) as Record<string, unknown>[];
    for (const name of [...new Set([...wc, ...hc].map((c) => String(c.name)))].sort()) {
      const w = wc.find((c) => c.name === name) ?? {};
      const h = hc.find((c) => c.name === name) ?? {};
      for (const f of [...new Set([...Object.keys(w), ...Object.keys(h)])].sort()) {
        if (JSON.stringify(w[f]) !== JSON.stringify(h[f]))
          changes.push({ field: `containerDefinitions.${name}.${f}`, from: h[f], to: w[f] });
      }
    }
    changes.push(...tagChanges(d.tags, o.tags));
    return changes;
  },

  async update(ctx, node, found, d, changes) {
    // Any content change means a new revision (tags included); tags alone are set on the current one.
    if (changes.some((c) => c.field !== 'tags')) return taskDefinition.create(ctx, node, d);
    await convergeTags(d.tags, found.observed.tags, {
      tag: (set) => ctx.aws.ecs.send(new TagResourceCommand({ resourceArn: found.record.arn, tags: ecsTagList(set) })),
      untag: (keys) => ctx.aws.ecs.send(new UntagResourceCommand({ resourceArn: found.record.arn, tagKeys: keys })),
    });
    // The same revision, now with the wanted tags: its digest says so.
    return { ...found.record, attrs: { ...found.record.attrs, digest: digestOf(found.observed.content, d.tags) } };
  },

  // DescribeTaskDefinition also answers registeredAt/registeredBy and ECS's derived fields: a saved plan
  // pins the content diff compares (a new revision moves the record's ARN).
  pin: ({ record, observed }) => ({ record, observed: { ...observed, content: canonicalContent(observed.content) } }),

  async ownerOf(ctx, rec) {
    const got = await describeRevision(ctx, rec.id);
    return got && ownershipOf(ctx, got.tags);
  },

  async delete(ctx, rec) {
    const family = rec.id;
    for (const taskDefinition of await revisions(ctx, family, 'ACTIVE')) {
      await ctx.aws.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition }));
    }
    // Deregistered revisions stay listed (INACTIVE) forever unless deleted; DeleteTaskDefinitions takes
    // at most 10 and does not exist in every partition yet.
    const inactive = await revisions(ctx, family, 'INACTIVE');
    for (let i = 0; i < inactive.length; i += 10) {
      try {
        const out = await ctx.aws.ecs.send(
          new DeleteTaskDefinitionsCommand({ taskDefinitions: inactive.slice(i, i + 10) }),
        );
        const bad = (out.failures ?? []).filter((f) => !/does not exist/i.test(f.reason ?? ''));
        if (bad.length) throw new Error(`could not delete task definition ${bad[0]!.arn}: ${bad[0]!.reason}`);
      } catch (err) {
        if (['UnsupportedFeatureException', 'UnknownOperationException'].includes(awsErrorCode(err))) return;
        throw err;
      }
    }
  },
};
