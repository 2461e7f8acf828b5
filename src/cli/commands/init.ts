import type { Command } from 'commander';
import { runCommand } from '../lib/common.js';
import { CONFIG_FILE } from '../../config/discover.js';

/** What to run after init, in the order the README's first hour runs them. */
export const NEXT_STEPS: [string, string][] = [
  ['validate', 'check it (no AWS call)'],
  ['plan', 'what up would create, and whether your account allows it'],
  ['cost', 'what the stack costs per month'],
  ['up', 'create it (shows the plan and the cost, then asks)'],
  ['push --deploy', "build the job's image, upload it and pin the job to it"],
  ['run-now', 'run the job once and print its log'],
];

/** `batchctl init`: write a commented starting config (no AWS client is loaded, no AWS call made). */
export function registerInit(program: Command): void {
  program
    .command('init')
    .description(
      'write a commented batch.config.yaml whose names all derive from the stack name (never overwrites; no AWS call)',
    )
    .option('--stack <name>', 'stack name (default: the directory name)')
    .option('--nested', "write it even inside another stack's directory (whose commands then use this config here)")
    .action(async (opts: { stack?: string; nested?: boolean }, cmd: Command) =>
      runCommand(cmd, async (flags) => {
        const { runInit } = await import('../../info/init.js');
        const configPath = flags.config ?? CONFIG_FILE;
        const r = await runInit({
          configPath,
          stack: opts.stack,
          region: flags.region,
          profile: flags.profile,
          nested: opts.nested,
        });
        if (flags.json) {
          process.stdout.write(JSON.stringify({ ok: true, ...r }, null, 2) + '\n');
          return 0;
        }
        const configFlag = configPath === CONFIG_FILE ? '' : ` -c ${configPath}`;
        process.stdout.write(
          [
            `Wrote ${r.path}: stack ${r.stack} (from ${r.stackFrom}) in ${r.region} (from ${r.regionFrom}).`,
            `Names derive from the stack name: repository, cluster, task family, schedule and secret ${r.stack};`,
            `log group ${r.names.logGroup}; roles ${r.stack}-*; bucket ${r.names.bucket}.`,
            `Subnets in ${r.zones.join(' and ')}: plan checks that your account has these zones.`,
            'Next:',
            ...NEXT_STEPS.map(([command, what]) => `  batchctl${configFlag} ${command.padEnd(15)} ${what}`),
          ].join('\n') + '\n',
        );
        return 0;
      }),
    );
}
