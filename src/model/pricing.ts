/**
 * On-demand prices batchctl uses to show what a stack costs. One small table per region, dated; any
 * value can be overridden in the config (`pricing:`), e.g. for a negotiated rate or a newer price.
 */

/** Prices in USD for one region. */
export interface PriceTable {
  region: string;
  /** When these were read off the AWS pricing pages. */
  asOf: string;
  /** Interface VPC endpoint, per endpoint per AZ per hour (data processing is not included). */
  interfaceEndpointAzHour: number;
  /** Fargate Linux, per vCPU-hour and per GB-hour, by CPU architecture. */
  fargate: { X86_64: { vcpuHour: number; gbHour: number }; ARM64: { vcpuHour: number; gbHour: number } };
  /** Secrets Manager, per secret per month. */
  secretMonth: number;
  /** A public IPv4 address (a task started with a public IP holds one while it runs), per hour. */
  publicIpv4Hour: number;
  /** Step Functions standard workflows, per 1,000 state transitions (jobs with a timeout or retries). */
  stepFunctionsTransition1k: number;
  /** A CloudWatch standard-resolution metric alarm, per month (the dead-letter alarm). */
  alarmMonth: number;
  /**
   * Fargate Spot, Linux X86_64 (Spot runs no other), per vCPU-hour and per GB-hour, and when they were
   * recorded: Spot prices move with supply and demand. Undefined for a region without a built-in table.
   */
  fargateSpot?: { vcpuHour: number; gbHour: number; asOf: string };
  /** Ephemeral storage beyond the 20 GiB every task gets, per GB-hour (`task.ephemeralStorageGiB`). */
  ephemeralStorageGbHour: number;
}

/** Hours in a month as AWS bills them (365 * 24 / 12). */
export const HOURS_PER_MONTH = 730;

const AS_OF = '2025-06-01';

/**
 * AWS bills every public IPv4 address it provides, attached or not, at one price in every commercial
 * region (since 2024-02-01; read off the VPC pricing page on AS_OF). A Fargate task started with a public
 * IP holds one from its start to its stop.
 */
export const PUBLIC_IPV4_HOUR = 0.005;

/**
 * Step Functions standard workflows bill per state transition: $0.025 per 1,000 in every region of the
 * table (read off the Step Functions pricing page on STEP_FUNCTIONS_AS_OF; a few other regions charge
 * more, up to $0.0375). The first 4,000 transitions of every month are free in each account: that free
 * tier is the account's, shared with everything else there, so the estimate does not subtract it.
 */
export const STEP_FUNCTIONS_TRANSITION_1K = 0.025;
export const STEP_FUNCTIONS_AS_OF = '2026-11-29';
/**
 * A standard-resolution CloudWatch metric alarm: $0.10 per alarm-month in every region of the table (read
 * off the CloudWatch pricing page on AS_OF). The free tier's 10 alarms are the account's, shared with
 * everything else there, so the estimate does not subtract them.
 */
export const ALARM_MONTH = 0.1;
/** Transitions a month free in each account (Step Functions' free tier, which does not expire). */
export const STEP_FUNCTIONS_FREE_TRANSITIONS = 4000;

/**
 * Fargate Spot's prices (Linux X86_64), recorded on SPOT_AS_OF from a published copy of AWS's Fargate Spot
 * price list (the Spot table of the Fargate pricing page, which AWS updates as supply and demand move).
 * `cost` prints the date and how to set today's (`pricing.fargateSpotVcpuHour`, `fargateSpotGbHour`).
 */
export const SPOT_AS_OF = '2026-12-07';

/**
 * Ephemeral storage beyond the 20 GiB a task gets free, per GB-hour (AWS's price list usage type
 * `<region>-Fargate-EphemeralStorage-GB-Hours`), recorded on SPOT_AS_OF. Fargate Spot is charged the same
 * rate here (the estimate does not assume a Spot discount on storage).
 */
const STORAGE: Record<string, number> = {
  'ap-northeast-1': 0.000133,
  'us-east-1': 0.000111,
  'us-west-2': 0.000111,
  'eu-west-1': 0.000111,
  'eu-central-1': 0.000129,
};

/** The GiB of ephemeral storage every Fargate task gets without being billed for it. */
export const FREE_EPHEMERAL_GIB = 20;

/** Built-in prices. Regions not listed need `pricing:` in the config. */
export const PRICES: Record<string, PriceTable> = {
  'ap-northeast-1': {
    region: 'ap-northeast-1',
    asOf: AS_OF,
    interfaceEndpointAzHour: 0.014,
    fargate: { X86_64: { vcpuHour: 0.05056, gbHour: 0.00553 }, ARM64: { vcpuHour: 0.04045, gbHour: 0.00442 } },
    secretMonth: 0.4,
    publicIpv4Hour: PUBLIC_IPV4_HOUR,
    stepFunctionsTransition1k: STEP_FUNCTIONS_TRANSITION_1K,
    alarmMonth: ALARM_MONTH,
    fargateSpot: { vcpuHour: 0.01981009, gbHour: 0.00216673, asOf: SPOT_AS_OF },
    ephemeralStorageGbHour: STORAGE['ap-northeast-1']!,
  },
  'us-east-1': {
    region: 'us-east-1',
    asOf: AS_OF,
    interfaceEndpointAzHour: 0.01,
    fargate: { X86_64: { vcpuHour: 0.04048, gbHour: 0.004445 }, ARM64: { vcpuHour: 0.03238, gbHour: 0.00356 } },
    secretMonth: 0.4,
    publicIpv4Hour: PUBLIC_IPV4_HOUR,
    stepFunctionsTransition1k: STEP_FUNCTIONS_TRANSITION_1K,
    alarmMonth: ALARM_MONTH,
    fargateSpot: { vcpuHour: 0.01264355, gbHour: 0.00138835, asOf: SPOT_AS_OF },
    ephemeralStorageGbHour: STORAGE['us-east-1']!,
  },
  'us-west-2': {
    region: 'us-west-2',
    asOf: AS_OF,
    interfaceEndpointAzHour: 0.01,
    fargate: { X86_64: { vcpuHour: 0.04048, gbHour: 0.004445 }, ARM64: { vcpuHour: 0.03238, gbHour: 0.00356 } },
    secretMonth: 0.4,
    publicIpv4Hour: PUBLIC_IPV4_HOUR,
    stepFunctionsTransition1k: STEP_FUNCTIONS_TRANSITION_1K,
    alarmMonth: ALARM_MONTH,
    fargateSpot: { vcpuHour: 0.01269464, gbHour: 0.00139396, asOf: SPOT_AS_OF },
    ephemeralStorageGbHour: STORAGE['us-west-2']!,
  },
  'eu-west-1': {
    region: 'eu-west-1',
    asOf: AS_OF,
    interfaceEndpointAzHour: 0.011,
    fargate: { X86_64: { vcpuHour: 0.04048, gbHour: 0.004445 }, ARM64: { vcpuHour: 0.03238, gbHour: 0.00356 } },
    secretMonth: 0.4,
    publicIpv4Hour: PUBLIC_IPV4_HOUR,
    stepFunctionsTransition1k: STEP_FUNCTIONS_TRANSITION_1K,
    alarmMonth: ALARM_MONTH,
    fargateSpot: { vcpuHour: 0.01257825, gbHour: 0.00138118, asOf: SPOT_AS_OF },
    ephemeralStorageGbHour: STORAGE['eu-west-1']!,
  },
  'eu-central-1': {
    region: 'eu-central-1',
    asOf: AS_OF,
    interfaceEndpointAzHour: 0.012,
    fargate: { X86_64: { vcpuHour: 0.04656, gbHour: 0.00511 }, ARM64: { vcpuHour: 0.03725, gbHour: 0.00409 } },
    secretMonth: 0.4,
    publicIpv4Hour: PUBLIC_IPV4_HOUR,
    stepFunctionsTransition1k: STEP_FUNCTIONS_TRANSITION_1K,
    alarmMonth: ALARM_MONTH,
    fargateSpot: { vcpuHour: 0.0140458, gbHour: 0.00154154, asOf: SPOT_AS_OF },
    ephemeralStorageGbHour: STORAGE['eu-central-1']!,
  },
};

/** Overrides from the config's `pricing:` section (all optional). */
export interface PriceOverrides {
  interfaceEndpointAzHour?: number;
  fargateVcpuHour?: number;
  fargateGbHour?: number;
  secretMonth?: number;
  publicIpv4Hour?: number;
  stepFunctionsTransition1k?: number;
  alarmMonth?: number;
  fargateSpotVcpuHour?: number;
  fargateSpotGbHour?: number;
  ephemeralStorageGbHour?: number;
}

/**
 * The prices for a region with the config's overrides applied. Undefined when the region has no built-in
 * table and the overrides do not give every price.
 */
export function pricesFor(
  region: string,
  arch: 'X86_64' | 'ARM64',
  o: PriceOverrides = {},
): { table: PriceTable; fargate: { vcpuHour: number; gbHour: number }; overridden: string[] } | undefined {
  const base = PRICES[region];
  const overridden = Object.keys(o).filter((k) => o[k as keyof PriceOverrides] !== undefined);
  // One price everywhere: a region without a table still knows it.
  const publicIpv4Hour = o.publicIpv4Hour ?? base?.publicIpv4Hour ?? PUBLIC_IPV4_HOUR;
  const stepFunctionsTransition1k =
    o.stepFunctionsTransition1k ?? base?.stepFunctionsTransition1k ?? STEP_FUNCTIONS_TRANSITION_1K;
  const alarmMonth = o.alarmMonth ?? base?.alarmMonth ?? ALARM_MONTH;
  const endpoint = o.interfaceEndpointAzHour ?? base?.interfaceEndpointAzHour;
  const vcpu = o.fargateVcpuHour ?? base?.fargate[arch].vcpuHour;
  const gb = o.fargateGbHour ?? base?.fargate[arch].gbHour;
  const secret = o.secretMonth ?? base?.secretMonth;
  if (endpoint === undefined || vcpu === undefined || gb === undefined || secret === undefined) return undefined;
  // Spot from the config when both rates are given, else the table's (none for a region without one).
  const spotVcpu = o.fargateSpotVcpuHour ?? base?.fargateSpot?.vcpuHour;
  const spotGb = o.fargateSpotGbHour ?? base?.fargateSpot?.gbHour;
  const spotFromConfig = o.fargateSpotVcpuHour !== undefined || o.fargateSpotGbHour !== undefined;
  const fargateSpot =
    spotVcpu !== undefined && spotGb !== undefined
      ? { vcpuHour: spotVcpu, gbHour: spotGb, asOf: spotFromConfig ? 'config' : base!.fargateSpot!.asOf }
      : undefined;
  // Storage: the config's, the table's, else the highest of the table (a region without one, estimated high).
  const ephemeralStorageGbHour =
    o.ephemeralStorageGbHour ?? base?.ephemeralStorageGbHour ?? Math.max(...Object.values(STORAGE));
  const table: PriceTable = {
    region,
    asOf: base?.asOf ?? 'config',
    interfaceEndpointAzHour: endpoint,
    secretMonth: secret,
    publicIpv4Hour,
    stepFunctionsTransition1k,
    alarmMonth,
    ...(fargateSpot ? { fargateSpot } : {}),
    ephemeralStorageGbHour,
    fargate: {
      ...(base?.fargate ?? { X86_64: { vcpuHour: vcpu, gbHour: gb }, ARM64: { vcpuHour: vcpu, gbHour: gb } }),
      [arch]: { vcpuHour: vcpu, gbHour: gb },
    },
  };
  return { table, fargate: { vcpuHour: vcpu, gbHour: gb }, overridden };
}

/** What the interface endpoints cost: `endpoints` x `azs` ENIs, each billed per hour. */
export function endpointCost(
  table: PriceTable,
  endpoints: number,
  azs: number,
): { enis: number; hourly: number; monthly: number } {
  const enis = endpoints * azs;
  const hourly = enis * table.interfaceEndpointAzHour;
  return { enis, hourly, monthly: hourly * HOURS_PER_MONTH };
}

/** USD with cents, or more digits for sub-cent amounts (a 5-minute run costs fractions of a cent). */
export function usd(n: number): string {
  if (n !== 0 && Math.abs(n) < 0.01) return `$${n.toFixed(4)}`;
  return `$${n.toFixed(2)}`;
}
