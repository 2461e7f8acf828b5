/**
 * AWS failing, with the real SDK (no fake): a local server answers 503 with an HTML page, as a proxy or a
 * load balancer does, and the SDK's error says only "Unknown". batchctl's errors name the step, the
 * service and operation, the HTTP status and the attempts, never just "error: Unknown".
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { scratch } from '../helpers/stack.js';
import { captureCli } from '../helpers/cli.js';

let server: Server;
let url: string;
/** What the server answers besides 503: STS only, or STS and the preflight's EC2 reads. */
let answers: 'none' | 'sts' | 'sts+preflight' = 'none';
const saved = { ...process.env };
const io = captureCli();
const ZONES = ['ap-northeast-1a', 'ap-northeast-1c'];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const xml = (text: string) => {
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(text);
      };
      if (answers !== 'none' && body.includes('Action=GetCallerIdentity')) {
        return xml(
          '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/tester</Arn><UserId>A</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>',
        );
      }
      const ec2 = (action: string, inner: string) =>
        xml(
          `<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>1</requestId>${inner}</${action}Response>`,
        );
      if (answers === 'sts+preflight' && body.includes('Action=DescribeAvailabilityZones')) {
        return ec2(
          'DescribeAvailabilityZones',
          `<availabilityZoneInfo>${ZONES.map((z) => `<item><zoneName>${z}</zoneName><zoneState>available</zoneState><regionName>ap-northeast-1</regionName><zoneType>availability-zone</zoneType></item>`).join('')}</availabilityZoneInfo>`,
        );
      }
      if (answers === 'sts+preflight' && body.includes('Action=DescribeVpcEndpointServices')) {
        const services: [string, string][] = [
          ['ecr.api', 'Interface'],
          ['ecr.dkr', 'Interface'],
          ['logs', 'Interface'],
          ['secretsmanager', 'Interface'],
          ['s3', 'Gateway'],
        ];
        const name = (x: string) => `com.amazonaws.ap-northeast-1.${x}`;
        return ec2(
          'DescribeVpcEndpointServices',
          `<serviceNameSet>${services.map(([x]) => `<item>${name(x)}</item>`).join('')}</serviceNameSet><serviceDetailSet>${services
            .map(
              ([x, type]) =>
                `<item><serviceName>${name(x)}</serviceName><serviceType><item><serviceType>${type}</serviceType></item></serviceType><availabilityZoneSet>${ZONES.map((z) => `<item>${z}</item>`).join('')}</availabilityZoneSet><owner>amazon</owner></item>`,
            )
            .join('')}</serviceDetailSet>`,
        );
      }
      // The preflight's read of the region's Logs resource policies (JSON protocol): none.
      if (
        answers === 'sts+preflight' &&
        String(req.headers['x-amz-target'] ?? '').endsWith('.DescribeResourcePolicies')
      ) {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        return res.end(JSON.stringify({ resourcePolicies: [] }));
      }
      res.writeHead(503, { 'content-type': 'text/html' });
      res.end('<html><body><h1>503 Service Unavailable</h1></body></html>');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
beforeEach(() => {
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'AKIDTEST',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_REGION: 'ap-northeast-1',
    AWS_ENDPOINT_URL: url,
    AWS_MAX_ATTEMPTS: '2',
  });
  delete process.env.AWS_PROFILE;
});
afterAll(() => {
  server.close();
  process.env = saved;
});

const HINT =
  'hint: AWS, or a proxy between you and AWS, failed to answer: run the command again in a while; https://health.aws.amazon.com shows AWS outages\n';

describe('every call answered 503', () => {
  it('plan names the step, the service and operation, the status and the attempts (exit 1)', async () => {
    answers = 'none';
    const s = scratch();
    expect(await io.run('-c', s.configPath, 'plan')).toBe(1);
    expect(io.err.join('')).toBe(
      'error: checking who you are (your AWS credentials): STS GetCallerIdentity answered HTTP 503 Service Unavailable (no AWS error code in the answer) after 2 attempts\n' +
        HINT,
    );
  }, 60_000);

  it('past STS, the preflight is named the same way', async () => {
    answers = 'sts';
    const s = scratch();
    expect(await io.run('-c', s.configPath, 'plan')).toBe(1);
    // Whichever of the preflight's reads fails first: EC2's (XML) or Logs' (JSON: its client cannot parse the page).
    const steps = 'availability zones|VPC endpoint services|CloudWatch Logs resource policies';
    expect(io.err.join('')).toMatch(
      new RegExp(
        `^error: preflight \\((${steps})\\): ` +
          'find failed: Unknown: (EC2 Describe(AvailabilityZones|VpcEndpointServices)|CloudWatch Logs DescribeResourcePolicies) ' +
          'answered HTTP 503 Service Unavailable \\(no AWS error code in the answer\\) after 2 attempts\n',
      ),
    );
  }, 60_000);

  it("past the preflight, each resource's step names its resource, the step and the answer", async () => {
    answers = 'sts+preflight';
    const s = scratch();
    expect(await io.run('-c', s.configPath, 'plan')).toBe(1);
    expect(io.out.join('')).toMatch(
      /^x error +VPC +vpc\n {6}vpc: find failed: Unknown: EC2 DescribeVpcs answered HTTP 503 Service Unavailable \(no AWS error code in the answer\) after 2 attempts$/m,
    );
    expect(io.out.join('')).not.toMatch(/: Unknown$/m);
  }, 60_000);
});
