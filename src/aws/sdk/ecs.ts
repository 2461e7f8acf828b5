/** What batchctl loads of @aws-sdk/client-ecs when a command needs it, by name: see ../clients.ts. */
export { ECSClient } from '@aws-sdk/client-ecs';
