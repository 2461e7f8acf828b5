/** What batchctl loads of @aws-sdk/client-ssm when a command needs it, by name: see ../clients.ts. */
export { SSMClient } from '@aws-sdk/client-ssm';
