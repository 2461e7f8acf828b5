/** What batchctl loads of @aws-sdk/client-sqs when a command needs it, by name: see ../clients.ts. */
export { SQSClient, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
