/**
 * The stateful in-memory fake of every AWS API batchctl uses. `createFakeAws()` builds all service
 * fakes on one core (one call log, one id space) and installs them into the SDK clients.
 */
import { FakeAwsCore } from './core.js';
import { FakeSts } from './sts.js';
import { FakeEc2 } from './ec2.js';
import { FakeS3 } from './s3.js';
import { FakeSecretsManager } from './secrets-manager.js';
import { FakeEcr } from './ecr.js';
import { FakeLogs } from './logs.js';
import { FakeIam } from './iam.js';
import { FakeEcs } from './ecs.js';
import { FakeEventBridge } from './eventbridge.js';
import { FakeScheduler } from './scheduler.js';
import { FakeSqs } from './sqs.js';
import { FakeSns } from './sns.js';
import { FakeSfn } from './sfn.js';
import { FakeCloudWatch } from './cloudwatch.js';
import { FakeSsm } from './ssm.js';
import { FakeKms } from './kms.js';

export * from './core.js';

/** One entry of a service's inventory: stable across runs that converge to the same stack. */
export interface InventoryEntry {
  /** e.g. `ec2.vpc`. */
  type: string;
  /** The resource's `batchctl:logical` tag, or its name. */
  key: string;
  /** Its settings, with references to other resources written as `<their key>`. */
  settings: Record<string, unknown>;
}

export interface FakeAws {
  core: FakeAwsCore;
  sts: FakeSts;
  ec2: FakeEc2;
  s3: FakeS3;
  secretsManager: FakeSecretsManager;
  ecr: FakeEcr;
  logs: FakeLogs;
  iam: FakeIam;
  ecs: FakeEcs;
  eventBridge: FakeEventBridge;
  scheduler: FakeScheduler;
  sqs: FakeSqs;
  sns: FakeSns;
  sfn: FakeSfn;
  cloudwatch: FakeCloudWatch;
  /** SSM Parameter Store (the stack's lock, job secrets). */
  ssm: FakeSsm;
  /** KMS keys and aliases (no API: who may decrypt a secret). */
  kms: FakeKms;
  /** Everything the fake holds, sorted: compare two of these to compare two stacks. */
  inventory(): InventoryEntry[];
  uninstall(): void;
}

export function createFakeAws(opts: { account?: string; region?: string; install?: boolean } = {}): FakeAws {
  const core = new FakeAwsCore(opts);
  const fake: FakeAws = {
    core,
    sts: new FakeSts(core),
    ec2: new FakeEc2(core),
    s3: new FakeS3(core),
    secretsManager: new FakeSecretsManager(core),
    ecr: new FakeEcr(core),
    logs: new FakeLogs(core),
    iam: new FakeIam(core),
    ecs: new FakeEcs(core),
    eventBridge: new FakeEventBridge(core),
    scheduler: new FakeScheduler(core),
    sqs: new FakeSqs(core),
    sns: new FakeSns(core),
    // After ECS and IAM: an execution runs tasks on the ECS fake as its role.
    sfn: new FakeSfn(core),
    cloudwatch: new FakeCloudWatch(core),
    ssm: new FakeSsm(core),
    kms: new FakeKms(core),
    inventory() {
      const all = [
        ...fake.ec2.inventory(),
        ...fake.s3.inventory(),
        ...fake.secretsManager.inventory(),
        ...fake.ecr.inventory(),
        ...fake.logs.inventory(),
        ...fake.iam.inventory(),
        ...fake.ecs.inventory(),
        ...fake.eventBridge.inventory(),
        ...fake.scheduler.inventory(),
        ...fake.sqs.inventory(),
        ...fake.sns.inventory(),
        ...fake.sfn.inventory(),
        ...fake.cloudwatch.inventory(),
        ...fake.ssm.inventory(),
      ];
      return all.sort((a, b) => (a.type + a.key).localeCompare(b.type + b.key));
    },
    uninstall: () => core.uninstall(),
  };
  if (opts.install !== false) core.install();
  return fake;
}
