/**
 * A job's Step Functions state machine (jobs with `task.timeout` or `task.retries`): the schedule starts
 * it, and it runs the job's task with the timeout and the retries (model/state-machine.ts has the
 * definition and why). Standard workflow, tagged like everything else: ours only with our tag.
 */
import {
  CreateStateMachineCommand,
  DeleteStateMachineCommand,
  DescribeStateMachineCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateStateMachineCommand,
  type DescribeStateMachineOutput,
} from '@aws-sdk/client-sfn';
import { awsErrorCode } from '../base/errors.js';
import type { Ctx, FieldChange, Found, ResourceKind, ResourceRecord } from '../engine/types.js';
import { canonicalJson } from '../base/json.js';
import { K, jobKey } from '../model/keys.js';
import { jobOf, type JobParams } from '../model/jobs.js';
import { ecsTargetDeps, TARGET_NETWORK_KINDS } from '../model/ecs-target.js';
import { stateMachineArn, stateMachineDefinition, stateMachineJobs, stateMachineName } from '../model/state-machine.js';
import { hasTagChange, managedTags, ownershipOf, resourceTags, tagChanges } from './lib/tags.js';
import { createUnique, retryWhile } from './lib/create.js';
import { convergeTags, ifExists, unlessGone } from './lib/aws-calls.js';
import { SFN_MACHINE_GONE, SFN_TAGGED_GONE } from '../model/aws-errors.js';

export interface StateMachineDesired {
  name: string;
  roleArn: string;
  /** The definition as JSON text, compared in canonical form (Step Functions keeps the text it was given). */
  definition: string;
  type: 'STANDARD' | 'EXPRESS';
  tags: Record<string, string>;
}

/** Step Functions' tag lists are `[{key, value}]`. */
const sfnTagList = (tags: Record<string, string>) => Object.entries(tags).map(([key, value]) => ({ key, value }));
const sfnTagRecord = (tags: { key?: string; value?: string }[] | undefined) =>
  Object.fromEntries((tags ?? []).map((t) => [t.key ?? '', t.value ?? '']));

/** A state machine that exists and is not being deleted; undefined otherwise. */
async function describe(ctx: Ctx, arn: string): Promise<DescribeStateMachineOutput | undefined> {
  const read = new DescribeStateMachineCommand({ stateMachineArn: arn });
  const out = await ifExists(ctx.aws.sfn.send(read), SFN_MACHINE_GONE);
  // A state machine being deleted is gone for our purposes: its name comes free once its executions end.
  return out?.status === 'DELETING' ? undefined : out;
}

async function tagsOf(ctx: Ctx, arn: string): Promise<Record<string, string> | undefined> {
  const out = await ifExists(ctx.aws.sfn.send(new ListTagsForResourceCommand({ resourceArn: arn })), SFN_TAGGED_GONE);
  return out && sfnTagRecord(out.tags);
}

const recordOf = (arn: string, name: string): ResourceRecord => ({ kind: 'states.state-machine', id: name, arn });

/**
 * Step Functions refuses a role it cannot assume yet (IAM propagation) without naming it; the message
 * gets the role ARN so the engine's propagation retry can say which role it waits for.
 */
async function namingRole<T>(roleArn: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const e = err as Error;
    if (
      awsErrorCode(err) === 'AccessDeniedException' &&
      /assume the provided role/i.test(e.message) &&
      !e.message.includes(roleArn)
    )
      e.message = `${e.message} (role ${roleArn})`;
    throw err;
  }
}

/** A job's state machine. */
export const stateMachine: ResourceKind<StateMachineDesired, JobParams> = {
  kind: 'states.state-machine',
  label: 'State machine',
  dependsOn: ['iam.role', 'iam.role-policy', 'ecs.cluster', 'ecs.task-definition', ...TARGET_NETWORK_KINDS],
  costly: false,

  nodes: (config) =>
    stateMachineJobs(config).map((job) => ({
      key: jobKey(job, K.stateMachine),
      // Its role's policy is in place before the first execution needs it; the task's network as the direct target's.
      deps: [jobKey(job, K.role('states')), jobKey(job, K.rolePolicy('states')), ...ecsTargetDeps(config, job)],
      params: { job: job.name },
    })),

  desired(ctx, node) {
    const job = jobOf(ctx.config, node.params.job);
    return {
      name: stateMachineName(job),
      roleArn: ctx.record(jobKey(job, K.role('states'))).arn ?? '',
      definition: JSON.stringify(stateMachineDefinition(ctx, job)),
      type: 'STANDARD',
      tags: resourceTags(ctx, node.key),
    };
  },

  async find(ctx, node, recorded) {
    const job = jobOf(ctx.config, node.params.job);
    const wanted = stateMachineArn(ctx, job);
    let sm = recorded?.arn ? await describe(ctx, recorded.arn) : undefined;
    if (!sm && recorded?.arn !== wanted) sm = await describe(ctx, wanted);
    if (!sm?.stateMachineArn || !sm.name) return undefined;
    const tags = await tagsOf(ctx, sm.stateMachineArn);
    if (!tags) return undefined;
    return {
      record: recordOf(sm.stateMachineArn, sm.name),
      ...ownershipOf(ctx, tags),
      observed: {
        name: sm.name,
        roleArn: sm.roleArn ?? '',
        definition: sm.definition ?? '',
        type: sm.type === 'EXPRESS' ? 'EXPRESS' : 'STANDARD',
        tags: managedTags(ctx, tags),
      },
    } satisfies Found<StateMachineDesired>;
  },

  async create(ctx, _node, d) {
    const arn = `arn:${ctx.partition}:states:${ctx.region}:${ctx.account}:stateMachine:${d.name}`;
    // CreateStateMachine is idempotent for the same name and definition (a call resent after a lost answer
    // returns the same state machine), and refuses another definition under a taken name with
    // StateMachineAlreadyExists: adopted when it carries our tag (a concurrent run of this stack), then
    // converged. A state machine of that name still being deleted frees its name when its executions end.
    const out = await retryWhile(
      ctx,
      `state machine ${d.name} still being deleted`,
      () =>
        createUnique(
          'state machine',
          d.name,
          async () =>
            (
              await namingRole(d.roleArn, () =>
                ctx.aws.sfn.send(
                  new CreateStateMachineCommand({
                    name: d.name,
                    definition: d.definition,
                    roleArn: d.roleArn,
                    type: d.type,
                    tags: sfnTagList(d.tags),
                  }),
                ),
              )
            ).stateMachineArn ?? arn,
          (err) => awsErrorCode(err) === 'StateMachineAlreadyExists',
          async () => {
            const tags = await tagsOf(ctx, arn);
            return tags && { ...ownershipOf(ctx, tags), value: arn };
          },
        ),
      (err) => awsErrorCode(err) === 'StateMachineDeleting',
      { budgetMs: 120_000, intervalMs: 5000 },
    );
    const live = await describe(ctx, out);
    if (live && (canonicalJson(live.definition) !== canonicalJson(d.definition) || live.roleArn !== d.roleArn)) {
      await ctx.aws.sfn.send(
        new UpdateStateMachineCommand({ stateMachineArn: out, definition: d.definition, roleArn: d.roleArn }),
      );
    }
    return recordOf(out, d.name);
  },

  diff(d, o) {
    const changes: FieldChange[] = [];
    for (const f of ['name', 'type'] as const)
      if (d[f] !== o[f]) changes.push({ field: f, from: o[f], to: d[f], replace: true });
    if (d.roleArn !== o.roleArn) changes.push({ field: 'roleArn', from: o.roleArn, to: d.roleArn });
    if (canonicalJson(d.definition) !== canonicalJson(o.definition))
      changes.push({ field: 'definition', from: o.definition, to: d.definition });
    changes.push(...tagChanges(d.tags, o.tags));
    return changes;
  },

  async update(ctx, _node, found, d, changes) {
    const stateMachineArn = found.record.arn!;
    // The definition and the tags are independent calls: together. Running executions finish with the
    // definition they started with; the next ones use this one.
    await Promise.all([
      changes.some((c) => c.field === 'definition' || c.field === 'roleArn') &&
        namingRole(d.roleArn, () =>
          ctx.aws.sfn.send(
            new UpdateStateMachineCommand({ stateMachineArn, definition: d.definition, roleArn: d.roleArn }),
          ),
        ),
      hasTagChange(changes) &&
        convergeTags(d.tags, found.observed.tags, {
          tag: (tags) =>
            ctx.aws.sfn.send(new TagResourceCommand({ resourceArn: stateMachineArn, tags: sfnTagList(tags) })),
          untag: (tagKeys) => ctx.aws.sfn.send(new UntagResourceCommand({ resourceArn: stateMachineArn, tagKeys })),
        }),
    ]);
  },

  async delete(ctx, record) {
    // Asynchronous: the state machine is DELETING until its running executions end, which are not stopped
    // here (a job switched back to its direct target finishes the run it is in).
    const stateMachineArn = record.arn ?? record.id;
    await unlessGone(ctx.aws.sfn.send(new DeleteStateMachineCommand({ stateMachineArn })), SFN_MACHINE_GONE);
  },

  async ownerOf(ctx, record) {
    const arn = record.arn ?? `arn:${ctx.partition}:states:${ctx.region}:${ctx.account}:stateMachine:${record.id}`;
    if (!(await describe(ctx, arn))) return undefined;
    const tags = await tagsOf(ctx, arn);
    return tags && ownershipOf(ctx, tags);
  },
};
