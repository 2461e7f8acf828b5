/**
 * The region of the AWS profile in force, as the AWS CLI takes it (`--region`, AWS_REGION,
 * AWS_DEFAULT_REGION, then the profile's `region`), for every command, not only init. Here the config's
 * own `region:` still comes first after --region: it names the stack's home.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureCli } from '../helpers/cli.js';
import { scratch } from '../helpers/stack.js';
import { withEnv } from '../helpers/env.js';
import { DEFAULT_CONFIG_PATH } from '../helpers/ctx.js';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';

const cli = captureCli();
let fake: FakeAws | undefined;
afterEach(() => {
  fake?.uninstall();
  fake = undefined;
});

function awsConfig(): string {
  const dir = mkdtempSync(join(tmpdir(), 'batchctl-aws-'));
  const file = join(dir, 'config');
  writeFileSync(
    file,
    '[default]\nregion = us-west-2\n\n[profile tokyo]\nregion = ap-northeast-1\n\n[profile noregion]\noutput = json\n',
  );
  return file;
}

const withoutRegion = () => scratch(readFileSync(DEFAULT_CONFIG_PATH, 'utf8').replace(/^region: .*\n/m, ''));
const ENV = { AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined, AWS_PROFILE: undefined };

describe("the profile's region", () => {
  it('--profile, then AWS_PROFILE, then default: its region when the config, the flag and the variables name none', async () => {
    const s = withoutRegion();
    const file = awsConfig();
    await withEnv({ ...ENV, AWS_CONFIG_FILE: file }, async () => {
      expect(await cli.run('-c', s.configPath, '--profile', 'tokyo', 'validate')).toBe(0);
      expect(cli.out.join('')).toMatch(/region ap-northeast-1\)/);
      await withEnv({ AWS_PROFILE: 'tokyo' }, async () => {
        expect(await cli.run('-c', s.configPath, 'validate')).toBe(0);
        expect(cli.out.join('')).toMatch(/region ap-northeast-1\)/);
      });
      // `default` (us-west-2): the config's zones are Tokyo's, and the message says where the region came from.
      expect(await cli.run('-c', s.configPath, 'validate')).toBe(2);
      expect(cli.err.join('')).toMatch(/us-west-2/);
      expect(await cli.run('-c', s.configPath, '--profile', 'noregion', 'validate')).toBe(2);
      expect(cli.err.join('')).toMatch(
        /no region: set region in the config, --region, AWS_REGION, or a region in your AWS profile/,
      );
    });
  });

  it('AWS_REGION and AWS_DEFAULT_REGION come before the profile, and the config before them all', async () => {
    const file = awsConfig();
    await withEnv({ ...ENV, AWS_CONFIG_FILE: file, AWS_DEFAULT_REGION: 'ap-northeast-1' }, async () => {
      expect(await cli.run('-c', withoutRegion().configPath, '--profile', 'noregion', 'validate')).toBe(0);
      expect(cli.out.join('')).toMatch(/region ap-northeast-1\)/);
    });
    await withEnv({ ...ENV, AWS_CONFIG_FILE: file }, async () => {
      expect(await cli.run('-c', scratch().configPath, 'validate')).toBe(0);
      expect(cli.out.join('')).toMatch(/region ap-northeast-1\)/);
    });
  });

  it('plan and status use it too: their AWS calls go to that region', async () => {
    fake = createFakeAws();
    const regions = new Set<string>();
    fake.core.beforeCall = async (client) => {
      regions.add(await client.config.region());
    };
    const s = withoutRegion();
    await withEnv({ ...ENV, AWS_CONFIG_FILE: awsConfig() }, async () => {
      for (const command of ['plan', 'status']) {
        expect(
          await cli.run('-c', s.configPath, '--state', s.statePath, '--profile', 'tokyo', command),
          cli.err.join(''),
        ).toBe(0);
      }
    });
    expect(fake.core.count()).toBeGreaterThan(10);
    expect([...regions]).toEqual(['ap-northeast-1']);
  });
});
