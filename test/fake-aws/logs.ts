/**
 * Fake CloudWatch Logs: log groups (retention limited to AWS's allowed values, tags addressed by the
 * ARN without `:*`) and, for `batchctl logs`, streams and events with AWS's paging tokens.
 */
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  DeleteLogGroupCommand,
  DescribeLogGroupsCommand,
  PutRetentionPolicyCommand,
  DeleteRetentionPolicyCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
  CreateLogStreamCommand,
  DescribeLogStreamsCommand,
  PutLogEventsCommand,
  GetLogEventsCommand,
  FilterLogEventsCommand,
  StartLiveTailCommand,
  PutResourcePolicyCommand,
  DescribeResourcePoliciesCommand,
  DeleteResourcePolicyCommand,
  type StartLiveTailResponseStream,
} from '@aws-sdk/client-cloudwatch-logs';
import { awsError, type FakeAwsCore } from './core.js';
import type { InventoryEntry } from './index.js';

interface FakeEvent {
  timestamp: number;
  message: string;
  ingestionTime: number;
  seq: number;
}

interface FakeStream {
  name: string;
  createdAt: number;
  events: FakeEvent[];
  lastIngestionTime?: number;
}

export interface FakeLogGroup {
  name: string;
  createdAt: number;
  retentionInDays?: number;
  tags: Record<string, string>;
  streams: Map<string, FakeStream>;
}

/** The only values PutRetentionPolicy accepts. */
export const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

const DAY = 86_400_000;
const GROUP_NAME = /^[.\-_/#A-Za-z0-9]{1,512}$/;
const GROUP_MISSING = 'The specified log group does not exist.';

/** An account-level resource policy: by name, untaggable; these count against the quota. */
export interface FakeResourcePolicy {
  name: string;
  document: string;
  lastUpdatedTime: number;
}

/**
 * A resource-scoped policy (PutResourcePolicy with resourceArn): one per log group, no name, a revision
 * every write must name (expectedRevisionId), outside the account-level quota.
 */
export interface FakeGroupPolicy {
  resourceArn: string;
  document: string;
  revisionId: string;
  lastUpdatedTime: number;
}

/** AWS's quota of resource policies per account and region, and the longest document. */
export const RESOURCE_POLICY_LIMIT = 10;
const POLICY_DOC_MAX = 5120;
const REVISION_CONFLICT = 'Multiple concurrent requests to update the same resource were in conflict.';

/** The API's ResourcePolicy of each kind. */
const accountPolicy = (p: FakeResourcePolicy) => ({
  policyName: p.name,
  policyDocument: p.document,
  lastUpdatedTime: p.lastUpdatedTime,
  policyScope: 'ACCOUNT' as const,
});
const groupPolicy = (p: FakeGroupPolicy) => ({
  policyDocument: p.document,
  lastUpdatedTime: p.lastUpdatedTime,
  policyScope: 'RESOURCE' as const,
  resourceArn: p.resourceArn,
  revisionId: p.revisionId,
});

export class FakeLogs {
  readonly groups = new Map<string, FakeLogGroup>();
  readonly resourcePolicies = new Map<string, FakeResourcePolicy>();
  /** Resource-scoped policies, by log group ARN (without `:*`). */
  readonly groupPolicies = new Map<string, FakeGroupPolicy>();
  private eventSeq = 0;
  /** Events that become visible at their timestamp (a running task writing its log). */
  private scheduled: { group: string; stream: string; timestamp: number; message: string }[] = [];
  /**
   * False makes StartLiveTail fail the way local emulators do (they do not implement it), so callers
   * must fall back to polling.
   */
  liveTailSupported = true;
  /** How often a Live Tail session pushes an update (AWS: about once a second). */
  liveTailIntervalMs = 1000;
  /** Live Tail sessions opened and not yet ended. */
  liveTailSessions = 0;
  /** Most events one FilterLogEvents page returns without a `limit` (AWS: 10,000 or 1 MB); lower it to force pages. */
  filterPageLimit = 10_000;

  constructor(private readonly core: FakeAwsCore) {
    core.peers.set('logs', this);
    core.register({
      name: 'logs',
      client: CloudWatchLogsClient,
      ops: {
        CreateLogGroup: {
          command: CreateLogGroupCommand,
          handle: (i) => {
            const name: string = i.logGroupName ?? '';
            if (!GROUP_NAME.test(name))
              awsError(
                'InvalidParameterException',
                `1 validation error detected: Value '${name}' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+`,
              );
            if (this.groups.has(name))
              awsError('ResourceAlreadyExistsException', 'The specified log group already exists');
            const tags: Record<string, string> = { ...(i.tags ?? {}) };
            this.groups.set(name, { name, createdAt: core.now(), tags, streams: new Map() });
            core.label(this.arn(name), tags['batchctl:logical'] ?? name);
            return {};
          },
        },
        DeleteLogGroup: {
          command: DeleteLogGroupCommand,
          handle: (i) => {
            this.group(i.logGroupName);
            this.groups.delete(i.logGroupName);
            // Its resource-scoped policy goes with it.
            this.groupPolicies.delete(this.arn(i.logGroupName));
            return {};
          },
        },
        DescribeLogGroups: {
          command: DescribeLogGroupsCommand,
          handle: (i) => {
            const limit = i.limit ?? 50;
            if (limit < 1 || limit > 50)
              awsError(
                'InvalidParameterException',
                `1 validation error detected: Value '${limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50`,
              );
            if (i.logGroupNamePrefix && i.logGroupNamePattern)
              awsError(
                'InvalidParameterException',
                'LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive parameters.',
              );
            const prefix: string = i.logGroupNamePrefix ?? '';
            const all = [...this.groups.values()]
              .filter(
                (g) => g.name.startsWith(prefix) && (!i.logGroupNamePattern || g.name.includes(i.logGroupNamePattern)),
              )
              .sort((a, b) => (a.name < b.name ? -1 : 1));
            const start = this.offset(i.nextToken);
            const page = all.slice(start, start + limit);
            return {
              logGroups: page.map((g) => ({
                logGroupName: g.name,
                creationTime: g.createdAt,
                ...(g.retentionInDays ? { retentionInDays: g.retentionInDays } : {}),
                metricFilterCount: 0,
                arn: `${this.arn(g.name)}:*`,
                logGroupArn: this.arn(g.name),
                storedBytes: this.storedBytes(g),
                logGroupClass: 'STANDARD',
              })),
              ...(start + limit < all.length ? { nextToken: token(start + limit) } : {}),
            };
          },
        },
        PutRetentionPolicy: {
          command: PutRetentionPolicyCommand,
          handle: (i) => {
            const g = this.group(i.logGroupName);
            if (!RETENTION_DAYS.includes(i.retentionInDays)) {
              awsError(
                'InvalidParameterException',
                `1 validation error detected: Value '${i.retentionInDays}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [${RETENTION_DAYS.join(', ')}]`,
              );
            }
            g.retentionInDays = i.retentionInDays;
            return {};
          },
        },
        DeleteRetentionPolicy: {
          command: DeleteRetentionPolicyCommand,
          handle: (i) => {
            this.group(i.logGroupName).retentionInDays = undefined;
            return {};
          },
        },
        ListTagsForResource: {
          command: ListTagsForResourceCommand,
          handle: (i) => ({ tags: { ...this.byArn(i.resourceArn).tags } }),
        },
        TagResource: {
          command: TagResourceCommand,
          handle: (i) => {
            const g = this.byArn(i.resourceArn);
            g.tags = { ...g.tags, ...i.tags };
            if (Object.keys(g.tags).length > 50)
              awsError('TooManyTagsException', 'A resource can have no more than 50 tags.');
            return {};
          },
        },
        UntagResource: {
          command: UntagResourceCommand,
          handle: (i) => {
            const g = this.byArn(i.resourceArn);
            for (const k of i.tagKeys ?? []) delete g.tags[k];
            return {};
          },
        },
        CreateLogStream: {
          command: CreateLogStreamCommand,
          handle: (i) => {
            const g = this.group(i.logGroupName);
            const name: string = i.logStreamName ?? '';
            if (!name || name.length > 512 || /[:*]/.test(name))
              awsError(
                'InvalidParameterException',
                `1 validation error detected: Value '${name}' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*`,
              );
            if (g.streams.has(name))
              awsError('ResourceAlreadyExistsException', 'The specified log stream already exists');
            g.streams.set(name, { name, createdAt: core.now(), events: [] });
            return {};
          },
        },
        DescribeLogStreams: { command: DescribeLogStreamsCommand, handle: (i) => this.describeStreams(this.due(i)) },
        PutLogEvents: { command: PutLogEventsCommand, handle: (i) => this.putEvents(this.due(i)) },
        GetLogEvents: { command: GetLogEventsCommand, handle: (i) => this.getEvents(this.due(i)) },
        FilterLogEvents: { command: FilterLogEventsCommand, handle: (i) => this.filterEvents(this.due(i)) },
        StartLiveTail: { command: StartLiveTailCommand, mutating: false, handle: (i) => this.startLiveTail(i) },
        PutResourcePolicy: {
          command: PutResourcePolicyCommand,
          handle: (i) => {
            const doc: string = i.policyDocument ?? '';
            if (doc.length < 1 || doc.length > POLICY_DOC_MAX)
              awsError(
                'InvalidParameterException',
                `1 validation error detected: Value at 'policyDocument' failed to satisfy constraint: Member must have length less than or equal to ${POLICY_DOC_MAX}`,
              );
            try {
              JSON.parse(doc);
            } catch {
              awsError('InvalidParameterException', 'Invalid policy document');
            }
            if (i.resourceArn !== undefined) {
              return this.putGroupPolicy(i.resourceArn, doc, i.policyName, i.expectedRevisionId);
            }
            const name: string = i.policyName ?? '';
            if (!name) {
              awsError(
                'InvalidParameterException',
                "1 validation error detected: Value null at 'policyName' " +
                  'failed to satisfy constraint: Member must not be null',
              );
            }
            // The quota counts account-level policies only (API reference: "a maximum of 10 policies
            // without resourceARN and one per LogGroup resourceARN").
            if (!this.resourcePolicies.has(name) && this.resourcePolicies.size >= RESOURCE_POLICY_LIMIT) {
              awsError('LimitExceededException', 'Resource limit exceeded.');
            }
            const p = { name, document: doc, lastUpdatedTime: core.now() };
            this.resourcePolicies.set(name, p);
            return { resourcePolicy: accountPolicy(p) };
          },
        },
        DescribeResourcePolicies: {
          command: DescribeResourcePoliciesCommand,
          handle: (i) => {
            const limit = i.limit ?? 50;
            if (limit < 1 || limit > 50)
              awsError(
                'InvalidParameterException',
                `1 validation error detected: Value '${limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50`,
              );
            // Left out, the scope is ACCOUNT: resource-scoped policies are listed only when asked for.
            const scope = i.policyScope ?? 'ACCOUNT';
            const all =
              scope === 'ACCOUNT'
                ? [...this.resourcePolicies.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map(accountPolicy)
                : [...this.groupPolicies.values()]
                    .filter((p) => !i.resourceArn || p.resourceArn === String(i.resourceArn).replace(/:\*$/, ''))
                    .map(groupPolicy);
            const start = this.offset(i.nextToken);
            return {
              resourcePolicies: all.slice(start, start + limit),
              ...(start + limit < all.length ? { nextToken: token(start + limit) } : {}),
            };
          },
        },
        DeleteResourcePolicy: {
          command: DeleteResourcePolicyCommand,
          handle: (i) => {
            if (i.resourceArn !== undefined) {
              const key = String(i.resourceArn).replace(/:\*$/, '');
              const p =
                this.groupPolicies.get(key) ??
                awsError('ResourceNotFoundException', `No resource policy found for resource ${i.resourceArn}`);
              if (i.expectedRevisionId !== p.revisionId) awsError('OperationAbortedException', REVISION_CONFLICT);
              this.groupPolicies.delete(key);
              return {};
            }
            if (!this.resourcePolicies.delete(i.policyName ?? ''))
              awsError('ResourceNotFoundException', 'Policy with name [' + i.policyName + '] does not exist');
            return {};
          },
        },
      },
    });
  }

  /**
   * PutResourcePolicy with resourceArn: the log group's own policy (no name: policyName and resourceArn
   * do not go together), written only when `expectedRevisionId` is the current revision (none for the
   * first): a write based on an old read fails instead of undoing another's.
   */
  private putGroupPolicy(
    resourceArn: string,
    document: string,
    policyName: string | undefined,
    expected: string | undefined,
  ) {
    if (policyName !== undefined) {
      awsError('InvalidParameterException', 'policyName cannot be specified together with resourceArn.');
    }
    const key = resourceArn.replace(/:\*$/, '');
    if (![...this.groups.keys()].some((g) => this.arn(g) === key)) awsError('ResourceNotFoundException', GROUP_MISSING);
    const current = this.groupPolicies.get(key);
    if ((current?.revisionId ?? undefined) !== expected) {
      awsError('OperationAbortedException', REVISION_CONFLICT);
    }
    const p: FakeGroupPolicy = {
      resourceArn: key,
      document,
      revisionId: this.core.newId('rev', 16),
      lastUpdatedTime: this.core.now(),
    };
    this.groupPolicies.set(key, p);
    return { resourcePolicy: groupPolicy(p), revisionId: p.revisionId };
  }

  /** Test helper: account-level policies of other services and tools (Route 53, API Gateway...) holding `n` slots. */
  addForeignPolicies(n: number, prefix = 'other-service'): string[] {
    const names: string[] = [];
    for (let k = 1; k <= n; k++) {
      const name = `${prefix}-${k}`;
      const document = JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'route53.amazonaws.com' },
            Action: 'logs:PutLogEvents',
            Resource: this.arn(`/aws/route53/${name}`) + ':*',
          },
        ],
      });
      this.resourcePolicies.set(name, { name, document, lastUpdatedTime: this.core.now() });
      names.push(name);
    }
    return names;
  }

  /**
   * Whether the account's resource policies let `service` (e.g. events.amazonaws.com) call `action` on a
   * stream of the group, on behalf of `sourceArn` (a rule): an Allow statement naming the principal, the
   * action and a resource matching the stream's ARN, whose conditions (ArnEquals / ArnLike / StringEquals
   * / StringLike on aws:SourceArn and aws:SourceAccount) hold. Any other condition key fails closed.
   */
  admits(service: string, action: string, group: string, stream: string, sourceArn: string): boolean {
    const target = `${this.arn(group)}:log-stream:${stream}`;
    const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);
    const glob = (pattern: string, value: string) =>
      new RegExp(
        `^${pattern
          .split('*')
          .map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
      ).test(value);
    const context: Record<string, string> = { 'aws:sourcearn': sourceArn, 'aws:sourceaccount': this.core.account };
    const conditionHolds = (cond: Record<string, Record<string, unknown>> | undefined) =>
      Object.entries(cond ?? {}).every(([op, kv]) =>
        Object.entries(kv).every(([k, v]) => {
          const actual = context[k.toLowerCase()];
          if (actual === undefined) return false;
          if (op === 'ArnEquals' || op === 'StringEquals') return list(v).includes(actual);
          if (op === 'ArnLike' || op === 'StringLike') return list(v).some((p) => glob(p, actual));
          return false;
        }),
      );
    // The account-level policies, and the group's own (resource-scoped policies apply to AWS service
    // principals: PutResourcePolicy API reference).
    const own = this.groupPolicies.get(this.arn(group));
    for (const p of [...this.resourcePolicies.values(), ...(own ? [own] : [])]) {
      let doc: { Statement?: unknown };
      try {
        doc = JSON.parse(p.document);
      } catch {
        continue;
      }
      const stmts = (Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement]) as Record<string, any>[];
      for (const st of stmts) {
        if (st?.Effect !== 'Allow') continue;
        if (!list(st.Principal?.Service).includes(service) && st.Principal !== '*') continue;
        if (!list(st.Action).some((a) => glob(a, action))) continue;
        if (!list(st.Resource).some((r) => glob(r, target))) continue;
        if (conditionHolds(st.Condition)) return true;
      }
    }
    return false;
  }

  /**
   * What EventBridge does with an event for a log group target: create the stream (named after the
   * event id) and put the event JSON as one log event at the event's time, if the group exists and the
   * resource policies admit it (CreateLogStream and PutLogEvents both). Returns whether it was written.
   */
  deliverFromRule(groupArn: string, ruleArn: string, event: Record<string, unknown>): boolean {
    const g = [...this.groups.values()].find((x) => this.arn(x.name) === groupArn.replace(/:\*$/, ''));
    if (!g) return false;
    const stream = String(event.id ?? this.core.newId('event'));
    if (!this.admits('events.amazonaws.com', 'logs:CreateLogStream', g.name, stream, ruleArn)) return false;
    if (!this.admits('events.amazonaws.com', 'logs:PutLogEvents', g.name, stream, ruleArn)) return false;
    const timestamp = Date.parse(String(event.time ?? '')) || this.core.now();
    // An event older than the retention is dropped by CloudWatch as it would be on PutLogEvents.
    if (g.retentionInDays && timestamp < this.core.now() - g.retentionInDays * DAY) return false;
    if (!g.streams.has(stream)) g.streams.set(stream, { name: stream, createdAt: this.core.now(), events: [] });
    this.store(g.streams.get(stream)!, [{ timestamp, message: JSON.stringify(event) }]);
    return true;
  }

  /** Test helper: add events to a stream (created if needed) without logging a call. */
  addEvents(group: string, stream: string, events: { timestamp: number; message: string }[]): void {
    const g = this.groups.get(group);
    if (!g) throw new Error(`fake logs: no log group ${group}`);
    if (!g.streams.has(stream)) g.streams.set(stream, { name: stream, createdAt: this.core.now(), events: [] });
    this.store(g.streams.get(stream)!, events);
  }

  /** Test helper: events that appear in the stream when the clock reaches their timestamp. */
  schedule(group: string, stream: string, events: { timestamp: number; message: string }[]): void {
    this.scheduled.push(...events.map((e) => ({ group, stream, ...e })));
    this.due(undefined);
  }

  /** Store the scheduled events whose time has come (ingested at their own timestamp). Returns `i`. */
  private due<T>(i: T): T {
    const now = this.core.now();
    const ready = this.scheduled.filter((e) => e.timestamp <= now).sort((a, b) => a.timestamp - b.timestamp);
    if (!ready.length) return i;
    this.scheduled = this.scheduled.filter((e) => e.timestamp > now);
    for (const e of ready) {
      const g = this.groups.get(e.group);
      if (!g) continue;
      if (!g.streams.has(e.stream)) g.streams.set(e.stream, { name: e.stream, createdAt: e.timestamp, events: [] });
      const s = g.streams.get(e.stream)!;
      s.events.push({ timestamp: e.timestamp, message: e.message, ingestionTime: e.timestamp, seq: this.eventSeq++ });
      s.lastIngestionTime = e.timestamp;
    }
    return i;
  }

  /**
   * StartLiveTail: the response's `responseStream` is an async iterable, as the SDK returns it: a
   * sessionStart, then a sessionUpdate each interval (possibly empty) with the matching events ingested
   * since the last one (none before the session started), until the consumer stops iterating.
   */
  private startLiveTail(i: any) {
    if (!this.liveTailSupported) {
      awsError(
        'InternalFailure',
        "API action 'StartLiveTail' for service 'logs' not yet implemented or pro feature",
        501,
      );
    }
    const ids: string[] = i.logGroupIdentifiers ?? [];
    if (!ids.length || ids.length > 10)
      awsError(
        'InvalidParameterException',
        "1 validation error detected: Value at 'logGroupIdentifiers' failed to satisfy constraint: Member must have length between 1 and 10",
      );
    if (i.logStreamNames && i.logStreamNamePrefixes)
      awsError(
        'InvalidParameterException',
        'logStreamNames and logStreamNamePrefixes are mutually exclusive parameters.',
      );
    if ((i.logStreamNames || i.logStreamNamePrefixes) && ids.length > 1)
      awsError('InvalidParameterException', 'Log stream filters can be used only with a single log group.');
    const groups = ids.map((id) => {
      // Live Tail takes ARNs, and refuses the `:*` form DescribeLogGroups shows in `arn`.
      if (id.endsWith('*')) awsError('InvalidParameterException', `Invalid log group identifier: ${id}`);
      const g = [...this.groups.values()].find((x) => this.arn(x.name) === id || x.name === id);
      return g ?? awsError('ResourceNotFoundException', GROUP_MISSING);
    });
    const terms = patternTerms(i.logEventFilterPattern);
    const streamOk = (name: string) =>
      i.logStreamNames
        ? i.logStreamNames.includes(name)
        : i.logStreamNamePrefixes
          ? i.logStreamNamePrefixes.some((p: string) => name.startsWith(p))
          : true;
    this.due(undefined);
    let cursor = this.eventSeq;
    const self = this;
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    async function* stream(): AsyncGenerator<StartLiveTailResponseStream> {
      self.liveTailSessions += 1;
      try {
        yield {
          sessionStart: {
            requestId: 'fake',
            sessionId: self.core.newId('session'),
            logGroupIdentifiers: ids,
            logStreamNames: i.logStreamNames,
            logStreamNamePrefixes: i.logStreamNamePrefixes,
            logEventFilterPattern: i.logEventFilterPattern,
          },
        };
        for (;;) {
          await sleep(self.liveTailIntervalMs);
          self.due(undefined);
          const from = cursor;
          cursor = self.eventSeq;
          const results = groups
            .flatMap((g) =>
              [...g.streams.values()]
                .filter((s) => streamOk(s.name))
                .flatMap((s) => s.events.filter((e) => e.seq >= from).map((e) => ({ g, s, e }))),
            )
            .filter(({ e }) => terms.every((t) => e.message.includes(t)))
            .sort((a, b) => a.e.seq - b.e.seq)
            .map(({ g, s, e }) => ({
              logStreamName: s.name,
              logGroupIdentifier: self.arn(g.name),
              message: e.message,
              timestamp: e.timestamp,
              ingestionTime: e.ingestionTime,
            }));
          yield { sessionUpdate: { sessionMetadata: { sampled: false }, sessionResults: results } };
        }
      } finally {
        self.liveTailSessions -= 1;
      }
    }
    return { responseStream: stream() };
  }

  /**
   * What CloudWatch counts as stored: each event's UTF-8 message plus 26 bytes (AWS's per-event size for
   * ingestion and storage). AWS updates the figure with a delay; the fake counts at once.
   */
  storedBytes(g: FakeLogGroup): number {
    let n = 0;
    for (const s of g.streams.values()) for (const e of s.events) n += Buffer.byteLength(e.message, 'utf8') + 26;
    return n;
  }

  /** The group ARN without `:*`, the form the tagging APIs take. */
  arn(name: string): string {
    return `arn:${this.core.partition}:logs:${this.core.region}:${this.core.account}:log-group:${name}`;
  }

  private group(name: string | undefined): FakeLogGroup {
    const g = this.groups.get(name ?? '');
    if (!g) awsError('ResourceNotFoundException', GROUP_MISSING);
    return g;
  }

  private byArn(arn: string | undefined): FakeLogGroup {
    if (!arn?.startsWith(`arn:${this.core.partition}:logs:`)) awsError('InvalidParameterException', 'Invalid ARN');
    // The ARN DescribeLogGroups shows in `arn` (with `:*`) is not what the tagging APIs accept.
    if (arn.endsWith(':*')) awsError('InvalidParameterException', `Invalid resource ARN: ${arn}`);
    const g = [...this.groups.values()].find((x) => this.arn(x.name) === arn);
    if (!g) awsError('ResourceNotFoundException', GROUP_MISSING);
    return g;
  }

  private stream(g: FakeLogGroup, name: string | undefined): FakeStream {
    const s = g.streams.get(name ?? '');
    if (!s) awsError('ResourceNotFoundException', 'The specified log stream does not exist.');
    return s;
  }

  private offset(t: string | undefined): number {
    if (t === undefined) return 0;
    const n = Number(Buffer.from(t, 'base64url').toString('utf8'));
    if (!Number.isInteger(n) || n < 0) awsError('InvalidParameterException', 'The specified nextToken is invalid.');
    return n;
  }

  private store(s: FakeStream, events: { timestamp: number; message: string }[]): void {
    const now = this.core.now();
    for (const e of events)
      s.events.push({ timestamp: e.timestamp, message: e.message, ingestionTime: now, seq: this.eventSeq++ });
    s.events.sort((a, b) => a.timestamp - b.timestamp || a.seq - b.seq);
    s.lastIngestionTime = now;
  }

  private putEvents(i: any) {
    const g = this.group(i.logGroupName);
    const s = this.stream(g, i.logStreamName);
    const events: { timestamp: number; message: string }[] = [...(i.logEvents ?? [])].sort(
      (a, b) => a.timestamp - b.timestamp,
    );
    if (!events.length || events.length > 10_000)
      awsError(
        'InvalidParameterException',
        "1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length between 1 and 10000",
      );
    if (events.at(-1)!.timestamp - events[0]!.timestamp > DAY)
      awsError(
        'InvalidParameterException',
        'The batch of log events in a single PutLogEvents request cannot span more than 24 hours.',
      );
    const now = this.core.now();
    const tooOld = events.filter((e) => e.timestamp < now - 14 * DAY).length;
    const expired = g.retentionInDays ? events.filter((e) => e.timestamp < now - g.retentionInDays! * DAY).length : 0;
    const firstNew = events.findIndex((e) => e.timestamp > now + 2 * 3600_000);
    const accepted = events.filter((e, n) => n >= Math.max(tooOld, expired) && (firstNew < 0 || n < firstNew));
    this.store(s, accepted);
    const rejected = {
      ...(tooOld ? { tooOldLogEventEndIndex: tooOld } : {}),
      ...(expired ? { expiredLogEventEndIndex: expired } : {}),
      ...(firstNew >= 0 ? { tooNewLogEventStartIndex: firstNew } : {}),
    };
    return {
      nextSequenceToken: String(s.events.length).padStart(56, '0'),
      ...(Object.keys(rejected).length ? { rejectedLogEventsInfo: rejected } : {}),
    };
  }

  /**
   * GetLogEvents pages with `f/<n>` and `b/<n>` tokens. Reading forward past the end returns the token
   * it was given, which is how callers know they have caught up.
   */
  private getEvents(i: any) {
    const s = this.stream(this.group(i.logGroupName ?? i.logGroupIdentifier), i.logStreamName);
    const limit = Math.min(i.limit ?? 10_000, 10_000);
    const evs = s.events.filter(
      (e) =>
        (i.startTime === undefined || e.timestamp >= i.startTime) &&
        (i.endTime === undefined || e.timestamp < i.endTime),
    );
    let from: number;
    let to: number;
    const t: string | undefined = i.nextToken;
    if (t !== undefined && !/^[fb]\/\d+$/.test(t))
      awsError('InvalidParameterException', 'The specified nextToken is invalid.');
    const n = t ? Math.min(Number(t.slice(2)), evs.length) : 0;
    if (t?.startsWith('f/') || (!t && i.startFromHead)) {
      from = n;
      to = Math.min(evs.length, from + limit);
    } else {
      to = t ? n : evs.length;
      from = Math.max(0, to - limit);
    }
    const fmt = (p: 'f' | 'b', k: number) => `${p}/${String(k).padStart(56, '0')}`;
    return {
      events: evs
        .slice(from, to)
        .map(({ timestamp, message, ingestionTime }) => ({ timestamp, message, ingestionTime })),
      nextForwardToken: fmt('f', to),
      nextBackwardToken: fmt('b', from),
    };
  }

  private filterEvents(i: any) {
    const g = this.group(i.logGroupName ?? i.logGroupIdentifier);
    if (i.logStreamNames && i.logStreamNamePrefix)
      awsError(
        'InvalidParameterException',
        'logStreamNames and logStreamNamePrefix are mutually exclusive parameters.',
      );
    const names: string[] | undefined = i.logStreamNames;
    const streams = [...g.streams.values()].filter((s) =>
      names ? names.includes(s.name) : s.name.startsWith(i.logStreamNamePrefix ?? ''),
    );
    const terms = patternTerms(i.filterPattern);
    const all = streams
      .flatMap((s) => s.events.map((e) => ({ s, e })))
      .filter(
        ({ e }) =>
          (i.startTime === undefined || e.timestamp >= i.startTime) &&
          (i.endTime === undefined || e.timestamp <= i.endTime),
      )
      .filter(({ e }) => terms.every((term) => e.message.includes(term)))
      .sort((a, b) => a.e.timestamp - b.e.timestamp || a.e.seq - b.e.seq);
    const limit = Math.min(i.limit ?? this.filterPageLimit, 10_000);
    const start = this.offset(i.nextToken);
    const page = all.slice(start, start + limit);
    return {
      events: page.map(({ s, e }) => ({
        logStreamName: s.name,
        timestamp: e.timestamp,
        message: e.message,
        ingestionTime: e.ingestionTime,
        eventId: String(e.seq).padStart(56, '0'),
      })),
      searchedLogStreams: streams.map((s) => ({ logStreamName: s.name, searchedCompletely: true })),
      ...(start + limit < all.length ? { nextToken: token(start + limit) } : {}),
    };
  }

  private describeStreams(i: any) {
    const g = this.group(i.logGroupName ?? i.logGroupIdentifier);
    if (i.orderBy === 'LastEventTime' && i.logStreamNamePrefix)
      awsError('InvalidParameterException', 'Cannot order by LastEventTime with a logStreamNamePrefix.');
    const limit = i.limit ?? 50;
    if (limit < 1 || limit > 50)
      awsError(
        'InvalidParameterException',
        `1 validation error detected: Value '${limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50`,
      );
    const last = (s: FakeStream) => s.events.at(-1)?.timestamp ?? 0;
    const all = [...g.streams.values()]
      .filter((s) => s.name.startsWith(i.logStreamNamePrefix ?? ''))
      .sort((a, b) =>
        i.orderBy === 'LastEventTime' ? last(a) - last(b) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
      );
    if (i.descending) all.reverse();
    const start = this.offset(i.nextToken);
    const page = all.slice(start, start + limit);
    return {
      logStreams: page.map((s) => ({
        logStreamName: s.name,
        creationTime: s.createdAt,
        ...(s.events.length
          ? {
              firstEventTimestamp: s.events[0]!.timestamp,
              lastEventTimestamp: last(s),
              lastIngestionTime: s.lastIngestionTime,
            }
          : {}),
        arn: `${this.arn(g.name)}:log-stream:${s.name}`,
        storedBytes: 0,
      })),
      ...(start + limit < all.length ? { nextToken: token(start + limit) } : {}),
    };
  }

  inventory(): InventoryEntry[] {
    return [
      ...[...this.groups.values()].map((g) => ({
        type: 'logs.log-group',
        key: g.tags['batchctl:logical'] ?? g.name,
        settings: { name: g.name, retentionInDays: g.retentionInDays ?? null, tags: g.tags },
      })),
      ...[...this.resourcePolicies.values()].map((p) => ({
        type: 'logs.resource-policy',
        key: p.name,
        settings: { name: p.name, document: JSON.parse(p.document) },
      })),
    ];
  }
}

const token = (n: number) => Buffer.from(String(n), 'utf8').toString('base64url');

/**
 * The subset of the filter pattern syntax the fake understands: space-separated terms and
 * "quoted phrases", all of which must occur (case-sensitive), as in CloudWatch Logs.
 */
function patternTerms(pattern: string | undefined): string[] {
  if (!pattern?.trim()) return [];
  return [...pattern.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}
