/**
 * The CLI in-process with its output captured: stdout and stderr are spied on before each test and
 * restored after, and `run` returns the exit code the command set.
 */
import { afterEach, beforeEach, vi } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';

export interface CliCapture {
  /** What the last `run` wrote to stdout / stderr, one entry per write. */
  readonly out: string[];
  readonly err: string[];
  /** `batchctl <args>`; clears `out` and `err` first. */
  run(...args: string[]): Promise<number>;
}

/** Call at the top level of a test file. */
export function captureCli(): CliCapture {
  const out: string[] = [];
  const err: string[] = [];
  beforeEach(() => {
    out.length = 0;
    err.length = 0;
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out.push(String(s));
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
      err.push(String(s));
      return true;
    });
    process.exitCode = undefined;
  });
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });
  return {
    out,
    err,
    async run(...args) {
      out.length = 0;
      err.length = 0;
      process.exitCode = undefined;
      await buildProgram().parseAsync(['node', 'batchctl', ...args]);
      return Number(process.exitCode ?? 0);
    },
  };
}
