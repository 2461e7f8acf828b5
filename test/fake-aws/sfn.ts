/**
 * Step Functions: state machines (tagged, idempotent create, DELETING until their executions end), and
 * executions that really run the definition batchctl generates, on core.now() and timers (fake timers
 * drive them in tests): Task states with `arn:aws:states:::ecs:runTask.sync` (RunTask against the ECS
 * fake as the state machine's role, then waiting for the task to stop), TimeoutSeconds (the task is
 * stopped, States.Timeout), Retry with backoff (IntervalSeconds, BackoffRate, MaxDelaySeconds,
 * MaxAttempts), Catch (with `$states.errorOutput`), Choice, Wait, Succeed and Fail (Error and Cause may be
 * expressions); JSONata expressions are evaluated by the reference
 * implementation. The history is AWS's event list (TaskScheduled per attempt, TaskSubmitted with the
 * RunTask answer, TaskFailed with the task as its Cause...).
 *
 * What `.sync` does when the task stops, as AWS does it: success when every container exited 0, else
 * States.TaskFailed with the task (PascalCase, as DescribeTasks shows it) as the Cause; RunTask answering
 * with failures[] fails with AmazonECS.Unknown. `syncIgnoresExitCode` models the other reading (success
 * once STOPPED, whatever the code), so tests can show the definition is right either way.
 */
import {
  SFNClient,
  CreateStateMachineCommand,
  DescribeStateMachineCommand,
  UpdateStateMachineCommand,
  DeleteStateMachineCommand,
  ListStateMachinesCommand,
  TagResourceCommand,
  UntagResourceCommand,
  ListTagsForResourceCommand,
  StartExecutionCommand,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  StopExecutionCommand,
  ListExecutionsCommand,
} from '@aws-sdk/client-sfn';
import jsonata from 'jsonata';
import { randomUUID } from 'node:crypto';
import { awsError, type FakeAwsCore } from './core.js';
import type { InventoryEntry } from './index.js';
import type { FakeEcs } from './ecs.js';
import type { FakeIam } from './iam.js';

type Tags = Record<string, string>;

interface Machine {
  name: string;
  arn: string;
  roleArn: string;
  definition: string;
  type: 'STANDARD' | 'EXPRESS';
  status: 'ACTIVE' | 'DELETING';
  creationDate: number;
  tags: Tags;
  revision: number;
  /** When DeleteStateMachine was called. */
  deletingSince?: number;
}

/** One history event, in the SDK's shape (`<type>EventDetails` fields). */
export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: Date;
  type: string;
  [details: string]: unknown;
}

export interface Execution {
  arn: string;
  name: string;
  machineArn: string;
  machineName: string;
  /** The definition and role the execution started with (an update applies to later executions). */
  definition: string;
  roleArn: string;
  input: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  startDate: number;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
  events: HistoryEvent[];
  /** State transitions as AWS bills them: every state entered, and every retry. */
  transitions: number;
  /** The ECS task of the attempt in progress. */
  runningTask?: string;
  /** Ends the wait in progress early (the task was stopped, the execution aborted). */
  wake?: () => void;
}

type Outcome = { ok: true; output: unknown } | { ok: false; error: string; cause: string };

const sfnTags = (t: { key?: string; value?: string }[] | undefined): Tags =>
  Object.fromEntries((t ?? []).map((x) => [x.key ?? '', x.value ?? '']));
const sfnTagList = (t: Tags) => Object.entries(t).map(([key, value]) => ({ key, value }));

/** ECS's camelCase answer as Step Functions passes it on: PascalCase keys, times as epoch milliseconds. */
export function pascal(v: unknown): unknown {
  if (v instanceof Date) return v.getTime();
  if (Array.isArray(v)) return v.map(pascal);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .map(([k, x]) => [k.charAt(0).toUpperCase() + k.slice(1), pascal(x)]),
    );
  }
  return v;
}

/** Step Functions' PascalCase parameters as the ECS API takes them. */
function camel(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(camel);
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.charAt(0).toLowerCase() + k.slice(1), camel(x)]));
  return v;
}

const NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/;
/** setTimeout's longest delay; longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class FakeSfn {
  readonly machines = new Map<string, Machine>();
  readonly executions = new Map<string, Execution>();
  /** `.sync` treats a STOPPED task as done whatever its exit code (see the file comment). */
  syncIgnoresExitCode = false;
  /** How long a deleted state machine stays DELETING once no execution of it runs (deletion is asynchronous). */
  deletingMs = 0;

  constructor(readonly core: FakeAwsCore) {
    core.peers.set('sfn', this);
    const prefix = `arn:${core.partition}:states:${core.region}:${core.account}`;
    const machine = (arn: string | undefined): Machine => {
      this.sweep();
      const m = this.machines.get(arn ?? '');
      return m ?? awsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`, 400);
    };
    const execution = (arn: string | undefined): Execution =>
      this.executions.get(arn ?? '') ?? awsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`, 400);
    const checkRole = (roleArn: string) => {
      const iam = core.peers.get('iam') as FakeIam | undefined;
      const role = iam?.roleByArn(roleArn);
      // Step Functions assumes the role to validate it: a role IAM has not propagated yet, or one that does
      // not trust states.amazonaws.com, is refused alike.
      if (iam && (!role || !iam.isRolePropagated(roleArn) || !role.trust.includes('states.amazonaws.com'))) {
        awsError(
          'AccessDeniedException',
          'Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume the provided role.',
          400,
        );
      }
    };
    const machineOut = (m: Machine) => ({
      stateMachineArn: m.arn,
      name: m.name,
      status: m.status,
      definition: m.definition,
      roleArn: m.roleArn,
      type: m.type,
      creationDate: new Date(m.creationDate),
      loggingConfiguration: { level: 'OFF', includeExecutionData: false },
      tracingConfiguration: { enabled: false },
      revisionId: String(m.revision),
    });

    core.register({
      name: 'sfn',
      client: SFNClient,
      ops: {
        CreateStateMachine: {
          command: CreateStateMachineCommand,
          handle: (i) => {
            this.sweep();
            if (!NAME.test(i.name ?? '')) awsError('InvalidName', `Invalid Name: '${i.name}'`, 400);
            validateDefinition(i.definition);
            const arn = `${prefix}:stateMachine:${i.name}`;
            const type = i.type ?? 'STANDARD';
            const existing = this.machines.get(arn);
            if (existing) {
              if (existing.status === 'DELETING')
                awsError('StateMachineDeleting', `State Machine is being deleted: '${arn}'`, 400);
              // Idempotent on name, definition and type: the same call again returns the same state
              // machine, and differences in roleArn or tags are ignored (not applied).
              if (existing.definition === i.definition && existing.type === type)
                return { stateMachineArn: arn, creationDate: new Date(existing.creationDate) };
              awsError('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`, 400);
            }
            checkRole(i.roleArn);
            const m: Machine = {
              name: i.name,
              arn,
              roleArn: i.roleArn,
              definition: i.definition,
              type,
              status: 'ACTIVE',
              creationDate: core.now(),
              tags: sfnTags(i.tags),
              revision: 1,
            };
            this.machines.set(arn, m);
            core.label(arn, m.tags['batchctl:logical'] ?? m.name);
            return { stateMachineArn: arn, creationDate: new Date(m.creationDate) };
          },
        },
        DescribeStateMachine: {
          command: DescribeStateMachineCommand,
          handle: (i) => machineOut(machine(i.stateMachineArn)),
        },
        UpdateStateMachine: {
          command: UpdateStateMachineCommand,
          handle: (i) => {
            const m = machine(i.stateMachineArn);
            if (m.status === 'DELETING')
              awsError('StateMachineDeleting', `State Machine is being deleted: '${m.arn}'`, 400);
            if (i.definition === undefined && i.roleArn === undefined && i.loggingConfiguration === undefined) {
              awsError(
                'MissingRequiredParameter',
                'Either the definition, the roleArn, the loggingConfiguration or the tracingConfiguration must be specified',
                400,
              );
            }
            if (i.definition !== undefined) validateDefinition(i.definition);
            if (i.roleArn !== undefined) checkRole(i.roleArn);
            if (i.definition !== undefined) m.definition = i.definition;
            if (i.roleArn !== undefined) m.roleArn = i.roleArn;
            m.revision += 1;
            return { updateDate: new Date(core.now()), revisionId: String(m.revision) };
          },
        },
        DeleteStateMachine: {
          command: DeleteStateMachineCommand,
          handle: (i) => {
            const m = machine(i.stateMachineArn);
            // Asynchronous: DELETING until every execution has ended; running ones end at their next transition.
            if (m.status !== 'DELETING') m.deletingSince = core.now();
            m.status = 'DELETING';
            this.sweep();
            return {};
          },
        },
        ListStateMachines: {
          command: ListStateMachinesCommand,
          handle: (i) => {
            this.sweep();
            const all = [...this.machines.values()].sort((a, b) => a.name.localeCompare(b.name));
            const start = Number(i.nextToken ?? 0);
            const max = i.maxResults || 100;
            return {
              stateMachines: all.slice(start, start + max).map((m) => ({
                stateMachineArn: m.arn,
                name: m.name,
                type: m.type,
                creationDate: new Date(m.creationDate),
              })),
              nextToken: start + max < all.length ? String(start + max) : undefined,
            };
          },
        },
        TagResource: {
          command: TagResourceCommand,
          handle: (i) => {
            const m =
              this.machines.get(i.resourceArn) ??
              awsError('ResourceNotFound', `Resource not found: '${i.resourceArn}'`, 400);
            Object.assign(m.tags, sfnTags(i.tags));
            return {};
          },
        },
        UntagResource: {
          command: UntagResourceCommand,
          handle: (i) => {
            const m =
              this.machines.get(i.resourceArn) ??
              awsError('ResourceNotFound', `Resource not found: '${i.resourceArn}'`, 400);
            for (const k of i.tagKeys ?? []) delete m.tags[k];
            return {};
          },
        },
        ListTagsForResource: {
          command: ListTagsForResourceCommand,
          handle: (i) => {
            this.sweep();
            const m =
              this.machines.get(i.resourceArn) ??
              awsError('ResourceNotFound', `Resource not found: '${i.resourceArn}'`, 400);
            return { tags: sfnTagList(m.tags) };
          },
        },
        StartExecution: {
          command: StartExecutionCommand,
          handle: (i) => {
            const x = this.start(machine(i.stateMachineArn), i.name, i.input);
            return { executionArn: x.arn, startDate: new Date(x.startDate) };
          },
        },
        DescribeExecution: {
          command: DescribeExecutionCommand,
          handle: (i) => {
            const x = execution(i.executionArn);
            return {
              executionArn: x.arn,
              stateMachineArn: x.machineArn,
              name: x.name,
              status: x.status,
              startDate: new Date(x.startDate),
              stopDate: x.stopDate === undefined ? undefined : new Date(x.stopDate),
              input: x.input,
              output: x.output,
              error: x.error,
              cause: x.cause,
            };
          },
        },
        GetExecutionHistory: {
          command: GetExecutionHistoryCommand,
          handle: (i) => {
            const x = execution(i.executionArn);
            const all = i.reverseOrder ? [...x.events].reverse() : x.events;
            const start = Number(i.nextToken ?? 0);
            const max = Math.min(i.maxResults || 100, 1000);
            return {
              events: all.slice(start, start + max),
              nextToken: start + max < all.length ? String(start + max) : undefined,
            };
          },
        },
        StopExecution: {
          command: StopExecutionCommand,
          handle: (i) => {
            const x = execution(i.executionArn);
            if (x.status === 'RUNNING') this.abort(x, i.error ?? '', i.cause ?? '');
            return { stopDate: new Date(x.stopDate ?? core.now()) };
          },
        },
        ListExecutions: {
          command: ListExecutionsCommand,
          handle: (i) => {
            const m = machine(i.stateMachineArn);
            const all = [...this.executions.values()]
              .filter((x) => x.machineArn === m.arn && (!i.statusFilter || x.status === i.statusFilter))
              .sort((a, b) => b.startDate - a.startDate || b.arn.localeCompare(a.arn));
            const start = Number(i.nextToken ?? 0);
            const max = i.maxResults || 100;
            return {
              executions: all.slice(start, start + max).map((x) => ({
                executionArn: x.arn,
                stateMachineArn: x.machineArn,
                name: x.name,
                status: x.status,
                startDate: new Date(x.startDate),
                stopDate: x.stopDate === undefined ? undefined : new Date(x.stopDate),
              })),
              nextToken: start + max < all.length ? String(start + max) : undefined,
            };
          },
        },
      },
    });

    // `.sync` learns from ECS's events that a task stopped: wake the execution waiting for it.
    const ecs = core.peers.get('ecs') as FakeEcs | undefined;
    ecs?.stopListeners.push((taskArn) => {
      for (const x of this.executions.values()) if (x.runningTask === taskArn) x.wake?.();
    });
  }

  private ecs(): FakeEcs {
    return this.core.peers.get('ecs') as FakeEcs;
  }

  private iam(): FakeIam | undefined {
    return this.core.peers.get('iam') as FakeIam | undefined;
  }

  /** State machines whose deletion has completed (no execution still running) leave. */
  private sweep(): void {
    for (const m of this.machines.values()) {
      if (m.status !== 'DELETING' || this.core.now() < (m.deletingSince ?? 0) + this.deletingMs) continue;
      if (![...this.executions.values()].some((x) => x.machineArn === m.arn && x.status === 'RUNNING'))
        this.machines.delete(m.arn);
    }
  }

  /**
   * Start an execution (StartExecution's rules: a name is unique per state machine for 90 days; the same
   * name and input as a running execution return it). Also what EventBridge and Scheduler do for a
   * target that is a state machine (`startFromTrigger`).
   */
  start(m: Machine, name: string | undefined, input: string | undefined): Execution {
    if (m.status === 'DELETING') awsError('StateMachineDeleting', `State Machine is being deleted: '${m.arn}'`, 400);
    const execName = name ?? randomUUID();
    if (!NAME.test(execName)) awsError('InvalidName', `Invalid Name: '${execName}'`, 400);
    const text = input ?? '{}';
    try {
      JSON.parse(text);
    } catch {
      awsError('InvalidExecutionInput', 'Invalid execution input: not JSON', 400);
    }
    const arn = `arn:${this.core.partition}:states:${this.core.region}:${this.core.account}:execution:${m.name}:${execName}`;
    const existing = this.executions.get(arn);
    if (existing) {
      if (existing.status === 'RUNNING' && existing.input === text) return existing;
      awsError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`, 400);
    }
    const x: Execution = {
      arn,
      name: execName,
      machineArn: m.arn,
      machineName: m.name,
      definition: m.definition,
      roleArn: m.roleArn,
      input: text,
      status: 'RUNNING',
      startDate: this.core.now(),
      events: [],
      transitions: 0,
    };
    this.executions.set(arn, x);
    this.emit(x, 'ExecutionStarted', { executionStartedEventDetails: { input: text, roleArn: m.roleArn } });
    void this.run(x).catch((err: unknown) =>
      this.finish(x, 'FAILED', { error: 'States.Runtime', cause: `fake Step Functions: ${(err as Error).message}` }),
    );
    return x;
  }

  /**
   * What EventBridge or Scheduler does for a target that is a state machine: StartExecution as the
   * target's role. Throws (AccessDenied) when the role may not start it; returns the execution.
   */
  startFromTrigger(roleArn: string | undefined, stateMachineArn: string, input: string): Execution {
    const iam = this.iam();
    if (iam && !iam.allows(roleArn, 'states:StartExecution', stateMachineArn)) {
      awsError(
        'AccessDeniedException',
        `${roleArn} is not authorized to perform: states:StartExecution on resource: ${stateMachineArn}`,
        400,
      );
    }
    const m =
      this.machines.get(stateMachineArn) ??
      awsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`, 400);
    return this.start(m, undefined, input);
  }

  private emit(x: Execution, type: string, details: Record<string, unknown> = {}): void {
    const id = x.events.length + 1;
    x.events.push({ id, previousEventId: id - 1, timestamp: new Date(this.core.now()), type, ...details });
  }

  private finish(
    x: Execution,
    status: Execution['status'],
    r: { output?: unknown; error?: string; cause?: string },
  ): void {
    if (x.status !== 'RUNNING') return;
    x.status = status;
    x.stopDate = this.core.now();
    x.runningTask = undefined;
    if (status === 'SUCCEEDED') {
      x.output = JSON.stringify(r.output ?? {});
      this.emit(x, 'ExecutionSucceeded', { executionSucceededEventDetails: { output: x.output } });
    } else {
      x.error = r.error;
      x.cause = r.cause;
      const type =
        status === 'FAILED' ? 'ExecutionFailed' : status === 'ABORTED' ? 'ExecutionAborted' : 'ExecutionTimedOut';
      const key =
        status === 'FAILED'
          ? 'executionFailedEventDetails'
          : status === 'ABORTED'
            ? 'executionAbortedEventDetails'
            : 'executionTimedOutEventDetails';
      this.emit(x, type, { [key]: { error: r.error, cause: r.cause } });
    }
    this.sweep();
  }

  private abort(x: Execution, error: string, cause: string): void {
    const task = x.runningTask;
    this.finish(x, 'ABORTED', { error, cause });
    // Stopping an execution stops the `.sync` task it waits for (best effort: the role must be allowed to).
    if (task && this.iam()?.allows(x.roleArn, 'ecs:StopTask', task) !== false)
      this.ecs().stopTask(task, 'Execution was stopped');
    x.wake?.();
  }

  /** Sleep until `at` (core time), or until woken. Fake timers drive it in tests. */
  private sleepUntil(x: Execution, at: number): Promise<void> {
    return new Promise((resolve) => {
      const ms = Math.min(Math.max(0, at - this.core.now()), MAX_TIMER_MS);
      const done = () => {
        clearTimeout(timer);
        if (x.wake === done) x.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      (timer as { unref?: () => void }).unref?.();
      x.wake = done;
    });
  }

  /**
   * True when the execution must stop here: aborted, or its state machine is being deleted (ends it at a transition).
   */
  private halted(x: Execution): boolean {
    if (x.status !== 'RUNNING') return true;
    if (this.machines.get(x.machineArn)?.status === 'DELETING') {
      this.finish(x, 'ABORTED', { error: 'States.Runtime', cause: 'The state machine was deleted' });
      return true;
    }
    return false;
  }

  /** Run the definition from StartAt until an end. */
  private async run(x: Execution): Promise<void> {
    const def = JSON.parse(x.definition) as {
      StartAt: string;
      States: Record<string, any>;
      QueryLanguage?: string;
      TimeoutSeconds?: number;
    };
    let name = def.StartAt;
    let input: unknown = JSON.parse(x.input);
    for (;;) {
      if (this.halted(x)) return;
      const st = def.States[name];
      if (!st) throw new Error(`no state ${name}`);
      x.transitions += 1;
      const enteredAt = this.core.now();
      const state = { Name: name, EnteredTime: new Date(enteredAt).toISOString(), RetryCount: 0 };
      switch (st.Type) {
        case 'Task': {
          this.emit(x, 'TaskStateEntered', { stateEnteredEventDetails: { name, input: JSON.stringify(input) } });
          const retriers = ((st.Retry ?? []) as Retrier[]).map((r) => ({ ...r, used: 0 }));
          let outcome: Outcome;
          for (;;) {
            outcome = await this.attempt(x, st, input, state);
            if (this.halted(x)) return;
            if (outcome.ok) break;
            const r = retriers.find((rt) => errorMatches(rt.ErrorEquals, outcome.ok ? '' : outcome.error));
            if (!r || r.used >= (r.MaxAttempts ?? 3)) break;
            const delay = Math.min(
              (r.IntervalSeconds ?? 1) * (r.BackoffRate ?? 2) ** r.used,
              r.MaxDelaySeconds ?? Number.POSITIVE_INFINITY,
            );
            r.used += 1;
            state.RetryCount += 1;
            await this.sleepUntil(x, this.core.now() + delay * 1000);
            if (this.halted(x)) return;
            // A retry is a state transition, as AWS bills it.
            x.transitions += 1;
          }
          if (!outcome.ok) {
            // A Catch whose ErrorEquals matches goes on at its Next with the error output as the state's
            // output (or its Output, evaluated with $states.errorOutput); none: the execution fails.
            const failed = outcome;
            const catcher = ((st.Catch ?? []) as { ErrorEquals: string[]; Next: string; Output?: unknown }[]).find(
              (c) => errorMatches(c.ErrorEquals, failed.error),
            );
            if (!catcher) return this.finish(x, 'FAILED', { error: failed.error, cause: failed.cause });
            const errorOutput = { Error: failed.error, Cause: failed.cause };
            input =
              catcher.Output === undefined
                ? errorOutput
                : await evaluateTemplate(catcher.Output, input, this.context(x, state), errorOutput);
            this.emit(x, 'TaskStateExited', { stateExitedEventDetails: { name, output: JSON.stringify(input) } });
            name = catcher.Next;
            break;
          }
          this.emit(x, 'TaskStateExited', {
            stateExitedEventDetails: { name, output: JSON.stringify(outcome.output) },
          });
          input = outcome.output;
          if (st.End) return this.finish(x, 'SUCCEEDED', { output: input });
          name = st.Next;
          break;
        }
        case 'Choice': {
          this.emit(x, 'ChoiceStateEntered', { stateEnteredEventDetails: { name, input: JSON.stringify(input) } });
          let next: string | undefined;
          for (const c of st.Choices as { Condition: string; Next: string }[]) {
            if ((await evaluate(c.Condition, input, this.context(x, state))) === true) {
              next = c.Next;
              break;
            }
          }
          next ??= st.Default;
          if (!next)
            return this.finish(x, 'FAILED', { error: 'States.NoChoiceMatched', cause: `No Matches! (state ${name})` });
          this.emit(x, 'ChoiceStateExited', { stateExitedEventDetails: { name, output: JSON.stringify(input) } });
          name = next;
          break;
        }
        case 'Succeed':
          this.emit(x, 'SucceedStateEntered', { stateEnteredEventDetails: { name, input: JSON.stringify(input) } });
          this.emit(x, 'SucceedStateExited', { stateExitedEventDetails: { name, output: JSON.stringify(input) } });
          return this.finish(x, 'SUCCEEDED', { output: input });
        case 'Wait': {
          // Seconds only (the definitions batchctl writes); a JSONata expression is evaluated.
          this.emit(x, 'WaitStateEntered', { stateEnteredEventDetails: { name, input: JSON.stringify(input) } });
          const seconds = Number(await evaluate(st.Seconds, input, this.context(x, state)));
          await this.sleepUntil(x, this.core.now() + seconds * 1000);
          if (this.halted(x)) return;
          this.emit(x, 'WaitStateExited', { stateExitedEventDetails: { name, output: JSON.stringify(input) } });
          name = st.Next;
          break;
        }
        case 'Fail': {
          this.emit(x, 'FailStateEntered', { stateEnteredEventDetails: { name, input: JSON.stringify(input) } });
          // Error and Cause may be JSONata expressions (a Fail that re-raises what a Catch caught).
          const error = await evaluate(st.Error, input, this.context(x, state));
          const cause = await evaluate(st.Cause, input, this.context(x, state));
          return this.finish(x, 'FAILED', {
            error: error === undefined ? undefined : String(error),
            cause: cause === undefined ? undefined : String(cause),
          });
        }
        default:
          throw new Error(`state type ${st.Type} is not modelled`);
      }
    }
  }

  /** The context object ($states.context) of a state. */
  private context(x: Execution, state: { Name: string; EnteredTime: string; RetryCount: number }) {
    return {
      Execution: {
        Id: x.arn,
        Name: x.name,
        Input: JSON.parse(x.input),
        StartTime: new Date(x.startDate).toISOString(),
        RoleArn: x.roleArn,
      },
      State: state,
      StateMachine: { Id: x.machineArn, Name: x.machineName },
    };
  }

  /** One attempt of a `ecs:runTask.sync` Task state: RunTask as the role, then wait for a stop or the timeout. */
  private async attempt(
    x: Execution,
    st: Record<string, any>,
    input: unknown,
    state: { Name: string; EnteredTime: string; RetryCount: number },
  ): Promise<Outcome> {
    const resource = String(st.Resource ?? '');
    if (!/^arn:[^:]+:states:::ecs:runTask\.sync$/.test(resource))
      throw new Error(`resource ${resource} is not modelled`);
    const meta = { resourceType: 'ecs', resource: 'runTask.sync' };
    const fail = (error: string, cause: string): Outcome => {
      this.emit(x, 'TaskFailed', { taskFailedEventDetails: { ...meta, error, cause } });
      return { ok: false, error, cause };
    };
    let args: Record<string, any>;
    try {
      args = (await evaluateTemplate(st.Arguments ?? {}, input, this.context(x, state))) as Record<string, any>;
    } catch (err) {
      this.emit(x, 'TaskScheduled', {
        taskScheduledEventDetails: { ...meta, region: this.core.region, parameters: '{}' },
      });
      return fail('States.QueryEvaluationError', (err as Error).message);
    }
    const attemptAt = this.core.now();
    this.emit(x, 'TaskScheduled', {
      taskScheduledEventDetails: {
        ...meta,
        region: this.core.region,
        parameters: JSON.stringify(args),
        ...(st.TimeoutSeconds ? { timeoutInSeconds: st.TimeoutSeconds } : {}),
      },
    });
    this.emit(x, 'TaskStarted', { taskStartedEventDetails: meta });

    const ecs = this.ecs();
    const iam = this.iam();
    const denied = (action: string, res: string) =>
      fail(
        'ECS.AccessDeniedException',
        `User: ${x.roleArn} is not authorized to perform: ${action} on resource: ${res} because no identity-based policy allows the ${action} action`,
      );
    const tdArn = ecs.revisionArn(String(args.TaskDefinition ?? ''));
    if (iam) {
      const rule = `arn:${this.core.partition}:events:${this.core.region}:${this.core.account}:rule/StepFunctionsGetEventsForECSTaskRule`;
      for (const a of ['events:PutTargets', 'events:PutRule', 'events:DescribeRule']) {
        if (!iam.allows(x.roleArn, a, rule))
          return fail('States.TaskFailed', `'${x.roleArn}' is not authorized to create managed-rule.`);
      }
      const asks = ecs.runTaskAuthorization({
        cluster: String(args.Cluster ?? ''),
        taskDefinition: String(args.TaskDefinition ?? ''),
        tags: args.Tags,
        propagateTags: args.PropagateTags,
        enableECSManagedTags: args.EnableECSManagedTags,
      });
      for (const a of tdArn ? asks : []) {
        if (!iam.allows(x.roleArn, a.action, a.resource, a.context)) return denied(a.action, a.resource);
      }
    }
    let out: ReturnType<FakeEcs['runTask']>;
    try {
      out = ecs.runTask({ ...(camel(args) as Record<string, unknown>), startedBy: 'AWS Step Functions' });
    } catch (err) {
      return fail(`ECS.${(err as Error).name}`, (err as Error).message);
    }
    // RunTask's failures[] (no capacity, no ENI): the task is failed with AmazonECS.Unknown.
    if (out.failures.length || !out.tasks.length) return fail('AmazonECS.Unknown', JSON.stringify(pascal(out)));
    const taskArn: string = out.tasks[0].taskArn;
    this.emit(x, 'TaskSubmitted', { taskSubmittedEventDetails: { ...meta, output: JSON.stringify(pascal(out)) } });
    x.runningTask = taskArn;
    const deadline = st.TimeoutSeconds ? attemptAt + st.TimeoutSeconds * 1000 : Number.POSITIVE_INFINITY;
    try {
      for (;;) {
        const stopAt = ecs.stopTimeOf(taskArn) ?? this.core.now();
        await this.sleepUntil(x, Math.min(stopAt, deadline));
        if (x.status !== 'RUNNING') return { ok: false, error: x.error ?? '', cause: x.cause ?? '' };
        const now = this.core.now();
        const stoppedAt = ecs.stopTimeOf(taskArn) ?? now;
        if (now >= deadline && stoppedAt > deadline) {
          // The Task state timed out: Step Functions stops the task (as the state machine's role).
          this.emit(x, 'TaskTimedOut', {
            taskTimedOutEventDetails: {
              ...meta,
              error: 'States.Timeout',
              cause: `The task ran longer than ${st.TimeoutSeconds} seconds`,
            },
          });
          if (!iam || iam.allows(x.roleArn, 'ecs:StopTask', taskArn))
            ecs.stopTask(taskArn, `Step Functions: the state ${state.Name} timed out (States.Timeout)`);
          return { ok: false, error: 'States.Timeout', cause: `The task ran longer than ${st.TimeoutSeconds} seconds` };
        }
        if (now < stoppedAt) continue;
        const task = pascal(ecs.describeTask(taskArn)) as { Containers?: { ExitCode?: number }[] };
        const exited0 = (task.Containers ?? []).length > 0 && (task.Containers ?? []).every((c) => c.ExitCode === 0);
        if (exited0 || this.syncIgnoresExitCode) {
          this.emit(x, 'TaskSucceeded', { taskSucceededEventDetails: { ...meta, output: JSON.stringify(task) } });
          return { ok: true, output: task };
        }
        return fail('States.TaskFailed', JSON.stringify(task));
      }
    } finally {
      if (x.runningTask === taskArn) x.runningTask = undefined;
    }
  }

  /** Test helper: an execution by ARN. */
  execution(arn: string): Execution | undefined {
    return this.executions.get(arn);
  }

  /** State machines (ACTIVE), their roles and definitions with the stack's ARNs as references. */
  inventory(): InventoryEntry[] {
    this.sweep();
    const ref = (v: unknown): unknown => {
      if (typeof v === 'string') return this.core.ref(v);
      if (Array.isArray(v)) return v.map(ref);
      if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, ref(x)]));
      return v;
    };
    return [...this.machines.values()]
      .filter((m) => m.status === 'ACTIVE')
      .map((m) => ({
        type: 'states.state-machine',
        key: m.tags['batchctl:logical'] ?? m.name,
        settings: {
          name: m.name,
          type: m.type,
          roleArn: this.core.ref(m.roleArn),
          definition: ref(JSON.parse(m.definition)),
          tags: m.tags,
        },
      }));
  }
}

interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
}

/**
 * A retrier's or catcher's match: the name itself, States.ALL for any error, and States.TaskFailed for any
 * error except States.Timeout (AWS: "matches any known error name except for States.Timeout").
 */
export function errorMatches(list: string[], error: string): boolean {
  return list.some(
    (e) => e === error || e === 'States.ALL' || (e === 'States.TaskFailed' && error !== 'States.Timeout'),
  );
}

/** `{% expr %}`: a JSONata expression; anything else is a literal. */
const EXPR = /^\{%([\s\S]*)%\}$/;

async function evaluate(text: unknown, input: unknown, context: unknown, errorOutput?: unknown): Promise<unknown> {
  if (typeof text !== 'string') return text;
  const m = EXPR.exec(text.trim());
  if (!m) return text;
  return jsonata(m[1]!).evaluate(
    {},
    { states: { input, context, ...(errorOutput !== undefined ? { errorOutput } : {}) } },
  );
}

/** An Arguments template with its JSONata expressions evaluated (an expression giving nothing drops the field). */
async function evaluateTemplate(v: unknown, input: unknown, context: unknown, errorOutput?: unknown): Promise<unknown> {
  if (typeof v === 'string') return evaluate(v, input, context, errorOutput);
  if (Array.isArray(v)) return Promise.all(v.map((x) => evaluateTemplate(x, input, context, errorOutput)));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const r = await evaluateTemplate(x, input, context, errorOutput);
      if (r !== undefined) out[k] = r;
    }
    return out;
  }
  return v;
}

/**
 * What CreateStateMachine validates: JSON, StartAt and every Next/Default naming a state, a JSONata
 * definition using Arguments (not the JSONPath fields), and every JSONata expression parsing.
 */
function validateDefinition(text: string | undefined): void {
  const bad = (why: string): never => awsError('InvalidDefinition', `Invalid State Machine Definition: '${why}'`, 400);
  let def: { StartAt?: string; States?: Record<string, any>; QueryLanguage?: string };
  try {
    def = JSON.parse(text ?? '');
  } catch {
    return bad('INVALID_JSON_DESCRIPTION');
  }
  const states = def.States ?? bad('MISSING_STATES');
  if (!def.StartAt || !states[def.StartAt])
    bad(`MISSING_TRANSITION_TARGET: Missing 'Next' target: ${def.StartAt} at /StartAt`);
  for (const [name, st] of Object.entries(states)) {
    for (const next of [
      st.Next,
      st.Default,
      ...((st.Choices ?? []) as { Next: string }[]).map((c) => c.Next),
      ...((st.Catch ?? []) as { Next: string }[]).map((c) => c.Next),
    ]) {
      if (next !== undefined && !states[next])
        bad(`MISSING_TRANSITION_TARGET: Missing 'Next' target: ${next} at /States/${name}`);
    }
    if (def.QueryLanguage === 'JSONata') {
      for (const f of ['Parameters', 'InputPath', 'OutputPath', 'ResultPath', 'ResultSelector']) {
        if (f in st)
          bad(
            `SCHEMA_VALIDATION_FAILED: The field '${f}' is not supported when QueryLanguage is JSONata at /States/${name}`,
          );
      }
    }
    const walk = (v: unknown): void => {
      if (typeof v === 'string') {
        const m = EXPR.exec(v.trim());
        if (m) {
          try {
            jsonata(m[1]!);
          } catch (err) {
            bad(`SCHEMA_VALIDATION_FAILED: invalid JSONata expression at /States/${name}: ${(err as Error).message}`);
          }
        }
      } else if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk(st);
  }
}
