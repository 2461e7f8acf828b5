/**
 * Fake Systems Manager Parameter Store: the parameters batchctl uses for its stack lock. Models what the
 * lock relies on, with AWS's error codes (SSM API reference, PutParameter / GetParameter / DeleteParameter):
 * - PutParameter with Overwrite false (the default) on an existing name: ParameterAlreadyExists (400).
 *   Two puts on one name in flight at once (`concurrentPutMs` > 0): the second gets TooManyUpdates (400),
 *   "There are concurrent updates for a resource that supports one update at a time".
 * - Tags together with Overwrite true: ValidationException (tags are set at creation only; AWS's message).
 * - Names: `a-zA-Z0-9_.-/`, not beginning with `aws` or `ssm` (any case, after a leading `/`), at most 15
 *   levels; a standard parameter's value at most 4 KB.
 * - GetParameter / DeleteParameter of a missing name: ParameterNotFound (400).
 * - Versions count up per name and restart when the parameter is deleted and created again.
 */
import {
  SSMClient, PutParameterCommand, GetParameterCommand, DeleteParameterCommand, ListTagsForResourceCommand,
} from '@aws-sdk/client-ssm';
import { awsError, recordToTags, tagsToRecord, type FakeAwsCore } from './core.js';
import type { InventoryEntry } from './index.js';

export interface FakeParameter {
  name: string;
  value: string;
  type: string;
  tier: 'Standard' | 'Advanced';
  version: number;
  tags: Record<string, string>;
  lastModified: Date;
}

const NAME = /^[a-zA-Z0-9_.\-/]+$/;

export class FakeSsm {
  readonly parameters = new Map<string, FakeParameter>();
  /** How long a PutParameter stays in flight (0: applied at once). A second put on the name meanwhile: TooManyUpdates. */
  concurrentPutMs = 0;
  /** The account's default parameter tier (Parameter Store settings): applies when a put names no tier. */
  defaultTier: 'Standard' | 'Advanced' = 'Standard';
  private readonly inFlight = new Set<string>();

  constructor(private readonly core: FakeAwsCore) {
    core.peers.set('ssm', this);
    core.register({
      name: 'ssm',
      client: SSMClient,
      isLockCall: (_op, input) => /^\/batchctl\/[^/]+\/lock$/.test(String(input?.Name ?? input?.ResourceId ?? '')),
      ops: {
        PutParameter: { command: PutParameterCommand, handle: (i) => this.put(i) },
        GetParameter: {
          command: GetParameterCommand,
          handle: (i) => {
            const p = this.parameters.get(i.Name);
            if (!p) awsError('ParameterNotFound', 'Parameter not found.');
            return {
              Parameter: {
                Name: p.name, Type: p.type, Value: p.value, Version: p.version, LastModifiedDate: p.lastModified,
                ARN: this.arn(p.name), DataType: 'text',
              },
            };
          },
        },
        DeleteParameter: {
          command: DeleteParameterCommand,
          handle: (i) => {
            if (!this.parameters.delete(i.Name)) awsError('ParameterNotFound', 'Parameter not found.');
            return {};
          },
        },
        ListTagsForResource: {
          command: ListTagsForResourceCommand,
          handle: (i) => {
            if (i.ResourceType !== 'Parameter') awsError('InvalidResourceType', 'The resource type is not valid.');
            const p = this.parameters.get(i.ResourceId);
            if (!p) awsError('InvalidResourceId', 'The resource ID is not valid.');
            return { TagList: recordToTags(p.tags) };
          },
        },
      },
    });
  }

  /** `arn:<partition>:ssm:<region>:<account>:parameter/<name without its leading slash>`. */
  arn(name: string): string {
    return `arn:${this.core.partition}:ssm:${this.core.region}:${this.core.account}:parameter/${name.replace(/^\//, '')}`;
  }

  /** Test helper: a parameter put without a logged call. */
  addParameter(name: string, value: string, tags: Record<string, string> = {}): void {
    this.parameters.set(name, { name, value, type: 'String', tier: 'Standard', version: 1, tags, lastModified: new Date(this.core.now()) });
  }

  private async put(i: any) {
    const name: string = i.Name ?? '';
    const bare = name.replace(/^\//, '');
    if (!name || !NAME.test(name) || /^(aws|ssm)/i.test(bare) || name.split('/').length - 1 > 15 || name.length > 1011) {
      awsError('ValidationException', `Parameter name: can't be prefixed with "aws" or "ssm" (case-insensitive), and may only contain a-zA-Z0-9_.-/ (${name})`);
    }
    if (typeof i.Value !== 'string' || !i.Value.length) awsError('ValidationException', 'Value must not be empty');
    if (i.Tags?.length && i.Overwrite) {
      awsError(
        'ValidationException',
        "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. "
          + 'To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.',
      );
    }
    const tier: 'Standard' | 'Advanced' = i.Tier === 'Advanced' ? 'Advanced' : i.Tier === 'Standard' ? 'Standard' : this.defaultTier;
    if (tier === 'Standard' && Buffer.byteLength(i.Value, 'utf8') > 4096) {
      awsError('ValidationException', 'Standard tier parameters support a maximum parameter value of 4096 characters.');
    }
    if (this.concurrentPutMs > 0) {
      if (this.inFlight.has(name)) awsError('TooManyUpdates', 'There are concurrent updates for a resource that supports one update at a time.');
      this.inFlight.add(name);
      try {
        await new Promise((r) => setTimeout(r, this.concurrentPutMs));
      } finally {
        this.inFlight.delete(name);
      }
    }
    const prior = this.parameters.get(name);
    if (prior && !i.Overwrite) awsError('ParameterAlreadyExists', 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.');
    const p: FakeParameter = {
      name, value: i.Value, type: i.Type ?? prior?.type ?? 'String', tier, version: (prior?.version ?? 0) + 1,
      tags: prior?.tags ?? tagsToRecord(i.Tags), lastModified: new Date(this.core.now()),
    };
    this.parameters.set(name, p);
    return { Version: p.version, Tier: p.tier };
  }

  inventory(): InventoryEntry[] {
    return [...this.parameters.values()].map((p) => ({ type: 'ssm.parameter', key: p.name, settings: { tier: p.tier, tags: p.tags } }));
  }
}
