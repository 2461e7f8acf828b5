/** What batchctl loads of @aws-sdk/client-scheduler when a command needs it, by name: see ../clients.ts. */
export { SchedulerClient, GetScheduleCommand } from '@aws-sdk/client-scheduler';
