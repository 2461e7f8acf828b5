/**
 * Every command's `--help` lists the global options it honours (`init --help` shows `--region`, which it
 * needs), not the ones it ignores. A global option is shown everywhere unless a command is listed here
 * as ignoring it, so a new global option needs no change here to appear.
 */
import { Help, type Command, type Option } from 'commander';

/** The global options (by attribute name) a command does not use. */
const IGNORED: Readonly<Record<string, readonly string[]>> = {
  init: ['endpointUrl', 'state'],
  validate: ['endpointUrl', 'state'],
  completion: ['endpointUrl', 'state', 'json', 'output'],
  logs: ['state'],
};

/** Only these commands list resources one by one, which `--verbose` makes complete. */
const VERBOSE = new Set(['up', 'down', 'plan', 'status']);

/** Whether `cmd` uses the global option `option`. */
export function honours(cmd: Command, option: Option): boolean {
  const name = option.attributeName();
  if (name === 'version') return false;
  if (name === 'verbose') return VERBOSE.has(cmd.name());
  return !IGNORED[cmd.name()]?.includes(name);
}

/** Show, under each command's own options, the global options it honours. */
export function installHelp(program: Command): void {
  const visit = (cmd: Command) => {
    cmd.configureHelp({
      showGlobalOptions: true,
      visibleGlobalOptions(this: Help, c: Command): Option[] {
        return Help.prototype.visibleGlobalOptions.call(this, c).filter((o) => honours(c, o));
      },
    });
    for (const c of cmd.commands) visit(c);
  };
  for (const c of program.commands) visit(c);
}
