/**
 * What a mistyped command or option gets: one or two lines, the command meant, never the whole help.
 * Users bring their words from the tools they know (Terraform's apply and destroy, kubectl's delete,
 * `docker run`, `tail -f`): those are mapped to what does the same here.
 */
import type { Command } from 'commander';
import { nearest } from '../../base/suggest.js';

/** Another tool's word, the batchctl command that does that, and what it does. */
interface Mapped {
  command: string;
  what: string;
}

/** Words from other tools (Terraform, kubectl, docker, the AWS CLI, tail) and their batchctl command. */
export const FOREIGN_COMMANDS: Readonly<Record<string, Mapped>> = {
  apply: { command: 'up', what: 'creates or updates the stack after showing the plan (Terraform: apply)' },
  create: { command: 'up', what: 'creates or updates the stack' },
  provision: { command: 'up', what: 'creates or updates the stack' },
  destroy: { command: 'down', what: 'deletes the stack (Terraform: destroy)' },
  delete: { command: 'down', what: 'deletes the stack' },
  remove: { command: 'down', what: 'deletes the stack' },
  rm: { command: 'down', what: 'deletes the stack' },
  teardown: { command: 'down', what: 'deletes the stack' },
  run: { command: 'run-now', what: 'starts the job now and waits for its exit code' },
  exec: { command: 'run-now', what: 'starts the job now and waits for its exit code' },
  start: { command: 'run-now', what: 'starts the job now and waits for its exit code' },
  invoke: { command: 'run-now', what: 'starts the job now and waits for its exit code' },
  trigger: { command: 'run-now', what: 'starts the job now and waits for its exit code' },
  tail: { command: 'logs --tail', what: "follows the jobs' logs" },
  follow: { command: 'logs --tail', what: "follows the jobs' logs" },
  log: { command: 'logs', what: "prints the jobs' logs" },
  show: { command: 'status', what: 'shows the resources, schedules, images and last runs' },
  describe: { command: 'status', what: 'shows the resources, schedules, images and last runs' },
  list: { command: 'status', what: 'shows the resources, schedules, images and last runs' },
  ls: { command: 'status', what: 'shows the resources, schedules, images and last runs' },
  ps: { command: 'status', what: 'shows the running and last runs' },
  diff: { command: 'plan', what: 'shows what up would change' },
  preview: { command: 'plan', what: 'shows what up would change' },
  check: { command: 'validate', what: 'checks the config (no AWS call)' },
  lint: { command: 'validate', what: 'checks the config (no AWS call)' },
  build: { command: 'push', what: "builds the job's image with docker and pushes it" },
  release: { command: 'deploy', what: 'pins a job to an image digest' },
  kill: { command: 'stop', what: "stops a job's running tasks" },
  disable: { command: 'pause', what: "disables a job's schedule until resumed" },
  enable: { command: 'resume', what: "enables a job's schedule again" },
  output: { command: 'outputs', what: 'prints the ids and ARNs other tools need' },
  version: { command: '--version', what: 'prints the version' },
};

/** Options from other tools, by the word typed, and what to use here. */
export const FOREIGN_OPTIONS: Readonly<Record<string, string>> = {
  '--dry-run': '`batchctl plan` shows what would change without changing anything',
  '-auto-approve': '--yes skips the question (Terraform: -auto-approve)',
  '--force-yes': '--yes skips the question',
  '--assume-yes': '--yes skips the question',
  '--non-interactive': '--yes skips the question',
};

/** The lines for `batchctl <word>` when no command has that name. */
export function unknownCommandLines(word: string, commands: readonly string[], parent = 'batchctl'): string[] {
  const lines = [`error: unknown command '${word}'`];
  const mapped = parent === 'batchctl' ? FOREIGN_COMMANDS[word.toLowerCase()] : undefined;
  const near = nearest(word, commands);
  if (mapped)
    lines.push(`hint: \`batchctl ${mapped.command}\` ${mapped.what}; \`${parent} --help\` lists every command`);
  else if (near) lines.push(`hint: did you mean \`${parent} ${near}\`? (\`${parent} --help\` lists every command)`);
  else lines.push(`hint: \`${parent} --help\` lists every command`);
  return lines;
}

/** The hint for an unknown option from another tool's vocabulary, if it is one. */
export function foreignOptionHint(message: string): string | undefined {
  const m = /unknown option '([^']+)'/.exec(message);
  const hint = m ? FOREIGN_OPTIONS[m[1]!] : undefined;
  return hint && `hint: ${hint}`;
}

/** The full name of a command as typed: `state migrate`. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Short answers for usage errors on `program` and every command below it: an unknown command gets the
 * command meant; an unknown option or a bad value gets commander's line (with its did-you-mean) and where
 * the command's options are listed, instead of the whole help.
 */
export function installUsageErrors(program: Command, exit: (code: number) => never): void {
  const visit = (cmd: Command) => {
    const path = commandPath(cmd);
    const self = path ? `batchctl ${path}` : 'batchctl';
    cmd.showHelpAfterError(`(\`${self} --help\` lists its options)`);
    cmd.configureOutput({
      outputError: (text, write) => {
        write(text);
        const hint = foreignOptionHint(text);
        if (hint) write(hint + '\n');
      },
    });
    if (cmd.commands.length) {
      cmd.on('command:*', (operands: string[]) => {
        const names = cmd.commands.map((c) => c.name());
        for (const line of unknownCommandLines(operands[0] ?? '', names, self)) process.stderr.write(line + '\n');
        exit(2);
      });
    }
    for (const c of cmd.commands) visit(c);
  };
  visit(program);
}
