/**
 * The only list of resource kinds. The graph is built from each kind's nodes and their deps; the
 * order here only breaks ties among nodes that are ready at the same time.
 */
import type { ResourceKind } from '../engine/types.js';
import { ecrRepository } from './ecr-repository.js';
import { vpc } from './vpc.js';
import { vpcDns } from './vpc-dns.js';
import { subnet } from './subnet.js';
import { routeTable } from './route-table.js';
import { routeTableAssociation } from './route-table-association.js';
import { securityGroup } from './security-group.js';
import { securityGroupIngress } from './security-group-ingress.js';
import { vpcGatewayEndpoint } from './vpc-gateway-endpoint.js';
import { vpcInterfaceEndpoint } from './vpc-interface-endpoint.js';
import { s3Bucket } from './s3-bucket.js';
import { s3PublicAccessBlock } from './s3-public-access-block.js';
import { s3BucketEncryption } from './s3-bucket-encryption.js';
import { s3BucketLifecycle } from './s3-bucket-lifecycle.js';
import { s3BucketPolicy } from './s3-bucket-policy.js';
import { s3BucketVersioning } from './s3-bucket-versioning.js';
import { secret } from './secret.js';
import { secretValue } from './secret-value.js';
import { iamRole } from './iam-role.js';
import { iamRolePolicy } from './iam-role-policy.js';
import { logGroup } from './log-group.js';
import { ecsCluster } from './ecs-cluster.js';
import { taskDefinition } from './task-definition.js';
import { eventsRule } from './events-rule.js';
import { eventsTarget } from './events-target.js';
import { snsTopic } from './sns-topic.js';
import { snsSubscription } from './sns-subscription.js';
import { eventsAlertRule } from './events-alert-rule.js';
import { eventsAlertTarget } from './events-alert-target.js';
import { eventsHistoryRule } from './events-history-rule.js';
import { eventsHistoryTarget } from './events-history-target.js';
import { logsResourcePolicy } from './logs-resource-policy.js';
import { sqsQueue } from './sqs-queue.js';
import { sqsQueuePolicy } from './sqs-queue-policy.js';
import { cloudwatchAlarm } from './cloudwatch-alarm.js';
import { schedulerScheduleGroup } from './scheduler-schedule-group.js';
import { schedulerSchedule } from './scheduler-schedule.js';
import { existingVpc } from './existing-vpc.js';
import { existingSubnet } from './existing-subnet.js';
import { internetGateway } from './internet-gateway.js';
import { route } from './route.js';
import { stateMachine } from './state-machine.js';

/** Every kind batchctl manages, the slow ones (VPC endpoints, IAM) first so they start early. */
export const RESOURCE_KINDS: readonly ResourceKind[] = [
  vpc,
  vpcDns,
  subnet,
  securityGroup,
  securityGroupIngress,
  vpcInterfaceEndpoint,
  iamRole,
  routeTable,
  routeTableAssociation,
  vpcGatewayEndpoint,
  ecrRepository,
  s3Bucket,
  s3PublicAccessBlock,
  s3BucketEncryption,
  s3BucketLifecycle,
  s3BucketPolicy,
  s3BucketVersioning,
  secret,
  secretValue,
  logGroup,
  ecsCluster,
  iamRolePolicy,
  taskDefinition,
  // Jobs with a timeout or retries: the state machine their schedule starts.
  stateMachine,
  eventsRule,
  eventsTarget,
  snsTopic,
  snsSubscription,
  eventsAlertRule,
  eventsAlertTarget,
  // Run history: stopped tasks' events to the history log group, under its resource policy.
  logsResourcePolicy,
  eventsHistoryRule,
  eventsHistoryTarget,
  sqsQueue,
  // Runs that never reach ECS: the rules' permission to dead-letter, and the alarm on the queue.
  sqsQueuePolicy,
  cloudwatchAlarm,
  schedulerScheduleGroup,
  schedulerSchedule,
  // Network modes: your VPC and subnets (existing, read only), the internet gateway and its route (public).
  existingVpc,
  existingSubnet,
  internetGateway,
  route,
];
