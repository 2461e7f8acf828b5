/**
 * Every error class of src/ is gathered where the errors live (base/errors.ts, or the one file of the
 * layer whose types it is built from) and carries its own code, listed in ERROR_CODES; the CLI's --json
 * prints those codes, and docs/commands.md lists them all.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/ctx.js';
import { AwsStepError, ERROR_CODES, RunFailed, UserError, awsErrorCode, errorCode } from '../../src/base/errors.js';
import { errorCodes } from '../../src/cli/lib/errors.js';
import { StepsFailed } from '../../src/engine/errors.js';

/** Where error classes may live. */
const HOMES = ['src/base/errors.ts', 'src/engine/errors.ts', 'src/state/state.ts', 'src/state/lock.ts'];

function listTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listTs(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every class of src/ with its base class, the file it is in and the code it sets (if any). */
function classes(): { name: string; base: string; file: string; code?: string }[] {
  const out: { name: string; base: string; file: string; code?: string }[] = [];
  for (const path of listTs(join(ROOT, 'src'))) {
    const sf = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (n: ts.Node): void => {
      if (ts.isClassDeclaration(n) && n.name) {
        const base = n.heritageClauses
          ?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)
          ?.types[0]?.expression.getText(sf);
        const code = n.members.find(
          (m): m is ts.PropertyDeclaration => ts.isPropertyDeclaration(m) && m.name.getText(sf) === 'code',
        );
        const init = code?.initializer && ts.isStringLiteral(code.initializer) ? code.initializer.text : undefined;
        if (base) out.push({ name: n.name.text, base, file: relative(ROOT, path), ...(init ? { code: init } : {}) });
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return out;
}

describe('error classes', () => {
  const all = classes();
  const errorNames = new Set(['Error']);
  // Classes deriving from Error, through any number of our own.
  for (let grew = true; grew;) {
    grew = false;
    for (const c of all)
      if (errorNames.has(c.base) && !errorNames.has(c.name)) {
        errorNames.add(c.name);
        grew = true;
      }
  }
  const errors = all.filter((c) => errorNames.has(c.name));

  it('live in the errors files only', () => {
    expect(errors.length).toBeGreaterThanOrEqual(17);
    expect(errors.filter((c) => !HOMES.includes(c.file)).map((c) => `${c.name} in ${c.file}`)).toEqual([]);
  });

  it('each has a code of its own, listed in ERROR_CODES (and the list has no code no class uses)', () => {
    const concrete = errors.filter((c) => c.name !== 'BatchctlError');
    // StepsFailed is a RunFailed that carries its report: the code is the one of RunFailed.
    const own = concrete.filter((c) => c.name !== 'StepsFailed');
    expect(own.filter((c) => !c.code).map((c) => c.name)).toEqual([]);
    const codes = own.map((c) => c.code!);
    expect(new Set(codes).size).toBe(codes.length);
    expect([...codes, 'UNEXPECTED'].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it("the code is on the instance, and --json lists each failed step's code once", () => {
    const user = new UserError('x');
    const step = new AwsStepError('vpc', 'create', 'AccessDenied', 'no');
    expect(errorCode(user)).toBe('USER_ERROR');
    expect(errorCode(new Error('x'))).toBeUndefined();
    expect(errorCodes(new RunFailed([step, user, new AwsStepError('subnet', 'create', 'Throttling', 'slow')]))).toEqual(
      ['AWS_STEP_FAILED', 'USER_ERROR'],
    );
    expect(errorCodes(new Error('bug'))).toEqual(['UNEXPECTED']);
    const failed = new StepsFailed({
      events: [],
      counts: { created: 0, updated: 0, unchanged: 0, deleted: 0, absent: 0, failed: 1, skipped: 0 },
      wallMs: 1,
      failures: [step],
    });
    expect(failed).toBeInstanceOf(RunFailed);
    expect(failed.code).toBe('STEPS_FAILED');
    expect(failed.report.counts.failed).toBe(1);
  });

  it('awsErrorCode of a step error is the AWS code it wraps, never ours', () => {
    expect(awsErrorCode(new AwsStepError('vpc', 'create', 'AccessDenied', 'no'))).toBe('AccessDenied');
    expect(awsErrorCode(new UserError('x'))).toBe('UserError');
  });

  it('docs/commands.md lists every code with its meaning', () => {
    const doc = readFileSync(join(ROOT, 'docs/commands.md'), 'utf8');
    const section = doc.split(/^### /m).find((s) => s.startsWith('Error codes'));
    expect(section, 'docs/commands.md has no "### Error codes" section').toBeDefined();
    const listed = [...section!.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });
});
