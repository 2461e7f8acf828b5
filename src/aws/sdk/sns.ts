/** What batchctl loads of @aws-sdk/client-sns when a command needs it, by name: see ../clients.ts. */
export { SNSClient } from '@aws-sdk/client-sns';
