/**
 * Indentation mistakes in YAML, found where they were made. The YAML parser reports what it cannot
 * parse, which is usually the line AFTER the mistake, once per following line: one tab before `cpu:`
 * gives nine "All mapping items must start at the same column", and a dedented `expression:` is valid
 * YAML (a key of the document), so every error falls on the lines after it. This scanner follows the
 * blocks the indentation opens and names the one line that breaks them, with the column expected.
 *
 * It reads lines, not YAML: block scalars (`|`, `>`), flow collections (`[...]`, `{...}`) over several
 * lines, quoted scalars over several lines and the continuation lines of plain scalars are skipped. It
 * runs only when the parser reported errors, and reports nothing it is unsure of (the parser's errors
 * are shown then).
 */

/** One mistake: 1-based line and column, the key path of the line, what is wrong and what was expected. */
export interface IndentProblem {
  line: number;
  col: number;
  path: (string | number)[];
  message: string;
}

/** A block the indentation opened: a mapping's keys, or a sequence's items, at one column. */
interface Level {
  indent: number;
  seq: boolean;
  /** The path of the value this block is (the key or item that opened it). */
  path: (string | number)[];
  /** The line that opened it (1-based; 0 for the document). */
  openedAt: number;
  /** Items seen so far, for a sequence's indexes. */
  items: number;
}

/** A line with content: where it starts, its key (or `-` item), and whether its value opens a block. */
interface Line {
  n: number;
  indent: number;
  text: string;
  item: boolean;
  key?: string;
  /** After the item's `- `: the column its inline mapping starts at, when it has one. */
  inner?: number;
  opens: boolean;
  blockScalar: boolean;
}

const KEY = /^(?:"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"[\]{},][^#]*?)\s*:(?:\s|$)/;

/** The key a line (or an item's content) starts with, unquoted, if it is a mapping entry. */
function keyOf(text: string): string | undefined {
  const m = KEY.exec(text);
  if (!m) return undefined;
  const raw = m[0]
    .replace(/\s*:\s*$/, '')
    .replace(/:$/, '')
    .trim();
  return raw.replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
}

/** The value after `key:` (or after `- `), without a trailing comment. */
function valueAfter(text: string, key: boolean): string {
  const rest = key ? text.slice(KEY.exec(text)![0].length) : text;
  return rest.replace(/(^|\s)#.*$/, '').trim();
}

/** Brackets opened minus closed outside quotes; and whether a double quote is left open. */
function balance(text: string): { depth: number; openQuote: boolean } {
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === '\\' && quote === '"') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '#' && (i === 0 || /\s/.test(text[i - 1]!))) break;
    else if (ch === '"' || (ch === "'" && (i === 0 || /[\s,[{:]/.test(text[i - 1]!)))) quote = ch;
    else if (ch === '[' || ch === '{') depth++;
    else if (ch === ']' || ch === '}') depth--;
  }
  return { depth, openQuote: quote === '"' };
}

/** The lines that carry structure: no blank, comment, block scalar or flow continuation lines. */
function structuralLines(text: string): { lines: Line[]; tabs: { n: number; col: number }[] } {
  const raw = text.split(/\r?\n/);
  const lines: Line[] = [];
  const tabs: { n: number; col: number }[] = [];
  let scalarAbove: number | undefined;
  let depth = 0;
  let inQuote = false;
  raw.forEach((l, i) => {
    const n = i + 1;
    const lead = /^[ \t]*/.exec(l)![0];
    const content = l.slice(lead.length);
    if (depth > 0 || inQuote) {
      const b = balance(l);
      depth += b.depth;
      if (b.openQuote) inQuote = !inQuote;
      return;
    }
    if (!content || content.startsWith('#')) return;
    if (content === '---' || content === '...' || content.startsWith('--- ') || content.startsWith('%')) {
      scalarAbove = undefined;
      return;
    }
    const tab = lead.indexOf('\t');
    // A tab inside a block scalar's text is its content; a tab in indentation is a mistake.
    const indent = tab >= 0 ? tab : lead.length;
    if (scalarAbove !== undefined && (tab >= 0 ? lead.length : indent) > scalarAbove) return;
    scalarAbove = undefined;
    if (tab >= 0) tabs.push({ n, col: tab + 1 });
    const item = content === '-' || content.startsWith('- ');
    const body = item ? content.slice(1).trimStart() : content;
    const key = keyOf(body);
    const value = valueAfter(body, key !== undefined);
    const blockScalar = /^[|>][0-9+-]*$/.test(value);
    const b = balance(body);
    depth = Math.max(0, b.depth);
    inQuote = b.openQuote;
    const line: Line = {
      n,
      indent,
      text: content,
      item,
      key,
      blockScalar,
      opens: value === '' || /^&\S+$/.test(value) || /^!\S+$/.test(value),
      ...(item && key !== undefined ? { inner: indent + (content.length - body.length) } : {}),
    };
    if (blockScalar) scalarAbove = indent;
    lines.push(line);
  });
  return { lines, tabs };
}

const name = (path: (string | number)[]) => (path.length ? String(path[path.length - 1]) : 'the document');
const what = (l: Level) =>
  l.path.length ? `the ${l.seq ? 'items' : 'keys'} of ${name(l.path)}` : 'the top-level keys';

/**
 * The indentation mistakes of a YAML text, one per mistaken line, or none when the indentation is
 * consistent (the problem is elsewhere: the parser's message says where).
 */
export function indentationProblems(text: string): IndentProblem[] {
  const { lines, tabs } = structuralLines(text);
  const problems: IndentProblem[] = [];
  const levels: Level[] = [{ indent: -1, seq: false, path: [], openedAt: 0, items: 0 }];
  const top = () => levels[levels.length - 1]!;
  // The document itself opens the first block, at whatever column its first line has.
  let opening: { path: (string | number)[]; n: number } | undefined = { path: [], n: 0 };
  /** The last line that closed blocks by dedenting, and those blocks (innermost first), while its own lines follow. */
  let lastClose: { line: Line; levels: Level[] } | undefined;
  /** A key that opened a block its next line did not enter (`schedule:`, then `expression:` at its column). */
  let emptyOpen: { opener: { path: (string | number)[]; n: number }; next: Line } | undefined;

  const pathIn = (line: Line, level: Level): (string | number)[] =>
    line.item
      ? [...level.path, level.items, ...(line.key !== undefined ? [line.key] : [])]
      : [...level.path, ...(line.key !== undefined ? [line.key] : [])];
  /** Blame `line` for leaving `level` by dedenting, and read on inside that level again. */
  const dedented = (line: Line, level: Level, resumedAt: Line) => {
    problems.push({
      line: line.n,
      col: line.indent + 1,
      path: [...level.path, ...(line.key !== undefined ? [line.key] : [])],
      message: `${line.key ?? 'this line'} is at column ${line.indent + 1}, outside ${name(level.path)} (line ${level.openedAt}), whose ${level.seq ? 'items' : 'keys'} go on at column ${level.indent + 1} (line ${resumedAt.n}): indent it to column ${level.indent + 1}`,
    });
    while (top().indent >= level.indent) levels.pop();
    const between = lastClose!.levels.filter((l) => l.indent <= level.indent).reverse();
    levels.push(...between);
    lastClose = undefined;
  };

  lines.forEach((line, i) => {
    let c = line.indent;
    const tab = tabs.find((t) => t.n === line.n);
    if (tab) {
      // The column expected: the siblings', or (first line of a block) the next line's.
      const next = lines.slice(i + 1).find((l) => !tabs.some((t) => t.n === l.n));
      const expected = opening ? (next && next.indent > top().indent ? next.indent : top().indent + 2) : top().indent;
      problems.push({
        line: line.n,
        col: tab.col,
        path: pathIn(line, opening ? { ...top(), path: opening.path, items: 0 } : top()),
        message: `a tab indents ${line.key ?? 'this line'}: YAML indents with spaces only; ${opening ? (opening.path.length ? `the keys of ${name(opening.path)}` : 'the top-level keys') : what(top())} start at column ${expected + 1}`,
      });
      // Read on as if it were indented right, so the lines after it are not blamed for it.
      c = expected;
    }
    const empty = opening && opening.n > 0 && !(c > top().indent) && !(line.item && c === top().indent && !top().seq);
    if (opening && c > top().indent) {
      levels.push({ indent: c, seq: line.item, path: opening.path, openedAt: opening.n, items: 0 });
    } else if (opening && line.item && c === top().indent && !top().seq) {
      // `key:` followed by `- item` at the key's own column: a sequence YAML allows there.
      levels.push({ indent: c, seq: true, path: opening.path, openedAt: opening.n, items: 0 });
    } else if (c > top().indent) {
      if (!line.item && line.key === undefined) return; // a plain scalar's continuation line
      const left = lastClose?.levels.find((l) => l.indent === c);
      const above = lines[i - 1];
      if (left) {
        dedented(lastClose!.line, left, line);
      } else if (emptyOpen && emptyOpen.next === above && above.indent === top().indent) {
        // `schedule:` opened a block and its first key came at schedule's own column: that key is the one
        // dedented; the lines after it are where the block's keys are.
        const { opener } = emptyOpen;
        problems.push({
          line: above.n,
          col: above.indent + 1,
          path: [...opener.path, ...(above.key !== undefined ? [above.key] : [])],
          message: `${above.key ?? 'this line'} is at column ${above.indent + 1}, outside ${name(opener.path)} (line ${opener.n}) above it, whose keys go on at column ${c + 1} (line ${line.n}): indent it to column ${c + 1}`,
        });
        levels.push({ indent: c, seq: line.item, path: opener.path, openedAt: opener.n, items: 0 });
      } else {
        problems.push({
          line: line.n,
          col: c + 1,
          path: pathIn(line, top()),
          message: `${line.key ?? 'this item'} is indented to column ${c + 1}, deeper than ${above?.key ?? (above?.item ? 'the item' : 'the line')} above it, whose value is not a block: ${what(top())} start at column ${top().indent + 1}`,
        });
      }
    } else {
      const closed: Level[] = [];
      while (top().indent > c) closed.push(levels.pop()!);
      // A sequence at its key's column ends where a key of that mapping comes back.
      if (top().indent === c && top().seq && !line.item) closed.push(levels.pop()!);
      if (top().indent !== c) {
        const left = lastClose?.levels.find((l) => l.indent === c);
        levels.push(...[...closed].reverse());
        if (left) {
          dedented(lastClose!.line, left, line);
        } else {
          const inner = closed[closed.length - 1];
          const outer = levels[levels.length - 1 - closed.length]!;
          problems.push({
            line: line.n,
            col: c + 1,
            path: pathIn(line, outer),
            message: `${line.key ?? 'this item'} is at column ${c + 1}, which lines up with no block above it: ${inner ? `${what(inner)} start at column ${inner.indent + 1}, ` : ''}${what(outer)} at column ${outer.indent + 1}`,
          });
          // Read on inside the block it is nearest to.
          while (top().indent > (inner?.indent ?? c)) levels.pop();
        }
      } else if (closed.length) {
        lastClose = { line, levels: closed };
      }
    }
    const level = top();
    const path = pathIn(line, level);
    if (line.item) level.items++;
    // `- key: value`: the item's mapping continues at the column of its first key.
    if (line.item && line.inner !== undefined) {
      levels.push({
        indent: line.inner,
        seq: false,
        path: [...level.path, level.items - 1],
        openedAt: line.n,
        items: 0,
      });
    }
    emptyOpen = empty && opening ? { opener: opening, next: line } : undefined;
    opening = line.opens && !line.blockScalar ? { path, n: line.n } : undefined;
    // A dedent explains the lines after it only while they are inside the line that made it.
    if (lastClose && lastClose.line !== line && c <= lastClose.line.indent) lastClose = undefined;
  });
  return problems;
}
