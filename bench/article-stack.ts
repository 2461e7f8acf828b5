/**
 * The article's stack built call after call: the 37 create calls its Terraform makes for the reference
 * inventory (/reference: ECR repository, VPC with DNS hostnames, four subnets, a route table and its two
 * associations, the S3 gateway endpoint, two security groups and the HTTPS rule, four interface endpoints,
 * the bucket and four of its settings, the secret, three roles with their one managed and three inline
 * policies, the log group and its retention, the cluster, the task definition, the rule and its target),
 * each sent once the one before has answered: no read, no wait, no retry beyond the SDK's own.
 *
 * The baseline bench/http.ts compares `batchctl up` with: a program of its own, bundled like the CLI (the
 * same SDK clients and runtime to load) and run the same way, against the same fake over HTTP.
 * Run by bench/http.ts; on its own: AWS_ENDPOINT_URL=<a served fake> ACCOUNT=<its account> node <bundled>.
 */
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import {
  AssociateRouteTableCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  CreateVpcEndpointCommand,
  EC2Client,
  ModifyVpcAttributeCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateBucketCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  PutPublicAccessBlockCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AttachRolePolicyCommand, CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  PutRetentionPolicyCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { CreateClusterCommand, ECSClient, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';

const region = 'ap-northeast-1';
const endpoint = process.env.AWS_ENDPOINT_URL;
const config = { region, ...(endpoint ? { endpoint } : {}) };
const ecr = new ECRClient(config);
const ec2 = new EC2Client(config);
const s3 = new S3Client({ ...config, forcePathStyle: true });
const secrets = new SecretsManagerClient(config);
const iam = new IAMClient(config);
const logs = new CloudWatchLogsClient(config);
const ecs = new ECSClient(config);
const events = new EventBridgeClient(config);

const name = 'sample-batch';
let calls = 0;
const send = async <T>(p: Promise<T>): Promise<T> => {
  calls += 1;
  return p;
};

// The account names the bucket: given by the bench (the article's Terraform hard-codes it too).
const account = process.env.ACCOUNT ?? '123456789012';
const arn = (service: string, rest: string) => `arn:aws:${service}:${region}:${account}:${rest}`;
const bucket = `${name}-${account}-${region}`;
const trust = (service: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
  });
const policy = (Statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement });

// 1. ECR
const repo = await send(
  ecr.send(
    new CreateRepositoryCommand({
      repositoryName: name,
      imageTagMutability: 'MUTABLE',
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: { encryptionType: 'KMS' },
    }),
  ),
);
// 2-3. VPC, DNS hostnames (DNS support is on by default)
const vpc = (await send(ec2.send(new CreateVpcCommand({ CidrBlock: '192.168.0.0/16' })))).Vpc!.VpcId!;
await send(ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpc, EnableDnsHostnames: { Value: true } })));
// 4-7. Subnets
const subnet = async (cidr: string, az: string) =>
  (await send(ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: cidr, AvailabilityZone: `${region}${az}` }))))
    .Subnet!.SubnetId!;
const batchA = await subnet('192.168.0.0/24', 'a');
const batchC = await subnet('192.168.1.0/24', 'c');
const endpointA = await subnet('192.168.2.0/24', 'a');
const endpointC = await subnet('192.168.3.0/24', 'c');
// 8-10. Route table and its associations
const table = (await send(ec2.send(new CreateRouteTableCommand({ VpcId: vpc })))).RouteTable!.RouteTableId!;
for (const SubnetId of [batchA, batchC])
  await send(ec2.send(new AssociateRouteTableCommand({ RouteTableId: table, SubnetId })));
// 11. S3 gateway endpoint
await send(
  ec2.send(
    new CreateVpcEndpointCommand({
      VpcId: vpc,
      VpcEndpointType: 'Gateway',
      ServiceName: `com.amazonaws.${region}.s3`,
      RouteTableIds: [table],
    }),
  ),
);
// 12-14. Security groups and the HTTPS rule
const group = async (which: string) =>
  (
    await send(
      ec2.send(
        new CreateSecurityGroupCommand({
          VpcId: vpc,
          GroupName: `${name}-${which}`,
          Description: `${name} ${which}`,
        }),
      ),
    )
  ).GroupId!;
const taskGroup = await group('task');
const endpointGroup = await group('endpoint');
await send(
  ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: endpointGroup,
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, UserIdGroupPairs: [{ GroupId: taskGroup }] }],
    }),
  ),
);
// 15-18. Interface endpoints
for (const service of ['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager']) {
  await send(
    ec2.send(
      new CreateVpcEndpointCommand({
        VpcId: vpc,
        VpcEndpointType: 'Interface',
        ServiceName: `com.amazonaws.${region}.${service}`,
        SubnetIds: [endpointA, endpointC],
        SecurityGroupIds: [endpointGroup],
        PrivateDnsEnabled: true,
      }),
    ),
  );
}
// 19-23. Bucket and its settings
await send(
  s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: region } })),
);
await send(
  s3.send(
    new PutPublicAccessBlockCommand({
      Bucket: bucket,
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        IgnorePublicAcls: true,
        BlockPublicPolicy: true,
        RestrictPublicBuckets: true,
      },
    }),
  ),
);
await send(
  s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: bucket,
      LifecycleConfiguration: {
        Rules: [{ ID: 'expire', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 365 } }],
      },
    }),
  ),
);
await send(
  s3.send(
    new PutBucketEncryptionCommand({
      Bucket: bucket,
      ServerSideEncryptionConfiguration: {
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
    }),
  ),
);
await send(
  s3.send(
    new PutBucketPolicyCommand({
      Bucket: bucket,
      Policy: policy([
        {
          Sid: 'TlsOnly',
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:*',
          Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
      ]),
    }),
  ),
);
// 24. Secret
const secret = (
  await send(
    secrets.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify({ S3_BUCKET_NAME: bucket }) })),
  )
).ARN!;
// 25-31. Roles and their policies
const role = async (roleName: string, service: string) =>
  (await send(iam.send(new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: trust(service) })))).Role!
    .Arn!;
const executionRole = await role(`${name}-execution`, 'ecs-tasks.amazonaws.com');
const taskRole = await role(`${name}-task`, 'ecs-tasks.amazonaws.com');
const eventsRole = await role(`${name}-events`, 'events.amazonaws.com');
await send(
  iam.send(
    new AttachRolePolicyCommand({
      RoleName: `${name}-execution`,
      PolicyArn: 'arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy',
    }),
  ),
);
await send(
  iam.send(
    new PutRolePolicyCommand({
      RoleName: `${name}-execution`,
      PolicyName: 'secret',
      PolicyDocument: policy([{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: secret }]),
    }),
  ),
);
await send(
  iam.send(
    new PutRolePolicyCommand({
      RoleName: `${name}-task`,
      PolicyName: 'bucket',
      PolicyDocument: policy([
        {
          Effect: 'Allow',
          Action: ['s3:ListBucket', 's3:GetObject'],
          Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
        },
      ]),
    }),
  ),
);
await send(
  iam.send(
    new PutRolePolicyCommand({
      RoleName: `${name}-events`,
      PolicyName: 'run-task',
      PolicyDocument: policy([
        { Effect: 'Allow', Action: 'ecs:RunTask', Resource: arn('ecs', `task-definition/${name}:*`) },
        { Effect: 'Allow', Action: 'iam:PassRole', Resource: [executionRole, taskRole] },
      ]),
    }),
  ),
);
// 32-33. Log group and its retention
await send(logs.send(new CreateLogGroupCommand({ logGroupName: '/ecs/SampleBatch' })));
await send(logs.send(new PutRetentionPolicyCommand({ logGroupName: '/ecs/SampleBatch', retentionInDays: 365 })));
// 34-35. Cluster and task definition
const cluster = (
  await send(
    ecs.send(
      new CreateClusterCommand({ clusterName: name, settings: [{ name: 'containerInsights', value: 'enabled' }] }),
    ),
  )
).cluster!.clusterArn!;
const taskDefinition = (
  await send(
    ecs.send(
      new RegisterTaskDefinitionCommand({
        family: name,
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: '2048',
        memory: '8192',
        executionRoleArn: executionRole,
        taskRoleArn: taskRole,
        runtimePlatform: { operatingSystemFamily: 'LINUX' },
        containerDefinitions: [
          {
            name: 'batch',
            image: `${repo.repository!.repositoryUri}:latest`,
            essential: true,
            secrets: [{ name: 'S3_BUCKET_NAME', valueFrom: `${secret}:S3_BUCKET_NAME::` }],
            logConfiguration: {
              logDriver: 'awslogs',
              options: {
                'awslogs-group': '/ecs/SampleBatch',
                'awslogs-region': region,
                'awslogs-stream-prefix': 'ecs',
              },
            },
          },
        ],
      }),
    ),
  )
).taskDefinition!.taskDefinitionArn!;
// 36-37. Rule and target
const rule = (await send(events.send(new PutRuleCommand({ Name: name, ScheduleExpression: 'cron(30 * * * ? *)' }))))
  .RuleArn!;
await send(
  events.send(
    new PutTargetsCommand({
      Rule: name,
      Targets: [
        {
          Id: 'batch',
          Arn: cluster,
          RoleArn: eventsRole,
          RetryPolicy: { MaximumEventAgeInSeconds: 1800, MaximumRetryAttempts: 10 },
          EcsParameters: {
            TaskDefinitionArn: taskDefinition.replace(/:\d+$/, ''),
            TaskCount: 1,
            LaunchType: 'FARGATE',
            NetworkConfiguration: {
              awsvpcConfiguration: {
                Subnets: [batchA, batchC],
                SecurityGroups: [taskGroup],
                AssignPublicIp: 'DISABLED',
              },
            },
          },
        },
      ],
    }),
  ),
);
process.stdout.write(`${calls} create calls; rule ${rule}\n`);
