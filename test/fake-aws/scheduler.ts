/**
 * EventBridge Scheduler: schedule groups (taggable, DELETING for a while after DeleteScheduleGroup,
 * taking their schedules with them) and schedules (not taggable; UpdateSchedule replaces every field).
 * The always-present `default` group is modelled too.
 */
import {
  SchedulerClient,
  CreateScheduleCommand,
  GetScheduleCommand,
  UpdateScheduleCommand,
  DeleteScheduleCommand,
  ListSchedulesCommand,
  CreateScheduleGroupCommand,
  GetScheduleGroupCommand,
  DeleteScheduleGroupCommand,
  ListScheduleGroupsCommand,
  TagResourceCommand,
  UntagResourceCommand,
  ListTagsForResourceCommand,
  type CreateScheduleCommandInput,
  type Target,
} from '@aws-sdk/client-scheduler';
import { awsError, recordToTags, tagsToRecord, type FakeAwsCore } from './core.js';
import type { InventoryEntry } from './index.js';
import type { FakeIam } from './iam.js';
import { ecsTargetRequest, type FakeEcs } from './ecs.js';
import type { FakeSfn } from './sfn.js';
import type { FakeSqs } from './sqs.js';

interface Group {
  name: string;
  arn: string;
  clientToken?: string;
  state: 'ACTIVE' | 'DELETING';
  /** When a DELETING group is gone (core.now() time). */
  goneAt?: number;
  created: Date;
  tags: Record<string, string>;
}

interface Schedule {
  arn: string;
  def: Omit<CreateScheduleCommandInput, 'ClientToken'>;
  clientToken?: string;
  created: Date;
  modified: Date;
}

const CONTEXT = [
  'aws.scheduler.schedule-arn',
  'aws.scheduler.scheduled-time',
  'aws.scheduler.execution-id',
  'aws.scheduler.attempt-number',
];
/** The members of ECS's TaskOverride, what an ECS templated target's Input is converted into. */
const NOT_TASK_OVERRIDE = 'Unable to convert target input to TaskOverride';
const TASK_OVERRIDE_MEMBERS = [
  'containerOverrides',
  'cpu',
  'ephemeralStorage',
  'executionRoleArn',
  'inferenceAcceleratorOverrides',
  'memory',
  'taskRoleArn',
];
/** A universal target's ARN: the SDK service and the API action it calls. */
const UNIVERSAL = /^arn:[^:]+:scheduler:::aws-sdk:([a-z0-9]+):([A-Za-z0-9]+)$/;
/** Universal targets refuse read-only actions (Scheduler user guide, "Using universal targets"). */
const READ_ONLY = new RegExp(
  '^(get|describe|list|poll|receive|search|scan|query|select|read|lookup|discover|validate' +
    '|batchGet|batchDescribe|batchRead|transactGet|adminGet|adminList|retrieve)',
);
const CRON = /^cron\((\S+\s+){5}\S+\)$/;
const RATE = /^rate\(\d+ (minute|minutes|hour|hours|day|days)\)$/;
const AT = /^at\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\)$/;
const NAME = /^[0-9a-zA-Z\-_.]{1,64}$/;

export class FakeScheduler {
  readonly groups = new Map<string, Group>();
  /** By `<group>/<name>`. */
  readonly schedules = new Map<string, Schedule>();
  /** How long a deleted group stays DELETING. */
  groupDeletingMs = 0;
  /**
   * AWS answers a CreateSchedule resent with the same ClientToken with the first call's answer. An
   * emulator that ignores the token (false) answers ConflictException, as for any existing name.
   */
  honorClientToken = true;

  constructor(readonly core: FakeAwsCore) {
    core.peers.set('scheduler', this);
    const iam = () => core.peers.get('iam') as FakeIam | undefined;
    const groupArn = (name: string) =>
      `arn:${core.partition}:scheduler:${core.region}:${core.account}:schedule-group/${name}`;
    this.groups.set('default', {
      name: 'default',
      arn: groupArn('default'),
      state: 'ACTIVE',
      created: new Date(0),
      tags: {},
    });

    const liveGroup = (name: string | undefined): Group | undefined => {
      const g = this.groups.get(name ?? 'default');
      if (g?.state === 'DELETING' && core.now() >= (g.goneAt ?? 0)) {
        this.groups.delete(g.name);
        return undefined;
      }
      return g;
    };
    const groupOrFail = (name: string | undefined): Group =>
      liveGroup(name) ??
      awsError('ResourceNotFoundException', `Schedule group ${name ?? 'default'} does not exist.`, 404);
    const key = (group: string | undefined, name: string | undefined) => `${group ?? 'default'}/${name}`;
    const scheduleOrFail = (group: string | undefined, name: string | undefined): Schedule => {
      const g = liveGroup(group);
      const s = this.schedules.get(key(group, name));
      if (!g || g.state === 'DELETING' || !s)
        awsError('ResourceNotFoundException', `Schedule ${name} does not exist.`, 404);
      return s!;
    };
    const byArn = (arn: string | undefined): Group => {
      const g = [...this.groups.values()].find((x) => x.arn === arn);
      if (!g || !liveGroup(g.name)) awsError('ResourceNotFoundException', `Resource ${arn} does not exist.`, 404);
      return g!;
    };

    /** CreateSchedule / UpdateSchedule validation, in the order Scheduler reports problems. */
    const validate = (i: CreateScheduleCommandInput) => {
      if (!NAME.test(i.Name ?? ''))
        awsError(
          'ValidationException',
          `1 validation error detected: Value '${i.Name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$`,
          400,
        );
      const expr = i.ScheduleExpression ?? '';
      if (!CRON.test(expr) && !RATE.test(expr) && !AT.test(expr))
        awsError('ValidationException', `Invalid Schedule Expression ${expr}.`, 400);
      if (i.ScheduleExpressionTimezone !== undefined) {
        try {
          new Intl.DateTimeFormat('en-US', { timeZone: i.ScheduleExpressionTimezone });
        } catch {
          awsError('ValidationException', `Invalid ScheduleExpressionTimezone ${i.ScheduleExpressionTimezone}.`, 400);
        }
      }
      const w = i.FlexibleTimeWindow;
      if (!w?.Mode)
        awsError(
          'ValidationException',
          "1 validation error detected: Value null at 'flexibleTimeWindow' failed to satisfy constraint: Member must not be null",
          400,
        );
      if (w!.Mode === 'FLEXIBLE' && !(w!.MaximumWindowInMinutes! >= 1 && w!.MaximumWindowInMinutes! <= 1440)) {
        awsError(
          'ValidationException',
          'MaximumWindowInMinutes must be between 1 and 1440 when Mode is FLEXIBLE.',
          400,
        );
      }
      if (w!.Mode === 'OFF' && w!.MaximumWindowInMinutes !== undefined)
        awsError('ValidationException', 'MaximumWindowInMinutes must not be specified when Mode is OFF.', 400);
      const t = i.Target;
      if (!t?.Arn || !t.RoleArn)
        awsError(
          'ValidationException',
          "1 validation error detected: Value null at 'target.roleArn' failed to satisfy constraint: Member must not be null",
          400,
        );
      const r = t!.RetryPolicy;
      if (
        r?.MaximumEventAgeInSeconds !== undefined &&
        (r.MaximumEventAgeInSeconds < 60 || r.MaximumEventAgeInSeconds > 86400)
      ) {
        awsError(
          'ValidationException',
          "1 validation error detected: Value at 'target.retryPolicy.maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value between 60 and 86400",
          400,
        );
      }
      if (r?.MaximumRetryAttempts !== undefined && (r.MaximumRetryAttempts < 0 || r.MaximumRetryAttempts > 185)) {
        awsError(
          'ValidationException',
          "1 validation error detected: Value at 'target.retryPolicy.maximumRetryAttempts' failed to satisfy constraint: Member must have value between 0 and 185",
          400,
        );
      }
      if (t!.EcsParameters && t!.Input !== undefined) {
        // The ECS templated target converts its Input into a TaskOverride at once (boto3#4370 quotes the
        // error): JSON of TaskOverride's members only.
        let o: unknown;
        try {
          o = JSON.parse(t!.Input);
        } catch (err) {
          const why = (err as Error).message;
          awsError('ValidationException', `${NOT_TASK_OVERRIDE}, JSON syntax error in input: ${why}`, 400);
        }
        const unknown =
          o && typeof o === 'object' && !Array.isArray(o)
            ? Object.keys(o).filter((k) => !TASK_OVERRIDE_MEMBERS.includes(k))
            : ['(not an object)'];
        if (unknown.length) {
          awsError('ValidationException', `${NOT_TASK_OVERRIDE}, unrecognized field "${unknown[0]}"`, 400);
        }
      }
      const universal = UNIVERSAL.exec(t!.Arn ?? '');
      if (universal) {
        // A universal target: arn:<partition>:scheduler:::aws-sdk:<service>:<apiAction>, never a read-only
        // action, with a well-formed JSON Input (the request).
        if (READ_ONLY.test(universal[2]!)) {
          const what = `Target ${t!.Arn} is not supported`;
          awsError('ValidationException', `${what}: read-only API actions are not supported.`, 400);
        }
        try {
          JSON.parse(render(t!.Input ?? '', 'sample'));
        } catch {
          awsError('ValidationException', 'Invalid request provided: Input is not valid JSON.', 400);
        }
      }
      if (iam() && !iam()!.isRolePropagated(t!.RoleArn)) {
        awsError(
          'ValidationException',
          'The execution role you provide must allow AWS EventBridge Scheduler to assume the role.',
          400,
        );
      }
    };
    const definitionOf = (i: CreateScheduleCommandInput): Schedule['def'] => {
      const { ClientToken: _t, ...def } = structuredClone(i);
      return { ...def, GroupName: def.GroupName ?? 'default', State: def.State ?? 'ENABLED' };
    };

    core.register({
      name: 'scheduler',
      client: SchedulerClient,
      ops: {
        CreateScheduleGroup: {
          command: CreateScheduleGroupCommand,
          handle: (i) => {
            if (!NAME.test(i.Name ?? ''))
              awsError(
                'ValidationException',
                `1 validation error detected: Value '${i.Name}' at 'name' failed to satisfy constraint`,
                400,
              );
            const prior = liveGroup(i.Name);
            // Idempotent with the same ClientToken: the first call's group.
            if (prior?.state === 'ACTIVE' && i.ClientToken && prior.clientToken === i.ClientToken)
              return { ScheduleGroupArn: prior.arn };
            if (prior) awsError('ConflictException', `Schedule group ${i.Name} already exists.`, 409);
            const g: Group = {
              name: i.Name,
              arn: groupArn(i.Name),
              state: 'ACTIVE',
              created: new Date(core.now()),
              tags: tagsToRecord(i.Tags),
              clientToken: i.ClientToken,
            };
            this.groups.set(g.name, g);
            core.label(g.arn, g.tags['batchctl:logical'] ?? g.name);
            return { ScheduleGroupArn: g.arn };
          },
        },
        GetScheduleGroup: {
          command: GetScheduleGroupCommand,
          handle: (i) => {
            const g = groupOrFail(i.Name);
            return {
              Arn: g.arn,
              Name: g.name,
              State: g.state,
              CreationDate: g.created,
              LastModificationDate: g.created,
            };
          },
        },
        ListScheduleGroups: {
          command: ListScheduleGroupsCommand,
          handle: (i) => ({
            ScheduleGroups: [...this.groups.values()]
              .filter((g) => liveGroup(g.name) && (!i.NamePrefix || g.name.startsWith(i.NamePrefix)))
              .map((g) => ({ Arn: g.arn, Name: g.name, State: g.state, CreationDate: g.created })),
          }),
        },
        DeleteScheduleGroup: {
          command: DeleteScheduleGroupCommand,
          handle: (i) => {
            if (i.Name === 'default')
              awsError('ValidationException', 'The default schedule group cannot be deleted.', 400);
            const g = groupOrFail(i.Name);
            if (g.state === 'DELETING') return {};
            // Its schedules go at once (they stop firing); the group itself lingers as DELETING.
            for (const k of [...this.schedules.keys()]) if (k.startsWith(`${g.name}/`)) this.schedules.delete(k);
            g.state = 'DELETING';
            g.goneAt = core.now() + this.groupDeletingMs;
            liveGroup(g.name);
            return {};
          },
        },
        TagResource: {
          command: TagResourceCommand,
          handle: (i) => {
            Object.assign(byArn(i.ResourceArn).tags, tagsToRecord(i.Tags));
            return {};
          },
        },
        UntagResource: {
          command: UntagResourceCommand,
          handle: (i) => {
            const g = byArn(i.ResourceArn);
            for (const k of i.TagKeys ?? []) delete g.tags[k];
            return {};
          },
        },
        ListTagsForResource: {
          command: ListTagsForResourceCommand,
          handle: (i) => ({ Tags: recordToTags(byArn(i.ResourceArn).tags) }),
        },
        CreateSchedule: {
          command: CreateScheduleCommand,
          handle: (i: CreateScheduleCommandInput) => {
            const g = groupOrFail(i.GroupName);
            if (g.state === 'DELETING')
              awsError('ResourceNotFoundException', `Schedule group ${g.name} does not exist.`, 404);
            const existing = this.schedules.get(key(i.GroupName, i.Name));
            if (existing) {
              // The same token again (a retry after a lost response) gets the same answer.
              if (this.honorClientToken && i.ClientToken && existing.clientToken === i.ClientToken)
                return { ScheduleArn: existing.arn };
              awsError('ConflictException', `Schedule ${i.Name} already exists.`, 409);
            }
            validate(i);
            const now = new Date(core.now());
            const s: Schedule = {
              arn: `arn:${core.partition}:scheduler:${core.region}:${core.account}:schedule/${g.name}/${i.Name}`,
              def: definitionOf(i),
              clientToken: i.ClientToken,
              created: now,
              modified: now,
            };
            this.schedules.set(key(i.GroupName, i.Name), s);
            core.label(s.arn, `${g.tags['batchctl:logical'] ?? g.name}/${i.Name}`);
            return { ScheduleArn: s.arn };
          },
        },
        GetSchedule: {
          command: GetScheduleCommand,
          handle: (i) => {
            const s = scheduleOrFail(i.GroupName, i.Name);
            const t = s.def.Target!;
            return {
              ...s.def,
              Arn: s.arn,
              CreationDate: s.created,
              LastModificationDate: s.modified,
              ActionAfterCompletion: 'NONE',
              // Read-side defaults Scheduler fills in.
              Target: {
                ...t,
                RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185, ...t.RetryPolicy },
              },
            };
          },
        },
        UpdateSchedule: {
          command: UpdateScheduleCommand,
          handle: (i) => {
            const s = scheduleOrFail(i.GroupName, i.Name);
            validate(i);
            // Every field is replaced: what the call leaves out is reset, not kept.
            s.def = definitionOf(i);
            s.modified = new Date(core.now());
            return { ScheduleArn: s.arn };
          },
        },
        DeleteSchedule: {
          command: DeleteScheduleCommand,
          handle: (i) => {
            scheduleOrFail(i.GroupName, i.Name);
            this.schedules.delete(key(i.GroupName, i.Name));
            return {};
          },
        },
        ListSchedules: {
          command: ListSchedulesCommand,
          handle: (i) => ({
            Schedules: [...this.schedules.values()]
              .filter((s) => liveGroup(s.def.GroupName)?.state === 'ACTIVE')
              .filter(
                (s) =>
                  (!i.GroupName || s.def.GroupName === i.GroupName) &&
                  (!i.NamePrefix || s.def.Name!.startsWith(i.NamePrefix)) &&
                  (!i.State || s.def.State === i.State),
              )
              .map((s) => ({
                Arn: s.arn,
                Name: s.def.Name,
                GroupName: s.def.GroupName,
                State: s.def.State,
                CreationDate: s.created,
                LastModificationDate: s.modified,
                Target: { Arn: s.def.Target?.Arn },
              })),
          }),
        },
      },
    });
  }

  /** Test helper: the schedules that would fire now (ENABLED, in an ACTIVE group). */
  activeSchedules(): { group: string; name: string; target: Target }[] {
    return [...this.schedules.values()]
      .filter((s) => s.def.State === 'ENABLED' && this.groups.get(s.def.GroupName!)?.state === 'ACTIVE')
      .map((s) => ({ group: s.def.GroupName!, name: s.def.Name!, target: s.def.Target! }));
  }

  /**
   * Test helper: the schedule fires for `scheduledTime` (ISO, no ms): Scheduler calls the target as the
   * schedule's role (RunTask with startedBy `chronos-schedule/<name>`, or StartExecution). A refused call
   * (AccessDenied: not retried) or, with `throttled`, one throttled past the retry policy goes to the
   * target's DeadLetterConfig queue, sent with the schedule's role (which needs sqs:SendMessage), with
   * Scheduler's attributes: SCHEDULE_ARN, SCHEDULED_TIME, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE,
   * EXECUTION_ID, RETRY_ATTEMPTS (and EXHAUSTED_RETRY_CONDITION when retries ran out); the body is the
   * target's input. RunTask's failures[] is a successful call for Scheduler too: nothing is sent.
   */
  invokeScheduled(
    group: string,
    name: string,
    scheduledTime: string,
    opts: { throttled?: boolean } = {},
  ): { outcome: 'started' | 'failures' | 'dead-lettered' | 'dropped'; errorCode?: string } {
    const s = this.schedules.get(`${group}/${name}`);
    if (!s) throw new Error(`fake Scheduler: no schedule ${group}/${name}`);
    const t = s.def.Target!;
    const iam = this.core.peers.get('iam') as FakeIam | undefined;
    const ecs = this.core.peers.get('ecs') as FakeEcs | undefined;
    const sfn = this.core.peers.get('sfn') as FakeSfn | undefined;
    const sqs = this.core.peers.get('sqs') as FakeSqs | undefined;
    const input = this.deliveredInput(t, scheduledTime, s.arn);
    let failure: { code: string; message: string; retried: boolean };
    try {
      if (/^arn:[^:]+:states:/.test(t.Arn ?? '')) {
        sfn!.startFromTrigger(t.RoleArn, t.Arn!, input);
        return { outcome: 'started' };
      }
      let request: Record<string, any>;
      if (UNIVERSAL.test(t.Arn ?? '')) {
        // The universal target sends its Input as the API's request, as the role.
        if (!/:aws-sdk:ecs:runTask$/.test(t.Arn!)) {
          throw new Error(`fake Scheduler: universal target ${t.Arn} is not modelled`);
        }
        request = JSON.parse(input) as Record<string, any>;
      } else {
        const e = t.EcsParameters!;
        request = ecsTargetRequest(t.Arn, e, input, `chronos-schedule/${name}`);
      }
      for (const a of iam ? ecs!.runTaskAuthorization(request) : []) {
        if (!iam!.allows(t.RoleArn, a.action, a.resource, a.context)) {
          awsError(
            'AccessDeniedException',
            `User: ${t.RoleArn} is not authorized to perform: ${a.action} on resource: ${a.resource}`,
            400,
          );
        }
      }
      if (opts.throttled) awsError('ThrottlingException', 'Rate exceeded', 400);
      const res = ecs!.runTask(request);
      return { outcome: res.failures.length ? 'failures' : 'started' };
    } catch (err) {
      const code = (err as Error).name;
      failure = { code, message: (err as Error).message, retried: /Throttl/.test(code) };
    }
    const retries = failure.retried ? (t.RetryPolicy?.MaximumRetryAttempts ?? 185) : 0;
    const str = (v: string) => ({ DataType: 'String', StringValue: v });
    const attrs = {
      SCHEDULE_ARN: str(s.arn),
      SCHEDULED_TIME: str(scheduledTime),
      TARGET_ARN: str(t.Arn ?? ''),
      ERROR_CODE: str(failure.code),
      ERROR_MESSAGE: str(failure.message),
      EXECUTION_ID: str(this.core.newId('exec', 16)),
      RETRY_ATTEMPTS: str(String(retries)),
      IS_PAYLOAD_TRUNCATED: str('false'),
      ...(failure.retried ? { EXHAUSTED_RETRY_CONDITION: str('MaximumRetryAttempts') } : {}),
    };
    const dlq = t.DeadLetterConfig?.Arn;
    const sent =
      !!dlq && !!sqs && (!iam || iam.allows(t.RoleArn, 'sqs:SendMessage', dlq)) && sqs.sendAsRole(dlq, input, attrs);
    return { outcome: sent ? 'dead-lettered' : 'dropped', errorCode: failure.code };
  }

  /** Test helper: the Input the target receives for an invocation due at `scheduledTime` (ISO, no ms). */
  targetInput(group: string, name: string, scheduledTime: string): string {
    const s = this.schedules.get(`${group}/${name}`);
    if (!s) throw new Error(`fake Scheduler: no schedule ${group}/${name}`);
    return this.deliveredInput(s.def.Target!, scheduledTime, s.arn);
  }

  /**
   * What the target gets as its input. Context attributes are replaced in a payload (a universal target's
   * request, a Step Functions execution input: the Scheduler guide's "Adding context attributes"), but not
   * in an ECS templated target's Input, which Scheduler turned into a TaskOverride when the schedule was
   * created: AWS documents no substitution there, so the fake makes none, and a job relying on it gets the
   * literal `<aws.scheduler.scheduled-time>`.
   */
  private deliveredInput(t: Target, scheduledTime: string, scheduleArn: string): string {
    if (t.EcsParameters && !UNIVERSAL.test(t.Arn ?? '')) return t.Input ?? '';
    return render(t.Input ?? '', scheduledTime, scheduleArn);
  }

  /** Groups and schedules, with clusters, roles, queues, subnets and security groups as references. */
  inventory(): InventoryEntry[] {
    const ref = (v: string | undefined) => this.core.ref(v);
    const out: InventoryEntry[] = [];
    for (const g of this.groups.values()) {
      if (g.name === 'default') continue;
      out.push({
        type: 'scheduler.schedule-group',
        key: g.tags['batchctl:logical'] ?? g.name,
        settings: { name: g.name, state: g.state, tags: g.tags },
      });
    }
    for (const s of this.schedules.values()) {
      const { Target: t, ...rest } = s.def;
      const ecs = t?.EcsParameters;
      const vpc = ecs?.NetworkConfiguration?.awsvpcConfiguration;
      const g = this.groups.get(rest.GroupName!);
      out.push({
        type: 'scheduler.schedule',
        key: `${g?.tags['batchctl:logical'] ?? rest.GroupName}/${rest.Name}`,
        settings: {
          ...rest,
          target: t && {
            ...t,
            Arn: ref(t.Arn),
            RoleArn: ref(t.RoleArn),
            Input: t.Input ? this.inventoryInput(t) : undefined,
            DeadLetterConfig: t.DeadLetterConfig && { Arn: ref(t.DeadLetterConfig.Arn) },
            EcsParameters: ecs && {
              ...ecs,
              TaskDefinitionArn: ref(ecs.TaskDefinitionArn),
              NetworkConfiguration: vpc && {
                awsvpcConfiguration: {
                  ...vpc,
                  Subnets: vpc.Subnets?.map(ref).sort(),
                  SecurityGroups: vpc.SecurityGroups?.map(ref).sort(),
                },
              },
            },
          },
        },
      });
    }
    return out;
  }

  /** A target's Input for the inventory: parsed, and a universal RunTask request's resources as references. */
  private inventoryInput(t: Target): unknown {
    const input = JSON.parse(render(t.Input!, '<scheduled-time>')) as Record<string, any>;
    if (!UNIVERSAL.test(t.Arn ?? '')) return input;
    const ref = (v: string | undefined) => this.core.ref(v);
    const vpc = input.networkConfiguration?.awsvpcConfiguration;
    return {
      ...input,
      cluster: ref(input.cluster),
      taskDefinition: ref(input.taskDefinition),
      ...(vpc
        ? {
            networkConfiguration: {
              awsvpcConfiguration: {
                ...vpc,
                subnets: vpc.subnets?.map(ref).sort(),
                securityGroups: vpc.securityGroups?.map(ref).sort(),
              },
            },
          }
        : {}),
    };
  }
}

/** Fill Scheduler's context attributes in a target Input (plain text substitution, as Scheduler does). */
function render(input: string, scheduledTime: string, scheduleArn = 'arn:aws:scheduler:::schedule/x/y'): string {
  const values: Record<string, string> = {
    'aws.scheduler.schedule-arn': scheduleArn,
    'aws.scheduler.scheduled-time': scheduledTime,
    'aws.scheduler.execution-id': 'd32c5kddcf5bb8c3',
    'aws.scheduler.attempt-number': '1',
  };
  return input.replace(/<(aws\.scheduler\.[a-z-]+)>/g, (m, k: string) => (CONTEXT.includes(k) ? values[k]! : m));
}
