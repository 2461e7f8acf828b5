import type { Command } from 'commander';
import { runCommand, stackOptions } from '../lib/common.js';

/** `batchctl state migrate --to <place>`: move the state between a local file and S3. */
export function registerState(program: Command): void {
  const state = program.command('state').description('work with the state itself (where it lives)');
  state
    .command('migrate')
    .description(
      'move the state to another place (a file or s3://bucket/key) without ever having two; run it again to finish an interrupted move, or --to where it started to undo it',
    )
    .requiredOption('--to <file|s3://bucket/key>', 'where the state goes')
    .option('--force-unlock <lock-id>', "first remove the stack's lock with this id (a run that died holding it)")
    .action(async (opts: { to: string; forceUnlock?: string }, cmd: Command) =>
      runCommand(cmd, async (flags) => {
        const [{ runStateMigrate }, { WarningsReporter }] = await Promise.all([
          import('../../stack/state-migrate.js'),
          import('../lib/output.js'),
        ]);
        const reporter = new WarningsReporter();
        const r = await runStateMigrate({
          ...stackOptions(flags),
          forceUnlock: opts.forceUnlock,
          reporter,
          to: opts.to,
        });
        if (flags.json) {
          process.stdout.write(JSON.stringify({ ok: true, ...r, warnings: reporter.warnings }, null, 2) + '\n');
        } else if (r.alreadyMoved) {
          process.stdout.write(
            [
              `The state of stack ${r.stack} (${r.resources} resources) was moved to ${r.to} already: nothing to do`,
              'Point every command at the new place:',
              ...r.configHint.split('\n').map((l) => `  ${l}`),
            ].join('\n') + '\n',
          );
        } else if (r.undone) {
          process.stdout.write(
            [
              `Undid the unfinished move of the state of stack ${r.stack} (${r.resources} resources): it is at ${r.from} again`,
              'Commands pointed there work as before; nothing else holds a state of this stack.',
            ].join('\n') + '\n',
          );
        } else {
          process.stdout.write(
            [
              `${r.resumed ? 'Finished moving' : 'Moved'} the state of stack ${r.stack} (${r.resources} resources)`,
              `  from ${r.from}`,
              `  to   ${r.to}`,
              `${r.from} now only says where the state went. Point every command at the new place:`,
              ...r.configHint.split('\n').map((l) => `  ${l}`),
            ].join('\n') + '\n',
          );
        }
        return 0;
      }),
    );
}
