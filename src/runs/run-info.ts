/** A job's runs as `status` and `history` show them: one task (or state-machine execution) each. */

/** One task of the family. Times are ISO strings; durations in seconds. */
export interface RunInfo {
  /** The job whose family the task ran. */
  job: string;
  taskArn: string;
  /** The first 8 characters of the task id, enough to tell runs apart (and to pass to `logs --task`). */
  shortId: string;
  /**
   * `schedule` when an EventBridge rule (startedBy `events-rule/<rule>`) or EventBridge Scheduler
   * (`batchctl-schedule/<schedule>`, `chronos-schedule/<schedule>` from earlier batchctl) started it,
   * `run-now`, else `manual` (console, CLI...).
   */
  trigger: 'schedule' | 'run-now' | 'manual';
  startedBy?: string;
  createdAt?: string;
  startedAt?: string;
  stoppedAt?: string;
  /** From container start to stop (to now while running); undefined when the container never started. */
  durationSeconds?: number;
  /**
   * What Fargate bills: from the start of the image pull to the stop (AWS bills from pull start, rounded
   * up to the second), undefined until stopped.
   */
  billedSeconds?: number;
  lastStatus: string;
  exitCode?: number;
  stopCode?: string;
  stoppedReason?: string;
  /**
   * A run through the job's state machine: the execution (its name and status), how many attempts it
   * made (the task fields are the last attempt's), and whether that attempt ran past the timeout.
   */
  execution?: { name: string; status: string };
  attempts?: number;
  timedOut?: boolean;
}

/** A job's latest runs, with why the list is empty or partial. */
export interface RecentRuns {
  runs: RunInfo[];
  /** Why the list is empty or partial, for the reader. */
  note?: string;
}
