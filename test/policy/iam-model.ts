/**
 * What IAM checks for each AWS call batchctl sends: the action(s), the resource ARN(s) and the
 * condition keys of the request, per AWS's Service Authorization Reference. Computed from the call's
 * input and the fake's state at the moment the call arrives (a delete still sees its target's tags).
 *
 * An operation missing here fails the policy test: whoever makes batchctl send a new operation writes
 * down how AWS authorises it, and the printed policy must then allow it.
 */
import type { CallRecord } from '../fake-aws/core.js';
import type { FakeAws } from '../fake-aws/index.js';

export type Context = Record<string, string | undefined>;

/** One authorisation IAM makes for a call. */
export interface AuthRequest {
  action: string;
  resource: string;
  context: Context;
}

const TAG_STACK = 'batchctl:stack';

/** Calls IAM does not authorise (STS GetCallerIdentity works even with every permission denied). */
const UNAUTHORISED = new Set(['sts:GetCallerIdentity']);

export function authRequests(call: CallRecord, fake: FakeAws): AuthRequest[] {
  const { partition: P, region: R, account: A } = fake.core;
  const i = call.input ?? {};
  const arn = (svc: string, rest: string, region = R) => `arn:${P}:${svc}:${region}:${A}:${rest}`;
  const req = (action: string, resource: string, context: Context = {}): AuthRequest => ({ action, resource, context });
  const key = `${call.service}:${call.op}`;
  if (UNAUTHORISED.has(`sts:${call.op}`) && call.service === 'sts') return [];

  switch (call.service) {
    case 'ec2':
      return ec2(call, fake, arn, req);
    case 'iam': {
      // The account's snapshot names no resource: IAM authorises it on "*".
      if (call.op === 'GetAccountAuthorizationDetails') return [req('iam:GetAccountAuthorizationDetails', '*')];
      const role = `arn:${P}:iam::${A}:role/${i.RoleName}`;
      const out = [
        req(`iam:${call.op}`, role, i.PermissionsBoundary ? { 'iam:PermissionsBoundary': i.PermissionsBoundary } : {}),
      ];
      if (call.op === 'CreateRole' && i.Tags?.length) out.push(req('iam:TagRole', role));
      return out;
    }
    case 's3':
      return s3(call, fake, P, req);
    case 'secretsManager': {
      const id: string = i.SecretId ?? i.Name;
      const found = [...fake.secretsManager.secrets.values()].find((s) => s.arn === id || s.name === id);
      // A secret that does not exist (yet) is authorised against its name without the random suffix.
      const res = found?.arn ?? (id.startsWith('arn:') ? id : arn('secretsmanager', `secret:${id}`));
      const out = [req(`secretsmanager:${call.op}`, res)];
      if (call.op === 'CreateSecret' && i.Tags?.length) out.push(req('secretsmanager:TagResource', res));
      return out;
    }
    case 'ecr': {
      if (call.op === 'GetAuthorizationToken') return [req('ecr:GetAuthorizationToken', '*')];
      const names: string[] = i.repositoryNames ?? (i.repositoryName ? [i.repositoryName] : []);
      // registryId: another account's repository (a task.image there), authorised on that account's ARN.
      const res = i.resourceArn
        ? [i.resourceArn]
        : names.map((n) => `arn:${P}:ecr:${R}:${i.registryId ?? A}:repository/${n}`);
      if (!res.length) res.push(arn('ecr', 'repository/*'));
      const out = res.map((r) => req(`ecr:${call.op}`, r));
      if (call.op === 'CreateRepository' && i.tags?.length) out.push(...res.map((r) => req('ecr:TagResource', r)));
      // Deleting a KMS-encrypted repository retires the grants ECR made on its key, on the caller's behalf
      // (ECR user guide, encryption at rest): kms:RetireGrant on that key, through ECR (kms:ViaService).
      const kmsKey =
        call.op === 'DeleteRepository' ? fake.ecr.repositories.get(i.repositoryName)?.encryption.kmsKey : undefined;
      if (kmsKey) {
        const through = { 'kms:ViaService': `ecr.${R}.amazonaws.com`, 'kms:CallerAccount': A };
        out.push(req('kms:RetireGrant', kmsKey, through));
      }
      return out;
    }
    case 'logs': {
      const group = (name: string) => arn('logs', `log-group:${name}`);
      switch (call.op) {
        case 'DescribeLogGroups':
          return [req('logs:DescribeLogGroups', arn('logs', 'log-group:*'))];
        // Resource policies belong to the account: no resource-level permission.
        case 'PutResourcePolicy':
        case 'DescribeResourcePolicies':
        case 'DeleteResourcePolicy':
          return [req(`logs:${call.op}`, '*')];
        case 'StartLiveTail':
          return (i.logGroupIdentifiers as string[]).map((g) =>
            req('logs:StartLiveTail', g.startsWith('arn:') ? g.replace(/:\*$/, '') : group(g)),
          );
        case 'ListTagsForResource':
        case 'TagResource':
        case 'UntagResource':
          return [req(`logs:${call.op}`, String(i.resourceArn).replace(/:\*$/, ''))];
        case 'CreateLogGroup': {
          const out = [req('logs:CreateLogGroup', group(i.logGroupName))];
          if (i.tags && Object.keys(i.tags).length) out.push(req('logs:TagResource', group(i.logGroupName)));
          return out;
        }
        default:
          return [req(`logs:${call.op}`, group(i.logGroupName ?? i.logGroupIdentifier))];
      }
    }
    case 'ecs':
      return ecs(call, fake, arn, req);
    case 'eventbridge': {
      // ListRules has no resource type: its authorisation is on "*".
      if (call.op === 'ListRules') return [req('events:ListRules', '*')];
      const rule = (name: string) => arn('events', `rule/${name}`);
      const res = i.ResourceARN ?? rule(i.Rule ?? i.Name);
      const out = [req(`events:${call.op}`, res)];
      if (call.op === 'PutRule' && i.Tags?.length) out.push(req('events:TagResource', res));
      if (call.op === 'PutTargets') {
        for (const t of i.Targets ?? [])
          if (t.RoleArn) out.push(req('iam:PassRole', t.RoleArn, { 'iam:PassedToService': 'events.amazonaws.com' }));
      }
      return out;
    }
    case 'scheduler': {
      if (['CreateScheduleGroup', 'GetScheduleGroup', 'DeleteScheduleGroup'].includes(call.op)) {
        const res = arn('scheduler', `schedule-group/${i.Name}`);
        const out = [req(`scheduler:${call.op}`, res)];
        if (call.op === 'CreateScheduleGroup' && i.Tags?.length) out.push(req('scheduler:TagResource', res));
        return out;
      }
      if (['ListTagsForResource', 'TagResource', 'UntagResource'].includes(call.op))
        return [req(`scheduler:${call.op}`, i.ResourceArn)];
      const out = [req(`scheduler:${call.op}`, arn('scheduler', `schedule/${i.GroupName ?? 'default'}/${i.Name}`))];
      if (i.Target?.RoleArn)
        out.push(req('iam:PassRole', i.Target.RoleArn, { 'iam:PassedToService': 'scheduler.amazonaws.com' }));
      return out;
    }
    case 'sqs': {
      const name: string = i.QueueName ?? String(i.QueueUrl).split('/').pop();
      const res = arn('sqs', name);
      const out = [req(`sqs:${call.op}`, res)];
      if (call.op === 'CreateQueue' && i.tags && Object.keys(i.tags).length) out.push(req('sqs:TagQueue', res));
      return out;
    }
    case 'sfn': {
      // Step Functions' IAM prefix is `states`. A state machine is authorised by its ARN (a new one by the
      // ARN its name gives), an execution by its own; creating with tags needs states:TagResource, and
      // the role a state machine gets is passed to states.amazonaws.com.
      const sm = (name: string) => arn('states', `stateMachine:${name}`);
      if (call.op === 'ListStateMachines') return [req('states:ListStateMachines', '*')];
      const res: string = i.executionArn ?? i.stateMachineArn ?? i.resourceArn ?? sm(i.name);
      const out = [req(`states:${call.op}`, res)];
      if (call.op === 'CreateStateMachine' && i.tags?.length) out.push(req('states:TagResource', res));
      if ((call.op === 'CreateStateMachine' || call.op === 'UpdateStateMachine') && i.roleArn) {
        out.push(req('iam:PassRole', i.roleArn, { 'iam:PassedToService': 'states.amazonaws.com' }));
      }
      return out;
    }
    case 'cloudwatch': {
      // Alarms are authorised by their ARN (DescribeAlarms on the alarms named); creating one with tags
      // needs cloudwatch:TagResource too.
      const alarm = (name: string) => arn('cloudwatch', `alarm:${name}`);
      if (call.op === 'DescribeAlarms')
        return ((i.AlarmNames as string[] | undefined) ?? ['*']).map((n) => req('cloudwatch:DescribeAlarms', alarm(n)));
      if (call.op === 'DeleteAlarms')
        return (i.AlarmNames as string[]).map((n) => req('cloudwatch:DeleteAlarms', alarm(n)));
      if (['ListTagsForResource', 'TagResource', 'UntagResource'].includes(call.op))
        return [req(`cloudwatch:${call.op}`, i.ResourceARN)];
      const out = [req(`cloudwatch:${call.op}`, alarm(i.AlarmName))];
      if (call.op === 'PutMetricAlarm' && i.Tags?.length) out.push(req('cloudwatch:TagResource', alarm(i.AlarmName)));
      return out;
    }
    case 'ssm': {
      // DescribeParameters lists the account's parameters: no resource-level permission (Resource "*").
      if (call.op === 'DescribeParameters') return [req('ssm:DescribeParameters', '*')];
      // A parameter's ARN drops the leading `/` of a hierarchical name (`parameter/batchctl/<stack>/lock`).
      // Tags sent with PutParameter are applied at creation: that needs ssm:AddTagsToResource too
      // (AWS answers AccessDenied naming it, e.g. pepperize/cdk-ssm-parameters-cross-region#442).
      const name = String(i.Name ?? i.ResourceId ?? '');
      const res = arn('ssm', `parameter/${name.replace(/^\//, '')}`);
      const out = [req(`ssm:${call.op}`, res)];
      if (call.op === 'PutParameter' && i.Tags?.length) out.push(req('ssm:AddTagsToResource', res));
      return out;
    }
    case 'sns': {
      const res: string =
        i.TopicArn ??
        i.ResourceArn ??
        (i.SubscriptionArn ? String(i.SubscriptionArn).split(':').slice(0, -1).join(':') : arn('sns', i.Name));
      const out = [req(`sns:${call.op}`, res)];
      if (call.op === 'CreateTopic' && i.Tags?.length) out.push(req('sns:TagResource', res));
      return out;
    }
  }
  throw new Error(`no IAM model for ${key}: add how AWS authorises it to test/policy/iam-model.ts`);
}

type Arn = (svc: string, rest: string, region?: string) => string;
type Req = (action: string, resource: string, context?: Context) => AuthRequest;

function ec2(call: CallRecord, fake: FakeAws, arn: Arn, req: Req): AuthRequest[] {
  const i = call.input ?? {};
  const e = fake.ec2;
  const tagsOf = (type: string, id: string): Record<string, string> | undefined => {
    const m = {
      vpc: e.vpcs,
      subnet: e.subnets,
      'security-group': e.securityGroups,
      'route-table': e.routeTables,
      'vpc-endpoint': e.endpoints,
      'internet-gateway': e.internetGateways,
    }[type];
    return (m as Map<string, { tags: Record<string, string> }> | undefined)?.get(id)?.tags;
  };
  const existing = (type: string, id: string, action = `ec2:${call.op}`) => {
    const tags = tagsOf(type, id) ?? {};
    // Subnets and groups also carry the VPC they are in (ec2:Vpc).
    const vpc =
      type === 'subnet'
        ? e.subnets.get(id)?.vpcId
        : type === 'security-group'
          ? e.securityGroups.get(id)?.vpcId
          : undefined;
    return req(action, arn('ec2', `${type}/${id}`), {
      [`aws:ResourceTag/${TAG_STACK}`]: tags[TAG_STACK],
      ...(vpc ? { 'ec2:Vpc': arn('ec2', `vpc/${vpc}`) } : {}),
    });
  };
  const TYPES: Record<string, string> = {
    CreateVpc: 'vpc',
    CreateSubnet: 'subnet',
    CreateSecurityGroup: 'security-group',
    CreateRouteTable: 'route-table',
    CreateVpcEndpoint: 'vpc-endpoint',
    CreateInternetGateway: 'internet-gateway',
  };
  if (call.op.startsWith('Describe')) return [req(`ec2:${call.op}`, '*')];
  const created = TYPES[call.op];
  if (created) {
    const spec = (i.TagSpecifications ?? []).find((t: { ResourceType: string }) => t.ResourceType === created);
    const requestTags = Object.fromEntries(
      (spec?.Tags ?? []).map((t: { Key: string; Value: string }) => [`aws:RequestTag/${t.Key}`, t.Value]),
    );
    const out = [req(`ec2:${call.op}`, arn('ec2', `${created}/*`), requestTags)];
    if (spec)
      out.push(req('ec2:CreateTags', arn('ec2', `${created}/*`), { ...requestTags, 'ec2:CreateAction': call.op }));
    const interfaceEndpoint = call.op === 'CreateVpcEndpoint' && i.VpcEndpointType === 'Interface';
    if (interfaceEndpoint && i.PrivateDnsEnabled !== false) out.push(privateDns());
    if (i.VpcId) out.push(existing('vpc', i.VpcId));
    for (const id of i.SubnetIds ?? []) out.push(existing('subnet', id));
    for (const id of i.SecurityGroupIds ?? []) out.push(existing('security-group', id));
    for (const id of i.RouteTableIds ?? []) out.push(existing('route-table', id));
    return out;
  }
  // Private DNS on an interface endpoint associates the VPC with the private hosted zone AWS manages for
  // the service: the Service Authorization Reference lists route53:AssociateVPCWithHostedZone as a
  // dependent action of ec2:CreateVpcEndpoint (the zone's id is AWS's: any hosted zone ARN).
  function privateDns(): AuthRequest {
    const zone = `arn:${fake.core.partition}:route53:::hostedzone/Z0AWSMANAGEDZONE`;
    return req('route53:AssociateVPCWithHostedZone', zone);
  }
  const routeTableOfAssociation = (assoc: string) =>
    [...e.routeTables.values()].find((rt) => rt.associations.some((a) => a.id === assoc))?.id ?? 'unknown';
  switch (call.op) {
    case 'ModifyVpcAttribute':
    case 'DeleteVpc':
      return [existing('vpc', i.VpcId)];
    case 'ModifySubnetAttribute':
    case 'DeleteSubnet':
      return [existing('subnet', i.SubnetId)];
    case 'AssociateRouteTable':
      return [existing('route-table', i.RouteTableId), existing('subnet', i.SubnetId)];
    case 'ReplaceRouteTableAssociation':
      return [existing('route-table', i.RouteTableId)];
    case 'DisassociateRouteTable':
      return [existing('route-table', routeTableOfAssociation(i.AssociationId))];
    // Routes are authorised on their table only.
    case 'DeleteRoute':
    case 'DeleteRouteTable':
    case 'CreateRoute':
    case 'ReplaceRoute':
      return [existing('route-table', i.RouteTableId)];
    case 'AttachInternetGateway':
    case 'DetachInternetGateway':
      return [existing('internet-gateway', i.InternetGatewayId), existing('vpc', i.VpcId)];
    case 'DeleteInternetGateway':
      return [existing('internet-gateway', i.InternetGatewayId)];
    case 'AuthorizeSecurityGroupIngress':
    case 'AuthorizeSecurityGroupEgress':
    case 'RevokeSecurityGroupIngress':
    case 'RevokeSecurityGroupEgress':
    case 'DeleteSecurityGroup':
      return [existing('security-group', i.GroupId)];
    case 'DeleteVpcEndpoints':
      return (i.VpcEndpointIds as string[]).map((id) => existing('vpc-endpoint', id));
    // Tags converging on existing resources (not at creation): the resource must already be ours.
    case 'CreateTags':
    case 'DeleteTags': {
      const TYPE_OF: Record<string, string> = {
        vpc: 'vpc',
        subnet: 'subnet',
        sg: 'security-group',
        rtb: 'route-table',
        vpce: 'vpc-endpoint',
        igw: 'internet-gateway',
      };
      return (i.Resources as string[]).map((id) => existing(TYPE_OF[id.slice(0, id.indexOf('-'))] ?? 'unknown', id));
    }
    case 'ModifyVpcEndpoint': {
      const ids = (k: string) => (i[k] ?? []) as string[];
      return [
        ...(i.PrivateDnsEnabled === true ? [privateDns()] : []),
        existing('vpc-endpoint', i.VpcEndpointId),
        ...[...ids('AddSubnetIds'), ...ids('RemoveSubnetIds')].map((id) => existing('subnet', id)),
        ...[...ids('AddSecurityGroupIds'), ...ids('RemoveSecurityGroupIds')].map((id) =>
          existing('security-group', id),
        ),
        ...[...ids('AddRouteTableIds'), ...ids('RemoveRouteTableIds')].map((id) => existing('route-table', id)),
      ];
    }
  }
  throw new Error(`no IAM model for ec2:${call.op}: add how AWS authorises it to test/policy/iam-model.ts`);
}

/** S3's action names are not its operation names. */
const S3_ACTIONS: Record<string, string> = {
  HeadBucket: 's3:ListBucket',
  ListObjectsV2: 's3:ListBucket',
  ListObjectVersions: 's3:ListBucketVersions',
  GetBucketEncryption: 's3:GetEncryptionConfiguration',
  PutBucketEncryption: 's3:PutEncryptionConfiguration',
  DeleteBucketEncryption: 's3:PutEncryptionConfiguration',
  GetBucketLifecycleConfiguration: 's3:GetLifecycleConfiguration',
  PutBucketLifecycleConfiguration: 's3:PutLifecycleConfiguration',
  DeleteBucketLifecycle: 's3:PutLifecycleConfiguration',
  GetPublicAccessBlock: 's3:GetBucketPublicAccessBlock',
  PutPublicAccessBlock: 's3:PutBucketPublicAccessBlock',
  DeletePublicAccessBlock: 's3:PutBucketPublicAccessBlock',
  DeleteBucketTagging: 's3:PutBucketTagging',
};
const S3_BUCKET_OPS = new Set([
  'CreateBucket',
  'DeleteBucket',
  'GetBucketLocation',
  'GetBucketTagging',
  'PutBucketTagging',
  'GetBucketPolicy',
  'PutBucketPolicy',
  'DeleteBucketPolicy',
  'GetBucketVersioning',
  'PutBucketVersioning',
]);

function s3(call: CallRecord, fake: FakeAws, P: string, req: Req): AuthRequest[] {
  const i = call.input ?? {};
  const bucket = `arn:${P}:s3:::${i.Bucket}`;
  const object = (k: string) => `${bucket}/${k}`;
  // ListBuckets lists the account's buckets: s3:ListAllMyBuckets, which takes no resource.
  if (call.op === 'ListBuckets') return [req('s3:ListAllMyBuckets', '*')];
  const mapped = S3_ACTIONS[call.op];
  // Listing with a prefix sets the s3:prefix condition key.
  if (call.op === 'ListObjectsV2' && i.Prefix !== undefined) return [req(mapped!, bucket, { 's3:prefix': i.Prefix })];
  if (mapped) return [req(mapped, bucket)];
  if (S3_BUCKET_OPS.has(call.op)) {
    const out = [req(`s3:${call.op}`, bucket)];
    if (call.op === 'CreateBucket' && i.CreateBucketConfiguration?.Tags?.length)
      out.push(req('s3:TagResource', bucket));
    if (call.op === 'CreateBucket' && i.ObjectOwnership) out.push(req('s3:PutBucketOwnershipControls', bucket));
    return out;
  }
  switch (call.op) {
    case 'GetObject': {
      const out = [req(i.VersionId ? 's3:GetObjectVersion' : 's3:GetObject', object(i.Key))];
      // Without s3:ListBucket, S3 answers a missing key with 403 AccessDenied instead of 404 NoSuchKey.
      if (fake.s3.objectText(i.Bucket, i.Key) === undefined) out.push(req('s3:ListBucket', bucket));
      return out;
    }
    case 'PutObject':
      return [req('s3:PutObject', object(i.Key))];
    case 'DeleteObject': {
      const out = [req(i.VersionId ? 's3:DeleteObjectVersion' : 's3:DeleteObject', object(i.Key))];
      // A conditional delete on an ETag also needs s3:GetObject.
      if (i.IfMatch && i.IfMatch !== '*') out.push(req('s3:GetObject', object(i.Key)));
      return out;
    }
    case 'DeleteObjects':
      return (i.Delete?.Objects ?? []).map((o: { Key: string; VersionId?: string }) =>
        req(o.VersionId ? 's3:DeleteObjectVersion' : 's3:DeleteObject', object(o.Key)),
      );
  }
  throw new Error(`no IAM model for s3:${call.op}: add how AWS authorises it to test/policy/iam-model.ts`);
}

function ecs(call: CallRecord, fake: FakeAws, arn: Arn, req: Req): AuthRequest[] {
  const i = call.input ?? {};
  const clusterArn = (ref: string | undefined) =>
    !ref ? arn('ecs', 'cluster/default') : ref.startsWith('arn:') ? ref : arn('ecs', `cluster/${ref}`);
  const clusterName = (ref: string | undefined) => clusterArn(ref).split('/').pop()!;
  // A family (name or ARN without revision) runs its latest ACTIVE revision.
  const taskDef = (ref: string) => {
    if (/:\d+$/.test(ref) && ref.startsWith('arn:')) return fake.ecs.taskDefs.find((t) => t.arn === ref);
    const [family, rev] = (ref.startsWith('arn:') ? ref.split('/').pop()! : ref).split(':');
    const mine = fake.ecs.taskDefs.filter(
      (t) => t.family === family && (rev ? String(t.revision) === rev : t.status === 'ACTIVE'),
    );
    return mine.at(-1);
  };
  const tdArn = (ref: string) =>
    taskDef(ref)?.arn ??
    (ref.startsWith('arn:') ? ref : arn('ecs', `task-definition/${ref.includes(':') ? ref : `${ref}:*`}`));
  const passRoles = (roles: (string | undefined)[]) =>
    roles
      .filter((r): r is string => !!r)
      .map((r) => req('iam:PassRole', r, { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' }));
  switch (call.op) {
    case 'CreateCluster': {
      const res = arn('ecs', `cluster/${i.clusterName}`);
      return [
        req('ecs:CreateCluster', res),
        ...(i.tags?.length ? [req('ecs:TagResource', res, { 'ecs:CreateAction': 'CreateCluster' })] : []),
      ];
    }
    case 'DescribeClusters':
      return (i.clusters as string[]).map((c) => req('ecs:DescribeClusters', clusterArn(c)));
    case 'UpdateClusterSettings':
    case 'DeleteCluster':
    case 'PutClusterCapacityProviders':
      return [req(`ecs:${call.op}`, clusterArn(i.cluster))];
    case 'TagResource':
    case 'UntagResource':
    case 'ListTagsForResource':
      return [req(`ecs:${call.op}`, i.resourceArn)];
    // These take no resource-level permission.
    case 'DescribeTaskDefinition':
    case 'ListTaskDefinitions':
    case 'DeregisterTaskDefinition':
      return [req(`ecs:${call.op}`, '*')];
    case 'RegisterTaskDefinition': {
      const res = arn('ecs', `task-definition/${i.family}:*`);
      return [
        req('ecs:RegisterTaskDefinition', '*'),
        ...(i.tags?.length ? [req('ecs:TagResource', res, { 'ecs:CreateAction': 'RegisterTaskDefinition' })] : []),
        ...passRoles([i.executionRoleArn, i.taskRoleArn]),
      ];
    }
    case 'DeleteTaskDefinitions':
      return (i.taskDefinitions as string[]).map((t) => req('ecs:DeleteTaskDefinitions', tdArn(t)));
    case 'RunTask': {
      const td = taskDef(i.taskDefinition);
      const ctx = { 'ecs:cluster': clusterArn(i.cluster) };
      return [
        req('ecs:RunTask', tdArn(i.taskDefinition), ctx),
        // Tag-on-create: evaluated whenever the task is tagged as it is created, explicitly, by propagation
        // from a revision that has tags, or by ECS managed tags (ECS developer guide, "Grant permission to
        // tag resources on creation"); not only when `tags` is sent.
        ...(appliesTags(i, td?.tags)
          ? [
              req('ecs:TagResource', arn('ecs', `task/${clusterName(i.cluster)}/*`), {
                ...ctx,
                'ecs:CreateAction': 'RunTask',
              }),
            ]
          : []),
        ...passRoles([
          i.overrides?.executionRoleArn ?? td?.input.executionRoleArn,
          i.overrides?.taskRoleArn ?? td?.input.taskRoleArn,
        ]),
      ];
    }
    case 'DescribeTasks':
      return (i.tasks as string[]).map((t) =>
        req('ecs:DescribeTasks', t.startsWith('arn:') ? t : arn('ecs', `task/${clusterName(i.cluster)}/${t}`), {
          'ecs:cluster': clusterArn(i.cluster),
        }),
      );
    case 'ListTasks':
      return [req('ecs:ListTasks', '*', { 'ecs:cluster': clusterArn(i.cluster) })];
    case 'StopTask':
      return [
        req(
          'ecs:StopTask',
          String(i.task).startsWith('arn:') ? i.task : arn('ecs', `task/${clusterName(i.cluster)}/${i.task}`),
          { 'ecs:cluster': clusterArn(i.cluster) },
        ),
      ];
  }
  throw new Error(`no IAM model for ecs:${call.op}: add how AWS authorises it to test/policy/iam-model.ts`);
}

/** `*` and `?` globbing, as IAM matches Action (case-insensitively) and Resource. */
function glob(pattern: string, value: string, caseInsensitive = false): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    caseInsensitive ? 'i' : '',
  );
  return re.test(value);
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

type Statement = {
  Sid?: string;
  Effect: string;
  Action?: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
};

/** Whether the condition block holds for this request (the operators batchctl's policies use). */
function conditionHolds(cond: Statement['Condition'], ctx: Context): boolean {
  for (const [op, kv] of Object.entries(cond ?? {})) {
    for (const [k, want] of Object.entries(kv)) {
      const have = ctx[k];
      if (have === undefined) return false;
      const values = list(want);
      if (op === 'StringEquals' || op === 'ArnEquals') {
        if (!values.includes(have)) return false;
      } else if (op === 'StringLike' || op === 'ArnLike') {
        if (!values.some((v) => glob(v, have))) return false;
      } else {
        throw new Error(`the policy evaluator does not know the condition operator ${op}`);
      }
    }
  }
  return true;
}

/** The statements of `policy` that allow `r` (none: IAM denies it). No Deny statements are used. */
export function allowingStatements(policy: { Statement: Statement[] }, r: AuthRequest): Statement[] {
  return policy.Statement.filter(
    (s) =>
      s.Effect === 'Allow' &&
      list(s.Action).some((a) => glob(a, r.action, true)) &&
      list(s.Resource).some((p) => glob(p, r.resource)) &&
      conditionHolds(s.Condition, r.context),
  );
}

/**
 * Whether a RunTask tags the task it creates: explicit tags, tags propagated from a tagged revision, or ECS
 * managed tags.
 */
function appliesTags(
  i: { tags?: unknown[]; propagateTags?: string; enableECSManagedTags?: boolean },
  revisionTags: Record<string, string> | undefined,
): boolean {
  if ((i.tags?.length ?? 0) > 0 || i.enableECSManagedTags === true) return true;
  return i.propagateTags === 'TASK_DEFINITION' && Object.keys(revisionTags ?? {}).length > 0;
}
