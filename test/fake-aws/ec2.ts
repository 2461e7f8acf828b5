/**
 * Fake EC2: the VPC network part (VPCs, subnets, route tables, security groups, VPC endpoints and the
 * network interfaces interface endpoints create). Errors use EC2's real codes and messages; time-based
 * states (endpoint pending/deleting, ENI release) follow core.now(), so vitest fake timers drive them.
 */
import {
  EC2Client,
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  DeleteInternetGatewayCommand,
  DescribeInternetGatewaysCommand,
  DescribeNatGatewaysCommand,
  DetachInternetGatewayCommand,
  ReplaceRouteCommand,
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  CreateVpcEndpointCommand,
  DeleteRouteCommand,
  DeleteRouteTableCommand,
  DeleteSecurityGroupCommand,
  DeleteSubnetCommand,
  DeleteTagsCommand,
  DeleteVpcCommand,
  DeleteVpcEndpointsCommand,
  DescribeAvailabilityZonesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcAttributeCommand,
  DescribeVpcEndpointServicesCommand,
  DescribeVpcEndpointsCommand,
  DescribeVpcsCommand,
  DisassociateRouteTableCommand,
  ModifySubnetAttributeCommand,
  ModifyVpcAttributeCommand,
  ModifyVpcEndpointCommand,
  ReplaceRouteTableAssociationCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import { awsError, recordToTags, tagsToRecord, type FakeAwsCore } from './core.js';
import type { InventoryEntry } from './index.js';

type Tags = Record<string, string>;
type Filter = { Name?: string; Values?: string[] };
const LOGICAL = 'batchctl:logical';

/** A VPC; `mainRouteTableId` and `defaultGroupId` are the implicit resources AWS creates with it. */
export interface FakeVpc {
  id: string;
  cidr: string;
  dnsSupport: boolean;
  dnsHostnames: boolean;
  tags: Tags;
  mainRouteTableId: string;
  defaultGroupId: string;
  isDefault?: boolean;
}
/** A subnet. */
export interface FakeSubnet {
  id: string;
  vpcId: string;
  cidr: string;
  az: string;
  mapPublicIpOnLaunch: boolean;
  tags: Tags;
}
/** A route: destination (CIDR or prefix list) and target (`local`, igw-, vpce-...). */
export interface FakeRoute {
  dest: string;
  target: string;
}
/** A route table association; `main` for the VPC's implicit main association. */
export interface FakeAssociation {
  id: string;
  subnetId?: string;
  main: boolean;
}
/** A route table. */
export interface FakeRouteTable {
  id: string;
  vpcId: string;
  routes: FakeRoute[];
  associations: FakeAssociation[];
  tags: Tags;
  main: boolean;
}
/** One atomic rule: protocol ('-1', 'tcp', ...), ports, and one peer (CIDR, IPv6 CIDR, group or prefix list). */
export interface FakeRule {
  id: string;
  protocol: string;
  from?: number;
  to?: number;
  peer: string;
  description?: string;
}
/** A security group; `isDefault` for the VPC's `default` group. */
export interface FakeSecurityGroup {
  id: string;
  vpcId: string;
  name: string;
  description: string;
  ingress: FakeRule[];
  egress: FakeRule[];
  tags: Tags;
  isDefault: boolean;
}
/** A VPC endpoint. `availableAt`/`goneAt` drive the pending and deleting states. */
export interface FakeEndpoint {
  id: string;
  type: 'Interface' | 'Gateway';
  vpcId: string;
  serviceName: string;
  state: 'pending' | 'available' | 'deleting' | 'deleted' | 'failed';
  subnetIds: string[];
  groupIds: string[];
  routeTableIds: string[];
  privateDns: boolean;
  policy: string;
  tags: Tags;
  clientToken?: string;
  createdAt: number;
  availableAt: number;
  goneAt?: number;
}
/** An internet gateway and the VPC it is attached to (none: detached). */
export interface FakeInternetGateway {
  id: string;
  vpcId?: string;
  tags: Tags;
}
/** A NAT gateway (in a public subnet); only `available` ones carry traffic. */
export interface FakeNatGateway {
  id: string;
  vpcId: string;
  subnetId: string;
  state: 'pending' | 'available' | 'deleted';
  tags: Tags;
}
/** An interface endpoint's network interface; `releaseAt` is set once AWS lets go of it. */
export interface FakeEni {
  id: string;
  vpcId: string;
  subnetId: string;
  groupIds: string[];
  endpointId: string;
  releaseAt?: number;
}

const ZONES: Record<string, [string, string][]> = {
  'ap-northeast-1': [
    ['ap-northeast-1a', 'apne1-az4'],
    ['ap-northeast-1c', 'apne1-az1'],
    ['ap-northeast-1d', 'apne1-az2'],
  ],
};
const INTERFACE_SERVICES = ['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager', 'sts', 'ssm', 'kms', 'monitoring', 's3'];
const GATEWAY_SERVICES = ['s3', 'dynamodb'];
/** Other AWS services the region offers, so a full listing of endpoint services pages like AWS's. */
const OTHER_INTERFACE_SERVICES = [
  'athena',
  'autoscaling',
  'cloudformation',
  'codebuild',
  'dynamodb',
  'ebs',
  'ec2',
  'ec2messages',
  'ecs',
  'ecs-agent',
  'ecs-telemetry',
  'elasticfilesystem',
  'elasticloadbalancing',
  'events',
  'execute-api',
  'glue',
  'kinesis-streams',
  'lambda',
  'rds',
  'sagemaker.api',
  'scheduler',
  'sns',
  'sqs',
  'ssmmessages',
  'states',
  'xray',
];
/**
 * Service names that differ by partition: in the China regions some services are named
 * `cn.com.amazonaws.<region>.<service>` (ECR among them), which is why names are looked up, not built.
 */
const CN_PREFIXED = new Set(['ecr.api', 'ecr.dkr', 'execute-api', 'sagemaker.api']);

/** One endpoint service of the fake's catalog (DescribeVpcEndpointServices). */
export interface FakeEndpointService {
  short: string;
  name: string;
  type: 'Interface' | 'Gateway';
  zones: string[];
}
const FULL_ACCESS = JSON.stringify({
  Version: '2008-10-17',
  Statement: [{ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }],
});
const PROTOCOLS: Record<string, string> = {
  all: '-1',
  '-1': '-1',
  '6': 'tcp',
  '17': 'udp',
  '1': 'icmp',
  '58': 'icmpv6',
};

function cidrRange(cidr: string): { start: number; end: number; prefix: number } | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const addr = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  if (addr % size !== 0) return undefined;
  return { start: addr, end: addr + size - 1, prefix };
}

/** EC2 filter values are globs (`*`, `?`). */
function glob(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return re.test(value);
}

/**
 * Apply EC2 filters. `fields` gives the values of the filters this resource type supports; an unknown
 * filter name is an error, as in EC2 (it catches typos that would otherwise match everything).
 */
function applyFilters<T>(
  items: T[],
  filters: Filter[] | undefined,
  tags: (t: T) => Tags,
  fields: Record<string, (t: T) => (string | undefined)[]>,
): T[] {
  for (const f of filters ?? []) {
    const name = f.Name ?? '';
    if (!name.startsWith('tag:') && name !== 'tag-key' && !fields[name])
      awsError('InvalidParameterValue', `The filter '${name}' is invalid`);
  }
  return items.filter((item) =>
    (filters ?? []).every((f) => {
      const name = f.Name ?? '';
      const values = name.startsWith('tag:')
        ? [tags(item)[name.slice(4)]]
        : name === 'tag-key'
          ? Object.keys(tags(item))
          : fields[name]!(item);
      return (f.Values ?? []).some((p) => values.some((v) => v !== undefined && glob(p, v)));
    }),
  );
}

function sortedUnique(list: string[]): string[] {
  return [...new Set(list)].sort();
}

/** EC2 network fake. Public maps hold the state for assertions. */
export class FakeEc2 {
  readonly vpcs = new Map<string, FakeVpc>();
  readonly subnets = new Map<string, FakeSubnet>();
  readonly routeTables = new Map<string, FakeRouteTable>();
  readonly securityGroups = new Map<string, FakeSecurityGroup>();
  readonly endpoints = new Map<string, FakeEndpoint>();
  readonly enis = new Map<string, FakeEni>();
  readonly internetGateways = new Map<string, FakeInternetGateway>();
  readonly natGateways = new Map<string, FakeNatGateway>();
  /**
   * Public IPv4 addresses mapped in a VPC (running tasks started with a public IP), by VPC id: while any
   * is, DetachInternetGateway is refused with DependencyViolation, as in EC2.
   */
  readonly mappedPublicAddresses = new Map<string, number>();
  /** How long an interface endpoint stays `pending` after create or modify. */
  endpointPendingMs = 0;
  /** How long an endpoint stays `deleting` after DeleteVpcEndpoints. */
  endpointDeletingMs = 0;
  /** How long an interface endpoint's ENIs outlive the endpoint (counted from when it is gone). */
  eniReleaseMs = 0;
  /** How long a deleted endpoint is still listed (state `deleted`), as AWS does. */
  deletedEndpointRetentionMs = 10 * 60_000;
  /** Interface endpoints for these services end `failed` instead of `available`. */
  readonly failingServices = new Set<string>();
  /**
   * The account's zones in this region, as [name, zone id]; default: the region's. Tests replace it, e.g.
   * to model an account without `ap-northeast-1b` (most accounts: only older ones can use it).
   */
  zoneList: [string, string][] | undefined;
  /** A zone's state other than `available` (`impaired`, `unavailable`...). */
  readonly zoneStates = new Map<string, string>();
  /** The zones an endpoint service (by short name, e.g. `ecr.dkr`) is offered in; default: every zone. */
  readonly serviceZones = new Map<string, string[]>();
  /** A service's full name other than the partition's usual one (by short name). */
  readonly serviceNameOverrides = new Map<string, string>();
  /** Services (by short name) this region does not offer as endpoints at all. */
  readonly servicesNotOffered = new Set<string>();
  /** ServiceDetails per DescribeVpcEndpointServices page when the caller sets no MaxResults (AWS pages too). */
  endpointServicePageSize = 1000;
  /** Answer DescribeVpcEndpointServices with ServiceNames only and no ServiceDetails, as GovCloud does. */
  endpointServiceNamesOnly = false;
  /**
   * EC2's eventual consistency: for this long after its create, an id is unknown to every call that
   * names it (InvalidXxxID.NotFound) and missing from filtered Describes.
   */
  visibilityLagMs = 0;
  /**
   * The same for calls that name a new id as a parameter (CreateSubnet's VpcId, AssociateRouteTable,
   * CreateVpcEndpoint's subnets...), which in real EC2 can lag behind Describe: a resource already
   * `available` in a Describe is still refused with NotFound for a moment.
   */
  referenceLagMs = 0;
  private readonly born = new Map<string, number>();
  /** The operation being handled is a read (Describe*): only visibilityLagMs applies. */
  private reading = false;
  private readonly tokens = new Map<string, string>();

  constructor(readonly core: FakeAwsCore) {
    core.peers.set('ec2', this);
    const op = <C>(command: new (input: any) => C, handle: (input: any) => unknown) => ({
      command,
      handle: (input: any) => {
        this.tick();
        this.reading = /^Describe/.test(command.name);
        return handle(input);
      },
    });
    core.register({
      name: 'ec2',
      client: EC2Client,
      ops: {
        CreateVpc: op(CreateVpcCommand, (i) => this.createVpc(i)),
        DescribeVpcs: op(DescribeVpcsCommand, (i) => this.describeVpcs(i)),
        DescribeVpcAttribute: op(DescribeVpcAttributeCommand, (i) => this.describeVpcAttribute(i)),
        ModifyVpcAttribute: op(ModifyVpcAttributeCommand, (i) => this.modifyVpcAttribute(i)),
        DeleteVpc: op(DeleteVpcCommand, (i) => this.deleteVpc(i)),
        CreateSubnet: op(CreateSubnetCommand, (i) => this.createSubnet(i)),
        DescribeSubnets: op(DescribeSubnetsCommand, (i) => this.describeSubnets(i)),
        ModifySubnetAttribute: op(ModifySubnetAttributeCommand, (i) => this.modifySubnetAttribute(i)),
        DeleteSubnet: op(DeleteSubnetCommand, (i) => this.deleteSubnet(i)),
        CreateRouteTable: op(CreateRouteTableCommand, (i) => this.createRouteTable(i)),
        DescribeRouteTables: op(DescribeRouteTablesCommand, (i) => this.describeRouteTables(i)),
        AssociateRouteTable: op(AssociateRouteTableCommand, (i) => this.associateRouteTable(i)),
        ReplaceRouteTableAssociation: op(ReplaceRouteTableAssociationCommand, (i) => this.replaceAssociation(i)),
        DisassociateRouteTable: op(DisassociateRouteTableCommand, (i) => this.disassociate(i)),
        DeleteRouteTable: op(DeleteRouteTableCommand, (i) => this.deleteRouteTable(i)),
        CreateRoute: op(CreateRouteCommand, (i) => this.createRoute(i)),
        DeleteRoute: op(DeleteRouteCommand, (i) => this.deleteRoute(i)),
        CreateSecurityGroup: op(CreateSecurityGroupCommand, (i) => this.createSecurityGroup(i)),
        DescribeSecurityGroups: op(DescribeSecurityGroupsCommand, (i) => this.describeSecurityGroups(i)),
        AuthorizeSecurityGroupIngress: op(AuthorizeSecurityGroupIngressCommand, (i) => this.authorize(i, 'ingress')),
        AuthorizeSecurityGroupEgress: op(AuthorizeSecurityGroupEgressCommand, (i) => this.authorize(i, 'egress')),
        RevokeSecurityGroupIngress: op(RevokeSecurityGroupIngressCommand, (i) => this.revoke(i, 'ingress')),
        RevokeSecurityGroupEgress: op(RevokeSecurityGroupEgressCommand, (i) => this.revoke(i, 'egress')),
        DeleteSecurityGroup: op(DeleteSecurityGroupCommand, (i) => this.deleteSecurityGroup(i)),
        CreateVpcEndpoint: op(CreateVpcEndpointCommand, (i) => this.createEndpoint(i)),
        DescribeVpcEndpoints: op(DescribeVpcEndpointsCommand, (i) => this.describeEndpoints(i)),
        ModifyVpcEndpoint: op(ModifyVpcEndpointCommand, (i) => this.modifyEndpoint(i)),
        DeleteVpcEndpoints: op(DeleteVpcEndpointsCommand, (i) => this.deleteEndpoints(i)),
        DescribeNetworkInterfaces: op(DescribeNetworkInterfacesCommand, (i) => this.describeEnis(i)),
        CreateTags: op(CreateTagsCommand, (i) => this.createTags(i)),
        DeleteTags: op(DeleteTagsCommand, (i) => this.deleteTags(i)),
        DescribeAvailabilityZones: op(DescribeAvailabilityZonesCommand, (i) => this.describeZones(i)),
        DescribeVpcEndpointServices: op(DescribeVpcEndpointServicesCommand, (i) => this.describeEndpointServices(i)),
        CreateInternetGateway: op(CreateInternetGatewayCommand, (i) => this.createInternetGateway(i)),
        DescribeInternetGateways: op(DescribeInternetGatewaysCommand, (i) => this.describeInternetGateways(i)),
        AttachInternetGateway: op(AttachInternetGatewayCommand, (i) => this.attachInternetGateway(i)),
        DetachInternetGateway: op(DetachInternetGatewayCommand, (i) => this.detachInternetGateway(i)),
        DeleteInternetGateway: op(DeleteInternetGatewayCommand, (i) => this.deleteInternetGateway(i)),
        ReplaceRoute: op(ReplaceRouteCommand, (i) => this.replaceRoute(i)),
        DescribeNatGateways: op(DescribeNatGatewaysCommand, (i) => this.describeNatGateways(i)),
      },
    });
  }

  // ---------------------------------------------------------------------------------------- helpers

  /** Advance time-based states to core.now(). */
  private tick(): void {
    const now = this.core.now();
    for (const ep of this.endpoints.values()) {
      if (ep.state === 'pending' && now >= ep.availableAt)
        ep.state = this.failingServices.has(ep.serviceName) ? 'failed' : 'available';
      if (ep.state === 'deleting' && now >= ep.goneAt!) ep.state = 'deleted';
      if (ep.state === 'deleted' && now >= ep.goneAt! + this.deletedEndpointRetentionMs) this.endpoints.delete(ep.id);
    }
    for (const eni of this.enis.values())
      if (eni.releaseAt !== undefined && now >= eni.releaseAt) this.enis.delete(eni.id);
  }

  private tagsFrom(
    specs: { ResourceType?: string; Tags?: { Key?: string; Value?: string }[] }[] | undefined,
    type: string,
  ): Tags {
    const tags: Tags = {};
    for (const s of specs ?? []) {
      if (s.ResourceType !== type)
        awsError(
          'InvalidParameterValue',
          `'${s.ResourceType}' is not a valid taggable resource type for this operation.`,
        );
      Object.assign(tags, tagsToRecord(s.Tags));
    }
    return tags;
  }

  private labelFrom(id: string, tags: Tags): void {
    if (tags[LOGICAL]) this.core.label(id, tags[LOGICAL]);
  }

  /** A resource was just created: label it, and start its visibility lag. */
  private created(id: string, tags: Tags): void {
    this.labelFrom(id, tags);
    this.born.set(id, this.core.now());
  }

  /** Created less than visibilityLagMs ago: not visible yet. */
  private hidden(id: string): boolean {
    const t = this.born.get(id);
    const lag = this.reading ? this.visibilityLagMs : Math.max(this.visibilityLagMs, this.referenceLagMs);
    return lag > 0 && t !== undefined && this.core.now() < t + lag;
  }
  private visible<T>(map: Map<string, T>, id: string | undefined): T | undefined {
    return id && !this.hidden(id) ? map.get(id) : undefined;
  }

  private vpc(id: string | undefined): FakeVpc {
    return this.visible(this.vpcs, id) ?? awsError('InvalidVpcID.NotFound', `The vpc ID '${id}' does not exist`);
  }
  private subnet(id: string | undefined): FakeSubnet {
    return (
      this.visible(this.subnets, id) ?? awsError('InvalidSubnetID.NotFound', `The subnet ID '${id}' does not exist`)
    );
  }
  private routeTable(id: string | undefined): FakeRouteTable {
    return (
      this.visible(this.routeTables, id) ??
      awsError('InvalidRouteTableID.NotFound', `The routeTable ID '${id}' does not exist`)
    );
  }
  private group(id: string | undefined): FakeSecurityGroup {
    return (
      this.visible(this.securityGroups, id) ??
      awsError('InvalidGroup.NotFound', `The security group '${id}' does not exist`)
    );
  }
  private endpoint(id: string | undefined): FakeEndpoint {
    return (
      this.visible(this.endpoints, id) ??
      awsError('InvalidVpcEndpointId.NotFound', `The Vpc Endpoint Id '${id}' does not exist`)
    );
  }
  private byIds<T extends { id: string }>(ids: string[] | undefined, all: Map<string, T>, get: (id: string) => T): T[] {
    return ids?.length ? ids.map(get) : [...all.values()].filter((x) => !this.hidden(x.id));
  }
  private zones(): [string, string][] {
    const r = this.core.region;
    return this.zoneList ?? ZONES[r] ?? ['a', 'b', 'c'].map((z, i) => [`${r}${z}`, `${r}-az${i + 1}`]);
  }

  /** Every AWS endpoint service of the region, sorted by name, each in the zones it is offered in. */
  endpointServiceCatalog(): FakeEndpointService[] {
    const r = this.core.region;
    const cn = this.core.partition === 'aws-cn';
    const zones = (short: string) => this.serviceZones.get(short) ?? this.zones().map(([name]) => name);
    const name = (short: string, type: string) =>
      this.serviceNameOverrides.get(short) ??
      `${cn && type === 'Interface' && CN_PREFIXED.has(short) ? 'cn.' : ''}com.amazonaws.${r}.${short}`;
    const all: FakeEndpointService[] = [
      ...[...new Set([...INTERFACE_SERVICES, ...OTHER_INTERFACE_SERVICES])].map((short) => ({
        short,
        type: 'Interface' as const,
      })),
      ...GATEWAY_SERVICES.map((short) => ({ short, type: 'Gateway' as const })),
    ]
      .filter((x) => !this.servicesNotOffered.has(x.short))
      .map((x) => ({ ...x, name: name(x.short, x.type), zones: zones(x.short) }));
    return all.sort((a, b) => a.name.localeCompare(b.name) || a.type.localeCompare(b.type));
  }

  // ---------------------------------------------------------------------------------------- VPCs

  private createVpc(i: any) {
    const range = cidrRange(i.CidrBlock ?? '');
    if (!range || range.prefix < 16 || range.prefix > 28)
      awsError('InvalidVpc.Range', `The CIDR '${i.CidrBlock}' is invalid.`);
    const id = this.core.newId('vpc');
    const tags = this.tagsFrom(i.TagSpecifications, 'vpc');
    const mainRouteTableId = this.core.newId('rtb');
    const defaultGroupId = this.core.newId('sg');
    const v: FakeVpc = {
      id,
      cidr: i.CidrBlock,
      dnsSupport: true,
      dnsHostnames: false,
      tags,
      mainRouteTableId,
      defaultGroupId,
    };
    this.vpcs.set(id, v);
    this.created(id, tags);
    // Every VPC comes with a main route table and a default security group, both untagged.
    this.routeTables.set(mainRouteTableId, {
      id: mainRouteTableId,
      vpcId: id,
      main: true,
      tags: {},
      routes: [{ dest: v.cidr, target: 'local' }],
      associations: [{ id: this.core.newId('rtbassoc'), main: true }],
    });
    this.securityGroups.set(defaultGroupId, {
      id: defaultGroupId,
      vpcId: id,
      name: 'default',
      description: 'default VPC security group',
      tags: {},
      isDefault: true,
      ingress: [{ id: this.core.newId('sgr'), protocol: '-1', peer: defaultGroupId }],
      egress: [{ id: this.core.newId('sgr'), protocol: '-1', peer: '0.0.0.0/0' }],
    });
    // AWS answers CreateVpc with the VPC still pending.
    return { Vpc: { ...this.vpcOut(v), State: 'pending' } };
  }

  /** The account's default VPC (172.31.0.0/16, untagged), as every account has one per region. */
  addDefaultVpc(): string {
    const out = this.createVpc({ CidrBlock: '172.31.0.0/16' });
    const v = this.vpcs.get(out.Vpc.VpcId)!;
    v.isDefault = true;
    v.dnsHostnames = true;
    return v.id;
  }

  private vpcOut(v: FakeVpc) {
    return {
      VpcId: v.id,
      CidrBlock: v.cidr,
      State: 'available',
      IsDefault: v.isDefault ?? false,
      InstanceTenancy: 'default',
      OwnerId: this.core.account,
      DhcpOptionsId: 'dopt-default',
      CidrBlockAssociationSet: [
        { CidrBlock: v.cidr, AssociationId: `${v.id}-cidr`, CidrBlockState: { State: 'associated' } },
      ],
      Tags: recordToTags(v.tags),
    };
  }

  private describeVpcs(i: any) {
    const items = applyFilters(
      this.byIds(i.VpcIds, this.vpcs, (id) => this.vpc(id)),
      i.Filters,
      (v) => v.tags,
      {
        'vpc-id': (v) => [v.id],
        cidr: (v) => [v.cidr],
        'cidr-block-association.cidr-block': (v) => [v.cidr],
        state: () => ['available'],
        'is-default': () => ['false'],
        'owner-id': () => [this.core.account],
      },
    );
    return { Vpcs: items.map((v) => this.vpcOut(v)) };
  }

  private describeVpcAttribute(i: any) {
    const v = this.vpc(i.VpcId);
    if (i.Attribute === 'enableDnsSupport') return { VpcId: v.id, EnableDnsSupport: { Value: v.dnsSupport } };
    if (i.Attribute === 'enableDnsHostnames') return { VpcId: v.id, EnableDnsHostnames: { Value: v.dnsHostnames } };
    return awsError(
      'InvalidParameterValue',
      `Value (${i.Attribute}) for parameter attribute is invalid. Unknown attribute.`,
    );
  }

  private modifyVpcAttribute(i: any) {
    const v = this.vpc(i.VpcId);
    const given = ['EnableDnsSupport', 'EnableDnsHostnames', 'EnableNetworkAddressUsageMetrics'].filter(
      (k) => i[k] !== undefined,
    );
    if (given.length !== 1)
      awsError('InvalidParameterCombination', 'Exactly one attribute must be specified per request.');
    if (i.EnableDnsSupport) v.dnsSupport = i.EnableDnsSupport.Value ?? false;
    if (i.EnableDnsHostnames) {
      if (i.EnableDnsHostnames.Value && !v.dnsSupport)
        awsError('InvalidParameterValue', 'DNS hostnames cannot be enabled while DNS support is disabled.');
      v.dnsHostnames = i.EnableDnsHostnames.Value ?? false;
    }
    return {};
  }

  private deleteVpc(i: any) {
    const v = this.vpc(i.VpcId);
    const deps = [
      ...[...this.subnets.values()].filter((s) => s.vpcId === v.id),
      ...[...this.securityGroups.values()].filter((g) => g.vpcId === v.id && !g.isDefault),
      ...[...this.routeTables.values()].filter((r) => r.vpcId === v.id && !r.main),
      ...[...this.endpoints.values()].filter((e) => e.vpcId === v.id && e.state !== 'deleted'),
      ...[...this.enis.values()].filter((e) => e.vpcId === v.id),
      ...[...this.internetGateways.values()].filter((g) => g.vpcId === v.id),
      ...[...this.natGateways.values()].filter((n) => n.vpcId === v.id && n.state !== 'deleted'),
    ];
    if (deps.length) awsError('DependencyViolation', `The vpc '${v.id}' has dependencies and cannot be deleted.`);
    this.routeTables.delete(v.mainRouteTableId);
    this.securityGroups.delete(v.defaultGroupId);
    this.vpcs.delete(v.id);
    return {};
  }

  // ---------------------------------------------------------------------------------------- subnets

  private createSubnet(i: any) {
    const v = this.vpc(i.VpcId);
    const zones = this.zones();
    const zone = zones.find(([name, zid]) => name === i.AvailabilityZone || zid === i.AvailabilityZoneId);
    if (!zone) {
      awsError(
        'InvalidParameterValue',
        `Value (${i.AvailabilityZone}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: ${zones.map((z) => z[0]).join(', ')}.`,
      );
    }
    const r = cidrRange(i.CidrBlock ?? '');
    const vr = cidrRange(v.cidr)!;
    if (!r || r.prefix < 16 || r.prefix > 28 || r.start < vr.start || r.end > vr.end)
      awsError('InvalidSubnet.Range', `The CIDR '${i.CidrBlock}' is invalid.`);
    for (const s of this.subnets.values()) {
      const sr = cidrRange(s.cidr)!;
      if (s.vpcId === v.id && r.start <= sr.end && sr.start <= r.end)
        awsError('InvalidSubnet.Conflict', `The CIDR '${i.CidrBlock}' conflicts with another subnet`);
    }
    const tags = this.tagsFrom(i.TagSpecifications, 'subnet');
    const s: FakeSubnet = {
      id: this.core.newId('subnet'),
      vpcId: v.id,
      cidr: i.CidrBlock,
      az: zone[0],
      mapPublicIpOnLaunch: false,
      tags,
    };
    this.subnets.set(s.id, s);
    this.created(s.id, tags);
    // AWS may answer CreateSubnet with the subnet still pending (as it does CreateVpc): a describe then says available.
    return { Subnet: { ...this.subnetOut(s), State: 'pending' } };
  }

  private subnetOut(s: FakeSubnet) {
    const zid = this.zones().find((z) => z[0] === s.az)?.[1];
    return {
      SubnetId: s.id,
      VpcId: s.vpcId,
      CidrBlock: s.cidr,
      AvailabilityZone: s.az,
      AvailabilityZoneId: zid,
      State: 'available',
      MapPublicIpOnLaunch: s.mapPublicIpOnLaunch,
      DefaultForAz: false,
      OwnerId: this.core.account,
      SubnetArn: `arn:aws:ec2:${this.core.region}:${this.core.account}:subnet/${s.id}`,
      Tags: recordToTags(s.tags),
    };
  }

  private describeSubnets(i: any) {
    const items = applyFilters(
      this.byIds(i.SubnetIds, this.subnets, (id) => this.subnet(id)),
      i.Filters,
      (s) => s.tags,
      {
        'vpc-id': (s) => [s.vpcId],
        'subnet-id': (s) => [s.id],
        'availability-zone': (s) => [s.az],
        'cidr-block': (s) => [s.cidr],
        cidr: (s) => [s.cidr],
        state: () => ['available'],
        'default-for-az': () => ['false'],
      },
    );
    return { Subnets: items.map((s) => this.subnetOut(s)) };
  }

  private modifySubnetAttribute(i: any) {
    const s = this.subnet(i.SubnetId);
    if (i.MapPublicIpOnLaunch) s.mapPublicIpOnLaunch = i.MapPublicIpOnLaunch.Value ?? false;
    return {};
  }

  private deleteSubnet(i: any) {
    const s = this.subnet(i.SubnetId);
    if ([...this.enis.values()].some((e) => e.subnetId === s.id))
      awsError('DependencyViolation', `The subnet '${s.id}' has dependencies and cannot be deleted.`);
    // Deleting a subnet removes its explicit route table association with it.
    for (const rt of this.routeTables.values()) rt.associations = rt.associations.filter((a) => a.subnetId !== s.id);
    this.subnets.delete(s.id);
    return {};
  }

  // ---------------------------------------------------------------------------------------- route tables

  private createRouteTable(i: any) {
    // CreateRouteTable is idempotent with a ClientToken: the same token returns the same table.
    const prior = i.ClientToken ? this.routeTables.get(this.tokens.get(`rtb:${i.ClientToken}`) ?? '') : undefined;
    if (prior) {
      if (prior.vpcId !== i.VpcId)
        awsError(
          'IdempotentParameterMismatch',
          'The client token you have provided is associated with a resource that has different parameters.',
        );
      return { RouteTable: this.routeTableOut(prior), ClientToken: i.ClientToken };
    }
    const v = this.vpc(i.VpcId);
    const tags = this.tagsFrom(i.TagSpecifications, 'route-table');
    const rt: FakeRouteTable = {
      id: this.core.newId('rtb'),
      vpcId: v.id,
      routes: [{ dest: v.cidr, target: 'local' }],
      associations: [],
      tags,
      main: false,
    };
    this.routeTables.set(rt.id, rt);
    this.created(rt.id, tags);
    if (i.ClientToken) this.tokens.set(`rtb:${i.ClientToken}`, rt.id);
    return { RouteTable: this.routeTableOut(rt), ClientToken: i.ClientToken };
  }

  private routeTableOut(rt: FakeRouteTable) {
    return {
      RouteTableId: rt.id,
      VpcId: rt.vpcId,
      OwnerId: this.core.account,
      Tags: recordToTags(rt.tags),
      PropagatingVgws: [],
      Routes: rt.routes.map((r) => ({
        ...(r.dest.startsWith('pl-') ? { DestinationPrefixListId: r.dest } : { DestinationCidrBlock: r.dest }),
        ...(r.target.startsWith('nat-') ? { NatGatewayId: r.target } : { GatewayId: r.target }),
        State: this.routeActive(rt, r) ? 'active' : 'blackhole',
        Origin: r.target === 'local' ? 'CreateRouteTable' : 'CreateRoute',
      })),
      Associations: rt.associations.map((a) => ({
        Main: a.main,
        RouteTableAssociationId: a.id,
        RouteTableId: rt.id,
        ...(a.subnetId ? { SubnetId: a.subnetId } : {}),
        AssociationState: { State: 'associated' },
      })),
    };
  }

  private describeRouteTables(i: any) {
    const items = applyFilters(
      this.byIds(i.RouteTableIds, this.routeTables, (id) => this.routeTable(id)),
      i.Filters,
      (r) => r.tags,
      {
        'vpc-id': (r) => [r.vpcId],
        'route-table-id': (r) => [r.id],
        'association.subnet-id': (r) => r.associations.map((a) => a.subnetId),
        'association.route-table-association-id': (r) => r.associations.map((a) => a.id),
        'association.main': (r) => [String(r.main)],
        'route.gateway-id': (r) => r.routes.map((x) => x.target),
        'route.destination-cidr-block': (r) => r.routes.map((x) => x.dest),
      },
    );
    return { RouteTables: items.map((r) => this.routeTableOut(r)) };
  }

  private findAssociation(id: string | undefined): { rt: FakeRouteTable; a: FakeAssociation } {
    for (const rt of this.routeTables.values()) {
      const a = rt.associations.find((x) => x.id === id);
      if (a) return { rt, a };
    }
    return awsError('InvalidAssociationID.NotFound', `The association ID '${id}' does not exist`);
  }

  private associateRouteTable(i: any) {
    const rt = this.routeTable(i.RouteTableId);
    const s = this.subnet(i.SubnetId);
    if (s.vpcId !== rt.vpcId)
      awsError('InvalidParameterValue', `Route table ${rt.id} and subnet ${s.id} belong to different networks`);
    for (const other of this.routeTables.values()) {
      if (other.associations.some((a) => a.subnetId === s.id)) {
        awsError(
          'Resource.AlreadyAssociated',
          `the specified association for route table ${other.id} conflicts with an existing association`,
        );
      }
    }
    const a: FakeAssociation = { id: this.core.newId('rtbassoc'), subnetId: s.id, main: false };
    rt.associations.push(a);
    return { AssociationId: a.id, AssociationState: { State: 'associated' } };
  }

  private replaceAssociation(i: any) {
    const { rt, a } = this.findAssociation(i.AssociationId);
    const target = this.routeTable(i.RouteTableId);
    if (target.vpcId !== rt.vpcId)
      awsError(
        'InvalidParameterValue',
        `Route table ${target.id} and association ${a.id} belong to different networks`,
      );
    rt.associations = rt.associations.filter((x) => x !== a);
    const moved: FakeAssociation = { ...a, id: this.core.newId('rtbassoc') };
    target.associations.push(moved);
    if (a.main) {
      rt.main = false;
      target.main = true;
      this.vpc(rt.vpcId).mainRouteTableId = target.id;
    }
    return { NewAssociationId: moved.id, AssociationState: { State: 'associated' } };
  }

  private disassociate(i: any) {
    const { rt, a } = this.findAssociation(i.AssociationId);
    if (a.main) awsError('InvalidParameterValue', `cannot disassociate the main route table association ${a.id}`);
    rt.associations = rt.associations.filter((x) => x !== a);
    return {};
  }

  private deleteRouteTable(i: any) {
    const rt = this.routeTable(i.RouteTableId);
    if (rt.main || rt.associations.length)
      awsError('DependencyViolation', `The routeTable '${rt.id}' has dependencies and cannot be deleted.`);
    this.routeTables.delete(rt.id);
    return {};
  }

  private createRoute(i: any) {
    const rt = this.routeTable(i.RouteTableId);
    const dest = i.DestinationCidrBlock ?? i.DestinationPrefixListId;
    const target = i.GatewayId ?? i.NatGatewayId;
    if (!dest || !target) awsError('MissingParameter', 'The request must contain a destination and a target');
    this.checkRouteTarget(rt, target);
    // Even to the same target: EC2 refuses a destination a table already has.
    if (rt.routes.some((r) => r.dest === dest))
      awsError('RouteAlreadyExists', `The route identified by ${dest} already exists.`);
    rt.routes.push({ dest, target });
    return { Return: true };
  }

  private replaceRoute(i: any) {
    const rt = this.routeTable(i.RouteTableId);
    const dest = i.DestinationCidrBlock ?? i.DestinationPrefixListId;
    const target = i.GatewayId ?? i.NatGatewayId;
    const route = rt.routes.find((r) => r.dest === dest);
    if (!route)
      awsError('InvalidRoute.NotFound', `no route with destination-cidr-block ${dest} in route table ${rt.id}`);
    if (route.target === 'local')
      awsError('InvalidParameterValue', `cannot replace local route ${dest} in route table ${rt.id}`);
    this.checkRouteTarget(rt, target);
    route.target = target;
    return {};
  }

  /** A route's target must exist, and an internet gateway be attached to the table's VPC. */
  private checkRouteTarget(rt: FakeRouteTable, target: string): void {
    if (target.startsWith('igw-')) {
      const g =
        this.visible(this.internetGateways, target) ??
        awsError('InvalidInternetGatewayID.NotFound', `The internetGateway ID '${target}' does not exist`);
      if (g.vpcId !== rt.vpcId)
        awsError(
          'InvalidParameterValue',
          `route table ${rt.id} and network gateway ${target} belong to different networks`,
        );
    } else if (target.startsWith('nat-')) {
      const n = this.natGateways.get(target);
      if (!n || n.state === 'deleted')
        awsError('InvalidNatGatewayID.NotFound', `The natGateway ID '${target}' does not exist`);
    }
  }

  /** A route carries traffic: its gateway is still there (and attached), else EC2 shows it `blackhole`. */
  private routeActive(rt: FakeRouteTable, r: FakeRoute): boolean {
    if (r.target.startsWith('igw-')) return this.internetGateways.get(r.target)?.vpcId === rt.vpcId;
    if (r.target.startsWith('nat-')) return this.natGateways.get(r.target)?.state === 'available';
    if (r.target.startsWith('vpce-'))
      return ['available', 'pending'].includes(this.endpoints.get(r.target)?.state ?? '');
    return true;
  }

  // ---------------------------------------------------------------------------------------- internet and NAT gateways

  private internetGateway(id: string | undefined): FakeInternetGateway {
    return (
      this.visible(this.internetGateways, id) ??
      awsError('InvalidInternetGatewayID.NotFound', `The internetGateway ID '${id}' does not exist`)
    );
  }

  private createInternetGateway(i: any) {
    const tags = this.tagsFrom(i.TagSpecifications, 'internet-gateway');
    const g: FakeInternetGateway = { id: this.core.newId('igw'), tags };
    this.internetGateways.set(g.id, g);
    this.created(g.id, tags);
    return { InternetGateway: this.internetGatewayOut(g) };
  }

  private internetGatewayOut(g: FakeInternetGateway) {
    // EC2 reports an attached internet gateway's attachment state as `available`.
    return {
      InternetGatewayId: g.id,
      OwnerId: this.core.account,
      Tags: recordToTags(g.tags),
      Attachments: g.vpcId ? [{ VpcId: g.vpcId, State: 'available' }] : [],
    };
  }

  private describeInternetGateways(i: any) {
    const items = applyFilters(
      this.byIds(i.InternetGatewayIds, this.internetGateways, (id) => this.internetGateway(id)),
      i.Filters,
      (g) => g.tags,
      {
        'internet-gateway-id': (g) => [g.id],
        'attachment.vpc-id': (g) => [g.vpcId],
        'attachment.state': (g) => [g.vpcId ? 'available' : undefined],
        'owner-id': () => [this.core.account],
      },
    );
    return { InternetGateways: items.map((g) => this.internetGatewayOut(g)) };
  }

  private attachInternetGateway(i: any) {
    const g = this.internetGateway(i.InternetGatewayId);
    const v = this.vpc(i.VpcId);
    if (g.vpcId) awsError('Resource.AlreadyAssociated', `resource ${g.id} is already attached to network ${g.vpcId}`);
    const other = [...this.internetGateways.values()].find((x) => x.vpcId === v.id);
    if (other) awsError('Resource.AlreadyAssociated', `network ${v.id} already has an internet gateway attached`);
    g.vpcId = v.id;
    return {};
  }

  private detachInternetGateway(i: any) {
    const g = this.internetGateway(i.InternetGatewayId);
    if (g.vpcId !== i.VpcId) awsError('Gateway.NotAttached', `resource ${g.id} is not attached to network ${i.VpcId}`);
    const ecs = this.core.peers.get('ecs') as { publicAddressesIn?(vpcId: string): number } | undefined;
    if ((this.mappedPublicAddresses.get(g.vpcId!) ?? 0) + (ecs?.publicAddressesIn?.(g.vpcId!) ?? 0) > 0) {
      awsError(
        'DependencyViolation',
        `Network ${g.vpcId} has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.`,
      );
    }
    g.vpcId = undefined;
    return {};
  }

  private deleteInternetGateway(i: any) {
    const g = this.internetGateway(i.InternetGatewayId);
    if (g.vpcId)
      awsError('DependencyViolation', `The internetGateway '${g.id}' has dependencies and cannot be deleted.`);
    this.internetGateways.delete(g.id);
    return {};
  }

  /** A NAT gateway of the user's in a (public) subnet, available at once; routes to it carry traffic. */
  addNatGateway(subnetId: string): string {
    const s = this.subnets.get(subnetId)!;
    const n: FakeNatGateway = { id: this.core.newId('nat'), vpcId: s.vpcId, subnetId, state: 'available', tags: {} };
    this.natGateways.set(n.id, n);
    this.core.label(n.id, `nat-gateway/${subnetId}`);
    return n.id;
  }

  private describeNatGateways(i: any) {
    const all = i.NatGatewayIds?.length
      ? i.NatGatewayIds.map(
          (id: string) =>
            this.natGateways.get(id) ?? awsError('NatGatewayNotFound', `The Nat Gateway ${id} was not found`),
        )
      : [...this.natGateways.values()];
    const items = applyFilters<FakeNatGateway>(all, i.Filter ?? i.Filters, (n) => n.tags, {
      'vpc-id': (n) => [n.vpcId],
      'subnet-id': (n) => [n.subnetId],
      state: (n) => [n.state],
      'nat-gateway-id': (n) => [n.id],
    });
    return {
      NatGateways: items.map((n) => ({
        NatGatewayId: n.id,
        VpcId: n.vpcId,
        SubnetId: n.subnetId,
        State: n.state,
        ConnectivityType: 'public',
        Tags: recordToTags(n.tags),
      })),
    };
  }

  // ---------------------------------------------------------------------------------------- reachability

  /** The route table a subnet uses: its explicit association, else its VPC's main table. */
  routeTableOfSubnet(subnetId: string): FakeRouteTable | undefined {
    const s = this.subnets.get(subnetId);
    if (!s) return undefined;
    const tables = [...this.routeTables.values()].filter((rt) => rt.vpcId === s.vpcId);
    return tables.find((rt) => rt.associations.some((a) => a.subnetId === subnetId)) ?? tables.find((rt) => rt.main);
  }

  /**
   * Why a Fargate task started with this network configuration could not pull its image, ship its logs
   * or read its secret (undefined: it can). A task reaches the services through a NAT route; through an
   * internet gateway route when it has a public IP; or through available interface endpoints of each
   * service in its VPC with private DNS (and a security group letting HTTPS in), plus the S3 gateway
   * endpoint on its route table for the image layers.
   */
  taskNetworkProblem(
    cfg: { subnets?: string[]; securityGroups?: string[]; assignPublicIp?: string },
    extra: string[] = [],
  ): string | undefined {
    this.tick();
    const problems: string[] = [];
    for (const id of cfg.subnets ?? []) {
      const s = this.subnets.get(id);
      if (!s) {
        problems.push(`subnet ${id} does not exist`);
        continue;
      }
      const rt = this.routeTableOfSubnet(id)!;
      // Without security groups a task gets its VPC's default group.
      const groups = cfg.securityGroups?.length ? cfg.securityGroups : [this.vpcs.get(s.vpcId)?.defaultGroupId ?? ''];
      const internet = rt.routes.some(
        (r) =>
          r.dest === '0.0.0.0/0' &&
          this.routeActive(rt, r) &&
          (r.target.startsWith('nat-') || (r.target.startsWith('igw-') && cfg.assignPublicIp === 'ENABLED')),
      );
      if (internet) continue;
      const missing: string[] = [];
      // `extra`: what this task's secrets need besides (ssm for a parameter).
      for (const svc of ['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager', ...extra]) {
        const ok = [...this.endpoints.values()].some(
          (e) =>
            e.type === 'Interface' &&
            e.vpcId === s.vpcId &&
            e.state === 'available' &&
            e.privateDns &&
            e.serviceName.endsWith(`.${svc}`) &&
            this.letsHttpsIn(e.groupIds, groups),
        );
        if (!ok) missing.push(svc);
      }
      const s3 = [...this.endpoints.values()].some(
        (e) =>
          e.type === 'Gateway' &&
          e.state === 'available' &&
          e.serviceName.endsWith('.s3') &&
          e.routeTableIds.includes(rt.id),
      );
      if (!s3) missing.push('the S3 gateway endpoint');
      if (missing.length)
        problems.push(
          `${id}: no route to a NAT or internet gateway${cfg.assignPublicIp === 'ENABLED' ? '' : ' usable without a public IP'} and no ${missing.join(', ')}`,
        );
    }
    return problems.length ? problems.join('; ') : undefined;
  }

  private letsHttpsIn(endpointGroups: string[], taskGroups: string[]): boolean {
    return endpointGroups.some((gid) =>
      (this.securityGroups.get(gid)?.ingress ?? []).some(
        (r) =>
          (r.protocol === '-1' || (r.protocol === 'tcp' && (r.from ?? 0) <= 443 && 443 <= (r.to ?? 65535))) &&
          (taskGroups.includes(r.peer) || /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(r.peer)),
      ),
    );
  }

  private deleteRoute(i: any) {
    const rt = this.routeTable(i.RouteTableId);
    const dest = i.DestinationCidrBlock ?? i.DestinationPrefixListId ?? i.DestinationIpv6CidrBlock;
    const route = rt.routes.find((r) => r.dest === dest);
    if (!route)
      awsError('InvalidRoute.NotFound', `no route with destination-cidr-block ${dest} in route table ${rt.id}`);
    if (route.target === 'local')
      awsError('InvalidParameterValue', `cannot remove local route ${dest} in route table ${rt.id}`);
    rt.routes = rt.routes.filter((r) => r !== route);
    return {};
  }

  // ---------------------------------------------------------------------------------------- security groups

  private createSecurityGroup(i: any) {
    if (!i.VpcId) awsError('VPCIdNotSpecified', 'No default VPC for this user');
    const v = this.vpc(i.VpcId);
    if (!i.GroupName || !i.Description)
      awsError('MissingParameter', 'The request must contain the parameter groupName and groupDescription');
    if ([...this.securityGroups.values()].some((g) => g.vpcId === v.id && g.name === i.GroupName)) {
      awsError('InvalidGroup.Duplicate', `The security group '${i.GroupName}' already exists for VPC '${v.id}'`);
    }
    const tags = this.tagsFrom(i.TagSpecifications, 'security-group');
    const g: FakeSecurityGroup = {
      id: this.core.newId('sg'),
      vpcId: v.id,
      name: i.GroupName,
      description: i.Description,
      tags,
      isDefault: false,
      ingress: [],
      // VPC security groups start with an allow-all egress rule; CreateSecurityGroup takes no rules.
      egress: [{ id: this.core.newId('sgr'), protocol: '-1', peer: '0.0.0.0/0' }],
    };
    this.securityGroups.set(g.id, g);
    this.created(g.id, tags);
    return {
      GroupId: g.id,
      SecurityGroupArn: `arn:aws:ec2:${this.core.region}:${this.core.account}:security-group/${g.id}`,
      Tags: recordToTags(tags),
    };
  }

  private permissionsOut(rules: FakeRule[]) {
    const groups = new Map<string, any>();
    for (const r of rules) {
      const k = `${r.protocol}|${r.from}|${r.to}`;
      if (!groups.has(k)) {
        groups.set(k, {
          IpProtocol: r.protocol,
          ...(r.from !== undefined ? { FromPort: r.from, ToPort: r.to } : {}),
          IpRanges: [],
          Ipv6Ranges: [],
          UserIdGroupPairs: [],
          PrefixListIds: [],
        });
      }
      const p = groups.get(k);
      const d = r.description ? { Description: r.description } : {};
      if (r.peer.startsWith('sg-')) p.UserIdGroupPairs.push({ GroupId: r.peer, UserId: this.core.account, ...d });
      else if (r.peer.startsWith('pl-')) p.PrefixListIds.push({ PrefixListId: r.peer, ...d });
      else if (r.peer.includes(':')) p.Ipv6Ranges.push({ CidrIpv6: r.peer, ...d });
      else p.IpRanges.push({ CidrIp: r.peer, ...d });
    }
    return [...groups.values()];
  }

  private groupOut(g: FakeSecurityGroup) {
    return {
      GroupId: g.id,
      GroupName: g.name,
      Description: g.description,
      VpcId: g.vpcId,
      OwnerId: this.core.account,
      Tags: recordToTags(g.tags),
      IpPermissions: this.permissionsOut(g.ingress),
      IpPermissionsEgress: this.permissionsOut(g.egress),
    };
  }

  private describeSecurityGroups(i: any) {
    const items = applyFilters(
      this.byIds(i.GroupIds, this.securityGroups, (id) => this.group(id)),
      i.Filters,
      (g) => g.tags,
      {
        'group-name': (g) => [g.name],
        'group-id': (g) => [g.id],
        'vpc-id': (g) => [g.vpcId],
        description: (g) => [g.description],
        'owner-id': () => [this.core.account],
      },
    );
    return { SecurityGroups: items.map((g) => this.groupOut(g)) };
  }

  /** The atomic rules of IpPermissions, validated as EC2 does. */
  private rulesFrom(perms: any[] | undefined): Omit<FakeRule, 'id'>[] {
    const out: Omit<FakeRule, 'id'>[] = [];
    for (const p of perms ?? []) {
      const raw = String(p.IpProtocol ?? '').toLowerCase();
      const protocol = PROTOCOLS[raw] ?? raw;
      if (!protocol) awsError('MissingParameter', 'The request must contain the parameter ipProtocol');
      const ported = ['tcp', 'udp', 'icmp', 'icmpv6'].includes(protocol);
      if (['tcp', 'udp'].includes(protocol) && (p.FromPort === undefined || p.ToPort === undefined)) {
        awsError(
          'InvalidParameterValue',
          `Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange`,
        );
      }
      const ports =
        ported && p.FromPort !== undefined
          ? { from: p.FromPort as number, to: (p.ToPort ?? p.FromPort) as number }
          : {};
      const peers: { peer: string; description?: string }[] = [
        ...(p.IpRanges ?? []).map((r: any) => ({ peer: r.CidrIp, description: r.Description })),
        ...(p.Ipv6Ranges ?? []).map((r: any) => ({ peer: r.CidrIpv6, description: r.Description })),
        ...(p.UserIdGroupPairs ?? []).map((r: any) => ({ peer: this.group(r.GroupId).id, description: r.Description })),
        ...(p.PrefixListIds ?? []).map((r: any) => ({ peer: r.PrefixListId, description: r.Description })),
      ];
      for (const peer of peers) out.push({ protocol, ...ports, ...peer });
    }
    return out;
  }

  private sameRule(a: Omit<FakeRule, 'id'>, b: Omit<FakeRule, 'id'>): boolean {
    return a.protocol === b.protocol && a.from === b.from && a.to === b.to && a.peer === b.peer;
  }

  private authorize(i: any, dir: 'ingress' | 'egress') {
    const g = this.group(i.GroupId);
    const rules = this.rulesFrom(i.IpPermissions);
    for (const r of rules) {
      if (g[dir].some((x) => this.sameRule(x, r))) {
        const proto = r.protocol === '-1' ? 'ALL' : r.protocol;
        awsError(
          'InvalidPermission.Duplicate',
          `the specified rule "peer: ${r.peer}, ${proto}${r.from !== undefined ? `, from port: ${r.from}, to port: ${r.to}` : ''}, ALLOW" already exists`,
        );
      }
    }
    const added = rules.map((r) => ({ ...r, id: this.core.newId('sgr') }));
    g[dir].push(...added);
    return {
      Return: true,
      SecurityGroupRules: added.map((r) => ({
        SecurityGroupRuleId: r.id,
        GroupId: g.id,
        IsEgress: dir === 'egress',
        IpProtocol: r.protocol,
        FromPort: r.from ?? -1,
        ToPort: r.to ?? -1,
      })),
    };
  }

  private revoke(i: any, dir: 'ingress' | 'egress') {
    const g = this.group(i.GroupId);
    const rules = this.rulesFrom(i.IpPermissions);
    const known = rules.filter((r) => g[dir].some((x) => this.sameRule(x, r)));
    if (!known.length)
      awsError('InvalidPermission.NotFound', 'The specified rule does not exist in this security group.');
    g[dir] = g[dir].filter((x) => !known.some((r) => this.sameRule(x, r)));
    const unknown = rules.filter((r) => !known.includes(r));
    return {
      Return: true,
      ...(unknown.length ? { UnknownIpPermissions: this.permissionsOut(unknown.map((r) => ({ ...r, id: '' }))) } : {}),
    };
  }

  private deleteSecurityGroup(i: any) {
    const g = this.group(i.GroupId);
    if (g.isDefault)
      awsError('CannotDelete', `the specified group: "${g.id}" name: "default" cannot be deleted by a user`);
    const referenced = [...this.securityGroups.values()].some(
      (o) => o.id !== g.id && [...o.ingress, ...o.egress].some((r) => r.peer === g.id),
    );
    const inUse = [...this.enis.values()].some((e) => e.groupIds.includes(g.id));
    if (referenced || inUse) awsError('DependencyViolation', `resource ${g.id} has a dependent object`);
    this.securityGroups.delete(g.id);
    return {};
  }

  // ---------------------------------------------------------------------------------------- VPC endpoints

  private prefixListId(serviceName: string): string {
    return `pl-${[...serviceName]
      .reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7)
      .toString(16)
      .padStart(8, '0')}`;
  }

  private checkPrivateDns(v: FakeVpc): void {
    if (!v.dnsSupport || !v.dnsHostnames) {
      awsError('InvalidParameter', 'To set PrivateDnsEnabled, enable DNS support and DNS hostnames in your VPC.');
    }
  }

  /** Validate an interface endpoint's subnets (existing, in the VPC, one per AZ) and groups. */
  private checkPlacement(v: FakeVpc, subnetIds: string[], groupIds: string[], service?: FakeEndpointService): void {
    const zones = new Set<string>();
    for (const id of subnetIds) {
      const s = this.subnet(id);
      if (s.vpcId !== v.id) awsError('InvalidParameter', `The subnet ${id} does not belong to the VPC ${v.id}`);
      if (service && !service.zones.includes(s.az))
        awsError(
          'InvalidParameter',
          `The VPC endpoint service ${service.name} does not support the availability zone of the subnet: ${id}.`,
        );
      if (zones.has(s.az))
        awsError(
          'DuplicateSubnetsInSameZone',
          `Found another VPC endpoint subnet in the availability zone of ${id}. VPC endpoint subnets should be in different availability zones supported by the VPC endpoint service.`,
        );
      zones.add(s.az);
    }
    for (const id of groupIds)
      if (this.group(id).vpcId !== v.id)
        awsError('InvalidParameter', `The security group ${id} does not belong to the VPC ${v.id}`);
  }

  private addEnis(ep: FakeEndpoint, subnetIds: string[]): void {
    for (const subnetId of subnetIds) {
      const eni: FakeEni = {
        id: this.core.newId('eni'),
        vpcId: ep.vpcId,
        subnetId,
        groupIds: [...ep.groupIds],
        endpointId: ep.id,
      };
      this.enis.set(eni.id, eni);
    }
  }

  /** Detach an endpoint's ENIs (in the given subnets, or all): they go `eniReleaseMs` after `from`. */
  private releaseEnis(ep: FakeEndpoint, from: number, subnetIds?: string[]): void {
    for (const eni of this.enis.values()) {
      if (eni.endpointId === ep.id && eni.releaseAt === undefined && (!subnetIds || subnetIds.includes(eni.subnetId)))
        eni.releaseAt = from + this.eniReleaseMs;
    }
  }

  private setGatewayRoutes(ep: FakeEndpoint, add: string[], remove: string[]): void {
    const pl = this.prefixListId(ep.serviceName);
    for (const id of remove) {
      const rt = this.routeTables.get(id);
      if (rt) rt.routes = rt.routes.filter((r) => r.target !== ep.id);
    }
    for (const id of add) {
      const rt = this.routeTable(id);
      if (rt.vpcId !== ep.vpcId)
        awsError('InvalidParameter', `The route table ${id} does not belong to the VPC ${ep.vpcId}`);
      if (rt.routes.some((r) => r.dest === pl))
        awsError('RouteAlreadyExists', `route table ${id} already has a route with destination-prefix-list-id ${pl}`);
    }
    for (const id of add) this.routeTable(id).routes.push({ dest: pl, target: ep.id });
  }

  private checkPolicy(doc: string | undefined): string {
    if (doc === undefined) return FULL_ACCESS;
    try {
      JSON.parse(doc);
    } catch {
      awsError('MalformedPolicyDocument', 'The policy document is not valid JSON.');
    }
    return doc;
  }

  private createEndpoint(i: any) {
    const type: 'Interface' | 'Gateway' = i.VpcEndpointType ?? 'Gateway';
    const fingerprint = JSON.stringify([
      type,
      i.VpcId,
      i.ServiceName,
      sortedUnique(i.SubnetIds ?? []),
      sortedUnique(i.SecurityGroupIds ?? []),
      sortedUnique(i.RouteTableIds ?? []),
    ]);
    if (i.ClientToken && this.tokens.has(i.ClientToken)) {
      const ep = this.endpoints.get(this.tokens.get(i.ClientToken)!);
      const prior =
        ep &&
        JSON.stringify([
          ep.type,
          ep.vpcId,
          ep.serviceName,
          sortedUnique(ep.subnetIds),
          sortedUnique(ep.groupIds),
          sortedUnique(ep.routeTableIds),
        ]);
      if (!ep || prior !== fingerprint)
        awsError(
          'IdempotentParameterMismatch',
          'The client token you have provided is associated with a resource that is already deleted or has different parameters.',
        );
      return { VpcEndpoint: this.endpointOut(ep), ClientToken: i.ClientToken };
    }
    const v = this.vpc(i.VpcId);
    const service = String(i.ServiceName ?? '');
    const offered = this.endpointServiceCatalog().find((c) => c.name === service && c.type === type);
    if (!offered) awsError('InvalidServiceName', `The Vpc Endpoint Service '${service}' does not exist`);
    const short = offered.short;
    const tags = this.tagsFrom(i.TagSpecifications, 'vpc-endpoint');
    const now = this.core.now();
    const ep: FakeEndpoint = {
      id: this.core.newId('vpce'),
      type,
      vpcId: v.id,
      serviceName: service,
      state: 'pending',
      subnetIds: [],
      groupIds: [],
      routeTableIds: [],
      privateDns: false,
      policy: this.checkPolicy(i.PolicyDocument),
      tags,
      clientToken: i.ClientToken,
      createdAt: now,
      availableAt: now,
    };
    if (type === 'Interface') {
      ep.subnetIds = sortedUnique(i.SubnetIds ?? []);
      ep.groupIds = sortedUnique(i.SecurityGroupIds?.length ? i.SecurityGroupIds : [v.defaultGroupId]);
      this.checkPlacement(v, ep.subnetIds, ep.groupIds, offered);
      ep.privateDns = i.PrivateDnsEnabled ?? true;
      if (ep.privateDns) {
        this.checkPrivateDns(v);
        // Two endpoints of one service with private DNS would claim the same hosted zone in the VPC.
        const clash = [...this.endpoints.values()].find(
          (e) =>
            e.vpcId === v.id && e.serviceName === service && e.privateDns && !['deleting', 'deleted'].includes(e.state),
        );
        if (clash)
          awsError(
            'InvalidParameter',
            `private-dns-enabled cannot be set because there is already a conflicting DNS domain for ${short}.${this.core.region}.amazonaws.com in the VPC ${v.id}`,
          );
      }
      ep.availableAt = now + this.endpointPendingMs;
      this.addEnis(ep, ep.subnetIds);
    } else {
      ep.routeTableIds = sortedUnique(i.RouteTableIds ?? []);
      ep.state = 'available';
    }
    this.endpoints.set(ep.id, ep);
    if (type === 'Gateway') {
      try {
        this.setGatewayRoutes(ep, ep.routeTableIds, []);
      } catch (err) {
        this.endpoints.delete(ep.id);
        throw err;
      }
    }
    if (i.ClientToken) this.tokens.set(i.ClientToken, ep.id);
    this.created(ep.id, tags);
    return { VpcEndpoint: this.endpointOut(ep), ClientToken: i.ClientToken };
  }

  private endpointOut(ep: FakeEndpoint) {
    return {
      VpcEndpointId: ep.id,
      VpcEndpointType: ep.type,
      VpcId: ep.vpcId,
      ServiceName: ep.serviceName,
      State: ep.state,
      PolicyDocument: ep.policy,
      RouteTableIds: [...ep.routeTableIds],
      SubnetIds: [...ep.subnetIds],
      Groups: ep.groupIds.map((id) => ({ GroupId: id, GroupName: this.securityGroups.get(id)?.name })),
      PrivateDnsEnabled: ep.privateDns,
      RequesterManaged: false,
      OwnerId: this.core.account,
      NetworkInterfaceIds: [...this.enis.values()]
        .filter((e) => e.endpointId === ep.id && e.releaseAt === undefined)
        .map((e) => e.id),
      CreationTimestamp: new Date(ep.createdAt),
      Tags: recordToTags(ep.tags),
      ...(ep.state === 'failed'
        ? {
            LastError: {
              Code: 'Client::ServiceUnavailable',
              Message: 'The service is unavailable in this availability zone.',
            },
          }
        : {}),
    };
  }

  private describeEndpoints(i: any) {
    const items = applyFilters(
      this.byIds(i.VpcEndpointIds, this.endpoints, (id) => this.endpoint(id)),
      i.Filters,
      (e) => e.tags,
      {
        'vpc-id': (e) => [e.vpcId],
        'service-name': (e) => [e.serviceName],
        'vpc-endpoint-state': (e) => [e.state],
        'vpc-endpoint-type': (e) => [e.type],
        'vpc-endpoint-id': (e) => [e.id],
      },
    );
    return { VpcEndpoints: items.map((e) => this.endpointOut(e)) };
  }

  private modifyEndpoint(i: any) {
    const ep = this.endpoint(i.VpcEndpointId);
    if (['deleting', 'deleted'].includes(ep.state))
      awsError('InvalidVpcEndpointId.NotFound', `The Vpc Endpoint Id '${ep.id}' does not exist`);
    const v = this.vpc(ep.vpcId);
    if (i.PolicyDocument !== undefined) ep.policy = this.checkPolicy(i.PolicyDocument);
    if (i.ResetPolicy) ep.policy = FULL_ACCESS;
    if (ep.type === 'Gateway') {
      const add: string[] = i.AddRouteTableIds ?? [];
      const remove: string[] = i.RemoveRouteTableIds ?? [];
      this.setGatewayRoutes(ep, add, remove);
      ep.routeTableIds = sortedUnique([...ep.routeTableIds.filter((r) => !remove.includes(r)), ...add]);
      return { Return: true };
    }
    const removeSubnets: string[] = i.RemoveSubnetIds ?? [];
    const subnetIds = sortedUnique([
      ...ep.subnetIds.filter((s) => !removeSubnets.includes(s)),
      ...(i.AddSubnetIds ?? []),
    ]);
    const removeGroups: string[] = i.RemoveSecurityGroupIds ?? [];
    const groupIds = sortedUnique([
      ...ep.groupIds.filter((g) => !removeGroups.includes(g)),
      ...(i.AddSecurityGroupIds ?? []),
    ]);
    if (!groupIds.length) awsError('InvalidParameter', 'An interface endpoint must have at least one security group.');
    this.checkPlacement(
      v,
      subnetIds,
      groupIds,
      this.endpointServiceCatalog().find((c) => c.name === ep.serviceName && c.type === 'Interface'),
    );
    if (i.PrivateDnsEnabled) this.checkPrivateDns(v);
    const now = this.core.now();
    this.releaseEnis(
      ep,
      now,
      ep.subnetIds.filter((s) => !subnetIds.includes(s)),
    );
    const added = subnetIds.filter((s) => !ep.subnetIds.includes(s));
    ep.subnetIds = subnetIds;
    ep.groupIds = groupIds;
    this.addEnis(ep, added);
    for (const eni of this.enis.values())
      if (eni.endpointId === ep.id && eni.releaseAt === undefined) eni.groupIds = [...groupIds];
    if (i.PrivateDnsEnabled !== undefined) ep.privateDns = i.PrivateDnsEnabled;
    ep.state = 'pending';
    ep.availableAt = now + this.endpointPendingMs;
    return { Return: true };
  }

  private deleteEndpoints(i: any) {
    const unsuccessful: any[] = [];
    const now = this.core.now();
    for (const id of i.VpcEndpointIds ?? []) {
      const ep = this.endpoints.get(id);
      if (!ep || ep.state === 'deleted') {
        unsuccessful.push({
          ResourceId: id,
          Error: { Code: 'InvalidVpcEndpointId.NotFound', Message: `The Vpc Endpoint Id '${id}' does not exist` },
        });
        continue;
      }
      if (ep.state === 'deleting') continue;
      ep.state = 'deleting';
      ep.goneAt = now + this.endpointDeletingMs;
      this.releaseEnis(ep, ep.goneAt);
      if (ep.type === 'Gateway') this.setGatewayRoutes(ep, [], ep.routeTableIds);
    }
    this.tick();
    return { Unsuccessful: unsuccessful };
  }

  private describeEnis(i: any) {
    const all = i.NetworkInterfaceIds?.length
      ? i.NetworkInterfaceIds.map(
          (id: string) =>
            this.enis.get(id) ??
            awsError('InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${id}' does not exist`),
        )
      : [...this.enis.values()];
    const items = applyFilters<FakeEni>(all, i.Filters, () => ({}), {
      'vpc-id': (e) => [e.vpcId],
      'subnet-id': (e) => [e.subnetId],
      'group-id': (e) => e.groupIds,
      'network-interface-id': (e) => [e.id],
      'interface-type': () => ['vpc_endpoint'],
      'requester-managed': () => ['true'],
      description: (e) => [`VPC Endpoint Interface ${e.endpointId}`],
      status: (e) => [e.releaseAt === undefined ? 'in-use' : 'available'],
    });
    return {
      NetworkInterfaces: items.map((e) => ({
        NetworkInterfaceId: e.id,
        VpcId: e.vpcId,
        SubnetId: e.subnetId,
        AvailabilityZone: this.subnets.get(e.subnetId)?.az,
        Groups: e.groupIds.map((g) => ({ GroupId: g, GroupName: this.securityGroups.get(g)?.name })),
        InterfaceType: 'vpc_endpoint',
        RequesterManaged: true,
        RequesterId: 'amazon-vpce',
        Status: e.releaseAt === undefined ? 'in-use' : 'available',
        Description: `VPC Endpoint Interface ${e.endpointId}`,
        OwnerId: this.core.account,
        TagSet: [],
      })),
    };
  }

  // ---------------------------------------------------------------------------------------- tags, zones

  private taggable(id: string): { tags: Tags } {
    const prefix = id.split('-')[0];
    switch (prefix) {
      case 'vpc':
        return this.vpc(id);
      case 'subnet':
        return this.subnet(id);
      case 'rtb':
        return this.routeTable(id);
      case 'sg':
        return this.group(id);
      case 'vpce':
        return this.endpoint(id);
      case 'igw':
        return this.internetGateway(id);
      default:
        return awsError('InvalidID', `The ID '${id}' is not valid`);
    }
  }

  private createTags(i: any) {
    const targets = (i.Resources ?? []).map((id: string) => ({ id, r: this.taggable(id) }));
    for (const { id, r } of targets) {
      Object.assign(r.tags, tagsToRecord(i.Tags));
      this.labelFrom(id, r.tags);
    }
    return {};
  }

  private deleteTags(i: any) {
    for (const id of i.Resources ?? []) {
      const r = this.taggable(id);
      for (const t of i.Tags ?? Object.keys(r.tags).map((Key) => ({ Key }))) {
        if (t.Value === undefined || r.tags[t.Key] === t.Value) delete r.tags[t.Key];
      }
    }
    return {};
  }

  private describeZones(i: any) {
    const all = this.zones();
    // Like EC2: naming a zone the account does not have is an error, not an empty answer.
    for (const z of i.ZoneNames ?? []) {
      if (!all.some(([name]) => name === z)) awsError('InvalidParameterValue', `Invalid availability zone: [${z}]`);
    }
    const zones = all.filter(([name]) => !i.ZoneNames?.length || i.ZoneNames.includes(name));
    const state = (name: string) => this.zoneStates.get(name) ?? 'available';
    const items = applyFilters(zones, i.Filters, () => ({}), {
      'zone-name': ([name]) => [name],
      'zone-id': ([, zid]) => [zid],
      state: ([name]) => [state(name)],
      'region-name': () => [this.core.region],
      'zone-type': () => ['availability-zone'],
    });
    return {
      AvailabilityZones: items.map(([name, zid]) => ({
        ZoneName: name,
        ZoneId: zid,
        State: state(name),
        RegionName: this.core.region,
        ZoneType: 'availability-zone',
        OptInStatus: 'opt-in-not-required',
        GroupName: this.core.region,
        NetworkBorderGroup: this.core.region,
        Messages: [],
      })),
    };
  }

  /**
   * DescribeVpcEndpointServices: ServiceNames must all exist (InvalidServiceName otherwise), filters narrow
   * (service-name, service-type, owner), MaxResults and NextToken page the details.
   */
  private describeEndpointServices(i: any) {
    const catalog = this.endpointServiceCatalog();
    for (const n of i.ServiceNames ?? []) {
      if (!catalog.some((c) => c.name === n))
        awsError('InvalidServiceName', `The Vpc Endpoint Service '${n}' does not exist`);
    }
    const named = catalog.filter((c) => !i.ServiceNames?.length || i.ServiceNames.includes(c.name));
    const items = applyFilters(named, i.Filters, () => ({}), {
      'service-name': (c) => [c.name],
      'service-type': (c) => [c.type],
      owner: () => ['amazon'],
      'service-region': () => [this.core.region],
    });
    if (i.MaxResults !== undefined && (i.MaxResults < 5 || i.MaxResults > 1000))
      awsError(
        'InvalidParameterValue',
        `Value (${i.MaxResults}) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`,
      );
    const size = i.MaxResults ?? this.endpointServicePageSize;
    const start = i.NextToken ? Number(i.NextToken) : 0;
    if (!Number.isInteger(start) || start < 0 || start > items.length)
      awsError('InvalidNextToken', 'The specified token is invalid.');
    const page = items.slice(start, start + size);
    const next = start + size < items.length ? String(start + size) : undefined;
    const suffix = this.core.partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
    return {
      ServiceNames: page.map((c) => c.name),
      ...(this.endpointServiceNamesOnly
        ? {}
        : {
            ServiceDetails: page.map((c) => ({
              ServiceName: c.name,
              ServiceId: `vpce-svc-${c.short.replace(/[^a-z0-9]/g, '')}${c.type === 'Gateway' ? 'gw' : ''}`,
              ServiceType: [{ ServiceType: c.type }],
              ServiceRegion: this.core.region,
              AvailabilityZones: [...c.zones],
              Owner: 'amazon',
              BaseEndpointDnsNames: [`${c.short}.${this.core.region}.vpce.${suffix}`],
              ...(c.type === 'Interface'
                ? {
                    PrivateDnsName: `${c.short}.${this.core.region}.${suffix}`,
                    PrivateDnsNameVerificationState: 'verified',
                  }
                : {}),
              VpcEndpointPolicySupported: true,
              AcceptanceRequired: false,
              ManagesVpcEndpoints: false,
              SupportedIpAddressTypes: ['ipv4'],
              Tags: [],
            })),
          }),
      ...(next ? { NextToken: next } : {}),
    };
  }

  // ---------------------------------------------------------------------------------------- inventory

  /** Network interfaces AWS still holds (billed ones for endpoints, including those not yet released). */
  networkInterfaceCount(): number {
    this.tick();
    return this.enis.size;
  }

  /**
   * Every VPC, subnet, route table, security group and live endpoint (implicit main tables and default groups left
   * out).
   */
  inventory(): InventoryEntry[] {
    this.tick();
    const ref = (id: string) => this.core.ref(id)!;
    const key = (id: string, tags: Tags) => tags[LOGICAL] ?? id;
    const rules = (list: FakeRule[]) =>
      list
        .map(
          (r) =>
            `${r.protocol === '-1' ? 'all' : r.protocol} ${r.from === undefined ? '*' : `${r.from}..${r.to}`} ${ref(r.peer)}`,
        )
        .sort();
    const out: InventoryEntry[] = [];
    for (const v of this.vpcs.values()) {
      out.push({
        type: 'ec2.vpc',
        key: key(v.id, v.tags),
        settings: { cidr: v.cidr, enableDnsSupport: v.dnsSupport, enableDnsHostnames: v.dnsHostnames, tags: v.tags },
      });
    }
    for (const s of this.subnets.values()) {
      out.push({
        type: 'ec2.subnet',
        key: key(s.id, s.tags),
        settings: {
          vpc: ref(s.vpcId),
          cidr: s.cidr,
          az: s.az,
          mapPublicIpOnLaunch: s.mapPublicIpOnLaunch,
          tags: s.tags,
        },
      });
    }
    for (const rt of this.routeTables.values()) {
      if (rt.main) continue;
      out.push({
        type: 'ec2.route-table',
        key: key(rt.id, rt.tags),
        settings: {
          vpc: ref(rt.vpcId),
          routes: rt.routes.map((r) => `${r.dest} -> ${ref(r.target)}`).sort(),
          associations: rt.associations.map((a) => ref(a.subnetId ?? 'main')).sort(),
          tags: rt.tags,
        },
      });
    }
    for (const g of this.securityGroups.values()) {
      if (g.isDefault) continue;
      out.push({
        type: 'ec2.security-group',
        key: key(g.id, g.tags),
        settings: {
          vpc: ref(g.vpcId),
          name: g.name,
          description: g.description,
          ingress: rules(g.ingress),
          egress: rules(g.egress),
          tags: g.tags,
        },
      });
    }
    for (const g of this.internetGateways.values()) {
      out.push({
        type: 'ec2.internet-gateway',
        key: key(g.id, g.tags),
        settings: { vpc: g.vpcId ? ref(g.vpcId) : null, tags: g.tags },
      });
    }
    for (const ep of this.endpoints.values()) {
      if (ep.state === 'deleted') continue;
      out.push({
        type: 'ec2.vpc-endpoint',
        key: key(ep.id, ep.tags),
        settings: {
          type: ep.type,
          serviceName: ep.serviceName,
          vpc: ref(ep.vpcId),
          state: ep.state,
          subnets: ep.subnetIds.map(ref).sort(),
          securityGroups: ep.groupIds.map(ref).sort(),
          routeTables: ep.routeTableIds.map(ref).sort(),
          privateDnsEnabled: ep.privateDns,
          policy: canonicalJson(ep.policy),
          networkInterfaces: [...this.enis.values()].filter((e) => e.endpointId === ep.id && e.releaseAt === undefined)
            .length,
          tags: ep.tags,
        },
      });
    }
    return out;
  }
}

/** Policies compared as parsed JSON with sorted keys, so formatting differences do not count. */
function canonicalJson(doc: string): unknown {
  const sortKeys = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sortKeys)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sortKeys((v as any)[k])]),
          )
        : v;
  return sortKeys(JSON.parse(doc));
}
