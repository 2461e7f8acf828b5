/**
 * What both preflights (stack/preflight.ts for the networks batchctl builds, preflight-existing.ts for
 * yours) share: their inputs and report, how a read failure is named, the refusal of a switch to or
 * from mode `existing`, and the endpoint services a region lacks.
 */
import type { ResourceRecord } from '../engine/types.js';
import type { AwsClients } from '../aws/clients.js';
import type { StackConfig } from '../config/schema.js';
import type { Problem } from '../config/validate.js';
import { wantedServices, type EndpointService } from '../resources/lib/endpoint-services.js';
import { AwsStepError, awsErrorCode } from '../base/errors.js';

/** What the preflight needs: the loaded config (and where it came from, to point at its lines). */
export interface PreflightEnv {
  config: StackConfig;
  aws: Pick<AwsClients, 'ec2' | 'logs' | 'secretsManager' | 'ssm'>;
  account: string;
  partition: string;
  configPath: string;
  /** The state's records: a config that switches to or from mode `existing` is refused by them. */
  records?: ReadonlyMap<string, ResourceRecord>;
  /** Told what the preflight cannot check but worth saying (another account's secret it cannot describe). */
  warn?: (message: string) => void;
}

/** What the preflight found, for callers that show or measure it. */
export interface PreflightReport {
  /** AWS calls the preflight made. */
  calls: number;
  /** Zones of the region this account can use, sorted. */
  zones: string[];
  /** The endpoint services the config needs, as AWS named them. */
  services: EndpointService[];
}

/** A list in words: `a, b and c`. */
export const list = (xs: string[], conj = 'and') =>
  xs.length <= 2 ? xs.join(` ${conj} `) : `${xs.slice(0, -1).join(', ')} ${conj} ${xs.at(-1)}`;

/** Run one read of the preflight; an AWS failure names the preflight step. */
export async function preflightRead<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw new AwsStepError(
      `preflight (${what})`,
      'find',
      awsErrorCode(err),
      err instanceof Error ? err.message : String(err),
      err,
    );
  }
}

/** The refusal of a switch to or from `existing`. */
export function switchProblem(now: string, to: string): Problem {
  return {
    path: ['network', 'mode'],
    message: `${now}: switching to ${to} would move the job to another VPC, which up does not do in place; run \`batchctl down\` first (it leaves your VPC as it is), or use another stack name for the new network`,
  };
}

/** The endpoint services the config wants that the region offers; the others become problems. */
export function serviceProblems(
  config: StackConfig,
  found: ReadonlyMap<string, EndpointService>,
  problems: Problem[],
): EndpointService[] {
  const services: EndpointService[] = [];
  wantedServices(config).forEach((w) => {
    const hit = found.get(`${w.type}:${w.short}`);
    if (hit) return void services.push(hit);
    problems.push(
      w.type === 'Gateway'
        ? { path: ['network', 's3Gateway'], message: `the S3 gateway endpoint is not offered in ${config.region}` }
        : {
            path: ['network', 'interfaceEndpoints', config.network.interfaceEndpoints.indexOf(w.short as never)],
            message: `${w.short} is not offered as a VPC interface endpoint in ${config.region}`,
          },
    );
  });
  return services;
}
