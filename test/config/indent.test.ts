/**
 * The indentation scanner that names the line of a YAML indentation mistake (the corpus in bad/ pins
 * its messages): on valid YAML it reports nothing, whatever constructs the file uses, so it never
 * invents a problem when the parser's error is about something else.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { indentationProblems } from '../../src/config/indent.js';
import { renderConfig } from '../../src/info/template.js';
import { DEFAULT_CONFIG_PATH } from '../helpers/ctx.js';

const GOOD = fileURLToPath(new URL('./good/', import.meta.url));

describe('indentationProblems', () => {
  it('nothing on the repository config, the template and every good config', () => {
    const texts = [
      readFileSync(DEFAULT_CONFIG_PATH, 'utf8'),
      renderConfig({ stack: 'nightly-etl', region: 'eu-west-1' }),
      ...readdirSync(GOOD)
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => readFileSync(`${GOOD}${f}`, 'utf8')),
    ];
    for (const t of texts) expect(indentationProblems(t)).toEqual([]);
  });

  it('nothing on valid YAML of every shape: block scalars, flows over lines, sequences at the key column, continuations', () => {
    const text = [
      'stack: a',
      'task:',
      '  command: >',
      '    node dist/main.js',
      '    \tstill the scalar, tab and all',
      '  environment: {',
      '      A: "1",',
      '    B: "2" }',
      '  description: a plain scalar',
      '    that goes on here',
      '  notes: "a quoted one',
      '   over two lines"',
      'jobs:',
      '- name: x',
      '  task: { cpu: 256 }',
      '-   name: y',
      '    retries: 2',
      'network:',
      '  batchSubnets:',
      '    - az: a',
      '      cidr: 10.0.0.0/24',
      '    -',
      '      az: b',
      '  # a comment at any column',
      '# another',
      '  s3Gateway: true',
      '---',
      'second: document',
    ].join('\n');
    expect(parseDocument(text.split('---')[0]!).errors).toEqual([]);
    expect(indentationProblems(text)).toEqual([]);
  });

  it('one problem per mistake: two tabs, two problems, and none for the lines after them', () => {
    const text = [
      'task:',
      '\tcpu: 256',
      '  memory: 512',
      'schedule:',
      '  expression: rate(1 hour)',
      '\tenabled: true',
      '  retry: {}',
    ].join('\n');
    expect(indentationProblems(text).map((p) => `${p.line}:${p.col} ${p.path.join('.')}`)).toEqual([
      '2:1 task.cpu',
      '6:1 schedule.enabled',
    ]);
  });

  it('a key that lines up with no block: named with the columns of the blocks around it', () => {
    const text = [
      'schedule:',
      '  retry:',
      '      maximumEventAgeSeconds: 60',
      '    maximumRetryAttempts: 1',
      '  enabled: true',
    ].join('\n');
    expect(indentationProblems(text)).toEqual([
      {
        line: 4,
        col: 5,
        path: ['schedule', 'maximumRetryAttempts'],
        message:
          'maximumRetryAttempts is at column 5, which lines up with no block above it: the keys of retry start at column 7, the keys of schedule at column 3',
      },
    ]);
  });
});
