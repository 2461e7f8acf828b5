/**
 * Where batchctl writes: `plan --out` never clobbers the config, the state or a file that is not a plan;
 * `state migrate --to` never a file that is not a state; and every state location, typed as `--state`,
 * `state migrate --to` or the config's `state.s3`, goes through one parser that refuses what S3 would not
 * hold or what would bypass the shared state.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { existsSync, linkSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freshFakeAws, scratch, type Scratch } from '../helpers/stack.js';
import { captureCli } from '../helpers/cli.js';
import { parseStateLocation } from '../../src/config/state-location.js';
import type { FakeAws } from '../fake-aws/index.js';

const fresh = freshFakeAws();
const io = captureCli();
const { out, err } = io;
const cli = io.run;
let fake: FakeAws;
let s: Scratch;
beforeEach(() => {
  fake = fresh();
  fake.s3.addBucket('team-state', { versioning: 'Enabled' });
  s = scratch();
});
const stateFile = () => join(s.dir, '.batchctl', 'sample-batch.state.json');

describe('plan --out never clobbers', () => {
  it('the config and the state are refused, even with --force; both files are unchanged and nothing is asked of AWS', async () => {
    expect(await cli('-c', s.configPath, 'up', '--yes')).toBe(0);
    const [config, state] = [readFileSync(s.configPath, 'utf8'), readFileSync(stateFile(), 'utf8')];
    fake.core.resetCalls();
    expect(await cli('-c', s.configPath, 'plan', '--out', s.configPath)).toBe(2);
    expect(err.join('')).toBe(
      `error: refusing to write the plan to ${s.configPath}: it is the config (${s.configPath})\nhint: name another file for the plan\n`,
    );
    expect(await cli('-c', s.configPath, 'plan', '--out', stateFile(), '--force')).toBe(2);
    expect(err.join('')).toMatch(/^error: refusing to write the plan to \S+sample-batch\.state\.json: it is the state/);
    // Through a symbolic link or a hard link, still the same file.
    symlinkSync(s.configPath, join(s.dir, 'link.yaml'));
    linkSync(stateFile(), join(s.dir, 'hard.json'));
    expect(await cli('-c', s.configPath, 'plan', '--out', join(s.dir, 'link.yaml'))).toBe(2);
    expect(await cli('-c', s.configPath, 'plan', '--out', join(s.dir, 'hard.json'), '--force')).toBe(2);
    expect(readFileSync(s.configPath, 'utf8')).toBe(config);
    expect(readFileSync(stateFile(), 'utf8')).toBe(state);
    expect(fake.core.calls).toEqual([]);
    expect(await cli('-c', s.configPath, 'plan')).toBe(0);
  });

  it('another file is replaced only with --force; an older plan is replaced; a directory never', async () => {
    const notes = join(s.dir, 'notes.txt');
    writeFileSync(notes, 'my notes\n');
    expect(await cli('-c', s.configPath, 'plan', '--out', notes)).toBe(2);
    expect(err.join('')).toBe(
      `error: refusing to write the plan to ${notes}: the file exists and is not a plan written by batchctl\nhint: name another file, or pass --force to replace it\n`,
    );
    expect(readFileSync(notes, 'utf8')).toBe('my notes\n');
    expect(await cli('-c', s.configPath, 'plan', '--out', notes, '--force')).toBe(0);
    expect(JSON.parse(readFileSync(notes, 'utf8')).format).toBe('batchctl-plan');
    const plan = join(s.dir, 'plan.json');
    expect(await cli('-c', s.configPath, 'plan', '--out', plan)).toBe(0);
    expect(await cli('-c', s.configPath, 'plan', '--out', plan)).toBe(0);
    expect(out.join('')).toMatch(/Saved the plan as /);
    mkdirSync(join(s.dir, 'plans'));
    expect(await cli('-c', s.configPath, 'plan', '--out', join(s.dir, 'plans'), '--force')).toBe(2);
    expect(err.join('')).toMatch(/it is a directory/);
  });

  it('a state option pointed at a saved plan says what the file is', async () => {
    const plan = join(s.dir, 'plan.json');
    expect(await cli('-c', s.configPath, 'plan', '--out', plan)).toBe(0);
    expect(await cli('-c', s.configPath, '--state', plan, 'plan')).toBe(2);
    expect(err.join('')).toMatch(/^error: \S+plan\.json is a saved plan \(written by plan --out\), not a state\n/);
    expect(await cli('-c', s.configPath, '--state', s.configPath, 'plan')).toBe(2);
    expect(err.join('')).toMatch(/^error: the state \S+batch\.config\.yaml is not valid JSON/);
  });
});

describe('state migrate --to never clobbers', () => {
  it('the config, or a file that is not a state, is refused; both are unchanged', async () => {
    expect(await cli('-c', s.configPath, 'up', '--yes')).toBe(0);
    const config = readFileSync(s.configPath, 'utf8');
    expect(await cli('-c', s.configPath, 'state', 'migrate', '--to', s.configPath)).toBe(2);
    expect(err.join('')).toMatch(/^error: refusing to write the state to \S+batch\.config\.yaml: it is the config/);
    const notes = join(s.dir, 'notes.txt');
    writeFileSync(notes, 'my notes\n');
    expect(await cli('-c', s.configPath, 'state', 'migrate', '--to', notes)).toBe(2);
    expect(err.join('')).toBe(
      `error: refusing to write the state to ${notes}: the file exists and is not a state written by batchctl\nhint: name another file, or move this one aside first\n`,
    );
    expect(readFileSync(s.configPath, 'utf8')).toBe(config);
    expect(readFileSync(notes, 'utf8')).toBe('my notes\n');
    expect(JSON.parse(readFileSync(stateFile(), 'utf8')).resources).not.toEqual({});
    expect(fake.ssm.parameters.size).toBe(0);
  });
});

describe('one parser for state locations', () => {
  it('refuses malformed S3 URLs, lock keys, other schemes and lock file names', () => {
    expect(parseStateLocation('s3://team-state/batchctl/prod.json')).toEqual({
      kind: 's3',
      bucket: 'team-state',
      key: 'batchctl/prod.json',
    });
    expect(parseStateLocation('S3://team-state/prod.json')).toEqual({
      kind: 's3',
      bucket: 'team-state',
      key: 'prod.json',
    });
    expect(parseStateLocation('state/prod.json')).toEqual({ kind: 'local', path: 'state/prod.json' });
    const refused: [string, RegExp][] = [
      ['s3:/bkt/k', /^'s3:\/bkt\/k' is not an S3 state location$/],
      ['s3:bkt/k', /is not an S3 state location$/],
      ['s3://bkt', /is not an S3 state location$/],
      ['s3://team-state/', /the object key is empty/],
      ['s3://team-state/dir/', /ends with '\/'/],
      ['s3://team-state//k.json', /starts with '\/'/],
      ['s3://team-state/a//k.json', /has an empty, '\.' or '\.\.' part/],
      ['s3://team-state/../k.json', /has an empty, '\.' or '\.\.' part/],
      ['s3://team-state/a.json.lock', /ends with '\.lock'/],
      ['s3://Team_State/k.json', /bucket name "Team_State": uppercase letters are not allowed/],
      ['s3://ab/k.json', /must be 3-63 characters/],
      ['s3://192.168.1.1/k.json', /must not look like an IP address/],
      [`s3://team-state/${'k'.repeat(1025)}`, /has 1025 bytes \(S3 takes at most 1024\)/],
      ['s3://team-state/a\u0007b', /control character/],
      ['gs://bucket/key', /is a URL that batchctl cannot keep a state at/],
      ['file:///tmp/x.json', /is a URL/],
      ['.batchctl/prod.json.lock', /ends with '\.lock'/],
      ['.batchctl/prod.json.moving', /ends with '\.moving'/],
      ['  ', /it is empty/],
    ];
    for (const [text, why] of refused) expect(() => parseStateLocation(text), text).toThrow(why);
  });

  it('--state s3:/x and a .lock key are exit 2 before any AWS call, writing nothing anywhere', async () => {
    const before = readdirSync(s.dir).sort();
    for (const state of ['s3:/team-state/k.json', 's3://team-state/batchctl/sample.json.lock']) {
      expect(await cli('-c', s.configPath, '--state', state, 'up', '--yes')).toBe(2);
      expect(err.join('')).toMatch(/^error: 's3:.*' is not an S3 state location/);
    }
    expect(existsSync(join(process.cwd(), 's3:'))).toBe(false);
    expect(readdirSync(s.dir).sort()).toEqual(before);
    expect(fake.core.calls).toEqual([]);
    expect(fake.s3.buckets.get('team-state')!.objects.size).toBe(0);
  });

  it('state migrate --to goes through the same parser', async () => {
    expect(await cli('-c', s.configPath, 'up', '--yes')).toBe(0);
    fake.core.resetCalls();
    expect(await cli('-c', s.configPath, 'state', 'migrate', '--to', 's3:/team-state/k.json')).toBe(2);
    expect(err.join('')).toMatch(/^error: 's3:\/team-state\/k\.json' is not an S3 state location/);
    expect(await cli('-c', s.configPath, 'state', 'migrate', '--to', 's3://team-state/prod.json.lock')).toBe(2);
    expect(err.join('')).toMatch(/ends with '\.lock'/);
    expect(fake.core.calls).toEqual([]);
  });

  it("the config's state.s3 is refused by validate at its line with the same rules", async () => {
    s.editConfig((t) => `${t}\nstate:\n  s3:\n    bucket: team-state\n    key: batchctl/prod.json.lock\n`);
    expect(await cli('-c', s.configPath, 'validate')).toBe(2);
    expect(err.join('')).toMatch(
      /:\d+:\d+ +state\.s3\.key +the object key 'batchctl\/prod\.json\.lock' ends with '\.lock'/,
    );
  });
});
