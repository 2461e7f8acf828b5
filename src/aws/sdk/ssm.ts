/**
 * What batchctl loads of @aws-sdk/client-ssm when a command needs it (the stack's lock, the job secrets'
 * metadata), by name: see ../clients.ts.
 */
export { SSMClient, PutParameterCommand, GetParameterCommand, DeleteParameterCommand } from '@aws-sdk/client-ssm';
