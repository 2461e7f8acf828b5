/**
 * The line limit: 120 characters, which the formatter (prettier, `npm run format`) holds code to. What it
 * cannot split is allowed past it: a string, template or regular-expression literal of 60 characters or more
 * on the line, or a comment line naming a URL. Everything else over 120 fails here, so a long line is a
 * choice someone made, not an accident. (`npm test` also runs `prettier --check`.)
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import ts from 'typescript';
import { ROOT } from '../helpers/ctx.js';

const LIMIT = 120;
const UNSPLITTABLE = 60;
const LITERALS = new Set([
  ts.SyntaxKind.StringLiteral,
  ts.SyntaxKind.NoSubstitutionTemplateLiteral,
  ts.SyntaxKind.TemplateExpression,
  ts.SyntaxKind.RegularExpressionLiteral,
]);

/** The lines of `text` over the limit that hold nothing the formatter could not split. */
export function overLimit(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const spans: [number, number][] = [];
  const visit = (n: ts.Node): void => {
    if (LITERALS.has(n.kind)) spans.push([n.getStart(sf), n.getEnd()]);
    else ts.forEachChild(n, visit);
  };
  visit(sf);
  const out: string[] = [];
  let start = 0;
  for (const [i, line] of text.split('\n').entries()) {
    const end = start + line.length;
    const at = start + LIMIT;
    const literal = spans.some(
      ([a, b]) => (a < at && b >= at) || (a >= start && a < end && Math.min(b, end) - a >= UNSPLITTABLE),
    );
    const url = /^\s*(\*|\/\/|\/\*)/.test(line) && /https?:\/\//.test(line);
    if (line.length > LIMIT && !literal && !url) out.push(`${file}:${i + 1} (${line.length} characters)`);
    start = end + 1;
  }
  return out;
}

/** The TypeScript files under `dir` (relative to the repository root). */
function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

describe('the line limit', () => {
  it('no line of src, test or bench over 120 characters but an unsplittable literal or a URL', () => {
    // test/fixtures holds what earlier releases recorded, kept as they wrote it (the formatter skips it too).
    const files = ['src', 'test', 'bench']
      .flatMap((d) => sourceFiles(d))
      .filter((f) => !f.startsWith('test/fixtures/'));
    expect(files.length).toBeGreaterThan(200);
    expect(files.flatMap((f) => overLimit(f, readFileSync(join(ROOT, f), 'utf8')))).toEqual([]);
  });

  it('fails a long line of code, passes a long string and a comment with a URL', () => {
    const code = `const x = ${'a + '.repeat(40)}1;\n`;
    const str = `const s = '${'word '.repeat(30)}';\n`;
    const url = `// see https://docs.aws.amazon.com/${'x'.repeat(120)}\n`;
    expect(overLimit('a.ts', code)).toEqual(['a.ts:1 (172 characters)']);
    expect(overLimit('b.ts', str)).toEqual([]);
    expect(overLimit('c.ts', url)).toEqual([]);
    expect(overLimit('d.ts', `// ${'word '.repeat(30)}\n`)).toEqual(['d.ts:1 (153 characters)']);
  });
});
