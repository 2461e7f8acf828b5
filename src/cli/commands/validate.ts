import type { Command } from 'commander';
import { configPath, runCommand } from '../lib/common.js';

/** `batchctl validate`: check the config only; no AWS client is loaded, no AWS call made. */
export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check batch.config.yaml and print every problem at once (no AWS call)')
    .action(async (_opts, cmd: Command) =>
      runCommand(cmd, async (flags) => {
        // The config loader alone: not the stack module, which brings the state and AWS client code.
        const [{ loadConfig }, { profileRegionInForce }] = await Promise.all([
          import('../../config/load.js'),
          import('../../aws/profiles.js'),
        ]);
        const warnings: string[] = [];
        const path = configPath(flags);
        const config = await loadConfig(path, {
          region: flags.region,
          profileRegion: profileRegionInForce(flags.profile),
          warn: (m) => {
            warnings.push(m);
            process.stderr.write(`warning: ${m}\n`);
          },
        });
        if (flags.json) {
          process.stdout.write(
            JSON.stringify({ ok: true, stack: config.stack, region: config.region, warnings }, null, 2) + '\n',
          );
        } else {
          process.stdout.write(`${path}: ok (stack ${config.stack}, region ${config.region})\n`);
        }
        return 0;
      }),
    );
}
