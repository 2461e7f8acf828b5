/** What batchctl loads of @aws-sdk/client-iam when a command needs it, by name: see ../clients.ts. */
export { IAMClient } from '@aws-sdk/client-iam';
