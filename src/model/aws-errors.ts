/**
 * The AWS error codes kinds and operations share: what each service answers when the thing asked about
 * is gone. `isNotFound` (base/errors.ts) already knows the usual spellings (`...NotFound`, `NoSuch...`,
 * `ResourceNotFoundException`); these are the services that say it otherwise. One list per meaning, so a
 * kind and an operation reading the same resource agree on when it is gone.
 */

/**
 * SQS: the queue does not exist (or was deleted). The JSON protocol the SDK speaks answers
 * `QueueDoesNotExist`; the query protocol (older SDKs, emulators that still speak it) spells the same
 * error `AWS.SimpleQueueService.NonExistentQueue`.
 */
export const SQS_QUEUE_GONE = ['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue'] as const;

/** SQS: a queue of that name was deleted less than 60 seconds ago; the name is not free yet. */
export const SQS_DELETED_RECENTLY = ['QueueDeletedRecently', 'AWS.SimpleQueueService.QueueDeletedRecently'] as const;

/** Step Functions: the state machine does not exist (DescribeStateMachine, DeleteStateMachine). */
export const SFN_MACHINE_GONE = ['StateMachineDoesNotExist'] as const;

/** Step Functions: the execution does not exist (GetExecutionHistory; an ended one is kept 90 days). */
export const SFN_EXECUTION_GONE = ['ExecutionDoesNotExist'] as const;

/** Step Functions: the resource whose tags were asked for does not exist (ListTagsForResource). */
export const SFN_TAGGED_GONE = ['ResourceNotFound', 'StateMachineDoesNotExist'] as const;

/** CloudWatch: the alarm does not exist (ListTagsForResource answers `ResourceNotFound`). */
export const CLOUDWATCH_GONE = ['ResourceNotFound', 'ResourceNotFoundException'] as const;

/**
 * ECS: no such task to describe. A cluster that does not exist answers `ClusterNotFoundException`; a task
 * id ECS cannot parse (a short id typed by hand, not found among the listed ones) `InvalidParameterException`.
 */
export const ECS_NO_SUCH_TASK = ['ClusterNotFoundException', 'InvalidParameterException'] as const;
