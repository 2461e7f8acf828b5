/**
 * Drift of every kind, made behind batchctl's back on the fake, and config changes touching every
 * kind: what `up` (and a saved plan) must repair. Shared by the policy test and the saved-plan test.
 */
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { createAwsClients, ALL_SERVICES } from '../../src/aws/clients.js';
import type { FakeAws } from '../fake-aws/index.js';
import type { Scratch } from './stack.js';

/** Change a setting of nearly every resource of an `up` stack, directly in the fake. */
export async function driftEveryKind(fake: FakeAws): Promise<void> {
  const byLogical = <T extends { tags: Record<string, string> }>(m: Map<string, T>, key: string) =>
    [...m.values()].find((x) => x.tags['batchctl:logical'] === key)!;
  const vpc = byLogical(fake.ec2.vpcs, 'vpc');
  vpc.dnsHostnames = false;
  byLogical(fake.ec2.subnets, 'subnet/batch/ap-northeast-1a').mapPublicIpOnLaunch = true;
  // A batch subnet moved to the VPC's main route table.
  const ours = byLogical(fake.ec2.routeTables, 'route-table');
  const main = fake.ec2.routeTables.get(vpc.mainRouteTableId)!;
  main.associations.push(ours.associations.shift()!);
  const endpointSg = byLogical(fake.ec2.securityGroups, 'security-group/endpoint');
  endpointSg.ingress = [{ id: 'sgr-in', protocol: 'tcp', from: 22, to: 22, peer: '0.0.0.0/0' }];
  byLogical(fake.ec2.securityGroups, 'security-group/task').egress = [
    { id: 'sgr-stray', protocol: 'tcp', from: 22, to: 22, peer: '0.0.0.0/0' },
  ];
  ours.routes.push({ dest: '0.0.0.0/0', target: 'igw-0123456789abcdef0' });
  [...fake.secretsManager.secrets.values()][0]!.description = 'changed by hand';
  byLogical(fake.ec2.endpoints, 'vpc-endpoint/s3').policy = JSON.stringify({
    Statement: [{ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }],
  });
  const iface = byLogical(fake.ec2.endpoints, 'vpc-endpoint/logs');
  iface.subnetIds = iface.subnetIds.slice(1);
  const role = fake.iam.roles.get('sample-batch-task')!;
  role.trust = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
  });
  role.attached.add('arn:aws:iam::aws:policy/ReadOnlyAccess');
  fake.iam.roles
    .get('sample-batch-execution')!
    .inline.set('stray', JSON.stringify({ Version: '2012-10-17', Statement: [] }));
  const bucket = [...fake.s3.buckets.values()][0]!;
  bucket.publicAccessBlock = undefined;
  bucket.encryption = undefined;
  bucket.policy = undefined;
  const aws = await createAwsClients({ region: 'ap-northeast-1' }, ALL_SERVICES);
  await aws.secretsManager.send(
    new PutSecretValueCommand({ SecretId: 'sample-batch', SecretString: '{"S3_BUCKET_NAME":"elsewhere"}' }),
  );
}

/** Change nearly every setting of the default config (and add a tag, a permissions boundary, an endpoint). */
export function changeEveryKindInConfig(s: Scratch): void {
  s.editConfig((t) =>
    t
      .replace('bucketAccess: read', 'bucketAccess: read-write')
      .replace('expireAfterDays: 365', 'expireAfterDays: 30')
      .replace('versioning: false', 'versioning: true')
      .replace('cpu: 2048', 'cpu: 1024')
      .replace('memory: 8192', 'memory: 4096')
      .replace('retentionDays: 365', 'retentionDays: 30')
      .replace('scanOnPush: true', 'scanOnPush: false')
      .replace('tagMutability: MUTABLE', 'tagMutability: IMMUTABLE')
      .replace('containerInsights: true', 'containerInsights: false')
      .replace('maximumRetryAttempts: 10', 'maximumRetryAttempts: 3')
      .replace('cron(30 * * * ? *)', 'cron(0 * * * ? *)')
      .replace(
        'interfaceEndpoints: [ecr.api, ecr.dkr, logs, secretsmanager]',
        'interfaceEndpoints: [ecr.api, ecr.dkr, logs, secretsmanager, sts]',
      )
      .replace('stack: sample-batch\n', 'stack: sample-batch\ntags: { team: data }\n')
      .replace('iam:\n', 'iam:\n  permissionsBoundary: arn:aws:iam::123456789012:policy/Boundary\n'),
  );
}

/** The schedule engine in the config. */
export const setEngine = (s: Scratch, engine: 'rule' | 'scheduler') =>
  s.editConfig((t) =>
    t.replace(/^ {2}engine: \w+\n/m, '').replace(/^schedule:\n/m, `schedule:\n  engine: ${engine}\n`),
  );
