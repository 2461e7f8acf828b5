import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { FakeAwsCore } from './core.js';

/** STS: who am I. */
export class FakeSts {
  constructor(core: FakeAwsCore) {
    core.register({
      name: 'sts',
      client: STSClient,
      ops: {
        GetCallerIdentity: {
          command: GetCallerIdentityCommand,
          handle: () => ({
            Account: core.account,
            Arn: `arn:${core.partition}:iam::${core.account}:user/tester`,
            UserId: 'AIDAFAKE',
          }),
        },
      },
    });
  }
}
