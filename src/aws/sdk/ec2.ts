/** What batchctl loads of @aws-sdk/client-ec2 when a command needs it, by name: see ../clients.ts. */
export { EC2Client } from '@aws-sdk/client-ec2';
