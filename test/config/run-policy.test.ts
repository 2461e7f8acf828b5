/**
 * `task.timeout` and `task.retries` in the config: durations, the policy a job resolves to (none keeps
 * the direct target), the backoff, and the warnings `validate` gives with the line they concern.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import {
  formatRunDuration,
  parseRunDuration,
  retryDelaySeconds,
  runPolicyOf,
  totalBackoffSeconds,
  worstCaseSeconds,
} from '../../src/config/run-policy.js';
import { DEFAULT_CONFIG_PATH } from '../helpers/ctx.js';

const valid = readFileSync(DEFAULT_CONFIG_PATH, 'utf8');

/** The default config with these task lines (and schedule expression), loaded; its warnings. */
function load(
  taskLines: string[],
  expression?: string,
): { warnings: string[]; config: ReturnType<typeof parseConfigText> } {
  const text = valid
    .replace(
      '  command: [node, dist/main.js]\n',
      `  command: [node, dist/main.js]\n${taskLines.map((l) => `  ${l}\n`).join('')}`,
    )
    .replace('cron(30 * * * ? *)', expression ?? 'cron(30 * * * ? *)');
  const warnings: string[] = [];
  const config = parseConfigText(text, 'batch.config.yaml', {
    env: {},
    now: new Date('2027-03-01T00:00:00Z'),
    warn: (m) => warnings.push(m),
  });
  return { warnings, config };
}

describe('durations', () => {
  it('days, hours, minutes and seconds, in that order; anything else is not one', () => {
    expect(parseRunDuration('30m')).toBe(1800);
    expect(parseRunDuration('2h')).toBe(7200);
    expect(parseRunDuration('1h30m')).toBe(5400);
    expect(parseRunDuration('1d2h')).toBe(93_600);
    expect(parseRunDuration('90s')).toBe(90);
    expect(parseRunDuration('0m')).toBe(0);
    for (const bad of ['', '30', 'm', '30 m', '1m1h', '-5m', '1.5h', 'PT30M'])
      expect(parseRunDuration(bad), bad).toBeUndefined();
    expect(formatRunDuration(5400)).toBe('1h30m');
    expect(formatRunDuration(93_630)).toBe('1d2h30s');
  });

  it('the backoff: 30 s, doubling, at most 10 minutes', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(retryDelaySeconds)).toEqual([30, 60, 120, 240, 480, 600, 600]);
    expect(totalBackoffSeconds(10)).toBe(30 + 60 + 120 + 240 + 480 + 600 * 5);
    expect(worstCaseSeconds({ timeoutSeconds: 600, retries: 2 })).toBe(3 * 600 + 90);
    expect(worstCaseSeconds({ retries: 2 })).toBeUndefined();
  });
});

describe('the policy a job resolves to', () => {
  it('neither setting, or only retries: 0, keeps the direct path', () => {
    expect(runPolicyOf({})).toBeUndefined();
    expect(runPolicyOf({ retries: 0 })).toBeUndefined();
    expect(runPolicyOf({ timeout: '30m' })).toEqual({ timeoutSeconds: 1800, retries: 0 });
    expect(runPolicyOf({ retries: 3 })).toEqual({ retries: 3 });
  });

  it('jobs inherit the top-level timeout and retries and may set their own', () => {
    const text = `${valid.replace('  command: [node, dist/main.js]\n', '  command: [node, dist/main.js]\n  timeout: 1h\n  retries: 2\n')}
jobs:
  lister: { original: true }
  quick:
    task: { timeout: 5m }
  once:
    task: { retries: 0 }
`;
    const c = parseConfigText(text, 'batch.config.yaml', { env: {} });
    expect(Object.fromEntries(c.jobs.map((j) => [j.name, j.runPolicy]))).toEqual({
      lister: { timeoutSeconds: 3600, retries: 2 },
      quick: { timeoutSeconds: 300, retries: 2 },
      once: { timeoutSeconds: 3600, retries: 0 },
    });
    expect(c.jobs.map((j) => j.iam.stateMachineRoleName)).toEqual([
      'sample-batch-states',
      'sample-batch-quick-states',
      'sample-batch-once-states',
    ]);
  });
});

describe('warnings, located', () => {
  it('none for a timeout and retries that fit the schedule', () => {
    expect(load(['timeout: 20m', 'retries: 1']).warnings).toEqual([]);
  });

  it('a timeout longer than the time between two runs: the runs would overlap', () => {
    const { warnings } = load(['timeout: 90m'], 'rate(1 hour)');
    expect(warnings).toEqual([
      'batch.config.yaml:47:12  task.timeout  90m is longer than the time between two runs of rate(1 hour) (1h): a run that lasts that long overlaps the next one (the duplicate guard does not stop a new scheduled time)',
    ]);
  });

  it('retries that could carry a failing run past the next one, at the retries line', () => {
    const { warnings } = load(['timeout: 25m', 'retries: 2'], 'cron(0 * * * ? *)');
    expect(warnings).toEqual([
      expect.stringMatching(
        /^batch\.config\.yaml:48:12 {2}task\.retries {2}with 2 retries a failing run may last 1h16m30s \(each attempt up to 25m, and the waits between them\), longer than the time between two runs of cron\(0 \* \* \* \? \*\) \(1h\)/,
      ),
    ]);
  });

  it('a timeout shorter than a Fargate task takes to start', () => {
    expect(load(['timeout: 30s']).warnings).toEqual([
      expect.stringMatching(
        /^batch\.config\.yaml:47:12 {2}task\.timeout {2}30s is shorter than a Fargate task often takes to start/,
      ),
    ]);
  });

  it("the state machine takes the family's name: over 80 characters is an error", () => {
    const text = valid
      .replace('  family: sample-batch\n', `  family: ${'f'.repeat(81)}\n`)
      .replace('  command: [node, dist/main.js]\n', '  command: [node, dist/main.js]\n  timeout: 20m\n');
    let details: string[] = [];
    try {
      parseConfigText(text, 'batch.config.yaml', { env: {} });
    } catch (err) {
      details = (err as { details: string[] }).details;
    }
    expect(details).toEqual([
      expect.stringMatching(
        /^batch\.config\.yaml:\d+:\d+ {2}task\.family {2}the job's state machine takes its family's name, and "f+" is over Step Functions' 80 characters/,
      ),
    ]);
    // Without a timeout or retries there is no state machine: the long family is fine.
    expect(() => parseConfigText(text.replace('  timeout: 20m\n', ''), 'batch.config.yaml', { env: {} })).not.toThrow();
  });
});
