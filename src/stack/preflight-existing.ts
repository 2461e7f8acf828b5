/**
 * The preflight of network mode `existing`: your VPC, subnets and security groups exist and belong
 * together, and every task subnet can reach ECR (API, registry, and S3 for the image layers), CloudWatch
 * Logs and Secrets Manager (and SSM, for a job secret from Parameter Store). Otherwise every run would stop with
 * ResourceInitializationError or
 * CannotPullContainerError, long after `up` said it was done.
 *
 * A subnet reaches the services through an active default route to a NAT gateway, or to an internet
 * gateway when tasks get a public IP (`network.assignPublicIp`); else through interface endpoints of
 * each service in the VPC with private DNS (yours, or those `interfaceEndpoints` makes batchctl
 * create) plus an S3 gateway endpoint on the subnet's route table. Everything is read, in parallel;
 * nothing of yours is changed, here or later.
 */
import {
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcAttributeCommand,
  DescribeVpcEndpointsCommand,
  DescribeVpcsCommand,
  type RouteTable,
  type SecurityGroup,
  type VpcEndpoint,
} from '@aws-sdk/client-ec2';
import type { Problem } from '../config/validate.js';
import { REQUIRED_INTERFACE_ENDPOINTS, jobsReadParameters } from '../config/schema.js';
import { endpointServicesFor } from '../resources/lib/endpoint-services.js';
import { routeTarget } from '../resources/lib/ec2.js';
import {
  list,
  preflightRead,
  serviceProblems,
  switchProblem,
  type PreflightEnv,
  type PreflightReport,
} from './preflight-checks.js';
import { TAG_STACK } from '../engine/types.js';
import { ifExists } from '../resources/lib/aws-calls.js';

const DEFAULT_ROUTE = '0.0.0.0/0';

/** The table a subnet uses: its explicit association, else the VPC's main table. */
function tableOf(tables: RouteTable[], subnetId: string): RouteTable | undefined {
  return (
    tables.find((t) =>
      t.Associations?.some((a) => a.SubnetId === subnetId && a.AssociationState?.State !== 'disassociated'),
    ) ?? tables.find((t) => t.Associations?.some((a) => a.Main))
  );
}

/** The subnet's way to the internet: the active default route's target (a NAT or an internet gateway). */
function defaultRoute(t: RouteTable | undefined): { target: string; active: boolean } | undefined {
  const r = t?.Routes?.find((x) => x.DestinationCidrBlock === DEFAULT_ROUTE);
  return r && { target: routeTarget(r), active: r.State !== 'blackhole' };
}

const live = (e: VpcEndpoint) => ['available', 'pending', 'pendingacceptance'].includes((e.State ?? '').toLowerCase());
const serviceOf = (e: VpcEndpoint) => (e.ServiceName ?? '').replace(/^(cn\.)?com\.amazonaws\.[a-z0-9-]+\./, '');

/** True when one of the groups lets HTTPS out (tasks call every AWS API on 443). */
function allowsHttpsOut(groups: SecurityGroup[]): boolean {
  return groups.some((g) =>
    (g.IpPermissionsEgress ?? []).some((p) => {
      const proto = p.IpProtocol ?? '-1';
      const ports =
        proto === '-1' ||
        ((proto === 'tcp' || proto === '6') && (p.FromPort ?? 0) <= 443 && 443 <= (p.ToPort ?? 65535));
      const anywhere =
        (p.IpRanges ?? []).some((r) => r.CidrIp === '0.0.0.0/0') ||
        (p.PrefixListIds ?? []).length > 0 ||
        (p.UserIdGroupPairs ?? []).length > 0;
      return ports && anywhere;
    }),
  );
}

/** Check mode `existing` against the account, adding what cannot work to `problems`. */
export async function preflightExisting(env: PreflightEnv, problems: Problem[]): Promise<PreflightReport> {
  const { config } = env;
  const n = config.network;
  const vpcId = n.vpcId!;
  const inVpc = [{ Name: 'vpc-id', Values: [vpcId] }];
  const ec2 = env.aws.ec2;
  const needsDns = n.interfaceEndpoints.length > 0;
  const dns = (Attribute: 'enableDnsSupport' | 'enableDnsHostnames') =>
    ifExists(ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute })));
  const [vpcs, ours, subnets, tables, endpoints, groups, lookup, dnsSupport, dnsHostnames] = await Promise.all([
    preflightRead('your VPC', () => ec2.send(new DescribeVpcsCommand({ Filters: inVpc }))),
    // A VPC this stack created (its state lost): this config would move the job out of it.
    preflightRead("the stack's own VPC", () =>
      ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: `tag:${TAG_STACK}`, Values: [config.stack] }] })),
    ),
    preflightRead('your subnets', () =>
      ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'subnet-id', Values: n.subnetIds }] })),
    ),
    preflightRead('your route tables', () => ec2.send(new DescribeRouteTablesCommand({ Filters: inVpc }))),
    preflightRead('the VPC endpoints in your VPC', () => ec2.send(new DescribeVpcEndpointsCommand({ Filters: inVpc }))),
    n.securityGroupIds.length
      ? preflightRead('your security groups', () =>
          ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-id', Values: n.securityGroupIds }] })),
        )
      : undefined,
    preflightRead('VPC endpoint services', () => endpointServicesFor(ec2, config)),
    // On a VPC that does not exist these fail (NotFound): that is reported below as what it is.
    needsDns ? preflightRead("your VPC's DNS support", () => dns('enableDnsSupport')) : undefined,
    needsDns ? preflightRead("your VPC's DNS hostnames", () => dns('enableDnsHostnames')) : undefined,
  ]);
  const calls = 6 + (n.securityGroupIds.length ? 1 : 0) + lookup.calls + (needsDns ? 2 : 0);
  const report: PreflightReport = { calls, zones: [], services: [] };
  if (!vpcs.Vpcs?.length) {
    problems.push({
      path: ['network', 'vpcId'],
      message: `${vpcId} does not exist in ${config.region} (account ${env.account})`,
    });
    return report;
  }
  const own = ours?.Vpcs?.[0];
  if (own?.VpcId)
    problems.push(
      switchProblem(
        `stack ${config.stack} has its own VPC ${own.VpcId} (mode private-endpoints or public)`,
        'existing',
      ),
    );
  report.services = serviceProblems(config, lookup.services, problems);

  // Subnets and groups: they exist, in this VPC.
  const found = new Map((subnets.Subnets ?? []).map((x) => [x.SubnetId!, x]));
  n.subnetIds.forEach((id, i) => {
    const sub = found.get(id);
    if (!sub) problems.push({ path: ['network', 'subnetIds', i], message: `${id} does not exist in ${config.region}` });
    else if (sub.VpcId !== vpcId)
      problems.push({
        path: ['network', 'subnetIds', i],
        message: `${id} is in ${sub.VpcId}, not in network.vpcId (${vpcId})`,
      });
  });
  if (groups) {
    const byId = new Map((groups.SecurityGroups ?? []).map((g) => [g.GroupId!, g]));
    n.securityGroupIds.forEach((id, i) => {
      const g = byId.get(id);
      if (!g)
        problems.push({
          path: ['network', 'securityGroupIds', i],
          message: `${id} does not exist in ${config.region}`,
        });
      else if (g.VpcId !== vpcId)
        problems.push({
          path: ['network', 'securityGroupIds', i],
          message: `${id} is in ${g.VpcId}, not in network.vpcId (${vpcId}): a task's groups must be in its VPC`,
        });
    });
    if (byId.size && !allowsHttpsOut([...byId.values()])) {
      problems.push({
        path: ['network', 'securityGroupIds'],
        message:
          'none of these groups lets HTTPS (tcp 443) out: tasks could not reach ECR, Logs or Secrets Manager; add an egress rule for 443, or leave securityGroupIds out to let batchctl create an egress-only group',
      });
    }
  }

  // Endpoints: those listed must not clash with yours (private DNS names are unique in a VPC), and need DNS.
  const eps = (endpoints.VpcEndpoints ?? []).filter(live);
  const yours = eps.filter((e) => !e.Tags?.some((t) => t.Key === TAG_STACK && t.Value === config.stack));
  n.interfaceEndpoints.forEach((svc, i) => {
    const clash = yours.find((e) => e.VpcEndpointType === 'Interface' && serviceOf(e) === svc && e.PrivateDnsEnabled);
    if (clash)
      problems.push({
        path: ['network', 'interfaceEndpoints', i],
        message: `your VPC already has the ${svc} endpoint ${clash.VpcEndpointId} with private DNS: remove ${svc} from interfaceEndpoints (tasks use yours)`,
      });
  });
  if (needsDns && !(dnsSupport?.EnableDnsSupport?.Value && dnsHostnames?.EnableDnsHostnames?.Value)) {
    problems.push({
      path: ['network', 'interfaceEndpoints'],
      message: `interface endpoints with private DNS need DNS support and DNS hostnames on ${vpcId}, and batchctl never changes your VPC: turn them on (aws ec2 modify-vpc-attribute --region ${config.region} --vpc-id ${vpcId} --enable-dns-hostnames '{"Value":true}'), or list no endpoints`,
    });
  }
  // Each subnet's way to ECR, Logs, Secrets Manager and S3.
  const rts = tables.RouteTables ?? [];
  const hasInterface = (svc: string) =>
    n.interfaceEndpoints.includes(svc as never) ||
    eps.some((e) => e.VpcEndpointType === 'Interface' && serviceOf(e) === svc && e.PrivateDnsEnabled);
  n.subnetIds.forEach((id, i) => {
    if (found.get(id)?.VpcId !== vpcId) return;
    const rt = tableOf(rts, id);
    const out = defaultRoute(rt);
    const toGateway = out?.active && out.target.startsWith('igw-');
    const toNat = out?.active && out.target.startsWith('nat-');
    const at = ['network', 'subnetIds', i];
    if (n.assignPublicIp && !toGateway) {
      problems.push({
        path: at,
        message: `${id} has no route to an internet gateway (${out ? `0.0.0.0/0 goes to ${out.target}${out.active ? '' : ', a blackhole'}` : 'no default route'}), so the public IP network.assignPublicIp gives tasks is billed and never used: set assignPublicIp: false, or list only public subnets`,
      });
      return;
    }
    if (toNat || (toGateway && n.assignPublicIp)) return;
    // A job secret from Parameter Store is read through SSM as the task starts: ssm is needed too.
    const needed = jobsReadParameters(config.jobs)
      ? [...REQUIRED_INTERFACE_ENDPOINTS, 'ssm']
      : REQUIRED_INTERFACE_ENDPOINTS;
    const missing: string[] = needed.filter((svc) => !hasInterface(svc)).map(String);
    const s3 = eps.some(
      (e) =>
        serviceOf(e) === 's3' &&
        ((e.VpcEndpointType === 'Gateway' && rt?.RouteTableId && e.RouteTableIds?.includes(rt.RouteTableId)) ||
          (e.VpcEndpointType === 'Interface' && e.PrivateDnsEnabled)),
    );
    if (!missing.length && s3) return;
    const what = [
      ...(missing.length ? [`no ${list(missing, 'or')} endpoint`] : []),
      ...(s3
        ? []
        : [
            `no S3 gateway endpoint on its route table${rt?.RouteTableId ? ` ${rt.RouteTableId}` : ''} (image layers come from S3)`,
          ]),
    ];
    problems.push({
      path: at,
      message: toGateway
        ? `${id} routes 0.0.0.0/0 to the internet gateway ${out!.target}, which tasks reach only with a public IP, and has ${list(what)}: set network.assignPublicIp: true`
        : `${id}: no route to a NAT or internet gateway${out && !out.active ? ` (its default route to ${out.target} is a blackhole: that gateway is gone)` : ''} and ${list(what)}`,
    });
  });
  return report;
}
