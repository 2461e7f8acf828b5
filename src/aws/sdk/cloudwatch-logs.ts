/** What batchctl loads of @aws-sdk/client-cloudwatch-logs when a command needs it, by name: see ../clients.ts. */
export {
  CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  FilterLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
