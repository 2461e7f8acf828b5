/**
 * `npm run demo`: the README's first hour, end to end, on a simulated AWS, with nothing but Node.js: no
 * AWS account, no credentials, no docker, nothing billed, nothing sent off this machine.
 *
 * This process holds the simulated AWS (the fake the tests use) and serves it on 127.0.0.1 (http.ts);
 * each step runs the real, built CLI (`bin/batchctl`, as a user runs it) in its own process, whose AWS
 * calls a preload (remote-preload.mjs) sends to that fake instead of AWS. The steps: init, validate,
 * plan, cost, up, a stand-in for docker's push, deploy, run-now (the job's log and exit code), logs,
 * status, down. The simulated task runs the sample job's own code (batch/src/main.ts) against the
 * simulated S3, with the bucket name ECS would inject from the stack's secret.
 *
 *   node --import tsx test/fake-aws/first-hour.ts [--keep]    (--keep: leave the stack's directory)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { createFakeAws, type FakeAws } from './index.js';
import { serveFake } from './http.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/batchctl');
const PRELOAD = pathToFileURL(join(ROOT, 'test/fake-aws/remote-preload.mjs')).href;

/** The stack the first hour builds: named after its directory, in the README's region. */
export const STACK = 'nightly-etl';
export const REGION = 'ap-northeast-1';

/** One step of the hour: the command as typed, its exit code and how long it took. */
export interface Step {
  command: string;
  code: number;
  ms: number;
}

export interface FirstHour {
  /** 0, or the exit code of the first step that failed (the hour stops there). */
  code: number;
  steps: Step[];
  /** The simulated AWS, as the hour left it. */
  fake: FakeAws;
  /** The stack's directory (removed at the end unless kept). */
  dir: string;
  ms: number;
}

export interface FirstHourOptions {
  /** Where the steps' output goes; left out, the CLI writes to this terminal itself (spinners and all). */
  out?: (text: string) => void;
  /** Leave the stack's directory (its config and state) at the end. */
  keep?: boolean;
}

/** This process's environment without any AWS setting: the simulated AWS needs none, and must get none. */
function cleanEnv(url: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_') && k !== 'NODE_OPTIONS') env[k] = v;
  return { ...env, FAKE_AWS_URL: url };
}

/**
 * The simulated task runs the sample job: `run` of batch/src/main.ts, its S3 calls answered by the fake
 * (installed in this process), its stdout and stderr the container's log.
 */
function runSampleJob(fake: FakeAws): void {
  // What the CLI does for its own clients: the SDK's notice about its 2027 Node.js floor is not this demo's.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const s3 = new S3Client({ region: REGION });
  fake.ecs.taskProgram = async ({ env }) => {
    const { run } = await import('../../batch/src/main.js');
    const lines: string[] = [];
    const exitCode = await run(env, { s3, out: (l) => lines.push(l), err: (l) => lines.push(l), now: Date.now });
    return { lines, exitCode };
  };
}

export async function runFirstHour(opts: FirstHourOptions = {}): Promise<FirstHour> {
  const t0 = Date.now();
  const say = (text: string) => (opts.out ? opts.out(text) : process.stdout.write(text));
  if (!existsSync(join(ROOT, 'dist/main.js')))
    throw new Error('dist/ is missing: run `npm ci` first (it builds the CLI)');
  const fake = createFakeAws({ region: REGION });
  // Some of AWS's pace: a little latency per call, interface endpoints pending a few seconds, a task that
  // takes seconds to start.
  fake.core.latencyMs = 15;
  fake.ec2.endpointPendingMs = 3000;
  fake.ecs.taskTimings = { provisioningMs: 2000, pendingMs: 3000, runningMs: 2000 };
  runSampleJob(fake);
  const served = await serveFake(fake);
  const dir = join(mkdtempSync(join(tmpdir(), 'batchctl-first-hour-')), STACK);
  mkdirSync(dir);
  const env = cleanEnv(served.url);
  const steps: Step[] = [];
  const bucket = `${STACK}-${fake.core.account}-${REGION}`;

  const batchctl = async (args: string[], note?: string): Promise<number> => {
    const command = `batchctl ${args.join(' ')}`;
    say(`\n$ ${command}${note ? `   # ${note}` : ''}\n`);
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', PRELOAD, BIN, ...args], {
      cwd: dir,
      env,
      stdio: opts.out ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    });
    child.stdout?.on('data', (d) => say(String(d)));
    child.stderr?.on('data', (d) => say(String(d)));
    // Not spawnSync: the fake the child talks to is served from this process's event loop.
    const code = await new Promise<number>((resolve) =>
      child.on('close', (c, signal) => resolve(c ?? (signal ? 128 : 1))),
    );
    steps.push({ command, code, ms: Date.now() - started });
    return code;
  };
  const simulated = (what: string) => say(`\n# (simulated) ${what}\n`);

  say(
    [
      'The first hour of batchctl, on a simulated AWS: no account, no credentials, no docker, nothing billed.',
      'Every command below is the real batchctl (bin/batchctl); the AWS it calls is the simulation of',
      `test/fake-aws/, served from this process. The stack's directory: ${dir}`,
      '',
    ].join('\n'),
  );
  let code = 0;
  const plan: (() => Promise<number>)[] = [
    () => batchctl(['init', '--stack', STACK, '--region', REGION]),
    () => batchctl(['validate']),
    () => batchctl(['plan']),
    () => batchctl(['cost']),
    () =>
      batchctl(
        ['up', '--yes'],
        'on a terminal, up shows the plan and the cost and asks; --yes answers for this unattended run',
      ),
    async () => {
      simulated(
        `\`batchctl push\` builds the job's image with your docker and pushes it; here it appears in the repository: ${STACK}:latest`,
      );
      fake.ecr.addImage(STACK, 'latest');
      simulated(`something for the job to list: s3://${bucket}/reports/2026-11.csv`);
      fake.s3.addObject(bucket, 'reports/2026-11.csv', 'day,runs\n2026-11-01,24\n');
      return 0;
    },
    () => batchctl(['deploy'], "what push --deploy does after the push: pin the job to the image's digest"),
    () => batchctl(['run-now']),
    () => batchctl(['logs']),
    () => batchctl(['status']),
    () => batchctl(['down', '--yes', '--force'], '--force: the repository holds an image and the bucket an object'),
  ];
  try {
    for (const step of plan) {
      code = await step();
      if (code !== 0) break;
    }
  } finally {
    await served.close();
    fake.uninstall();
    if (!opts.keep) rmSync(join(dir, '..'), { recursive: true, force: true });
  }
  const ms = Date.now() - t0;
  const ran = fake.ecs.tasks.size;
  say(
    code === 0
      ? [
          '',
          `The first hour took ${(ms / 1000).toFixed(0)} s: ${steps.length} commands, the job ran ${ran === 1 ? 'once' : `${ran} times`} and exited 0, and the stack is gone again.`,
          'The same on your AWS account, in the same order (plan and cost first, nothing billed before up): README.md, "The first hour".',
          '',
        ].join('\n')
      : `\nThe first hour stopped at \`${steps.at(-1)?.command}\` (exit ${code}).\n`,
  );
  return { code, steps, fake, dir, ms };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { code } = await runFirstHour({ keep: process.argv.includes('--keep') });
  process.exit(code);
}
