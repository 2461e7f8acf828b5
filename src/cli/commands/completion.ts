import type { Command } from 'commander';
import { Option } from 'commander';
import { configPath, runCommand } from '../lib/common.js';
import { SHELLS, completionScript, type Shell } from '../lib/completion.js';

/**
 * `batchctl completion <bash|zsh|fish>`: print the shell's completion script (generated from the
 * commands and options themselves). `--jobs` prints the config's job names, one a line, for the
 * scripts to complete a `[job]` argument; it prints nothing when the config cannot be read.
 */
export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .argument('[shell]', `${SHELLS.join(', ')}`)
    .description('print a shell completion script: bash, zsh or fish (see README: Shell completion)')
    .addOption(new Option('--jobs', "print the config's job names (what the scripts complete a job with)").hideHelp())
    .addHelpText(
      'after',
      [
        '',
        'Install:',
        '  bash: batchctl completion bash > ~/.local/share/bash-completion/completions/batchctl',
        '  zsh:  batchctl completion zsh > "${fpath[1]}/_batchctl"   (then: autoload -U compinit && compinit)',
        '  fish: batchctl completion fish > ~/.config/fish/completions/batchctl.fish',
      ].join('\n'),
    )
    .action(async (shell: string | undefined, opts: { jobs?: boolean }, cmd: Command) =>
      runCommand(cmd, async (flags) => {
        if (opts.jobs) {
          const [{ loadConfig }, { profileRegionInForce }] = await Promise.all([
            import('../../config/load.js'),
            import('../../aws/profiles.js'),
          ]);
          // Completion must never print an error into the user's command line: no valid config, no names.
          // The config the other commands would use: -c, else the nearest batch.config.yaml.
          let path: string | undefined;
          try {
            path = configPath(flags);
          } catch {
            path = undefined;
          }
          const config =
            path === undefined
              ? undefined
              : await loadConfig(path, {
                  region: flags.region,
                  profileRegion: profileRegionInForce(flags.profile),
                  warn: () => {},
                }).catch(() => undefined);
          for (const job of config?.jobs ?? []) process.stdout.write(`${job.name}\n`);
          return 0;
        }
        if (!shell || !(SHELLS as readonly string[]).includes(shell)) {
          const { UserError } = await import('../../base/errors.js');
          throw new UserError(
            shell
              ? `no completion for shell "${shell.slice(0, 20)}"`
              : 'which shell? batchctl completion bash, zsh or fish',
            `pass one of ${SHELLS.join(', ')}: batchctl completion ${SHELLS[0]}`,
          );
        }
        process.stdout.write(completionScript(cmd.parent!, shell as Shell));
        return 0;
      }),
    );
}
