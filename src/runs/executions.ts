/**
 * Reading a job's runs from its state machine's executions: each attempt of the Run task state (a
 * retry schedules the task again), its task, and how it and the execution ended. Shared by `run-now`
 * (which follows an execution) and `status` (which shows the last runs with their attempt counts).
 */
import { GetExecutionHistoryCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';
import { explainFailure } from './task-run.js';

/** One attempt as the history shows it: its task once submitted, and how it ended once it did. */
export interface AttemptEvents {
  attempt: number;
  scheduledAt?: Date;
  taskArn?: string;
  /** TaskSucceeded, TaskFailed or TaskTimedOut. */
  end?: { type: string; error?: string; cause?: string; output?: string };
}

/** The attempts of the Run task state, in order: each TaskScheduled starts one (a retry schedules the task again). */
export function attemptsOf(events: HistoryEvent[]): AttemptEvents[] {
  const out: AttemptEvents[] = [];
  for (const e of events) {
    const cur = out.at(-1);
    switch (e.type) {
      case 'TaskScheduled':
        out.push({ attempt: out.length + 1, scheduledAt: e.timestamp });
        break;
      case 'TaskSubmitted': {
        if (!cur) break;
        try {
          const o = JSON.parse(e.taskSubmittedEventDetails?.output ?? '{}') as { Tasks?: { TaskArn?: string }[] };
          cur.taskArn = o.Tasks?.[0]?.TaskArn;
        } catch {
          // Not JSON: the attempt's task stays unknown.
        }
        break;
      }
      case 'TaskSucceeded':
        if (cur) cur.end = { type: e.type, output: e.taskSucceededEventDetails?.output };
        break;
      case 'TaskFailed':
        if (cur)
          cur.end = { type: e.type, error: e.taskFailedEventDetails?.error, cause: e.taskFailedEventDetails?.cause };
        break;
      case 'TaskTimedOut':
        if (cur)
          cur.end = {
            type: e.type,
            error: e.taskTimedOutEventDetails?.error ?? 'States.Timeout',
            cause: e.taskTimedOutEventDetails?.cause,
          };
        break;
    }
  }
  return out;
}

/** How an execution ended, from its history; undefined while it runs. */
export function executionEnd(events: HistoryEvent[]): { status: string; error?: string; cause?: string } | undefined {
  for (const e of [...events].reverse()) {
    switch (e.type) {
      case 'ExecutionSucceeded':
        return { status: 'SUCCEEDED' };
      case 'ExecutionFailed':
        return {
          status: 'FAILED',
          error: e.executionFailedEventDetails?.error,
          cause: e.executionFailedEventDetails?.cause,
        };
      case 'ExecutionTimedOut':
        return {
          status: 'TIMED_OUT',
          error: e.executionTimedOutEventDetails?.error,
          cause: e.executionTimedOutEventDetails?.cause,
        };
      case 'ExecutionAborted':
        return {
          status: 'ABORTED',
          error: e.executionAbortedEventDetails?.error,
          cause: e.executionAbortedEventDetails?.cause,
        };
    }
  }
  return undefined;
}

/** Every event of an execution, oldest first. */
export async function executionHistory(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const out = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken, includeExecutionData: true }),
    );
    events.push(...(out.events ?? []));
    nextToken = out.nextToken;
  } while (nextToken);
  return events;
}

/**
 * The task an ended attempt reports (TaskSucceeded's output, TaskFailed's Cause): DescribeTasks' task, in PascalCase.
 */
export interface AttemptTask {
  TaskArn?: string;
  LastStatus?: string;
  StartedBy?: string;
  CreatedAt?: number;
  StartedAt?: number;
  StoppedAt?: number;
  PullStartedAt?: number;
  StopCode?: string;
  StoppedReason?: string;
  Containers?: { Name?: string; ExitCode?: number; Reason?: string }[];
}

/** The task of an ended attempt, from its history; undefined when none started or the text is not a task. */
export function attemptTask(a: AttemptEvents): AttemptTask | undefined {
  const text = a.end?.type === 'TaskSucceeded' ? a.end.output : a.end?.type === 'TaskFailed' ? a.end.cause : undefined;
  if (!text) return undefined;
  try {
    const t = JSON.parse(text) as AttemptTask;
    return t && typeof t === 'object' && t.TaskArn ? t : undefined;
  } catch {
    return undefined;
  }
}

/** The input an execution started with (its first event's), parsed; undefined when the history does not have it. */
export function executionInputOf(events: HistoryEvent[]): unknown {
  const text = events.find((e) => e.type === 'ExecutionStarted')?.executionStartedEventDetails?.input;
  try {
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** What a failed attempt's Step Functions error means when no task says it. */
export function reasonOf(end: AttemptEvents['end']): string | undefined {
  if (!end || end.type === 'TaskSucceeded') return undefined;
  if (end.type === 'TaskTimedOut') return end.cause ?? 'the attempt timed out';
  if (end.error === 'AmazonECS.Unknown') {
    // RunTask answered with failures[] (the RunTask response is the Cause).
    try {
      const o = JSON.parse(end.cause ?? '{}') as { Failures?: { Reason?: string; Detail?: string; Arn?: string }[] };
      const f = o.Failures?.map((x) => explainFailure({ reason: x.Reason, detail: x.Detail, arn: x.Arn })).join('; ');
      if (f) return `no task started: ${f}`;
    } catch {
      // Fall through to the raw error.
    }
  }
  if (end.error === 'States.TaskFailed') return undefined;
  return [end.error, end.cause].filter(Boolean).join(': ');
}
