/**
 * The job's entry point: claim the scheduled time (duplicate-trigger guard), then list every object
 * of S3_BUCKET_NAME and print a summary line.
 *
 * Exit codes: 0 done (or a duplicate trigger skipped), 1 an AWS call failed, 2 bad configuration.
 */
import { pathToFileURL } from 'node:url';
import type { S3Client } from '@aws-sdk/client-s3';
import { claimScheduledRun, GuardConfigError, LOCK_PREFIX } from './guard.js';
import { listBucket, summaryLine } from './list.js';
import { createS3Client, oneLine, s3ErrorLine, type Env } from './s3.js';

/** What `run` needs from the outside world (injected so tests drive it with a fake S3). */
export interface RunDeps {
  s3: S3Client;
  out: (line: string) => void;
  err: (line: string) => void;
  /** Milliseconds since the epoch. */
  now: () => number;
  /** For the ECS task metadata request; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Waits between retries of the claim; defaults to a timer. */
  sleep?: (ms: number) => Promise<void>;
}

export const EXIT_OK = 0;
export const EXIT_AWS_ERROR = 1;
export const EXIT_CONFIG_ERROR = 2;

/** Runs the job once and returns the process exit code. Never throws. */
export async function run(env: Env, deps: RunDeps): Promise<number> {
  const started = deps.now();
  const bucket = env.S3_BUCKET_NAME?.trim();
  if (!bucket) {
    deps.err('error: S3_BUCKET_NAME is not set');
    return EXIT_CONFIG_ERROR;
  }

  try {
    const guard = await claimScheduledRun(deps.s3, bucket, env, {
      now: deps.now,
      fetch: deps.fetch,
      sleep: deps.sleep,
    });
    if (guard.kind === 'duplicate') {
      deps.out(
        `scheduled time ${guard.scheduledTime} already ran (${guard.key} exists): duplicate trigger, nothing to do`,
      );
      return EXIT_OK;
    }
    if (guard.kind === 'claimed') deps.out(`claimed scheduled time ${guard.scheduledTime} (${guard.key})`);
    if (guard.kind === 'retry')
      deps.out(`scheduled time ${guard.scheduledTime} is claimed by this run (${guard.key}): a retry, running again`);
  } catch (err) {
    if (err instanceof GuardConfigError) {
      deps.err(`error: ${err.message}`);
      return EXIT_CONFIG_ERROR;
    }
    deps.err(
      s3ErrorLine(
        err,
        bucket,
        'claiming the scheduled run in',
        `the task role needs s3:PutObject on ${LOCK_PREFIX}* (or set BATCH_DUPLICATE_GUARD=off)`,
      ),
    );
    return EXIT_AWS_ERROR;
  }

  try {
    const result = await listBucket(deps.s3, bucket, deps.out);
    deps.out(summaryLine(result, deps.now() - started));
    return EXIT_OK;
  } catch (err) {
    deps.err(s3ErrorLine(err, bucket, 'listing'));
    return EXIT_AWS_ERROR;
  }
}

async function main(): Promise<void> {
  // As PID 1 in a container Node ignores SIGTERM unless it handles it, so `ecs stop-task` would wait
  // for the SIGKILL after the stop timeout; end at once and say why instead.
  process.once('SIGTERM', () => {
    process.stderr.write('error: stopped by SIGTERM before finishing\n');
    process.exit(143);
  });
  const s3 = createS3Client(process.env);
  try {
    process.exitCode = await run(process.env, {
      s3,
      out: (line) => process.stdout.write(`${line}\n`),
      err: (line) => process.stderr.write(`${line}\n`),
      now: Date.now,
    });
  } catch (err) {
    // run() handles every expected failure; this is a bug, still reported on one line.
    process.stderr.write(`error: ${oneLine(err instanceof Error ? err.message : String(err))}\n`);
    process.exitCode = EXIT_AWS_ERROR;
  } finally {
    // Setting exitCode instead of calling process.exit() lets stdout drain; closing the keep-alive
    // sockets lets the process actually end.
    s3.destroy();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
