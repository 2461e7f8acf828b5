/**
 * The core of the stateful in-memory fake of the AWS APIs batchctl uses. Service fakes (ec2.ts, s3.ts,
 * ...) register operation handlers here; `install()` wires them into the real SDK client classes through
 * aws-sdk-client-mock, so the code under test builds its clients as usual and sends real Command objects.
 *
 * What the core gives every service: a call log (every call counted, mutating or not), injected latency,
 * injected failures (an AWS error, a simulated process crash right after a mutation is applied, or a
 * response lost after the call was applied), throttling, and AWS-shaped errors.
 *
 * Where the SDK's retries happen: aws-sdk-client-mock replaces `Client.prototype.send`, so the whole
 * middleware stack (serializers, the retry middleware, idempotency-token auto-fill) never runs. An
 * injected AWS error therefore reaches the caller as the SDK's *final* answer. A lost response is the
 * one case where the SDK's own retry matters (it resends a call that was applied), so the core models
 * it: it reads the calling client's `maxAttempts` and sends the same input again, as the standard retry
 * mode does for a transport error or a 5xx. A client built with `maxAttempts: 1` sees the loss itself.
 * Throttling (`enableThrottling`, throttling.ts) is retried the same way, by the calling client's own
 * retry strategy: its attempts, its backoff with jitter, its retry quota, exactly as the SDK would.
 */
import { mockClient, type AwsStub } from 'aws-sdk-client-mock';
import { isThrottlingError, isTransientError } from '@smithy/core/retry';
import { Throttler, retriedBySdk, type ServiceThrottling } from './throttling.js';

/** An error shaped like the SDK's ServiceException: `name` is the AWS error code. */
export class FakeAwsError extends Error {
  readonly $fault: 'client' | 'server';
  readonly $metadata: { httpStatusCode: number; requestId: string; attempts: number };
  readonly Code: string;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.name = code;
    this.Code = code;
    this.$fault = status >= 500 ? 'server' : 'client';
    this.$metadata = { httpStatusCode: status, requestId: 'fake-request', attempts: 1 };
  }
}

/** Throw an AWS error with this code. */
export function awsError(code: string, message: string, status = 400): never {
  throw new FakeAwsError(code, message, status);
}

/** Thrown by an injected crash: the mutation WAS applied, then "the process died". */
export class SimulatedCrash extends Error {
  override name = 'SimulatedCrash';
  constructor(readonly call: CallRecord) {
    super(`simulated crash after ${call.service}:${call.op}`);
  }
}

/** One call the fake received. */
export interface CallRecord {
  seq: number;
  service: string;
  op: string;
  input: any;
  mutating: boolean;
  /** Index among mutating calls only (0-based), when mutating (the stack lock's calls excepted). */
  mutatingSeq?: number;
  /**
   * A call on the stack's lock (the Parameter Store parameter `/batchctl/<stack>/lock`): bookkeeping every
   * changing command does, not a change to the stack. `count({ mutating })`, `mutatingCalls()` and
   * `mutatingSeq` leave these out (ask with `{ lock: true }`); `calls` has them all. The lock's own tests
   * lose and fail these calls on purpose.
   */
  lock?: boolean;
  /** The AWS error code returned, when the call failed. */
  error?: string;
  /** Who sent it, when the fake is served to several processes (their pid). */
  client?: string;
  /** 1 for the caller's call; 2, 3... for the SDK's own retries of it (modelled for lost responses). */
  attempt: number;
  /** The call was applied, then its response was lost. */
  lost?: boolean;
  /** When the call arrived and when it was answered (performance.now(), or the faked Date.now() under fake timers). */
  startedAt: number;
  endedAt?: number;
}

/**
 * Sequential round trips: the longest run of calls each sent after the previous one was answered (none
 * overlapping). At a fixed latency per call this is what the latency alone costs a command, however many
 * calls run side by side. Greedy by answer time, which finds the longest such run.
 */
export function sequentialRoundTrips(calls: readonly CallRecord[]): number {
  let last = -Infinity;
  let n = 0;
  for (const c of [...calls].filter((x) => x.endedAt !== undefined).sort((a, b) => a.endedAt! - b.endedAt!)) {
    if (c.startedAt >= last) {
      n += 1;
      last = c.endedAt!;
    }
  }
  return n;
}

/** One operation of a service. */
export interface OpDef {
  /** The SDK Command class, e.g. CreateVpcCommand. */
  command: new (input: any) => any;
  handle: (input: any) => any | Promise<any>;
  /** Defaults to a guess from the name (Create/Delete/Put/Modify/... mutate; Describe/Get/List/Head read). */
  mutating?: boolean;
}

/** A service's operations and the SDK client class they belong to. */
export interface ServiceDef {
  name: string;
  client: new (config: any) => any;
  ops: Record<string, OpDef>;
  /** True for a call on the stack's lock (see CallRecord.lock). */
  isLockCall?: (op: string, input: any) => boolean;
}

/** A failure to inject. */
export interface Injection {
  /** Which calls it applies to. */
  match: (call: CallRecord) => boolean;
  /**
   * `crash`: apply the call, then throw SimulatedCrash. `lost`: apply the call, then lose its response
   * (the SDK sees a transport error, or a 5xx with `status`, and retries it if its client allows).
   * `error`: throw this AWS error instead of applying.
   */
  kind: 'error' | 'crash' | 'lost';
  code?: string;
  message?: string;
  status?: number;
  /** How many matching calls it affects (default 1). */
  times: number;
  /** Called at the moment of a crash (tests snapshot the state file here). */
  onCrash?: (call: CallRecord) => void;
  /** The SDK retries this error as its retry strategy says (throttling); else it is the SDK's final answer. */
  sdkRetries?: boolean;
}

/**
 * What the SDK sees when a response is lost: the socket was reset after the request was sent (a plain
 * Node error with `code`, no HTTP status), or a 5xx from a proxy. Both are transient for the standard
 * retry mode.
 */
export function lostResponseError(call: CallRecord, status?: number): Error {
  if (status) return new FakeAwsError('InternalError', `response of ${call.op} lost (injected ${status})`, status);
  return Object.assign(new Error(`socket hang up (response of ${call.op} lost)`), {
    code: 'ECONNRESET',
    $metadata: {},
  });
}

/** Thrown inside the core when a response is lost: the SDK model decides whether to resend. */
class LostResponse extends Error {
  constructor(readonly sdkError: Error) {
    super(sdkError.message);
  }
}

/** What the caller sees of a call whose response the core lost (see `invoke`), or undefined for any other error. */
export function lostAnswer(err: unknown): Error | undefined {
  return err instanceof LostResponse ? err.sdkError : undefined;
}

const READ_PREFIX = /^(Describe|Get|List|Head|Lookup|Filter|Search|Batch(Get|Check)|Validate|Test)/;

export class FakeAwsCore {
  readonly account: string;
  readonly region: string;
  /** The partition of the region, as STS ARNs show it (`aws-cn` in the China regions). */
  readonly partition: string;
  /** Every call, in order. */
  readonly calls: CallRecord[] = [];
  /** Latency added to every call, in ms (benchmarks). Uses setTimeout, so fake timers drive it. */
  latencyMs = 0;
  /** AWS's throttling of mutating calls, once enabled (off by default: most tests are about other things). */
  throttler?: Throttler;
  private injections: Injection[] = [];
  private stubs: AwsStub<any, any, any>[] = [];
  private services: ServiceDef[] = [];
  private mutatingCount = 0;
  private idCounter = 0;

  constructor(opts: { account?: string; region?: string } = {}) {
    this.account = opts.account ?? '123456789012';
    this.region = opts.region ?? 'ap-northeast-1';
    this.partition = this.region.startsWith('cn-')
      ? 'aws-cn'
      : this.region.startsWith('us-gov-')
        ? 'aws-us-gov'
        : 'aws';
  }

  /**
   * Called with every call before the fake handles it, with the client that sent it and the command
   * (test/helpers/wire.ts sends it over real HTTP here). A rejection fails the call.
   */
  beforeCall?: (client: any, command: unknown) => Promise<void>;

  /** Register a service's operations (done by each service fake's constructor). */
  register(def: ServiceDef): void {
    this.services.push(def);
  }

  /** Wire every registered service into the SDK clients. Call `uninstall()` (or vitest's restore) after. */
  install(): this {
    for (const svc of this.services) {
      const stub = mockClient(svc.client);
      // An operation the fake does not model must fail loudly, never return undefined. Registered first:
      // with equally specific matchers sinon uses the last one defined, so the modelled commands win.
      stub.onAnyCommand().callsFake((input: unknown) => {
        throw new Error(`fake AWS: ${svc.name} has no model for this command (input ${JSON.stringify(input)})`);
      });
      for (const [op, def] of Object.entries(svc.ops)) {
        const mutating = def.mutating ?? !READ_PREFIX.test(op);
        stub.on(def.command).callsFake((input: any, getClient: () => any) => {
          const send = () => this.send(svc.name, op, mutating, input, def.handle, getClient);
          // No hook, no extra turn of the event loop: call timing is what the throttling tests measure.
          return this.beforeCall ? this.beforeCall(getClient(), new def.command(input)).then(send) : send();
        });
      }
      this.stubs.push(stub);
    }
    return this;
  }

  /**
   * Wire every registered service into the SDK clients of this process, but send each call to `send`
   * (a fake in another process, see http.ts) instead of handling it here.
   */
  installRemote(send: (service: string, op: string, input: unknown) => Promise<unknown>): this {
    for (const svc of this.services) {
      const stub = mockClient(svc.client);
      stub.onAnyCommand().callsFake((input: unknown) => {
        throw new Error(`fake AWS: ${svc.name} has no model for this command (input ${JSON.stringify(input)})`);
      });
      for (const op of Object.keys(svc.ops)) {
        stub
          .on(svc.ops[op]!.command)
          .callsFake((input: unknown, getClient: () => any) =>
            withSdkRetries(getClient, () => send(svc.name, op, input)),
          );
      }
      this.stubs.push(stub);
    }
    return this;
  }

  /**
   * Handle one call by service and operation name, as if an SDK client in this process had sent it. A
   * response lost by an injection rejects with an error `lostAnswer` recognises: the caller loses it.
   */
  invoke(service: string, op: string, input: any, client?: string): Promise<unknown> {
    const def = this.services.find((s) => s.name === service)?.ops[op];
    if (!def) return Promise.reject(new Error(`fake AWS: ${service} has no model for ${op}`));
    return this.dispatch(service, op, def.mutating ?? !READ_PREFIX.test(op), input, def.handle, 1, client);
  }

  uninstall(): void {
    for (const s of this.stubs) s.restore();
    this.stubs = [];
  }

  /**
   * Called with every call before it is handled, while what it targets is still there (the policy test
   * evaluates each call against the printed IAM policy here). An observer that throws fails the call.
   */
  readonly observers: ((call: CallRecord) => void)[] = [];

  /**
   * Run before each call is handled: what happens in AWS on its own as time passes (ECS putting a stopped
   * task's event on the bus) is applied lazily, on the next call that could see it.
   */
  readonly tickers: (() => void)[] = [];

  private labels = new Map<string, string>();
  /** Service fakes by name, for the few cross-service checks (e.g. ECS asking IAM whether a role has propagated). */
  readonly peers = new Map<string, unknown>();

  /**
   * Remember a stable label for a generated id (the resource's `batchctl:logical` tag or its name), so
   * inventories can refer to other resources without run-specific ids: two runs that converge to the
   * same stack produce equal inventories.
   */
  label(id: string, stable: string): void {
    this.labels.set(id, stable);
  }

  /** The stable label of an id (or ARN) if one was registered, else the id itself. */
  ref(id: string | undefined): string | undefined {
    if (id === undefined) return undefined;
    return this.labels.get(id) ? `<${this.labels.get(id)}>` : id;
  }

  /** A fresh id such as `vpc-0000000000000001`, unique within this fake. */
  newId(prefix: string, hexLen = 17): string {
    this.idCounter += 1;
    return `${prefix}-${this.idCounter.toString(16).padStart(hexLen, '0')}`;
  }

  /** Now, per the (possibly faked) global clock. */
  now(): number {
    return Date.now();
  }

  /** Inject a failure. Returns the injection so a test can inspect how often it fired. */
  inject(inj: Partial<Injection> & Pick<Injection, 'match' | 'kind'>): Injection {
    const full: Injection = { times: 1, ...inj };
    this.injections.push(full);
    return full;
  }

  /** Fail the next `times` calls of `op` (e.g. 'CreateVpc') with the AWS error `code`. */
  failOn(op: string, code = 'InternalError', times = 1, message = 'injected failure'): Injection {
    return this.inject({
      kind: 'error',
      match: (c) => c.op === op,
      code,
      message,
      times,
      status: code === 'InternalError' ? 500 : 400,
    });
  }

  /**
   * Throttle mutating calls as AWS does: per-service token buckets, each service's own error, retried
   * by the calling client's retry strategy (see send).
   */
  enableThrottling(model?: Record<string, ServiceThrottling>): Throttler {
    this.throttler = new Throttler(model, () => this.now());
    return this.throttler;
  }

  /** Throttle the next `times` calls of `op` (or of every op, with '*'). */
  throttle(op: string, times = 1): Injection {
    return this.inject({
      kind: 'error',
      times,
      status: 400,
      message: 'Rate exceeded',
      sdkRetries: true,
      match: (c) => op === '*' || c.op === op,
      code: 'ThrottlingException',
    });
  }

  /**
   * Apply the next `times` calls of `op` (or matching `match`), then lose their responses. `status`
   * makes the loss a 5xx instead of a reset connection.
   */
  loseResponse(op: string | ((c: CallRecord) => boolean), opts: { times?: number; status?: number } = {}): Injection {
    const match = typeof op === 'string' ? (c: CallRecord) => c.op === op : op;
    return this.inject({ kind: 'lost', match, times: opts.times ?? 1, status: opts.status });
  }

  /** Calls so far, optionally only mutating ones or one service's. */
  count(filter: { mutating?: boolean; service?: string; op?: string; lock?: boolean } = {}): number {
    return this.calls.filter(
      (c) =>
        (filter.mutating === undefined || (c.mutating === filter.mutating && (!c.lock || !!filter.lock))) &&
        (filter.lock === undefined || !!c.lock === filter.lock) &&
        (filter.service === undefined || c.service === filter.service) &&
        (filter.op === undefined || c.op === filter.op),
    ).length;
  }

  /** The calls that change the account's resources (the stack lock's left out: see CallRecord.lock). */
  mutatingCalls(): CallRecord[] {
    return this.calls.filter((c) => c.mutating && !c.lock);
  }

  /** The calls on the stack's lock. */
  lockCalls(): CallRecord[] {
    return this.calls.filter((c) => c.lock);
  }

  /** Forget the call log (keep resources). */
  resetCalls(): void {
    this.calls.length = 0;
    this.mutatingCount = 0;
  }

  /**
   * One `send` of the SDK: a dispatch, and the SDK's own resends while a response is lost and the client
   * has attempts left (standard retry mode resends transport errors and 5xx with the same input).
   */
  private async send(
    service: string,
    op: string,
    mutating: boolean,
    input: any,
    handle: OpDef['handle'],
    getClient: () => any,
  ): Promise<unknown> {
    let attempt = 0;
    return withSdkRetries(getClient, async () => {
      for (;;) {
        try {
          return await this.dispatch(service, op, mutating, input, handle, ++attempt);
        } catch (err) {
          if (!(err instanceof LostResponse)) throw err;
          if (attempt >= (await maxAttemptsOf(getClient))) throw err.sdkError;
        }
      }
    });
  }

  private async dispatch(
    service: string,
    op: string,
    mutating: boolean,
    input: any,
    handle: OpDef['handle'],
    attempt = 1,
    client?: string,
  ): Promise<unknown> {
    const lock = this.services.find((x) => x.name === service)?.isLockCall?.(op, input) ?? false;
    const call: CallRecord = {
      seq: this.calls.length,
      service,
      op,
      input: structuredCloneSafe(input),
      mutating,
      attempt,
      startedAt: this.now(),
      ...(client ? { client } : {}),
      ...(lock ? { lock } : {}),
    };
    if (mutating && !lock) call.mutatingSeq = this.mutatingCount++;
    this.calls.push(call);
    try {
      return await this.apply(call, input, handle);
    } finally {
      call.endedAt = this.now();
    }
  }

  private async apply(call: CallRecord, input: any, handle: OpDef['handle']): Promise<unknown> {
    const { service, op, mutating } = call;
    // Throttled on arrival: refused before anything is applied (and before any latency).
    const limited = mutating ? this.throttler?.check(service, op) : undefined;
    if (limited) {
      call.error = limited.code;
      throw retriedBySdk(new FakeAwsError(limited.code, limited.message, limited.status));
    }
    for (const o of this.observers) o(call);
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    const inj = this.injections.find((i) => i.times > 0 && i.match(call));
    if (inj && inj.kind === 'error') {
      inj.times -= 1;
      call.error = inj.code ?? 'InternalError';
      const e = new FakeAwsError(call.error, inj.message ?? 'injected failure', inj.status ?? 500);
      throw inj.sdkRetries ? retriedBySdk(e) : e;
    }
    for (const t of this.tickers) t();
    try {
      const out = await handle(input);
      if (inj && inj.kind === 'crash') {
        inj.times -= 1;
        inj.onCrash?.(call);
        throw new SimulatedCrash(call);
      }
      if (inj && inj.kind === 'lost') {
        inj.times -= 1;
        call.lost = true;
        throw new LostResponse(lostResponseError(call, inj.status));
      }
      // The SDK returns fresh objects; never hand out references into the fake's state.
      return { $metadata: { httpStatusCode: 200, requestId: 'fake' }, ...structuredCloneSafe(out ?? {}) };
    } catch (err) {
      if (!call.error && !(err instanceof LostResponse)) call.error = (err as Error).name;
      throw err;
    }
  }
}

/**
 * What the SDK's retry middleware does around a call, for the errors the fake marks as the SDK's to
 * retry (throttling): classify the error, let the calling client's own strategy decide (it refuses past
 * maxAttempts or when its retry quota is spent) and wait (its backoff with jitter), and send again.
 */
async function withSdkRetries(getClient: () => any, call: () => Promise<unknown>): Promise<unknown> {
  let retry: { strategy: RetryStrategy; token: unknown } | undefined;
  for (;;) {
    try {
      const out = await call();
      if (retry) retry.strategy.recordSuccess(retry.token);
      return out;
    } catch (err) {
      if (!(err instanceof FakeAwsError) || !(err as { sdkRetries?: boolean }).sdkRetries) throw err;
      const strategy = retry?.strategy ?? (await retryStrategyOf(getClient));
      if (!strategy) throw err;
      const token = retry?.token ?? (await strategy.acquireInitialRetryToken(''));
      const errorType = isThrottlingError(err as never)
        ? 'THROTTLING'
        : isTransientError(err as never)
          ? 'TRANSIENT'
          : 'CLIENT_ERROR';
      try {
        retry = { strategy, token: await strategy.refreshRetryTokenForRetry(token, { errorType, error: err }) };
      } catch {
        throw err;
      }
    }
  }
}

/** The part of the SDK's retry strategy (RetryStrategyV2) the retry middleware drives. */
interface RetryStrategy {
  acquireInitialRetryToken(scope: string): Promise<unknown>;
  refreshRetryTokenForRetry(token: unknown, info: { errorType: string; error: unknown }): Promise<unknown>;
  recordSuccess(token: unknown): void;
}

/** The calling client's retry strategy (its config's provider), or undefined for a client without one. */
async function retryStrategyOf(getClient: () => any): Promise<RetryStrategy | undefined> {
  try {
    const provider = getClient()?.config?.retryStrategy;
    const s = typeof provider === 'function' ? await provider() : provider;
    return s && typeof s.refreshRetryTokenForRetry === 'function' ? s : undefined;
  } catch {
    return undefined;
  }
}

/** The attempts the calling client's retry strategy allows (the SDK default is 3). */
async function maxAttemptsOf(getClient: () => any): Promise<number> {
  try {
    const v = getClient()?.config?.maxAttempts;
    const n = typeof v === 'function' ? await v() : v;
    return typeof n === 'number' && n > 0 ? n : 3;
  } catch {
    return 3;
  }
}

function structuredCloneSafe<T>(v: T): T {
  if (v === undefined || v === null) return v;
  try {
    return structuredClone(v);
  } catch {
    return v;
  }
}

/** Matches a tag filter list (EC2 style) against a resource's tags. */
export function tagsToRecord(tags: { Key?: string; Value?: string }[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

export function recordToTags(tags: Record<string, string>): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}
