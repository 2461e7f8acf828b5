import type { Command } from 'commander';
import { runCommand, stackOptions } from '../lib/common.js';

/** `batchctl push`: build the job image, log in to the stack's ECR repository and push it. */
export function registerPush(program: Command): void {
  program
    .command('push')
    .argument('[job]', "one job's image (default: every job's, each distinct image once)")
    .description("build the jobs' images with docker and push them to the stack's ECR repository (needs `up` first)")
    .option(
      '--context <dir>',
      "build context (default: the job's task.build.context, else batch/ next to the config file)",
    )
    .option('--tag <tag>', "image tag (default: the job's task.imageTag)")
    .option('--file <path>', "Dockerfile (default: the job's task.build.dockerfile, else <context>/Dockerfile)")
    .option(
      '--deploy',
      'then deploy each image by the digest the registry reported to the jobs that run it (task.imagePin: digest)',
    )
    .action(
      async (
        job: string | undefined,
        opts: { context?: string; tag?: string; file?: string; deploy?: boolean },
        cmd: Command,
      ) =>
        runCommand(cmd, async (flags) => {
          const [{ runPush }, { WarningsReporter }] = await Promise.all([
            import('../../releases/push.js'),
            import('../lib/output.js'),
          ]);
          // docker's own output goes to stderr as it arrives, so stdout carries only the result (also with --json).
          const result = await runPush({
            ...stackOptions(flags),
            reporter: new WarningsReporter(),
            job,
            context: opts.context,
            tag: opts.tag,
            dockerfile: opts.file,
            deploy: opts.deploy,
          });
          const deployed = result.deployed ? (await import('./deploy.js')).renderDeploy(result.deployed) : [];
          const several = result.images.length > 1 || result.images[0]!.jobs.length > 1;
          process.stdout.write(
            flags.json
              ? // One image keeps the document scripts read before jobs existed (`image`, `digest`).
                JSON.stringify(
                  {
                    ok: true,
                    ...(result.images.length === 1
                      ? { image: result.images[0]!.image, digest: result.images[0]!.digest }
                      : {}),
                    ...result,
                  },
                  null,
                  2,
                ) + '\n'
              : result.images
                  .map((i) => `pushed ${i.image}@${i.digest}${several ? ` (${i.jobs.join(', ')})` : ''}\n`)
                  .join('') + deployed.map((l) => `${l}\n`).join(''),
          );
          return 0;
        }),
    );
}
