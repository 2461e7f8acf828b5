/**
 * A network of the user's in the fake AWS, as a company has one (network mode `existing`): a VPC with
 * private subnets in two AZs routed to a NAT gateway, and a public subnet routed to an internet gateway.
 * Nothing carries a batchctl tag. Built with plain SDK calls before batchctl runs.
 */
import {
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  EC2Client,
  ModifyVpcAttributeCommand,
} from '@aws-sdk/client-ec2';
import type { FakeAws } from '../fake-aws/index.js';

/** The ids of the user's network. */
export interface UserNetwork {
  vpcId: string;
  /** Private subnets (1a, 1c), routed to the NAT gateway unless built with `nat: false`. */
  privateSubnets: string[];
  /** A public subnet (1a), routed to the internet gateway. */
  publicSubnet: string;
  igwId: string;
  natId?: string;
  privateRouteTable: string;
  publicRouteTable: string;
}

export async function userNetwork(
  fake: FakeAws,
  opts: { nat?: boolean; dnsHostnames?: boolean } = {},
): Promise<UserNetwork> {
  const ec2 = new EC2Client({ region: fake.core.region });
  const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }))).Vpc!.VpcId!;
  if (opts.dnsHostnames !== false)
    await ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpcId, EnableDnsHostnames: { Value: true } }));
  const subnet = async (az: string, cidr: string) =>
    (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, AvailabilityZone: az, CidrBlock: cidr }))).Subnet!
      .SubnetId!;
  const privateSubnets = [
    await subnet('ap-northeast-1a', '10.20.1.0/24'),
    await subnet('ap-northeast-1c', '10.20.2.0/24'),
  ];
  const publicSubnet = await subnet('ap-northeast-1a', '10.20.100.0/24');
  const igwId = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
  await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igwId, VpcId: vpcId }));
  const table = async (subnets: string[]) => {
    const id = (await ec2.send(new CreateRouteTableCommand({ VpcId: vpcId }))).RouteTable!.RouteTableId!;
    for (const s of subnets) await ec2.send(new AssociateRouteTableCommand({ RouteTableId: id, SubnetId: s }));
    return id;
  };
  const publicRouteTable = await table([publicSubnet]);
  await ec2.send(
    new CreateRouteCommand({ RouteTableId: publicRouteTable, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igwId }),
  );
  const privateRouteTable = await table(privateSubnets);
  let natId: string | undefined;
  if (opts.nat !== false) {
    natId = fake.ec2.addNatGateway(publicSubnet);
    await ec2.send(
      new CreateRouteCommand({
        RouteTableId: privateRouteTable,
        DestinationCidrBlock: '0.0.0.0/0',
        NatGatewayId: natId,
      }),
    );
  }
  return { vpcId, privateSubnets, publicSubnet, igwId, natId, privateRouteTable, publicRouteTable };
}

/** The config's network section for mode existing (replacing the default one). */
export function existingNetwork(text: string, net: { vpcId: string; subnetIds: string[]; extra?: string[] }): string {
  const section = [
    'network:',
    '  mode: existing',
    `  vpcId: ${net.vpcId}`,
    `  subnetIds: [${net.subnetIds.join(', ')}]`,
    ...(net.extra ?? []).map((l) => `  ${l}`),
    '',
  ].join('\n');
  return text.replace(/^network:\n(?: {2}.*\n)+/m, section);
}

/**
 * A snapshot of everything of the user's network that batchctl must leave exactly as it found it: the
 * VPC and its attributes, subnets, route tables (routes and associations), internet and NAT gateways.
 */
export function userNetworkState(fake: FakeAws, vpcId: string): unknown {
  const e = fake.ec2;
  return structuredClone({
    vpc: e.vpcs.get(vpcId),
    subnets: [...e.subnets.values()].filter((s) => s.vpcId === vpcId),
    routeTables: [...e.routeTables.values()].filter((t) => t.vpcId === vpcId),
    internetGateways: [...e.internetGateways.values()].filter((g) => g.vpcId === vpcId),
    natGateways: [...e.natGateways.values()].filter((n) => n.vpcId === vpcId),
    defaultGroup: e.securityGroups.get(e.vpcs.get(vpcId)?.defaultGroupId ?? ''),
  });
}
