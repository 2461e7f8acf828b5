/**
 * `batchctl init`: the config it writes validates, derives every name from the stack name, shows every
 * key the schema has with its default, and never overwrites a file. The repository's sample config is
 * that same text, for the article's stack.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { captureCli } from '../helpers/cli.js';
import { ROOT } from '../helpers/ctx.js';
import { withEnv } from '../helpers/env.js';
import { loadConfig } from '../../src/config/load.js';
import { configSchema, resolveNetwork } from '../../src/config/schema.js';
import { schemaKeys } from '../helpers/schema-keys.js';
import { defaultZones, renderConfig } from '../../src/info/template.js';
import { stackFromDirectory } from '../../src/info/init.js';

const io = captureCli();
const { out, err } = io;
const cli = io.run;
const NO_ENV = { env: {} };

/** A fresh directory named `name`, for init to write into. */
function dirNamed(name = 'work'): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'init-')), name);
  mkdirSync(dir);
  return dir;
}

describe('batchctl init', () => {
  it('writes a config that validates, with every name derived from the stack name', async () => {
    const dir = dirNamed();
    const path = join(dir, 'batch.config.yaml');
    expect(await cli('-c', path, 'init', '--stack', 'nightly-etl', '--region', 'eu-west-1')).toBe(0);
    expect(out.join('')).toBe(
      [
        `Wrote ${path}: stack nightly-etl (from --stack) in eu-west-1 (from --region).`,
        'Names derive from the stack name: repository, cluster, task family, schedule and secret nightly-etl;',
        'log group /ecs/nightly-etl; roles nightly-etl-*; bucket nightly-etl-<account id>-eu-west-1.',
        'Subnets in eu-west-1a and eu-west-1b: plan checks that your account has these zones.',
        'Next:',
        // The README's order; the image step as every other next step names it (push --deploy).
        `  batchctl -c ${path} validate        check it (no AWS call)`,
        `  batchctl -c ${path} plan            what up would create, and whether your account allows it`,
        `  batchctl -c ${path} cost            what the stack costs per month`,
        `  batchctl -c ${path} up              create it (shows the plan and the cost, then asks)`,
        `  batchctl -c ${path} push --deploy   build the job's image, upload it and pin the job to it`,
        `  batchctl -c ${path} run-now         run the job once and print its log`,
        '',
      ].join('\n'),
    );
    expect(await cli('-c', path, 'validate'), err.join('')).toBe(0);
    const c = await loadConfig(path, NO_ENV);
    expect([c.stack, c.region]).toEqual(['nightly-etl', 'eu-west-1']);
    expect([
      c.repository.name,
      c.secret.name,
      c.cluster.name,
      c.jobs[0]!.task.family,
      c.jobs[0]!.schedule.name,
    ]).toEqual(Array(5).fill('nightly-etl'));
    expect(c.logs.group).toBe('/ecs/nightly-etl');
    expect([c.iam.executionRoleName, c.jobs[0]!.iam.taskRoleName, c.jobs[0]!.iam.eventsRoleName]).toEqual([
      'nightly-etl-execution',
      'nightly-etl-task',
      'nightly-etl-events',
    ]);
    expect(c.bucket.name).toBeUndefined();
    expect(c.network.batchSubnets.map((x) => x.az)).toEqual(['eu-west-1a', 'eu-west-1b']);
  });

  it('a stack name ending like a secret ARN suffix (nightly-report) gets a secret name that does not', async () => {
    const path = join(dirNamed(), 'batch.config.yaml');
    expect(await cli('-c', path, 'init', '--stack', 'nightly-report', '--region', 'eu-west-1')).toBe(0);
    expect(await cli('-c', path, 'validate'), err.join('')).toBe(0);
    expect((await loadConfig(path, NO_ENV)).secret.name).toBe('nightly-report-secrets');
    expect(readFileSync(path, 'utf8')).toMatch(/^secret:\n {2}name: nightly-report-secrets +# holds/m);
  });

  it('two stacks from init share no name', async () => {
    const names = async (stack: string) => {
      const path = join(dirNamed(), 'batch.config.yaml');
      expect(await cli('-c', path, 'init', '--stack', stack, '--region', 'eu-west-1')).toBe(0);
      const c = await loadConfig(path, NO_ENV);
      const j = c.jobs[0]!;
      return [
        c.repository.name,
        c.secret.name,
        c.logs.group,
        c.cluster.name,
        j.task.family,
        j.schedule.name,
        ...[c.iam.executionRoleName, j.iam.taskRoleName, j.iam.eventsRoleName, j.iam.schedulerRoleName].filter(
          (v) => typeof v === 'string' && v.startsWith(stack),
        ),
      ];
    };
    const a = await names('etl-a');
    const b = await names('etl-b');
    expect(a).toHaveLength(10);
    expect(a.filter((n) => b.includes(n))).toEqual([]);
  });

  it('shows every key the schema has, and what it writes is exactly the defaults', () => {
    const text = renderConfig({ stack: 'demo', region: 'us-east-1' });
    const missing = schemaKeys().filter((k) => !new RegExp(`(^[ #]*|[{,] )${k.split('.').at(-1)}:`, 'm').test(text));
    expect(missing, 'a key the schema has but the init template (src/info/template.ts) does not show').toEqual([]);
    const written = parse(text);
    const { batchSubnets, endpointSubnets } = written.network;
    // Compared as they apply: network keys left out take their mode's defaults (resolveNetwork).
    const applied = (raw: unknown) => {
      const c = configSchema.parse(raw);
      return { ...c, network: resolveNetwork(c.network) };
    };
    // The one deliberate difference: new configs pin images by digest; a config without the key keeps
    // `tag`, so upgrading batchctl never changes a running stack's image.
    expect(written.task.imagePin).toBe('digest');
    expect(configSchema.parse({ stack: 'demo', network: {} }).task.imagePin).toBe('tag');
    expect(applied(written)).toEqual(
      applied({
        stack: 'demo',
        region: 'us-east-1',
        network: { batchSubnets, endpointSubnets },
        task: { imagePin: 'digest' },
      }),
    );
    // Comments start at one column where the key leaves room.
    expect(text.split('\n').every((l) => l.length <= 160)).toBe(true);
  });

  it('refuses to overwrite an existing file: exit 2, the file untouched', async () => {
    const path = join(dirNamed(), 'batch.config.yaml');
    writeFileSync(path, 'stack: mine\n');
    expect(await cli('-c', path, 'init', '--stack', 'other', '--region', 'eu-west-1')).toBe(2);
    expect(err.join('')).toBe(
      `error: ${path} already exists: init never overwrites a config\nhint: edit it, or pass --config with another file name (then -c <file> with every command)\n`,
    );
    expect(readFileSync(path, 'utf8')).toBe('stack: mine\n');
  });

  it("the stack name defaults to the directory name; the region to AWS_REGION, then the profile's", async () => {
    const dir = dirNamed('My Batch_Jobs2');
    const path = join(dir, 'batch.config.yaml');
    expect(await withEnv({ AWS_REGION: 'ca-central-1' }, () => cli('-c', path, 'init'))).toBe(0);
    expect(out.join('')).toMatch(
      /stack my-batch-jobs2 \(from the directory name\) in ca-central-1 \(from AWS_REGION\)/,
    );
    expect(stackFromDirectory('/x/2024 reports/batch.config.yaml')).toBe('reports');

    const files = join(dirNamed(), 'config');
    writeFileSync(files, '[default]\nregion = eu-north-1\n[profile ops]\nregion = ap-south-1\n');
    const env = {
      AWS_REGION: undefined,
      AWS_DEFAULT_REGION: undefined,
      AWS_CONFIG_FILE: files,
      AWS_PROFILE: undefined,
    };
    const p2 = join(dirNamed(), 'batch.config.yaml');
    expect(await withEnv(env, () => cli('-c', p2, '--profile', 'ops', 'init', '--stack', 'ops-job'))).toBe(0);
    expect(out.join('')).toMatch(/in ap-south-1 \(from the region of profile ops\)/);
    const p3 = join(dirNamed(), 'batch.config.yaml');
    expect(await withEnv(env, () => cli('-c', p3, 'init', '--stack', 'ops-job'))).toBe(0);
    expect(out.join('')).toMatch(/in eu-north-1 \(from the region of profile default\)/);
  });

  it('a bad stack name, an unknown region or none at all: exit 2, nothing written', async () => {
    const path = join(dirNamed(), 'batch.config.yaml');
    expect(await cli('-c', path, 'init', '--stack', 'Nightly_Report', '--region', 'eu-west-1')).toBe(2);
    expect(err.join('')).toMatch(
      /^error: --stack "Nightly_Report" is not a stack name\nhint: pass --stack with 2-32 characters/,
    );
    expect(await cli('-c', path, 'init', '--stack', 'ok', '--region', 'eu-wst-1')).toBe(2);
    expect(err.join('')).toMatch(/^error: --region "eu-wst-1" is not an AWS region: did you mean eu-west-1\?/);
    const none = {
      AWS_REGION: undefined,
      AWS_DEFAULT_REGION: undefined,
      AWS_CONFIG_FILE: '/nonexistent/config',
      AWS_PROFILE: undefined,
    };
    expect(await withEnv(none, () => cli('-c', path, 'init', '--stack', 'ok'))).toBe(2);
    expect(err.join('')).toMatch(/^error: no region: init needs the region the stack is for\nhint: pass --region/);
    // A stack name whose derived names break an AWS rule: ECR takes no two separators in a row.
    expect(await cli('-c', path, 'init', '--stack', 'etl--nightly', '--region', 'eu-west-1')).toBe(2);
    expect(err.join('')).toMatch(
      /^error: the names derived from stack "etl--nightly" would not be valid\n {2}the default ECR repository name "etl--nightly" .*\nhint: choose another --stack\n$/,
    );
    expect(() => readFileSync(path)).toThrow();
  });

  it('--json: what was written, as one document', async () => {
    const path = join(dirNamed(), 'batch.config.yaml');
    expect(await cli('-c', path, '--json', 'init', '--stack', 'nightly', '--region', 'ap-northeast-1')).toBe(0);
    expect(JSON.parse(out.join(''))).toMatchObject({
      ok: true,
      path,
      stack: 'nightly',
      region: 'ap-northeast-1',
      zones: ['ap-northeast-1a', 'ap-northeast-1c'],
      names: { repository: 'nightly', logGroup: '/ecs/nightly', bucket: 'nightly-<account id>-ap-northeast-1' },
    });
  });

  it('zones: ap-northeast-1 has no b', () => {
    expect(defaultZones('ap-northeast-1')).toEqual(['ap-northeast-1a', 'ap-northeast-1c']);
    expect(defaultZones('us-east-2')).toEqual(['us-east-2a', 'us-east-2b']);
  });
});

describe('the sample batch.config.yaml', () => {
  it("is what init writes for the article's stack: names left out, so a copy with another stack name collides with nothing", async () => {
    expect(readFileSync(join(ROOT, 'batch.config.yaml'), 'utf8')).toBe(
      renderConfig({ stack: 'sample-batch', region: 'ap-northeast-1' }),
    );
    const c = await loadConfig(join(ROOT, 'batch.config.yaml'), NO_ENV);
    expect(c.logs.group).toBe('/ecs/sample-batch');
  });
});
