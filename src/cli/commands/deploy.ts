import type { Command } from 'commander';
import { runCommand, stackOptions } from '../lib/common.js';
import type { DeployReport, DeployResult } from '../../releases/deploy.js';

/** The digest part of an image reference, shortened for a line (`sha256:4c0b7e1d9a3f`). */
const short = (image: string) => {
  const at = image.indexOf('@');
  return at < 0 ? image : `${image.slice(at + 1, at + 20)}`;
};

/** One line per job, for `deploy`, `rollback` and `push --deploy`. */
export function renderDeploy(results: DeployResult[]): string[] {
  return results.map((r) => {
    const what = `${r.to}${r.tag ? ` (tag ${r.tag})` : ''}`;
    if (r.outcome === 'unchanged') return `${r.job}: already runs ${what}: no new revision`;
    const rev = r.revision ? ` as ${r.revision.split('/').pop()}` : '';
    return `${r.outcome === 'deployed' ? 'Deployed' : 'Rolled back'} ${r.job}: ${what}${rev} (was ${short(r.from)}); every run uses it until the next deploy`;
  });
}

/** `batchctl deploy [job]`: pin the job's image to the digest its tag points at now. */
export function registerDeploy(program: Command): void {
  program
    .command('deploy')
    .argument('[job]', 'one job (default: every job of the stack, each its own tag)')
    .description(
      "pin a job's image to the digest its tag points at now (task.imagePin: digest): a new task definition revision, only when the image differs",
    )
    .option('--tag <tag>', "the tag to deploy (default: the job's task.imageTag)")
    .option('--digest <sha256:...>', "deploy exactly this image of the job's repository")
    .option(
      '--force-unlock <lock-id>',
      'first remove the lock with this id (a run that died holding it; the lock error names it)',
    )
    .action(
      async (job: string | undefined, opts: { tag?: string; digest?: string; forceUnlock?: string }, cmd: Command) =>
        runCommand(cmd, async (flags) => {
          const [{ runDeploy }, { WarningsReporter }] = await Promise.all([
            import('../../releases/deploy.js'),
            import('../lib/output.js'),
          ]);
          const report: DeployReport = await runDeploy({
            ...stackOptions(flags),
            forceUnlock: opts.forceUnlock,
            reporter: new WarningsReporter(),
            job,
            tag: opts.tag,
            digest: opts.digest,
          });
          process.stdout.write(
            flags.json
              ? JSON.stringify({ ok: true, ...report }, null, 2) + '\n'
              : renderDeploy(report.results).join('\n') + '\n',
          );
          return 0;
        }),
    );
}
