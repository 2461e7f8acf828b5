import type { Command } from 'commander';
import { runCommand, stackOptions } from '../lib/common.js';

/** `batchctl policy`: the operator's least-privilege IAM policy for this config. */
export function registerPolicy(program: Command): void {
  program
    .command('policy')
    .description('print the least-privilege IAM policy an operator or CI role needs for this config')
    .option('--for <commands>', 'comma-separated commands: plan, up, down, run-now, logs, push, status, cost, outputs, or all', 'all')
    .option('--account <id>', 'the AWS account id (default: asked from STS, which needs no permission)')
    .action(async (opts: { for: string; account?: string }, cmd: Command) =>
      runCommand(cmd, async (flags) => {
        const [{ runPolicy, POLICY_COMMANDS, POLICY_SIZE_LIMITS }, { UserError }] = await Promise.all([import('../../info/policy.js'), import('../../base/errors.js')]);
        const wanted = opts.for.split(',').map((x) => x.trim()).filter(Boolean);
        const known = new Set<string>(POLICY_COMMANDS);
        const bad = wanted.filter((w) => w !== 'all' && !known.has(w));
        if (bad.length || !wanted.length) {
          throw new UserError(`--for ${opts.for}: unknown command ${bad.join(', ') || '(none)'}`, `one or more of ${POLICY_COMMANDS.join(', ')}, or all (validate and policy call no AWS API that needs a permission)`);
        }
        if (opts.account !== undefined && !/^\d{12}$/.test(opts.account)) throw new UserError(`--account ${opts.account} is not a 12-digit AWS account id`);
        const commands = wanted.includes('all') ? [...POLICY_COMMANDS] : POLICY_COMMANDS.filter((c) => wanted.includes(c));
        const warnings: string[] = [];
        const r = await runPolicy({
          ...stackOptions(flags),
          reporter: { stepStarted() {}, stepProgress() {}, stepDone() {}, info() {}, warn: (m) => warnings.push(m) },
          commands, account: opts.account,
        });
        if (r.size > POLICY_SIZE_LIMITS.inlinePerRole) {
          warnings.push(`the policy is ${r.size} characters, over IAM's ${POLICY_SIZE_LIMITS.inlinePerRole} for a role's inline policies: split it with --for into managed policies`);
        } else if (r.size > POLICY_SIZE_LIMITS.managed) {
          warnings.push(`the policy is ${r.size} characters, over IAM's ${POLICY_SIZE_LIMITS.managed} for a managed policy: attach it inline (up to ${POLICY_SIZE_LIMITS.inlinePerRole}), or split it with --for`);
        }
        for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
        if (flags.json) {
          process.stdout.write(JSON.stringify({ stack: r.stack, account: r.account, commands: r.commands, size: r.size, warnings, policy: r.policy }, null, 2) + '\n');
        } else {
          process.stderr.write(`# IAM policy for batchctl ${r.commands.join(', ')} on stack ${r.stack} (account ${r.account}): ${r.policy.Statement.length} statements, ${r.size} characters\n`);
          process.stdout.write(JSON.stringify(r.policy, null, 2) + '\n');
        }
        return 0;
      }),
    );
}
