/**
 * The fake's service names (test/fake-aws/*.ts), by the SDK's service ids (a client's `config.serviceId`):
 * shared by the two preloads that send the CLI's calls to a served fake (remote-preload.mjs, wire.ts), so a
 * service the CLI gains is routed by both. Plain JavaScript: remote-preload.mjs loads without tsx.
 */
export const SDK_SERVICES = {
  EC2: 'ec2',
  ECS: 'ecs',
  ECR: 'ecr',
  IAM: 'iam',
  S3: 's3',
  'Secrets Manager': 'secretsManager',
  EventBridge: 'eventbridge',
  'CloudWatch Logs': 'logs',
  STS: 'sts',
  Scheduler: 'scheduler',
  SQS: 'sqs',
  SNS: 'sns',
  SFN: 'sfn',
  CloudWatch: 'cloudwatch',
  SSM: 'ssm',
};
