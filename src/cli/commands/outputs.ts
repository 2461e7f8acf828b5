import type { Command } from 'commander';
import { runCommand, stackOptions } from '../lib/common.js';
import { table } from '../lib/run-text.js';
import type { Outputs, OutputsReport } from '../../info/outputs.js';

/** One value as a script wants it: strings raw, lists comma-separated, objects as JSON. */
function raw(v: unknown): string {
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(',');
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The plain-text rendering: one `name  value` row per output (jobs, one row per field). */
export function renderOutputs(r: OutputsReport): string[] {
  const rows: string[][] = [];
  for (const [k, v] of Object.entries(r.outputs) as [keyof Outputs, unknown][]) {
    if (k === 'jobs') continue;
    rows.push([k, v === null || (Array.isArray(v) && !v.length) ? '-' : raw(v)]);
  }
  r.outputs.jobs.forEach((j, i) => {
    for (const [k, v] of Object.entries(j)) rows.push([`jobs.${i}.${k}`, v === null ? '-' : raw(v)]);
  });
  return [
    `batchctl outputs: stack ${r.stack} in ${r.region} (account ${r.account}), from ${r.source === 'live' ? 'the live resources' : `the state ${r.source}`}`,
    ...table(rows, ''),
  ];
}

/** `batchctl outputs [name]`: what other tools need, as a table, JSON, or one raw value. */
export function registerOutputs(program: Command): void {
  program
    .command('outputs')
    .argument('[name]', 'print only this value, raw (e.g. repositoryUri, or jobs.0.taskDefinitionArn)')
    .description(
      'print the identifiers other tools need (repository URI, bucket, log groups, cluster, task definition, schedule, alert topic)',
    )
    .option('--live', 'look every resource up in AWS instead of reading the state (what does not exist is -)')
    .action(async (name: string | undefined, opts: { live?: boolean }, cmd: Command) =>
      runCommand(cmd, async (flags) => {
        const [{ runOutputs }, { WarningsReporter }, { UserError }] = await Promise.all([
          import('../../info/outputs.js'),
          import('../lib/output.js'),
          import('../../base/errors.js'),
        ]);
        const r = await runOutputs({
          ...stackOptions(flags),
          reporter: new WarningsReporter(),
          live: opts.live,
        });
        if (name) {
          const value = name
            .split('.')
            .reduce<unknown>(
              (v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
              r.outputs,
            );
          if (value === undefined) {
            const { nearest } = await import('../../base/suggest.js');
            const names = [
              ...Object.keys(r.outputs).filter((k) => k !== 'jobs'),
              ...r.outputs.jobs.flatMap((j, i) => Object.keys(j).map((k) => `jobs.${i}.${k}`)),
            ];
            const near = nearest(name, names);
            throw new UserError(
              `no output named '${name}'${near ? `: did you mean ${near}?` : ''}`,
              `one of: ${Object.keys(r.outputs)
                .filter((k) => k !== 'jobs')
                .join(', ')}, or jobs.<n>.<field> for a job's (${Object.keys(r.outputs.jobs[0] ?? {}).join(', ')})`,
            );
          }
          if (value === null || (Array.isArray(value) && !value.length)) {
            throw new UserError(
              `${name} has no value: the resource does not exist${opts.live ? '' : ' in the state'}`,
              'run `batchctl up` (or `batchctl outputs --live` to look it up in AWS)',
            );
          }
          process.stdout.write((flags.json ? JSON.stringify(value) : raw(value)) + '\n');
          return 0;
        }
        if (flags.json)
          process.stdout.write(
            JSON.stringify(
              { stack: r.stack, region: r.region, account: r.account, source: r.source, ...r.outputs },
              null,
              2,
            ) + '\n',
          );
        else process.stdout.write(renderOutputs(r).join('\n') + '\n');
        return 0;
      }),
    );
}
