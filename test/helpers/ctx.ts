/**
 * Test helpers: the default config (the article's, test/config/good/article.yaml) and a context wired to the
 * fake AWS, for testing one resource kind without the engine.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { configSchema, fillNames, defaultBucketName, type StackConfig } from '../../src/config/schema.js';
import { createAwsClients, ALL_SERVICES } from '../../src/aws/clients.js';
import { buildContext } from '../../src/engine/context.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import type { Ctx, Found, ResourceRecord } from '../../src/engine/types.js';
import type { FakeAws } from '../fake-aws/index.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The article's config, names as the article has them: most tests assert on those names. */
export const DEFAULT_CONFIG_PATH = `${ROOT}test/config/good/article.yaml`;

/** The default config, names filled, bucket named for the fake's account. Mutate freely: fresh each call. */
export function defaultConfig(account = '123456789012'): StackConfig {
  const raw = parse(readFileSync(DEFAULT_CONFIG_PATH, 'utf8'));
  const cfg = fillNames(configSchema.parse(raw), raw.region);
  cfg.bucket.name ??= defaultBucketName(cfg.stack, account, cfg.region);
  return cfg;
}

/**
 * What a walk would have found, as the tests' records map says: the tests record a node only once it is
 * converged and ours, as the engine does. Lets untaggable children inherit their parent's ownership with
 * no extra call, as they do in a real walk.
 */
class RecordsAsWalk extends Map<string, Found | null> {
  constructor(private readonly records: Map<string, ResourceRecord>) {
    super();
  }
  override get(key: string): Found | null | undefined {
    const record = this.records.get(key);
    return record ? { record, owned: true, observed: undefined } : undefined;
  }
}

/** A context on the fake, with a recording reporter and a records map the test can fill. */
export async function testCtx(
  fake: FakeAws,
  opts: {
    config?: StackConfig;
    records?: Map<string, ResourceRecord>;
    walk?: boolean;
    previousTagKeys?: string[];
  } = {},
): Promise<Ctx & { reporter: RecordingReporter }> {
  const config = opts.config ?? defaultConfig(fake.core.account);
  const aws = await createAwsClients({ region: config.region }, ALL_SERVICES);
  const reporter = new RecordingReporter();
  const records = opts.records ?? new Map();
  const ctx = buildContext({
    config,
    aws,
    account: fake.core.account,
    reporter,
    records,
    runId: 'test-run',
    previousTagKeys: opts.previousTagKeys,
    ...(opts.walk === false ? {} : { assessed: new RecordsAsWalk(records) }),
  });
  return ctx as Ctx & { reporter: RecordingReporter };
}

/**
 * The repository's config, names left to the jobs, and `n` jobs: every fifth on EventBridge Scheduler in Tokyo time.
 */
export function jobsConfig(n: number): string {
  const base = readFileSync(DEFAULT_CONFIG_PATH, 'utf8')
    .replace('  family: sample-batch\n', '')
    .replace(/^schedule:\n  name: sample-batch\n/m, 'schedule:\n');
  const jobs = Array.from({ length: n }, (_, i) => {
    const name = `job-${String(i + 1).padStart(2, '0')}`;
    return i % 5 === 4
      ? `  ${name}:\n    schedule: { expression: 'cron(${i % 60} 2 * * ? *)', timezone: Asia/Tokyo }\n`
      : `  ${name}:\n    schedule: { expression: 'cron(${i % 60} * * * ? *)' }\n`;
  });
  return `${base}\njobs:\n${jobs.join('')}`;
}
