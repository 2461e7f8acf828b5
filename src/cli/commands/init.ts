import type { Command } from 'commander';
import { runCommand } from '../lib/common.js';

/** `batchctl init`: write a commented starting config (no AWS client is loaded, no AWS call made). */
export function registerInit(program: Command): void {
  program
    .command('init')
    .description('write a commented batch.config.yaml whose names all derive from the stack name (never overwrites; no AWS call)')
    .option('--stack <name>', 'stack name (default: the directory name)')
    .action(async (opts: { stack?: string }, cmd: Command) =>
      runCommand(cmd, async (flags) => {
        const { runInit } = await import('../../info/init.js');
        const r = await runInit({ configPath: flags.config, stack: opts.stack, region: flags.region, profile: flags.profile });
        if (flags.json) {
          process.stdout.write(JSON.stringify({ ok: true, ...r }, null, 2) + '\n');
          return 0;
        }
        const configFlag = flags.config === 'batch.config.yaml' ? '' : ` -c ${flags.config}`;
        process.stdout.write([
          `Wrote ${r.path}: stack ${r.stack} (from ${r.stackFrom}) in ${r.region} (from ${r.regionFrom}).`,
          `Names derive from the stack name: repository, cluster, task family, schedule and secret ${r.stack};`,
          `log group ${r.names.logGroup}; roles ${r.stack}-*; bucket ${r.names.bucket}.`,
          `Subnets in ${r.zones.join(' and ')}: plan checks that your account has these zones.`,
          'Next:',
          `  batchctl${configFlag} validate   check it (no AWS call)`,
          `  batchctl${configFlag} plan       what up would create, and whether your account allows it`,
          `  batchctl${configFlag} cost       what the stack costs per month`,
          `  batchctl${configFlag} up         create it`,
          `  batchctl${configFlag} push       build the job's image and upload it`,
        ].join('\n') + '\n');
        return 0;
      }),
    );
}
