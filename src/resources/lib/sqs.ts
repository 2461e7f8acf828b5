/**
 * A queue's attributes, read once per walk and shared by the queue and its policy node (the policy is one
 * of them): a kind file of each imports it from here, not from the other.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { Ctx } from '../../engine/types.js';
import { SQS_QUEUE_GONE } from '../../model/aws-errors.js';
import { ifExists } from './aws-calls.js';

/**
 * All attributes of a queue (its policy among them), or undefined when it does not exist: read once per
 * walk, for the queue and its policy node.
 */
export function queueAttributes(ctx: Ctx, url: string): Promise<Record<string, string> | undefined> {
  return ctx.memo(`sqs:attributes:${url}`, async () => {
    const read = new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] });
    const out = await ifExists(ctx.aws.sqs.send(read), SQS_QUEUE_GONE);
    return out && (out.Attributes ?? {});
  });
}
