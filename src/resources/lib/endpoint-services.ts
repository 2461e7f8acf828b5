/**
 * VPC endpoint service names, as AWS names them in this region. They are looked up, not built: most are
 * `com.amazonaws.<region>.<service>`, but the China regions name some `cn.com.amazonaws.<region>.<service>`
 * (ECR among them), and the answer also says in which zones each service is offered.
 */
import { DescribeVpcEndpointServicesCommand, type EC2Client, type ServiceDetail } from '@aws-sdk/client-ec2';
import type { StackConfig } from '../../config/schema.js';
import { UserError } from '../../base/errors.js';
import type { Ctx } from '../../engine/types.js';

/** An endpoint service: by its short name (`ecr.dkr`) and type. */
export interface EndpointServiceWanted {
  short: string;
  type: 'Interface' | 'Gateway';
}

/** What DescribeVpcEndpointServices says of one wanted service. */
export interface EndpointService extends EndpointServiceWanted {
  /** The name CreateVpcEndpoint takes. */
  name: string;
  /** Zones the service is offered in; undefined when AWS answered with names only (GovCloud does). */
  zones?: string[];
}

/** The lookup's result: found services by `type:short`, and the calls it took. */
export interface EndpointServiceLookup {
  services: Map<string, EndpointService>;
  calls: number;
}

const keyOf = (w: EndpointServiceWanted) => `${w.type}:${w.short}`;

/** The endpoint services a config needs: its interface endpoints and, when on, the S3 gateway. */
export function wantedServices(config: StackConfig): EndpointServiceWanted[] {
  return [
    ...config.network.interfaceEndpoints.map((short) => ({ short, type: 'Interface' as const })),
    ...(config.network.s3Gateway ? [{ short: 's3', type: 'Gateway' as const }] : []),
  ];
}

/** Name prefixes AWS uses for its own services; the fallback below finds any other. */
const KNOWN_PREFIXES = ['com.amazonaws.', 'cn.com.amazonaws.'];

function pick(
  wanted: EndpointServiceWanted,
  region: string,
  details: ServiceDetail[],
  names: string[],
): EndpointService | undefined {
  const suffix = `.${region}.${wanted.short}`;
  const detail = details.find(
    (d) =>
      d.ServiceName?.endsWith(suffix) &&
      (d.Owner === undefined || d.Owner === 'amazon') &&
      (d.ServiceType ?? []).some((t) => t.ServiceType === wanted.type),
  );
  if (detail) return { ...wanted, name: detail.ServiceName!, zones: [...(detail.AvailabilityZones ?? [])].sort() };
  // GovCloud answers with ServiceNames only: the name is known, the zones are not.
  if (!details.length) {
    const name = names.find((n) => n.endsWith(suffix));
    if (name) return { ...wanted, name };
  }
  return undefined;
}

/**
 * Look the services up: one DescribeVpcEndpointServices filtered on the names AWS uses for its services
 * (both spellings), then, only for services that call did not find, a paged listing of every service of
 * the type matched on the `.<region>.<service>` suffix. Services the region does not offer are absent.
 */
export async function lookupEndpointServices(
  ec2: EC2Client,
  region: string,
  wanted: EndpointServiceWanted[],
): Promise<EndpointServiceLookup> {
  const services = new Map<string, EndpointService>();
  let calls = 0;
  if (!wanted.length) return { services, calls };
  const first = await ec2.send(
    new DescribeVpcEndpointServicesCommand({
      Filters: [
        {
          Name: 'service-name',
          Values: [...new Set(wanted.flatMap((w) => KNOWN_PREFIXES.map((p) => `${p}${region}.${w.short}`)))],
        },
      ],
    }),
  );
  calls++;
  for (const w of wanted) {
    const found = pick(w, region, first.ServiceDetails ?? [], first.ServiceNames ?? []);
    if (found) services.set(keyOf(w), found);
  }
  const missing = wanted.filter((w) => !services.has(keyOf(w)));
  for (const type of [...new Set(missing.map((w) => w.type))]) {
    const details: ServiceDetail[] = [];
    const names: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await ec2.send(
        new DescribeVpcEndpointServicesCommand({
          Filters: [{ Name: 'service-type', Values: [type] }],
          MaxResults: 1000,
          NextToken,
        }),
      );
      calls++;
      details.push(...(page.ServiceDetails ?? []));
      names.push(...(page.ServiceNames ?? []));
      NextToken = page.NextToken;
    } while (NextToken);
    for (const w of missing.filter((m) => m.type === type)) {
      const found = pick(w, region, details, names);
      if (found) services.set(keyOf(w), found);
    }
  }
  return { services, calls };
}

/**
 * One lookup per EC2 client and config: `plan` and `up` run it in the preflight, and every endpoint node
 * then reads the same answer instead of asking again.
 */
const cache = new WeakMap<EC2Client, Map<string, Promise<EndpointServiceLookup>>>();

/** The lookup for everything `config` needs, shared by every caller with the same client. */
export function endpointServicesFor(ec2: EC2Client, config: StackConfig): Promise<EndpointServiceLookup> {
  const wanted = wantedServices(config);
  const key = `${config.region}|${wanted.map(keyOf).sort().join(',')}`;
  let perClient = cache.get(ec2);
  if (!perClient) cache.set(ec2, (perClient = new Map()));
  let p = perClient.get(key);
  if (!p) {
    p = lookupEndpointServices(ec2, config.region, wanted);
    perClient.set(key, p);
    // A failed lookup (throttling, a network blip) must not stick for the rest of the process.
    p.catch(() => perClient!.delete(key));
  }
  return p;
}

/** The service name CreateVpcEndpoint takes for a wanted service; a user error when the region lacks it. */
export async function endpointServiceName(ctx: Ctx, wanted: EndpointServiceWanted): Promise<string> {
  const { services } = await endpointServicesFor(ctx.aws.ec2, ctx.config);
  const found = services.get(keyOf(wanted));
  if (!found) throw notOffered(wanted, ctx.region);
  return found.name;
}

/** The error for a service the region does not offer as a VPC endpoint. */
export function notOffered(w: EndpointServiceWanted, region: string): UserError {
  return new UserError(
    `${w.type === 'Gateway' ? 'the S3 gateway endpoint' : `the ${w.short} interface endpoint`} is not offered in ${region}`,
    `remove it from network.interfaceEndpoints, or use a region that offers it (aws ec2 describe-vpc-endpoint-services --region ${region})`,
  );
}
