/**
 * The --endpoint-url / AWS_ENDPOINT_URL path with the real SDK (no fake): every call goes to the given
 * endpoint, signed, with our user agent. A tiny local server answers STS and refuses the rest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { scratch } from '../helpers/stack.js';
import { runUp } from '../../src/stack/up.js';
import { RecordingReporter } from '../../src/engine/reporter.js';

const seen: { method: string; url: string; ua: string; body: string; auth: string }[] = [];
let lockValue: string | undefined;
let server: Server;
let url: string;
const saved = { ...process.env };
const ZONES = ['ap-northeast-1a', 'ap-northeast-1c', 'ap-northeast-1d'];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({
        method: req.method!,
        url: req.url!,
        ua: String(req.headers['user-agent'] ?? '') + String(req.headers['x-amz-user-agent'] ?? ''),
        body,
        auth: String(req.headers.authorization ?? ''),
      });
      // The stack's lock (Parameter Store, JSON protocol): taken, read back and released.
      const target = String(req.headers['x-amz-target'] ?? '');
      if (target.startsWith('AmazonSSM.')) {
        const op = target.slice('AmazonSSM.'.length);
        const input = JSON.parse(body || '{}') as { Name?: string; Value?: string };
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        if (op === 'PutParameter') lockValue = input.Value;
        if (op === 'DeleteParameter') lockValue = undefined;
        res.end(
          JSON.stringify(
            op === 'PutParameter'
              ? { Version: 1, Tier: 'Standard' }
              : op === 'GetParameter'
                ? { Parameter: { Name: input.Name, Value: lockValue, Version: 1 } }
                : {},
          ),
        );
        return;
      }
      if (body.includes('Action=GetCallerIdentity')) {
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(
          `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::000000000000:root</Arn><UserId>000000000000</UserId><Account>000000000000</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
        );
        return;
      }
      // The preflight's two EC2 reads, in EC2's XML, so `up` gets past it to the resources.
      const ec2 = (action: string, inner: string) => {
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(
          `<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>1</requestId>${inner}</${action}Response>`,
        );
      };
      if (body.includes('Action=DescribeAvailabilityZones')) {
        return ec2(
          'DescribeAvailabilityZones',
          `<availabilityZoneInfo>${ZONES.map((z) => `<item><zoneName>${z}</zoneName><zoneState>available</zoneState><regionName>ap-northeast-1</regionName><zoneType>availability-zone</zoneType></item>`).join('')}</availabilityZoneInfo>`,
        );
      }
      if (body.includes('Action=DescribeVpcEndpointServices')) {
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
      if (String(req.headers['x-amz-target'] ?? '').endsWith('.DescribeResourcePolicies')) {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ resourcePolicies: [] }));
        return;
      }
      // Anything else: a non-retryable client error, so `up` fails fast after reaching us.
      res.writeHead(400, { 'content-type': 'application/json', 'x-amzn-errortype': 'UnsupportedOperation' });
      res.end(JSON.stringify({ __type: 'UnsupportedOperation', message: 'not in this test server' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'AKIDTEST',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_REGION: 'ap-northeast-1',
  });
  delete process.env.AWS_PROFILE;
});
afterAll(() => {
  server.close();
  process.env = saved;
});

describe('endpoint override', () => {
  it('sends every call to AWS_ENDPOINT_URL, signed, with the batchctl user agent', async () => {
    process.env.AWS_ENDPOINT_URL = url;
    const s = scratch();
    const err = await runUp({
      configPath: s.configPath,
      statePath: s.statePath,
      reporter: new RecordingReporter(),
    }).catch((e) => e);
    delete process.env.AWS_ENDPOINT_URL;
    expect(err.message).toMatch(/UnsupportedOperation/);
    expect(seen.some((r) => r.body.includes('Action=GetCallerIdentity'))).toBe(true);
    // The preflight read EC2's XML answers and Logs' JSON one through the real SDK and let `up` go on to
    // the resources.
    expect(seen.filter((r) => /Action=Describe(AvailabilityZones|VpcEndpointServices)/.test(r.body))).toHaveLength(2);
    expect(seen.length).toBeGreaterThan(1);
    for (const r of seen) {
      expect(r.ua).toContain('batchctl/');
      expect(r.auth).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDTEST\//);
    }
    // S3 calls are path-style on an endpoint override: the bucket is in the path, not the host.
    const s3 = seen.filter((r) => r.url.startsWith('/sample-batch-000000000000-ap-northeast-1'));
    expect(s3.length).toBeGreaterThan(0);
  });
});
