/** What batchctl loads of @aws-sdk/client-cloudwatch when a command needs it, by name: see ../clients.ts. */
export { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
