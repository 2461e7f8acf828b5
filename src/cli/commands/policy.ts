import type { Command } from 'commander';
import { runCommand, stackOptions } from '../lib/common.js';

/**
 * `batchctl policy`: the operator's least-privilege IAM policy for this config, as managed policies each
 * within IAM's size limit: one per group of commands (split further when a group is too big), with the
 * commands that create and attach them.
 */
export function registerPolicy(program: Command): void {
  program
    .command('policy')
    .description(
      'print the least-privilege IAM policies an operator or CI role needs for this config ' +
        "(managed policies, each within IAM's limits)",
    )
    .option(
      '--for <commands>',
      'comma-separated commands: plan, up, down, run-now, logs, push, status, cost, outputs, or all',
      'all',
    )
    .option('--account <id>', 'the AWS account id (default: asked from STS, which needs no permission)')
    .option('--out <dir>', 'write each policy to <dir>/<name>.json instead of printing the documents')
    .action(async (opts: { for: string; account?: string; out?: string }, cmd: Command) =>
      runCommand(cmd, async (flags) => {
        const [{ POLICY_COMMANDS, POLICY_SIZE_LIMITS }, { runPolicy }, { UserError }] = await Promise.all([
          import('../../info/policy.js'),
          import('../../info/policy-documents.js'),
          import('../../base/errors.js'),
        ]);
        const wanted = opts.for
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean);
        const known = new Set<string>(POLICY_COMMANDS);
        const bad = wanted.filter((w) => w !== 'all' && !known.has(w));
        if (bad.length || !wanted.length) {
          throw new UserError(
            `--for ${opts.for}: unknown command ${bad.join(', ') || '(none)'}`,
            `one or more of ${POLICY_COMMANDS.join(', ')}, or all (validate and policy call no AWS API that needs a permission)`,
          );
        }
        if (opts.account !== undefined && !/^\d{12}$/.test(opts.account))
          throw new UserError(`--account ${opts.account} is not a 12-digit AWS account id`);
        const commands = wanted.includes('all')
          ? [...POLICY_COMMANDS]
          : POLICY_COMMANDS.filter((c) => wanted.includes(c));
        const warnings: string[] = [];
        const r = await runPolicy({
          ...stackOptions(flags),
          reporter: { stepStarted() {}, stepProgress() {}, stepDone() {}, info() {}, warn: (m) => warnings.push(m) },
          commands,
          account: opts.account,
        });
        warnings.push(...r.warnings);
        if (opts.out) {
          const { mkdirSync, writeFileSync } = await import('node:fs');
          const { join } = await import('node:path');
          mkdirSync(opts.out, { recursive: true });
          for (const d of r.documents) {
            writeFileSync(join(opts.out, `${d.name}.json`), JSON.stringify(d.policy, null, 2) + '\n');
          }
        }
        for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
        if (flags.json) {
          process.stdout.write(
            JSON.stringify(
              {
                stack: r.stack,
                account: r.account,
                commands: r.commands,
                limits: {
                  managedPolicy: POLICY_SIZE_LIMITS.managed,
                  managedPoliciesPerRole: POLICY_SIZE_LIMITS.managedPerRole,
                },
                documents: r.documents,
                warnings,
              },
              null,
              2,
            ) + '\n',
          );
          return 0;
        }
        const n = r.documents.length;
        const err = (s: string) => process.stderr.write(`${s}\n`);
        err(
          `# IAM ${n === 1 ? 'policy' : `policies (${n})`} for batchctl ${r.commands.join(', ')} ` +
            `on stack ${r.stack} (account ${r.account}), ` +
            `${n === 1 ? 'within' : 'each within'} IAM's ${POLICY_SIZE_LIMITS.managed} characters ` +
            'for a managed policy:',
        );
        const width = Math.max(...r.documents.map((d) => d.name.length));
        for (const d of r.documents) {
          err(
            `#   ${d.name.padEnd(width)}  ${String(d.size).padStart(5)} characters, ` +
              `${d.policy.Statement.length} statements  (${d.commands.join(', ')})`,
          );
        }
        const dir = opts.out ? `${opts.out.replace(/\/$/, '')}/` : '';
        const file = (d: { name: string }) => `file://${dir}${d.name}.json`;
        const it = n === 1 ? 'it' : 'them';
        err(
          `# Create ${n === 1 ? 'it' : 'each'} and attach ${it} to the role that runs batchctl` +
            `${opts.out ? '' : ' (--out <dir> writes the files)'}:`,
        );
        for (const d of r.documents) {
          const source = file(d);
          const policyArn = `arn:${r.partition}:iam::${r.account}:policy/${d.name}`;
          err(`#   aws iam create-policy --policy-name ${d.name} --policy-document ${source} --region ${r.region}`);
          err(`#   aws iam attach-role-policy --role-name <role> --policy-arn ${policyArn} --region ${r.region}`);
        }
        const version = '--policy-arn <arn> --policy-document <file> --set-as-default';
        err(`# Later changes: aws iam create-policy-version ${version} --region ${r.region}`);
        if (!opts.out) for (const d of r.documents) process.stdout.write(JSON.stringify(d.policy, null, 2) + '\n');
        return 0;
      }),
    );
}
