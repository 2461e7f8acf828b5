import {
  EventBridgeClient,
  PutRuleCommand,
  DescribeRuleCommand,
  DeleteRuleCommand,
  EnableRuleCommand,
  DisableRuleCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
  PutTargetsCommand,
  ListTargetsByRuleCommand,
  RemoveTargetsCommand,
  ListRulesCommand,
  type Target,
} from '@aws-sdk/client-eventbridge';
import { awsError, recordToTags, tagsToRecord, type FakeAwsCore } from './core.js';
import type { InventoryEntry } from './index.js';
import type { FakeIam } from './iam.js';
import type { FakeSns } from './sns.js';
import { ecsTargetRequest, type FakeEcs } from './ecs.js';
import type { FakeSfn } from './sfn.js';
import type { FakeSqs } from './sqs.js';
import type { FakeLogs } from './logs.js';
import { evalPath, matchPattern, patternProblem } from './event-pattern.js';

interface Rule {
  name: string;
  arn: string;
  scheduleExpression?: string;
  eventPattern?: string;
  state: string;
  description?: string;
  roleArn?: string;
  tags: Record<string, string>;
  targets: Map<string, Target>;
}

const CRON = /^cron\((\S+\s+){5}\S+\)$/;
/** Variables EventBridge defines itself; usable in a template without an InputPathsMap entry. */
const PREDEFINED = [
  'aws.events.rule-arn',
  'aws.events.rule-name',
  'aws.events.event.ingestion-time',
  'aws.events.event',
  'aws.events.event.json',
];
const PLACEHOLDER = /<([A-Za-z0-9_.\-]+)>/g;

/**
 * Fill an InputTemplate's placeholders the way EventBridge does: inside a JSON string a value goes in as
 * its bare (escaped) text, outside one as a JSON value. Unknown placeholders stay as they are.
 */
export function renderTemplate(template: string, values: Record<string, unknown>): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < template.length; i++) {
    const ch = template[i]!;
    if (inString && ch === '\\') {
      out += ch + (template[i + 1] ?? '');
      i++;
      continue;
    }
    if (ch === '"') inString = !inString;
    const m = ch === '<' ? /^<([A-Za-z0-9_.\-]+)>/.exec(template.slice(i)) : null;
    if (m && m[1]! in values) {
      const json = JSON.stringify(values[m[1]!]) ?? 'null';
      out += inString
        ? typeof values[m[1]!] === 'string'
          ? json.slice(1, -1)
          : json.replace(/["\\]/g, (c) => `\\${c}`)
        : json;
      i += m[0].length - 1;
      continue;
    }
    out += ch;
  }
  return out;
}

/** Validate a target's InputTransformer like PutTargets does. */
function checkTransformer(id: string | undefined, x: NonNullable<Target['InputTransformer']>): void {
  const tpl = x.InputTemplate;
  if (!tpl || tpl.length > 8192)
    awsError(
      'ValidationException',
      `1 validation error detected: Value at 'targets.1.member.inputTransformer.inputTemplate' failed to satisfy constraint: Member must have length between 1 and 8192`,
      400,
    );
  const paths = x.InputPathsMap ?? {};
  if (Object.keys(paths).length > 100)
    awsError('ValidationException', `InputPathsMap for target ${id} has more than 100 entries.`, 400);
  for (const [k, v] of Object.entries(paths)) {
    if (!/^[A-Za-z0-9_\-]+$/.test(k) || k.startsWith('aws.'))
      awsError('ValidationException', `InputPathsMap for target ${id} contains invalid key ${k}.`, 400);
    if (!/^\$(\.|\[|$)/.test(v))
      awsError('ValidationException', `InputPathsMap for target ${id} contains invalid JSON path ${v}.`, 400);
  }
  for (const [, name] of tpl.matchAll(PLACEHOLDER)) {
    if (!(name! in paths) && !PREDEFINED.includes(name!))
      awsError('ValidationException', `InputTemplate for target ${id} contains invalid placeholder ${name}.`, 400);
  }
  // A template that looks like a JSON object must be JSON once every placeholder is filled in.
  if (tpl.trim().startsWith('{')) {
    const sample = Object.fromEntries([...Object.keys(paths), ...PREDEFINED].map((k) => [k, 'sample']));
    try {
      JSON.parse(renderTemplate(tpl, sample));
    } catch (err) {
      awsError('ValidationException', `Invalid InputTemplate for target ${id} : ${(err as Error).message}.`, 400);
    }
  }
}

const RATE = /^rate\(\d+ (minute|minutes|hour|hours|day|days)\)$/;

/**
 * EventBridge rules on the default bus and their targets. PutRule and PutTargets are upserts; PutTargets
 * reports per-target failures in FailedEntries (including a role IAM has not propagated yet).
 */
export class FakeEventBridge {
  readonly rules = new Map<string, Rule>();

  constructor(readonly core: FakeAwsCore) {
    core.peers.set('eventbridge', this);
    const notFound = (name: string | undefined): never =>
      awsError('ResourceNotFoundException', `Rule ${name} does not exist on EventBus default.`, 400);
    const checkBus = (bus: string | undefined) => {
      if (bus && bus !== 'default' && !bus.endsWith(':event-bus/default'))
        awsError('ResourceNotFoundException', `Event bus ${bus} does not exist.`, 400);
    };
    const rule = (name: string | undefined, bus?: string): Rule => {
      checkBus(bus);
      return this.rules.get(name ?? '') ?? notFound(name);
    };
    const byArn = (arn: string | undefined): Rule =>
      [...this.rules.values()].find((r) => r.arn === arn) ??
      awsError('ResourceNotFoundException', `Rule ${arn?.split('/').pop()} does not exist on EventBus default.`, 400);
    const iam = () => core.peers.get('iam') as FakeIam | undefined;

    core.register({
      name: 'eventbridge',
      client: EventBridgeClient,
      ops: {
        PutRule: {
          command: PutRuleCommand,
          handle: (i) => {
            checkBus(i.EventBusName);
            if (!/^[.\-_A-Za-z0-9]{1,64}$/.test(i.Name ?? ''))
              awsError(
                'ValidationException',
                `1 validation error detected: Value '${i.Name}' at 'name' failed to satisfy constraint`,
                400,
              );
            if (!i.ScheduleExpression && !i.EventPattern)
              awsError(
                'ValidationException',
                'Parameter(s) ScheduleExpression or EventPattern must be specified.',
                400,
              );
            if (i.ScheduleExpression && !CRON.test(i.ScheduleExpression) && !RATE.test(i.ScheduleExpression)) {
              awsError('ValidationException', 'Parameter ScheduleExpression is not valid.', 400);
            }
            if (i.EventPattern !== undefined) {
              let parsed: unknown;
              try {
                parsed = JSON.parse(i.EventPattern);
              } catch (err) {
                awsError(
                  'InvalidEventPatternException',
                  `Event pattern is not valid. Reason: ${(err as Error).message}`,
                  400,
                );
              }
              const problem = patternProblem(parsed);
              if (problem)
                awsError('InvalidEventPatternException', `Event pattern is not valid. Reason: ${problem}`, 400);
            }
            const existing = this.rules.get(i.Name);
            // An update replaces every setting with what is given (omitted ones are not kept) and
            // ignores Tags: those are applied only when the rule is created.
            const r: Rule = {
              name: i.Name,
              arn: `arn:${core.partition}:events:${core.region}:${core.account}:rule/${i.Name}`,
              scheduleExpression: i.ScheduleExpression,
              eventPattern: i.EventPattern,
              state: i.State ?? 'ENABLED',
              description: i.Description,
              roleArn: i.RoleArn,
              tags: existing ? existing.tags : tagsToRecord(i.Tags),
              targets: existing ? existing.targets : new Map(),
            };
            this.rules.set(r.name, r);
            if (!existing) core.label(r.arn, r.tags['batchctl:logical'] ?? r.name);
            return { RuleArn: r.arn };
          },
        },
        DescribeRule: {
          command: DescribeRuleCommand,
          handle: (i) => {
            const r = rule(i.Name, i.EventBusName);
            return {
              Name: r.name,
              Arn: r.arn,
              ScheduleExpression: r.scheduleExpression,
              EventPattern: r.eventPattern,
              State: r.state,
              Description: r.description,
              RoleArn: r.roleArn,
              EventBusName: 'default',
              CreatedBy: core.account,
            };
          },
        },
        ListRules: {
          command: ListRulesCommand,
          handle: (i) => {
            checkBus(i.EventBusName);
            // Sorted by name, at most 100 a page (Limit), continued with NextToken.
            const all = [...this.rules.values()]
              .filter((r) => !i.NamePrefix || r.name.startsWith(i.NamePrefix))
              .sort((a, b) => a.name.localeCompare(b.name));
            const limit = Math.min(i.Limit ?? 100, 100);
            const start = Number(i.NextToken ?? 0);
            const page = all.slice(start, start + limit).map((r) => ({
              Name: r.name,
              Arn: r.arn,
              ScheduleExpression: r.scheduleExpression,
              EventPattern: r.eventPattern,
              State: r.state,
              Description: r.description,
              RoleArn: r.roleArn,
              EventBusName: 'default',
            }));
            return { Rules: page, NextToken: start + limit < all.length ? String(start + limit) : undefined };
          },
        },
        DeleteRule: {
          command: DeleteRuleCommand,
          handle: (i) => {
            checkBus(i.EventBusName);
            const r = this.rules.get(i.Name);
            // Deleting a rule that does not exist succeeds: DeleteRule is idempotent.
            if (!r) return {};
            if (r.targets.size) awsError('ValidationException', "Rule can't be deleted since it has targets.", 400);
            this.rules.delete(r.name);
            return {};
          },
        },
        EnableRule: {
          command: EnableRuleCommand,
          handle: (i) => {
            rule(i.Name, i.EventBusName).state = 'ENABLED';
            return {};
          },
        },
        DisableRule: {
          command: DisableRuleCommand,
          handle: (i) => {
            rule(i.Name, i.EventBusName).state = 'DISABLED';
            return {};
          },
        },
        ListTagsForResource: {
          command: ListTagsForResourceCommand,
          handle: (i) => ({ Tags: recordToTags(byArn(i.ResourceARN).tags) }),
        },
        TagResource: {
          command: TagResourceCommand,
          handle: (i) => {
            Object.assign(byArn(i.ResourceARN).tags, tagsToRecord(i.Tags));
            return {};
          },
        },
        UntagResource: {
          command: UntagResourceCommand,
          handle: (i) => {
            const r = byArn(i.ResourceARN);
            for (const k of i.TagKeys ?? []) delete r.tags[k];
            return {};
          },
        },
        PutTargets: {
          command: PutTargetsCommand,
          handle: (i) => {
            const r = rule(i.Rule, i.EventBusName);
            const failed: { TargetId: string; ErrorCode: string; ErrorMessage: string }[] = [];
            for (const t of (i.Targets ?? []) as Target[]) {
              if (!/^[.\-_A-Za-z0-9]{1,64}$/.test(t.Id ?? ''))
                awsError(
                  'ValidationException',
                  `1 validation error detected: Value '${t.Id}' at 'targets.1.member.id' failed to satisfy constraint`,
                  400,
                );
              if (t.Input !== undefined) {
                try {
                  JSON.parse(t.Input);
                } catch {
                  awsError('ValidationException', `Target ${t.Id}: Input is not valid JSON text.`, 400);
                }
              }
              if ([t.Input, t.InputPath, t.InputTransformer].filter((v) => v !== undefined).length > 1) {
                awsError(
                  'ValidationException',
                  `Only one of Input, InputPath, or InputTransformer must be provided for target ${t.Id}.`,
                  400,
                );
              }
              if (t.InputTransformer) checkTransformer(t.Id, t.InputTransformer);
              if (t.EcsParameters && !t.RoleArn)
                awsError('ValidationException', `RoleArn is required for target ${t.Id}.`, 400);
              if (t.RoleArn && iam() && !iam()!.isRolePropagated(t.RoleArn)) {
                failed.push({
                  TargetId: t.Id!,
                  ErrorCode: 'ValidationException',
                  ErrorMessage: `Provided role '${t.RoleArn}' cannot be assumed by principal 'events.amazonaws.com'.`,
                });
                continue;
              }
              if (!r.targets.has(t.Id!) && r.targets.size >= 5) {
                failed.push({
                  TargetId: t.Id!,
                  ErrorCode: 'LimitExceededException',
                  ErrorMessage: 'The requested resource exceeds the maximum number allowed.',
                });
                continue;
              }
              r.targets.set(t.Id!, structuredClone(t));
            }
            return { FailedEntryCount: failed.length, FailedEntries: failed };
          },
        },
        ListTargetsByRule: {
          command: ListTargetsByRuleCommand,
          handle: (i) => ({
            Targets: [...rule(i.Rule, i.EventBusName).targets.values()].map((t) => ({
              ...t,
              // Read-side defaults EventBridge fills in for ECS targets.
              EcsParameters: t.EcsParameters
                ? { EnableExecuteCommand: false, EnableECSManagedTags: false, ...t.EcsParameters }
                : undefined,
            })),
          }),
        },
        RemoveTargets: {
          command: RemoveTargetsCommand,
          handle: (i) => {
            const r = rule(i.Rule, i.EventBusName);
            for (const id of i.Ids ?? []) r.targets.delete(id);
            return { FailedEntryCount: 0, FailedEntries: [] };
          },
        },
      },
    });
  }

  /**
   * Test helper: what EventBridge would hand the target for an event (the input transformer applied,
   * else the static Input, else the event itself), as text.
   */
  targetInput(rule: string, targetId: string, event: Record<string, unknown>): string {
    const t = this.rules.get(rule)?.targets.get(targetId);
    if (!t) throw new Error(`fake EventBridge: no target ${targetId} on rule ${rule}`);
    if (t.Input !== undefined) return t.Input;
    if (!t.InputTransformer) return JSON.stringify(event);
    const r = this.rules.get(rule)!;
    const values: Record<string, unknown> = {
      'aws.events.rule-arn': r.arn,
      'aws.events.rule-name': r.name,
      'aws.events.event.ingestion-time': event.time,
    };
    for (const [k, path] of Object.entries(t.InputTransformer.InputPathsMap ?? {})) {
      values[k] = evalPath(event, path);
    }
    return renderTemplate(t.InputTransformer.InputTemplate ?? '', values);
  }

  /** Test helper: whether an event matches a rule's event pattern (EventBridge content filtering). */
  matchEvent(ruleName: string, event: Record<string, unknown>): boolean {
    const r = this.rules.get(ruleName);
    if (!r) throw new Error(`fake EventBridge: no rule ${ruleName}`);
    return r.eventPattern !== undefined && matchPattern(JSON.parse(r.eventPattern), event);
  }

  /**
   * Test helper: put an event on the default bus. Every enabled rule whose pattern matches hands each
   * target its input; an SNS target publishes through the SNS fake, which applies the topic policy; a
   * CloudWatch Logs target writes the event to the group through the Logs fake, which applies the
   * account's resource policies. Returns one entry per invocation (`delivered` false: the policy
   * refused, or the topic or group is gone).
   */
  deliver(
    event: Record<string, unknown>,
  ): { rule: string; targetId: string; arn: string; input: string; delivered: boolean }[] {
    const out: { rule: string; targetId: string; arn: string; input: string; delivered: boolean }[] = [];
    const sns = this.core.peers.get('sns') as FakeSns | undefined;
    const logs = this.core.peers.get('logs') as FakeLogs | undefined;
    for (const r of this.rules.values()) {
      if (r.state !== 'ENABLED' || !r.eventPattern || !matchPattern(JSON.parse(r.eventPattern), event)) continue;
      for (const t of r.targets.values()) {
        const input = this.targetInput(r.name, t.Id!, event);
        const isSns = /^arn:[^:]+:sns:/.test(t.Arn ?? '');
        const isLogs = /^arn:[^:]+:logs:[^:]+:\d+:log-group:/.test(t.Arn ?? '');
        const delivered =
          isSns && !!sns
            ? sns.publishFromRule(t.Arn!, r.arn, input)
            : isLogs && !!logs
              ? logs.deliverFromRule(t.Arn!, r.arn, JSON.parse(input) as Record<string, unknown>)
              : false;
        out.push({ rule: r.name, targetId: t.Id!, arn: t.Arn ?? '', input, delivered });
      }
    }
    return out;
  }

  /** Per rule name: AWS/Events FailedInvocations and InvocationsFailedToBeSentToDlq, as counted so far. */
  readonly metrics = new Map<
    string,
    { invocations: number; failedInvocations: number; sentToDlq: number; failedToBeSentToDlq: number }
  >();

  /**
   * Test helper: the rule's schedule fires for `time` (ISO): each target is invoked as EventBridge does,
   * as the target's role. An ECS target runs RunTask (startedBy `events-rule/<rule>`); a state machine
   * target starts an execution. `throttled`: RunTask answers ThrottlingException on every attempt.
   *
   * What counts as a failed invocation (and goes to the target's DeadLetterConfig queue, with the message
   * attributes EventBridge writes: RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE, RETRY_ATTEMPTS and,
   * when the retry policy ran out, EXHAUSTED_RETRY_CONDITION; the body is the event):
   * - the call is refused: AccessDenied (the role lost ecs:RunTask or iam:PassRole, or cannot be
   *   assumed) or a missing cluster / task definition / state machine. EventBridge does not retry these
   *   (no permission, no resource): dead-lettered at once, RETRY_ATTEMPTS 0.
   * - throttling (and 5xx): retried per the target's RetryPolicy, then dead-lettered with
   *   EXHAUSTED_RETRY_CONDITION MaximumRetryAttempts.
   * - RunTask's failures[] (no Fargate capacity, no free IP): RunTask answered 200, so for EventBridge the
   *   invocation SUCCEEDED: no FailedInvocations, no dead letter (AWS documents no other behaviour, and
   *   users report these runs leave no trace: aws/containers-roadmap#1705). Modelled that way: returned
   *   as `failures`, nothing else happens.
   * The queue's policy must admit events.amazonaws.com for this rule (sqs fake `sendFromService`); when
   * it does not, the event is dropped and InvocationsFailedToBeSentToDlq counts it.
   */
  invokeScheduled(
    ruleName: string,
    time: string,
    opts: { throttled?: boolean } = {},
  ): {
    targetId: string;
    outcome: 'started' | 'failures' | 'dead-lettered' | 'dropped';
    taskArns?: string[];
    failures?: unknown[];
    errorCode?: string;
  }[] {
    const r = this.rules.get(ruleName);
    if (!r) throw new Error(`fake EventBridge: no rule ${ruleName}`);
    const m = this.metrics.get(ruleName) ?? {
      invocations: 0,
      failedInvocations: 0,
      sentToDlq: 0,
      failedToBeSentToDlq: 0,
    };
    this.metrics.set(ruleName, m);
    const event = {
      version: '0',
      id: this.core.newId('evt', 16),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: this.core.account,
      time,
      region: this.core.region,
      resources: [r.arn],
      detail: {},
    };
    const ecs = this.core.peers.get('ecs') as FakeEcs | undefined;
    const sfn = this.core.peers.get('sfn') as FakeSfn | undefined;
    const sqs = this.core.peers.get('sqs') as FakeSqs | undefined;
    const iam = this.core.peers.get('iam') as FakeIam | undefined;
    const out: ReturnType<FakeEventBridge['invokeScheduled']> = [];
    for (const t of r.targets.values()) {
      m.invocations += 1;
      const input = this.targetInput(r.name, t.Id!, event);
      let failure: { code: string; message: string; retried: boolean } | undefined;
      try {
        if (iam && !iam.isRolePropagated(t.RoleArn))
          awsError('AccessDeniedException', `Could not assume role ${t.RoleArn}`, 400);
        if (/^arn:[^:]+:states:/.test(t.Arn ?? '')) {
          sfn!.startFromTrigger(t.RoleArn, t.Arn!, input);
          out.push({ targetId: t.Id!, outcome: 'started' });
          continue;
        }
        const e = t.EcsParameters!;
        // The role must be allowed every authorisation the RunTask needs (tag-on-create included).
        const asks = ecs!.runTaskAuthorization({
          cluster: t.Arn,
          taskDefinition: e.TaskDefinitionArn,
          tags: e.Tags,
          propagateTags: e.PropagateTags,
          enableECSManagedTags: e.EnableECSManagedTags,
        });
        for (const a of iam ? asks : []) {
          if (!iam!.allows(t.RoleArn, a.action, a.resource, a.context)) {
            awsError(
              'AccessDeniedException',
              `User: ${t.RoleArn} is not authorized to perform: ${a.action} on resource: ${a.resource} ` +
                `because no identity-based policy allows the ${a.action} action`,
              400,
            );
          }
        }
        if (opts.throttled) awsError('ThrottlingException', 'Rate exceeded', 400);
        const res = ecs!.runTask(ecsTargetRequest(t.Arn, e, input, `events-rule/${r.name}`));
        if (res.failures.length) out.push({ targetId: t.Id!, outcome: 'failures', failures: res.failures });
        else
          out.push({
            targetId: t.Id!,
            outcome: 'started',
            taskArns: res.tasks.map((x: { taskArn: string }) => x.taskArn),
          });
        continue;
      } catch (err) {
        const name = (err as Error).name;
        const message = (err as Error).message;
        if (/AccessDenied/.test(name)) failure = { code: 'NO_PERMISSIONS', message, retried: false };
        else if (/Throttl/.test(name)) failure = { code: 'THROTTLING', message, retried: true };
        else if (/NotFound|DoesNotExist/.test(name)) failure = { code: 'RESOURCE_NOT_FOUND', message, retried: false };
        else failure = { code: 'SDK_CLIENT_ERROR', message: `${name}: ${message}`, retried: false };
      }
      m.failedInvocations += 1;
      const retries = failure.retried ? (t.RetryPolicy?.MaximumRetryAttempts ?? 185) : 0;
      const attrs: Record<string, { DataType: string; StringValue: string }> = {
        RULE_ARN: { DataType: 'String', StringValue: r.arn },
        TARGET_ARN: { DataType: 'String', StringValue: t.Arn ?? '' },
        ERROR_CODE: { DataType: 'String', StringValue: failure.code },
        ERROR_MESSAGE: { DataType: 'String', StringValue: failure.message },
        RETRY_ATTEMPTS: { DataType: 'String', StringValue: String(retries) },
        ...(failure.retried
          ? { EXHAUSTED_RETRY_CONDITION: { DataType: 'String', StringValue: 'MaximumRetryAttempts' } }
          : {}),
      };
      const sent =
        !!t.DeadLetterConfig?.Arn &&
        !!sqs &&
        sqs.sendFromService(t.DeadLetterConfig.Arn, 'events.amazonaws.com', r.arn, JSON.stringify(event), attrs);
      if (sent) m.sentToDlq += 1;
      else if (t.DeadLetterConfig?.Arn) m.failedToBeSentToDlq += 1;
      out.push({ targetId: t.Id!, outcome: sent ? 'dead-lettered' : 'dropped', errorCode: failure.code });
    }
    return out;
  }

  /** Rules and targets, with clusters, roles, task definitions, subnets and security groups as references. */
  inventory(): InventoryEntry[] {
    const out: InventoryEntry[] = [];
    const ref = (v: string | undefined) => this.core.ref(v);
    for (const r of this.rules.values()) {
      const key = r.tags['batchctl:logical'] ?? r.name;
      out.push({
        type: 'events.rule',
        key,
        settings: {
          name: r.name,
          scheduleExpression: r.scheduleExpression,
          eventPattern: r.eventPattern,
          state: r.state,
          description: r.description,
          tags: r.tags,
        },
      });
      for (const t of r.targets.values()) {
        const ecs = t.EcsParameters;
        const vpc = ecs?.NetworkConfiguration?.awsvpcConfiguration;
        out.push({
          type: 'events.target',
          key: `${key}/${t.Id}`,
          settings: {
            arn: ref(t.Arn),
            roleArn: ref(t.RoleArn),
            input: t.Input ? JSON.parse(t.Input) : undefined,
            retryPolicy: t.RetryPolicy,
            inputTransformer: t.InputTransformer && {
              InputPathsMap: t.InputTransformer.InputPathsMap,
              InputTemplate: t.InputTransformer.InputTemplate,
            },
            ...(t.DeadLetterConfig ? { deadLetterConfig: { Arn: ref(t.DeadLetterConfig.Arn) } } : {}),
            ecs: ecs && {
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
        });
      }
    }
    return out;
  }
}
