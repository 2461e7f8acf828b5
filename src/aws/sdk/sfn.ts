/** What batchctl loads of @aws-sdk/client-sfn when a command needs it, by name: see ../clients.ts. */
export { SFNClient } from '@aws-sdk/client-sfn';
