/**
 * IAM is eventually consistent: a role created a moment ago exists in IAM but other services (ECS,
 * EventBridge) may not be able to see or assume it for several seconds. Their errors look like
 * permanent validation failures. The engine uses this classifier to retry such steps with backoff.
 */
import { awsErrorCode } from '../../base/errors.js';

const ROLE_ARN = /arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+/;

/**
 * Recognise "the role has not propagated yet" errors. Returns the role ARN when the message names one
 * (`{}` when it does not), or undefined for any other error.
 */
export function isIamPropagationError(err: unknown): { role?: string } | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const code = awsErrorCode(err);
  const msg = String((err as { message?: unknown }).message ?? '');
  const found = (): { role?: string } => {
    const quoted = /role '(arn:[^']+)'/i.exec(msg)?.[1];
    const bare = ROLE_ARN.exec(msg)?.[0].replace(/[.,;]+$/, '');
    return (quoted ?? bare) ? { role: quoted ?? bare } : {};
  };
  // EventBridge PutTargets (as a failed entry, which our code rethrows with this name and message).
  if (code === 'ValidationException' && /cannot be assumed by principal/i.test(msg)) return found();
  // EventBridge Scheduler CreateSchedule / UpdateSchedule: the message does not name the role; the
  // schedule kind appends it.
  if (code === 'ValidationException' && /must allow AWS EventBridge Scheduler to assume the role/i.test(msg))
    return found();
  // ECS RegisterTaskDefinition: the execution or task role is not visible to ECS yet.
  if (code === 'ClientException' && /role is not valid|unable to assume/i.test(msg)) return found();
  // ECS RunTask / CreateService flavour.
  if (code === 'InvalidParameterException' && /assume|role/i.test(msg)) return found();
  // Step Functions CreateStateMachine / UpdateStateMachine: "Neither the global service principal
  // states.amazonaws.com, nor the regional one is authorized to assume the provided role."
  if (code === 'AccessDeniedException' && /authorized to assume the provided role/i.test(msg)) return found();
  // The caller's own new permission (an inline policy granting iam:PassRole) has not propagated.
  if (/^AccessDenied(Exception)?$/.test(code) && /iam:PassRole/.test(msg)) return found();
  return undefined;
}
