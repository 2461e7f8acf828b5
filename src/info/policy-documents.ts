/**
 * The operator policy as documents IAM takes: managed policies, each within IAM's 6,144 characters
 * (whitespace not counted), one per group of commands that go together (who provisions, who reads, who
 * runs, who releases), a group too big for one split by the AWS services it touches, and a service too big
 * for one split by its statements (a statement too big, by its resources). A role may have 10 managed
 * policies attached by default (Service Quotas raises it to 20); more is said, naming that limit.
 *
 * IAM limits: IAM user guide, "IAM and AWS STS quotas" (managed policy size 6,144; inline per role 10,240;
 * inline per user 2,048; managed policies per role 10).
 */
import type { PolicyDocument, PolicyStatement } from '../model/policies.js';
import {
  POLICY_SIZE_LIMITS,
  operatorGrants,
  partitionOf,
  policySize,
  recordedNames,
  statementsOf,
  usesPatterns,
  type Grant,
  type PolicyCommand,
  type PolicyTarget,
} from './policy.js';

/** The commands whose grants go in one document (split further only when it is over the limit). */
export const POLICY_GROUPS: readonly { name: string; commands: readonly PolicyCommand[]; what: string }[] = [
  { name: 'provision', commands: ['up', 'down'], what: 'create, change and delete the stack' },
  {
    name: 'read',
    commands: ['plan', 'status', 'outputs', 'cost', 'logs', 'history'],
    what: 'look at the stack and its runs',
  },
  { name: 'run', commands: ['run-now', 'stop', 'pause', 'resume'], what: 'start, stop and pause runs' },
  { name: 'release', commands: ['push', 'deploy', 'rollback'], what: 'push images and deploy them' },
];

/** AWS services by area, the order a group too big for one document is split in. */
const AREAS: readonly { name: string; services: readonly string[] }[] = [
  { name: 'network', services: ['ec2', 'route53'] },
  { name: 'identity', services: ['iam'] },
  { name: 'compute', services: ['ecs', 'ecr', 'states'] },
  { name: 'events', services: ['logs', 'events', 'scheduler', 'sqs', 'sns', 'cloudwatch'] },
  { name: 'storage', services: ['s3', 'secretsmanager', 'kms', 'ssm'] },
];
const areaOf = (service: string) => AREAS.find((a) => a.services.includes(service))?.name ?? 'other';

/** One managed policy `policy` prints: its name, what it is for, its size as IAM counts it. */
export interface NamedPolicy {
  /** `batchctl-<stack>-<group>[-<areas>]`: at most 128 characters of IAM's policy name set. */
  name: string;
  /** The commands (of those asked) it serves, with the other documents of its group. */
  commands: PolicyCommand[];
  /** Characters IAM counts (no whitespace). */
  size: number;
  policy: PolicyDocument;
}

/** The documents for these commands, and what breaks a limit of IAM's. */
export function policyDocuments(
  t: PolicyTarget,
  commands: readonly PolicyCommand[],
  limit: number = POLICY_SIZE_LIMITS.managed,
): { documents: NamedPolicy[]; warnings: string[] } {
  const grants = operatorGrants(t, usesPatterns(t, commands));
  const documents: NamedPolicy[] = [];
  for (const group of POLICY_GROUPS) {
    const asked = group.commands.filter((c) => commands.includes(c));
    if (!asked.length) continue;
    const mine = grants.filter((g) => g.commands.some((c) => asked.includes(c)));
    if (!mine.length) continue;
    const base = `batchctl-${t.config.stack}-${group.name}`;
    const whole = statementsOf(mine);
    if (policySize(whole) <= limit) {
      documents.push({ name: base, commands: asked, size: policySize(whole), policy: whole });
      continue;
    }
    for (const part of splitByArea(mine, limit)) {
      const doc = { Version: '2012-10-17', Statement: part.statements };
      documents.push({
        name: `${base}-${part.name}`.slice(0, 128),
        commands: asked,
        size: policySize(doc),
        policy: doc,
      });
    }
  }
  const warnings: string[] = [];
  for (const d of documents) {
    if (d.size > limit) warnings.push(`${d.name} is ${d.size} characters, over IAM's ${limit} for a managed policy`);
  }
  if (documents.length > POLICY_SIZE_LIMITS.managedPerRole) {
    warnings.push(
      `${documents.length} managed policies: over IAM's default of ${POLICY_SIZE_LIMITS.managedPerRole} ` +
        'managed policies attached to one role (raise it to 20 in Service Quotas, or print fewer commands with --for)',
    );
  }
  return { documents, warnings };
}

/** A grant per AWS service of its actions (grants name one service's actions, but a split must not depend on it). */
function byService(g: Grant): Grant[] {
  const services = [...new Set(g.actions.map((a) => a.split(':')[0]!))];
  return services.map((s) => ({ ...g, actions: g.actions.filter((a) => a.startsWith(`${s}:`)) }));
}

/**
 * The grants in parts of at most `limit` characters each: areas in their order, packed while they fit;
 * an area over the limit alone, by its statements; a statement over it alone, by its resources.
 */
function splitByArea(grants: Grant[], limit: number): { name: string; statements: PolicyStatement[] }[] {
  const perArea = new Map<string, Grant[]>();
  for (const g of grants.flatMap(byService)) {
    const area = areaOf(g.actions[0]!.split(':')[0]!);
    perArea.set(area, [...(perArea.get(area) ?? []), g]);
  }
  const order = [...AREAS.map((a) => a.name), 'other'].filter((a) => perArea.has(a));
  const parts: { names: string[]; statements: PolicyStatement[] }[] = [];
  const fits = (statements: PolicyStatement[]) =>
    policySize({ Version: '2012-10-17', Statement: unique(statements) }) <= limit;
  for (const area of order) {
    const statements = statementsOf(perArea.get(area)!).Statement;
    const last = parts.at(-1);
    if (last && fits([...last.statements, ...statements])) {
      last.names.push(area);
      last.statements.push(...statements);
    } else if (fits(statements)) {
      parts.push({ names: [area], statements: [...statements] });
    } else {
      // An area too big alone: its statements in as many parts as they need.
      const pieces = packStatements(
        statements.flatMap((s) => splitStatement(s, limit)),
        fits,
      );
      pieces.forEach((p, i) =>
        parts.push({ names: [`${area}${pieces.length > 1 ? `-${i + 1}` : ''}`], statements: p }),
      );
    }
  }
  return parts.map((p) => ({ name: p.names.join('-'), statements: unique(p.statements) }));
}

/** Statements in order into parts that each `fit`. */
function packStatements(statements: PolicyStatement[], fits: (s: PolicyStatement[]) => boolean): PolicyStatement[][] {
  const out: PolicyStatement[][] = [];
  for (const s of statements) {
    const last = out.at(-1);
    if (last && fits([...last, s])) last.push(s);
    else out.push([s]);
  }
  return out;
}

/** A statement over the limit alone, as statements of fewer resources each (the same actions and condition). */
function splitStatement(s: PolicyStatement, limit: number): PolicyStatement[] {
  const resources = [s.Resource ?? []].flat();
  const size = (r: string[]) => policySize({ Version: '2012-10-17', Statement: [{ ...s, Resource: r }] });
  if (size(resources) <= limit || resources.length < 2) return [s];
  const out: PolicyStatement[] = [];
  let cur: string[] = [];
  for (const r of resources) {
    if (cur.length && size([...cur, r]) > limit) {
      out.push({ ...s, Resource: cur });
      cur = [];
    }
    cur.push(r);
  }
  out.push({ ...s, Resource: cur });
  return out;
}

/** Sids unique within one document (parts of an area may repeat one). */
function unique(statements: PolicyStatement[]): PolicyStatement[] {
  const seen = new Map<string, number>();
  return statements.map((s) => {
    const sid = (s.Sid ?? 'Statement').replace(/\d+$/, '');
    const n = (seen.get(sid) ?? 0) + 1;
    seen.set(sid, n);
    return { ...s, Sid: n === 1 ? sid : `${sid}${n}` };
  });
}

/** What `batchctl policy` prints. */
export interface PolicyReport {
  stack: string;
  account: string;
  partition: string;
  /** The stack's region (IAM is global; its CLI still wants one in aws-cn and aws-us-gov). */
  region: string;
  commands: PolicyCommand[];
  /** The managed policies to create and attach, each within IAM's limit for one. */
  documents: NamedPolicy[];
  /** What breaks a limit, by its name (too many documents for a role's default quota...). */
  warnings: string[];
}

/**
 * `batchctl policy`: the config, the account (STS, which needs no permission, unless `account` is
 * given) and the state location, then the documents. No other AWS call.
 */
export async function runPolicy(
  opts: import('../engine/stack.js').StackOptions & { commands: PolicyCommand[]; account?: string },
): Promise<PolicyReport> {
  const { loadStackConfig, stateLocationOf } = await import('../engine/stack.js');
  const config = await loadStackConfig(opts);
  let account = opts.account;
  let partition = partitionOf(config.region);
  if (!account) {
    const { createAwsClients, callerIdentity } = await import('../aws/clients.js');
    const who = await callerIdentity(
      await createAwsClients({ region: config.region, profile: opts.profile, endpointUrl: opts.endpointUrl }, ['sts']),
    );
    account = who.account;
    partition = who.partition;
  }
  const state = stateLocationOf(opts, config);
  const target = { config, account, partition, state, recorded: await recordedNames(opts, config, state, account) };
  const { documents, warnings } = policyDocuments(target, opts.commands);
  return {
    stack: config.stack,
    account,
    partition,
    region: config.region,
    commands: opts.commands,
    documents,
    warnings,
  };
}
