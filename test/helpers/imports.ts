/**
 * The import graph of src/, read with the TypeScript parser: static imports and re-exports, dynamic
 * `import()` and `import('x').Type`, type-only imports included (a type is a dependency too: it ties
 * the importer to the layer that defines it).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import ts from 'typescript';

/** One file of src/ and the files of src/ it imports (paths relative to the repository root). */
export interface ImportGraph {
  files: string[];
  edges: Map<string, Set<string>>;
}

function listTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listTs(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

function specifiers(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (n: ts.Node): void => {
    if (
      (ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) &&
      n.moduleSpecifier &&
      ts.isStringLiteral(n.moduleSpecifier)
    ) {
      out.push(n.moduleSpecifier.text);
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = n.arguments;
      if (arg && ts.isStringLiteral(arg)) out.push(arg.text);
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) {
      out.push(n.argument.literal.text);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** The graph of `srcDir` (relative imports only: packages are not part of the layering). */
export function importGraph(root: string, srcDir = 'src'): ImportGraph {
  const files = listTs(join(root, srcDir))
    .map((f) => relative(root, f).split('\\').join('/'))
    .sort();
  const known = new Set(files);
  const edges = new Map<string, Set<string>>();
  for (const f of files) {
    const to = new Set<string>();
    for (const s of specifiers(f, readFileSync(join(root, f), 'utf8'))) {
      if (!s.startsWith('.')) continue;
      const target = posix.normalize(posix.join(posix.dirname(f), s)).replace(/\.js$/, '.ts');
      if (!known.has(target)) throw new Error(`${f} imports ${s}, which is not a file of ${srcDir}/`);
      if (target !== f) to.add(target);
    }
    edges.set(f, to);
  }
  return { files, edges };
}

/** Strongly connected components with more than one member: the cycles of a graph. */
export function cycles(nodes: Iterable<string>, next: (n: string) => Iterable<string>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const strong = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index += 1;
    stack.push(v);
    on.add(v);
    for (const w of next(v)) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const n of nodes) if (!idx.has(n)) strong(n);
  return found;
}

/** The folder of a file, relative to the repository root (`src/resources/lib`). */
export const folderOf = (file: string): string => dirname(file);
