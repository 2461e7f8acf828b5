/** What batchctl loads of @aws-sdk/client-sts when a command needs it, by name: see ../clients.ts. */
export { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
