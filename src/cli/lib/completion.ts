/**
 * Shell completion scripts for bash, zsh and fish, generated from the command tree itself: every
 * command, subcommand and option is completed as `--help` lists it, with no second list to forget.
 * Values: an option's choices (`--output text|json`), files for file arguments (`--config`, `--out`,
 * `up <saved plan>`), directories for `--context`, and the stack's job names for a `[job]` argument (asked
 * from `batchctl completion --jobs`, which reads the config the command line names).
 */
import type { Argument, Command, Option } from 'commander';

/** What completes a value. */
type ValueKind = 'file' | 'dir' | 'job' | 'none' | { choices: string[] };

interface OptionSpec {
  names: string[];
  description: string;
  /** Undefined for a flag that takes no value. */
  value?: ValueKind;
}

interface CommandSpec {
  /** `state migrate` for a subcommand; '' for the program itself. */
  path: string;
  name: string;
  description: string;
  options: OptionSpec[];
  subcommands: CommandSpec[];
  /** The first positional argument's completion, if any. */
  argument?: ValueKind;
}

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** A value placeholder (`<file>`, `<dir>`, `<file|s3://bucket/key>`) to a completion kind. */
function valueKind(placeholder: string, choices: readonly string[] | undefined): ValueKind {
  if (choices?.length) return { choices: [...choices] };
  const p = placeholder.toLowerCase();
  if (/\bdir\b/.test(p)) return 'dir';
  if (/\b(file|path)\b/.test(p)) return 'file';
  return 'none';
}

function argumentKind(arg: Argument): ValueKind {
  if (arg.argChoices?.length) return { choices: [...arg.argChoices] };
  if (arg.name() === 'job') return 'job';
  if (/plan|file|path/.test(arg.name())) return 'file';
  return 'none';
}

function optionSpec(o: Option): OptionSpec {
  const names = [o.short, o.long].filter((n): n is string => !!n);
  const placeholder = /[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1];
  return {
    names,
    description: o.description,
    ...(o.required || o.optional ? { value: valueKind(placeholder ?? '', o.argChoices) } : {}),
  };
}

const HELP: OptionSpec = { names: ['-h', '--help'], description: 'show help' };

/** The tree as completion needs it; the program's own options apply to every command. */
export function commandSpec(program: Command): CommandSpec {
  const visible = (o: Option) => !o.hidden;
  const globals = program.options.filter(visible).map(optionSpec);
  // --version is the program's own: `batchctl up --version` is an unknown option.
  const inherited = program.options.filter((o) => visible(o) && o.long !== '--version').map(optionSpec);
  const walk = (c: Command, parent: string): CommandSpec => {
    const path = parent ? `${parent} ${c.name()}` : c === program ? '' : c.name();
    const own = c === program ? globals : [...c.options.filter(visible).map(optionSpec), ...inherited];
    const first = c.registeredArguments[0];
    return {
      path,
      name: c.name(),
      description: c.description(),
      options: [...own, HELP],
      subcommands: c.commands
        .filter((s) => !(s as unknown as { _hidden?: boolean })._hidden)
        .map((s) => walk(s, c === program ? '' : path)),
      ...(first ? { argument: argumentKind(first) } : {}),
    };
  };
  return walk(program, '');
}

function all(spec: CommandSpec): CommandSpec[] {
  return [spec, ...spec.subcommands.flatMap(all)];
}

/** Text safe inside single quotes in sh and fish. */
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/** One line, short: a description for a completion menu. */
const short = (s: string) =>
  s
    .replace(/\s+/g, ' ')
    .replace(/\s*\(.*$/, '')
    .slice(0, 70);

/**
 * The shell functions bash and zsh share (plain sh `case` blocks): the subcommands, options and value
 * kind of each command path.
 */
function shCaseFunctions(spec: CommandSpec, withDescriptions: boolean): string {
  const cmds = all(spec);
  const line = (name: string, description: string) =>
    withDescriptions ? `${name}:${short(description).replace(/:/g, '\\:')}` : name;
  const list = (items: string[]) => items.map(sq).join(' ');
  const sub = cmds
    .filter((c) => c.subcommands.length)
    .map((c) => `    ${sq(c.path)}) printf '%s\\n' ${list(c.subcommands.map((s) => line(s.name, s.description)))} ;;`);
  const opts = cmds.map(
    (c) =>
      `    ${sq(c.path)}) printf '%s\\n' ${list(c.options.flatMap((o) => o.names.filter((n) => n.startsWith('--') || o.names.length === 1).map((n) => line(n, o.description))))} ;;`,
  );
  const kindText = (k: ValueKind | undefined) =>
    k === undefined ? '' : typeof k === 'string' ? k : `words ${k.choices.join(' ')}`;
  const values = cmds.flatMap((c) =>
    c.options
      .filter((o) => o.value !== undefined)
      .map((o) => `    ${o.names.map((n) => sq(`${c.path}|${n}`)).join('|')}) echo ${sq(kindText(o.value))} ;;`),
  );
  const args = cmds
    .filter((c) => c.argument && c.argument !== 'none')
    .map((c) => `    ${sq(c.path)}) echo ${sq(kindText(c.argument))} ;;`);
  return [
    '_batchctl_subcommands() {',
    '  case "$1" in',
    ...sub,
    '  esac',
    '}',
    '_batchctl_options() {',
    '  case "$1" in',
    ...opts,
    '  esac',
    '}',
    '# What completes the value of option $2 of command $1: file, dir, job, none, words ...; nothing for a flag.',
    '_batchctl_value() {',
    '  case "$1|$2" in',
    ...values,
    '  esac',
    '}',
    '_batchctl_argument() {',
    '  case "$1" in',
    ...args,
    '  esac',
    '}',
  ].join('\n');
}

/** The shared walk over the words before the cursor: sets `cmd` (the command path) and `cfg` (-c value). */
const WALK = [
  '',
  "  cmd='' cfg='' skip=0 prev_opt=''",
  '  for w in "$@"; do',
  '    if [ "$skip" = 1 ]; then',
  '      skip=0',
  '      if [ "$prev_opt" = -c ] || [ "$prev_opt" = --config ]; then cfg="$w"; fi',
  '      continue',
  '    fi',
  '    case "$w" in',
  '      --config=*) cfg="${w#*=}"; continue ;;',
  '      --*=*) continue ;;',
  '      -*) if [ -n "$(_batchctl_value "$cmd" "$w")" ]; then skip=1; prev_opt="$w"; fi; continue ;;',
  '    esac',
  '    if _batchctl_subcommands "$cmd" | cut -d: -f1 | grep -qx -- "$w"; then',
  '      if [ -z "$cmd" ]; then cmd="$w"; else cmd="$cmd $w"; fi',
  '    fi',
  '  done',
].join('\n');

function bashScript(spec: CommandSpec): string {
  return `# bash completion for batchctl (generated by \`batchctl completion bash\`)
${shCaseFunctions(spec, false)}
_batchctl_walk() {${WALK}
}
_batchctl_jobs() {
  if [ -n "$cfg" ]; then batchctl -c "$cfg" completion --jobs 2>/dev/null; else batchctl completion --jobs 2>/dev/null; fi
}
_batchctl_fill() {
  local kind="$1" cur="$2"
  case "$kind" in
    file) COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null ;;
    dir) COMPREPLY=($(compgen -d -- "$cur")); compopt -o filenames 2>/dev/null ;;
    job) COMPREPLY=($(compgen -W "$(_batchctl_jobs)" -- "$cur")) ;;
    words\\ *) COMPREPLY=($(compgen -W "\${kind#words }" -- "$cur")) ;;
    *) COMPREPLY=() ;;
  esac
}
_batchctl() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local cmd cfg skip prev_opt w
  _batchctl_walk "\${COMP_WORDS[@]:1:COMP_CWORD-1}"
  case "$cur" in
    --*=*) local opt="\${cur%%=*}"; _batchctl_fill "$(_batchctl_value "$cmd" "$opt")" "\${cur#*=}"; return ;;
  esac
  if [ "$COMP_CWORD" -gt 1 ] && [ "$skip" = 1 ]; then _batchctl_fill "$(_batchctl_value "$cmd" "$prev")" "$cur"; return; fi
  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$(_batchctl_options "$cmd")" -- "$cur")); return; fi
  local subs; subs="$(_batchctl_subcommands "$cmd")"
  if [ -n "$subs" ]; then COMPREPLY=($(compgen -W "$subs" -- "$cur")); return; fi
  _batchctl_fill "$(_batchctl_argument "$cmd")" "$cur"
}
complete -F _batchctl batchctl
`;
}

function zshScript(spec: CommandSpec): string {
  return `#compdef batchctl
# zsh completion for batchctl (generated by \`batchctl completion zsh\`)
${shCaseFunctions(spec, true)}
_batchctl_walk() {${WALK}
}
_batchctl_fill() {
  local kind="$1"
  case "$kind" in
    file) _files ;;
    dir) _files -/ ;;
    job) local -a jobs; jobs=(\${(f)"$(if [[ -n $cfg ]]; then batchctl -c "$cfg" completion --jobs; else batchctl completion --jobs; fi 2>/dev/null)"}); compadd -a jobs ;;
    words\\ *) local -a ws; ws=(\${=kind#words }); compadd -a ws ;;
  esac
}
_batchctl() {
  local cmd cfg skip prev_opt w
  _batchctl_walk "\${(@)words[2,CURRENT-1]}"
  local cur="\${words[CURRENT]}"
  if [[ $cur == --*=* ]]; then
    compset -P '*='
    _batchctl_fill "$(_batchctl_value "$cmd" "\${cur%%=*}")"; return
  fi
  if (( CURRENT > 2 )) && [[ $skip == 1 ]]; then _batchctl_fill "$(_batchctl_value "$cmd" "\${words[CURRENT-1]}")"; return; fi
  if [[ $cur == -* ]]; then
    local -a opts; opts=(\${(f)"$(_batchctl_options "$cmd")"}); _describe -t options option opts; return
  fi
  local -a subs; subs=(\${(f)"$(_batchctl_subcommands "$cmd")"})
  if (( \${#subs} )); then _describe -t commands command subs; return; fi
  _batchctl_fill "$(_batchctl_argument "$cmd")"
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then _batchctl "$@"; else compdef _batchctl batchctl; fi
`;
}

function fishScript(spec: CommandSpec): string {
  const out = ['# fish completion for batchctl (generated by `batchctl completion fish`)', 'complete -c batchctl -f'];
  // The command path of the line so far, the same walk as bash and zsh: fish's own helpers cannot tell
  // `state migrate` from a job named migrate.
  const paths = all(spec).map((c) => c.path);
  out.push(
    'function __batchctl_path',
    '  set -l words (commandline -opc)',
    '  set -l path ""',
    '  set -l skip 0',
    '  for w in $words[2..-1]',
    '    if test $skip = 1; set skip 0; continue; end',
    '    switch $w',
    '      case "--*=*"',
    '        continue',
    ...valueTakingOptions(spec).map((n) => `      case ${sq(n)}\n        set skip 1; continue`),
    '      case "-*"',
    '        continue',
    '    end',
    '    set -l next (string trim -- "$path $w")',
    `    if contains -- $next ${paths.filter(Boolean).map(sq).join(' ')}`,
    '      set path $next',
    '    end',
    '  end',
    '  echo $path',
    'end',
    'function __batchctl_in; test (__batchctl_path) = "$argv[1]"; end',
    'function __batchctl_jobs',
    '  set -l words (commandline -opc)',
    '  set -l i (contains -i -- -c $words; or contains -i -- --config $words)',
    '  if test -n "$i"; batchctl -c $words[(math $i + 1)] completion --jobs 2>/dev/null; else; batchctl completion --jobs 2>/dev/null; end',
    'end',
  );
  for (const c of all(spec)) {
    const cond = `-n ${sq(`__batchctl_in ${sq(c.path)}`)}`;
    for (const s of c.subcommands)
      out.push(`complete -c batchctl ${cond} -a ${sq(s.name)} -d ${sq(short(s.description))}`);
    for (const o of c.options) {
      const names = o.names
        .map((n) => (n.startsWith('--') ? `-l ${sq(n.slice(2))}` : `-s ${sq(n.slice(1))}`))
        .join(' ');
      const value =
        o.value === undefined
          ? ''
          : o.value === 'file'
            ? ' -r -F'
            : o.value === 'dir'
              ? " -r -xa '(__fish_complete_directories)'"
              : o.value === 'job'
                ? " -xa '(__batchctl_jobs)'"
                : typeof o.value === 'object'
                  ? ` -xa ${sq(o.value.choices.join(' '))}`
                  : ' -x';
      out.push(`complete -c batchctl ${cond} ${names}${value} -d ${sq(short(o.description))}`);
    }
    if (c.argument === 'file') out.push(`complete -c batchctl ${cond} -F`);
    if (c.argument === 'job') out.push(`complete -c batchctl ${cond} -a '(__batchctl_jobs)'`);
    if (typeof c.argument === 'object') out.push(`complete -c batchctl ${cond} -a ${sq(c.argument.choices.join(' '))}`);
  }
  return `${out.join('\n')}\n`;
}

/** Every option name that takes a value, in any command (the fish walk skips their values). */
function valueTakingOptions(spec: CommandSpec): string[] {
  return [...new Set(all(spec).flatMap((c) => c.options.filter((o) => o.value !== undefined).flatMap((o) => o.names)))];
}

/** The completion script for a shell. */
export function completionScript(program: Command, shell: Shell): string {
  const spec = commandSpec(program);
  return shell === 'bash' ? bashScript(spec) : shell === 'zsh' ? zshScript(spec) : fishScript(spec);
}
