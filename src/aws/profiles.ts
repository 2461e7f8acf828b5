/**
 * The named profiles of the shared AWS config and credentials files, found as the SDK finds them
 * (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/). Only section headers are read: these
 * files hold secret keys, and a message listing profiles must never come near a value.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The two shared files, as the SDK resolves them (a leading `~/` is the home directory). */
export function sharedFiles(env: NodeJS.ProcessEnv = process.env): { config: string; credentials: string } {
  const home = (p: string) => (p.startsWith('~/') ? join(homedir(), p.slice(2)) : p);
  return {
    config: home(env.AWS_CONFIG_FILE || join(homedir(), '.aws', 'config')),
    credentials: home(env.AWS_SHARED_CREDENTIALS_FILE || join(homedir(), '.aws', 'credentials')),
  };
}

/** What the shared files configure. */
export interface ConfiguredProfiles {
  /** Profile names, sorted, each once. */
  names: string[];
  /** The files that exist and were read. */
  files: string[];
  /** The files looked for. */
  searched: string[];
}

const HEADER = /^\s*\[\s*([^\]]*?)\s*\]\s*(?:[#;].*)?$/;

/**
 * The profile a section of the config file is: `[default]` or `[profile name]`. Others (`[sso-session
 * x]`, `[services x]`) are not profiles. The credentials file has bare names instead.
 */
function configProfile(section: string): string | undefined {
  if (section === 'default') return 'default';
  return /^profile\s+(.+)$/.exec(section)?.[1];
}

/** The profile names in the shared config and credentials files (names only, never values). */
export function configuredProfiles(env: NodeJS.ProcessEnv = process.env): ConfiguredProfiles {
  const { config, credentials } = sharedFiles(env);
  const names = new Set<string>();
  const files: string[] = [];
  for (const [file, isConfig] of [
    [config, true],
    [credentials, false],
  ] as const) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    files.push(file);
    for (const line of text.split(/\r?\n/)) {
      const section = HEADER.exec(line)?.[1];
      if (!section) continue;
      const name = isConfig ? configProfile(section) : section;
      if (name) names.add(name);
    }
  }
  return { names: [...names].sort(), files, searched: [config, credentials] };
}

/**
 * The region the AWS CLI takes from the profile in force (`--profile`, else AWS_PROFILE, else `default`)
 * when neither --region, AWS_REGION nor AWS_DEFAULT_REGION names one; undefined when that profile sets
 * none (or the file is not there).
 */
export function profileRegionInForce(
  profileFlag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { profile: string; region: string } | undefined {
  const profile = profileFlag ?? (env.AWS_PROFILE || 'default');
  const region = profileRegion(profile, env);
  return region ? { profile, region } : undefined;
}

/**
 * The `region` a profile sets in the shared config file (what the AWS CLI would use), or undefined. Only
 * that one key of that one section is read.
 */
export function profileRegion(profile: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  let text: string;
  try {
    text = readFileSync(sharedFiles(env).config, 'utf8');
  } catch {
    return undefined;
  }
  let inside = false;
  for (const line of text.split(/\r?\n/)) {
    const section = HEADER.exec(line)?.[1];
    if (section !== undefined) {
      inside = configProfile(section) === profile;
      continue;
    }
    const m = inside ? /^\s*region\s*=\s*([^\s#;]+)/.exec(line) : null;
    if (m) return m[1];
  }
  return undefined;
}
