/** What batchctl loads of @aws-sdk/client-eventbridge when a command needs it, by name: see ../clients.ts. */
export { EventBridgeClient } from '@aws-sdk/client-eventbridge';
