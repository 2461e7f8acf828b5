/**
 * The one parser for where a state lives. `--state`, the config's `state.s3` and `state migrate --to` all
 * go through it, so what one accepts the others accept, and what one refuses (with exit 2) they refuse.
 *
 * - `s3:` in any case starts an S3 location, which must then be `s3://<bucket>/<key>` exactly: `s3:/b/k`
 *   is not silently taken for a local file named `s3:/b/k`, which would bypass the shared state.
 * - The bucket follows S3's naming rules for general purpose buckets (S3 user guide, "General purpose bucket
 *   naming rules"): 3-63 characters, lowercase letters, digits, dots and hyphens, a letter or digit at
 *   each end, no `..`, not an IP address, none of the reserved prefixes and suffixes.
 * - The key: 1-1024 bytes of UTF-8 (S3's limit), no control character, no empty, `.` or `..` segment,
 *   no leading or trailing `/`, and not ending with `.lock` (the lock objects of earlier batchctl versions
 *   lived at `<state key>.lock`: a state there would be another stack's lock).
 * - Another URL scheme (`gs://`, `file://`, `https://`) is refused rather than read as a path.
 * - A local path must not end with `.lock` or `.moving` (batchctl's own lock and move files).
 */
import { UserError } from '../base/errors.js';

/** A place for the state, as typed. */
export type ParsedStateLocation = { kind: 's3'; bucket: string; key: string } | { kind: 'local'; path: string };

const S3_HINT = 'write it as s3://<bucket>/<key>, e.g. s3://my-team-state/batchctl/prod.json';
const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];
const LOCAL_SUFFIXES = ['.lock', '.moving'];

/** S3 general purpose bucket naming rules; every violation, joined, or undefined when valid. */
export function bucketNameProblems(name: string): string | undefined {
  const p: string[] = [];
  if (name.length < 3 || name.length > 63) p.push(`must be 3-63 characters (got ${name.length})`);
  if (/[A-Z]/.test(name)) p.push('uppercase letters are not allowed');
  if (/[^A-Za-z0-9.-]/.test(name)) p.push('only lowercase letters, digits, dots and hyphens are allowed');
  if (!/^[A-Za-z0-9]/.test(name) || !/[A-Za-z0-9]$/.test(name)) p.push('must start and end with a letter or digit');
  if (name.includes('..')) p.push('must not contain two adjacent dots');
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) p.push('must not look like an IP address');
  const prefix = RESERVED_PREFIXES.find((x) => name.startsWith(x));
  if (prefix) p.push(`must not start with the reserved prefix ${prefix}`);
  const suffix = RESERVED_SUFFIXES.find((x) => name.endsWith(x));
  if (suffix) p.push(`must not end with the reserved suffix ${suffix}`);
  return p.length ? p.join('; ') : undefined;
}

/** What is wrong with an S3 bucket name for a state, or undefined when it is valid. */
export function bucketProblem(bucket: string): string | undefined {
  const p = bucketNameProblems(bucket);
  return p && `bucket name "${bucket}": ${p}`;
}

/** What is wrong with an S3 key for a state, or undefined when it is valid. */
export function keyProblem(key: string): string | undefined {
  if (!key) return 'the object key is empty';
  if (Buffer.byteLength(key, 'utf8') > 1024)
    return `the object key has ${Buffer.byteLength(key, 'utf8')} bytes (S3 takes at most 1024)`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'the object key has a control character';
  if (key.startsWith('/') || key.endsWith('/'))
    return `the object key '${key}' ${key.startsWith('/') ? 'starts' : 'ends'} with '/' (a state is an object, not a folder)`;
  if (key.split('/').some((s) => s === '' || s === '.' || s === '..'))
    return `the object key '${key}' has an empty, '.' or '..' part`;
  if (key.endsWith('.lock'))
    return `the object key '${key}' ends with '.lock', the name batchctl gave lock objects: a state there could be another state's lock`;
  return undefined;
}

/** Parse `text` as a state location; a malformed one is a UserError (exit 2) naming what is wrong. */
export function parseStateLocation(text: string): ParsedStateLocation {
  const t = text.trim();
  if (!t) throw problem(`'${text}' is not a state location: it is empty`, 'pass a file path or s3://<bucket>/<key>');
  if (/^s3:/i.test(t)) {
    const m = /^s3:\/\/([^/]*)\/(.*)$/i.exec(t);
    if (!m) throw problem(`'${text}' is not an S3 state location`, S3_HINT);
    const [, bucket = '', key = ''] = m;
    const why = bucketProblem(bucket) ?? keyProblem(key);
    if (why) throw problem(`'${text}' is not an S3 state location: ${why}`, S3_HINT);
    return { kind: 's3', bucket, key };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(t)) {
    throw problem(
      `'${text}' is a URL that batchctl cannot keep a state at`,
      `keep the state in a file or in S3 (${S3_HINT.replace('write it as ', '')})`,
    );
  }
  const suffix = LOCAL_SUFFIXES.find((s) => t.endsWith(s));
  if (suffix)
    throw problem(
      `'${text}' ends with '${suffix}', the name of batchctl's own lock and move files: it cannot hold a state`,
      'name the state file itself, e.g. .batchctl/<stack>.state.json',
    );
  return { kind: 'local', path: text };
}

function problem(message: string, hint: string): UserError {
  return new UserError(message, hint);
}
