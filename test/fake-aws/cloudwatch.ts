/**
 * CloudWatch metric alarms (query-protocol error codes as SDK v3 surfaces them): PutMetricAlarm is an
 * upsert by name that replaces every setting and ignores Tags on an existing alarm; DescribeAlarms by
 * name returns nothing for a missing one; DeleteAlarms of a missing name is ResourceNotFound; tags by ARN.
 *
 * Evaluation is on demand (`evaluate()`): real CloudWatch evaluates every period, reading SQS's metrics,
 * which SQS publishes every 5 minutes. An alarm on AWS/SQS ApproximateNumberOfMessagesVisible reads the
 * SQS fake's queue; a queue that does not exist has no data (TreatMissingData decides). An alarm that goes
 * to ALARM runs its AlarmActions: an SNS topic receives the notification through the SNS fake, which
 * applies the topic policy.
 */
import {
  CloudWatchClient,
  PutMetricAlarmCommand,
  DescribeAlarmsCommand,
  DeleteAlarmsCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type PutMetricAlarmCommandInput,
} from '@aws-sdk/client-cloudwatch';
import { awsError, recordToTags, tagsToRecord, type FakeAwsCore } from './core.js';
import type { InventoryEntry } from './index.js';
import type { FakeSqs } from './sqs.js';
import type { FakeSns } from './sns.js';

interface Alarm {
  arn: string;
  input: PutMetricAlarmCommandInput;
  tags: Record<string, string>;
  state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  reason: string;
  updated: number;
}

const COMPARE: Record<string, (v: number, t: number) => boolean> = {
  GreaterThanThreshold: (v, t) => v > t,
  GreaterThanOrEqualToThreshold: (v, t) => v >= t,
  LessThanThreshold: (v, t) => v < t,
  LessThanOrEqualToThreshold: (v, t) => v <= t,
};

export class FakeCloudWatch {
  readonly alarms = new Map<string, Alarm>();
  /** Notifications the alarms' actions sent (whether SNS accepted them or not). */
  readonly notifications: { alarm: string; topicArn: string; accepted: boolean }[] = [];

  constructor(readonly core: FakeAwsCore) {
    core.peers.set('cloudwatch', this);
    const byArn = (arn: string | undefined): Alarm =>
      [...this.alarms.values()].find((a) => a.arn === arn) ??
      awsError('ResourceNotFoundException', 'The specified resource does not exist.', 404);
    const invalid = (msg: string): never => awsError('ValidationError', msg, 400);

    core.register({
      name: 'cloudwatch',
      client: CloudWatchClient,
      ops: {
        PutMetricAlarm: {
          command: PutMetricAlarmCommand,
          handle: (i: PutMetricAlarmCommandInput) => {
            const name = i.AlarmName ?? '';
            if (!name || name.length > 255)
              invalid(
                "1 validation error detected: Value at 'alarmName' failed to satisfy constraint: Member must have length between 1 and 255",
              );
            if (!i.EvaluationPeriods || i.EvaluationPeriods < 1) invalid('EvaluationPeriods must be at least 1');
            if (!i.ComparisonOperator || !(i.ComparisonOperator in COMPARE)) invalid('Invalid ComparisonOperator');
            if (i.Period !== undefined && !(i.Period === 10 || i.Period === 30 || i.Period % 60 === 0))
              invalid('Period must be 10, 30 or a multiple of 60');
            if (i.TreatMissingData && !['breaching', 'notBreaching', 'ignore', 'missing'].includes(i.TreatMissingData))
              invalid('Invalid TreatMissingData');
            for (const a of i.AlarmActions ?? [])
              if (!/^arn:[^:]+:(sns|ssm|autoscaling|lambda|ec2|swf):/.test(a) && !a.startsWith('arn:'))
                invalid(`Invalid arn syntax: ${a}`);
            const existing = this.alarms.get(name);
            const { Tags, ...settings } = i;
            this.alarms.set(name, {
              arn: `arn:${core.partition}:cloudwatch:${core.region}:${core.account}:alarm:${name}`,
              input: structuredClone(settings),
              // Tags apply when the alarm is created only.
              tags: existing ? existing.tags : tagsToRecord(Tags),
              state: existing?.state ?? 'INSUFFICIENT_DATA',
              reason: existing?.reason ?? 'Unchecked: Initial alarm creation',
              updated: core.now(),
            });
            if (!existing) core.label(this.alarms.get(name)!.arn, tagsToRecord(Tags)['batchctl:logical'] ?? name);
            return {};
          },
        },
        DescribeAlarms: {
          command: DescribeAlarmsCommand,
          handle: (i) => {
            const names: string[] | undefined = i.AlarmNames;
            const all = [...this.alarms.entries()]
              .filter(([n]) => (!names || names.includes(n)) && (!i.AlarmNamePrefix || n.startsWith(i.AlarmNamePrefix)))
              .filter(([, a]) => !i.StateValue || a.state === i.StateValue)
              .sort(([a], [b]) => a.localeCompare(b));
            const types: string[] = i.AlarmTypes ?? ['MetricAlarm'];
            return {
              MetricAlarms: types.includes('MetricAlarm')
                ? all.map(([n, a]) => ({
                    ...structuredClone(a.input),
                    AlarmName: n,
                    AlarmArn: a.arn,
                    StateValue: a.state,
                    StateReason: a.reason,
                    StateUpdatedTimestamp: new Date(a.updated),
                    AlarmConfigurationUpdatedTimestamp: new Date(a.updated),
                    ActionsEnabled: a.input.ActionsEnabled ?? true,
                    AlarmActions: a.input.AlarmActions ?? [],
                    OKActions: a.input.OKActions ?? [],
                    InsufficientDataActions: a.input.InsufficientDataActions ?? [],
                    Dimensions: a.input.Dimensions ?? [],
                  }))
                : [],
              CompositeAlarms: [],
            };
          },
        },
        DeleteAlarms: {
          command: DeleteAlarmsCommand,
          handle: (i) => {
            const names: string[] = i.AlarmNames ?? [];
            const missing = names.filter((n) => !this.alarms.has(n));
            if (missing.length) awsError('ResourceNotFound', `${missing.join(', ')} not found`, 404);
            for (const n of names) this.alarms.delete(n);
            return {};
          },
        },
        ListTagsForResource: {
          command: ListTagsForResourceCommand,
          handle: (i) => ({ Tags: recordToTags(byArn(i.ResourceARN).tags) }),
        },
        TagResource: {
          command: TagResourceCommand,
          handle: (i) => {
            Object.assign(byArn(i.ResourceARN).tags, tagsToRecord(i.Tags));
            return {};
          },
        },
        UntagResource: {
          command: UntagResourceCommand,
          handle: (i) => {
            const a = byArn(i.ResourceARN);
            for (const k of i.TagKeys ?? []) delete a.tags[k];
            return {};
          },
        },
      },
    });
  }

  /**
   * Test helper: evaluate every alarm now, as CloudWatch does each period. Returns the alarms that
   * changed state. An AWS/SQS ApproximateNumberOfMessagesVisible alarm reads the SQS fake's queue.
   */
  evaluate(): { alarm: string; from: string; to: string }[] {
    const sqs = this.core.peers.get('sqs') as FakeSqs | undefined;
    const sns = this.core.peers.get('sns') as FakeSns | undefined;
    const changed: { alarm: string; from: string; to: string }[] = [];
    for (const [name, a] of this.alarms) {
      const i = a.input;
      let value: number | undefined;
      if (i.Namespace === 'AWS/SQS' && i.MetricName === 'ApproximateNumberOfMessagesVisible') {
        const queue = i.Dimensions?.find((d) => d.Name === 'QueueName')?.Value;
        value = queue ? sqs?.visibleCount(queue) : undefined;
      }
      let to: Alarm['state'];
      if (value === undefined) {
        const t = i.TreatMissingData ?? 'missing';
        to = t === 'breaching' ? 'ALARM' : t === 'notBreaching' ? 'OK' : t === 'ignore' ? a.state : 'INSUFFICIENT_DATA';
      } else {
        to = COMPARE[i.ComparisonOperator!]!(value, i.Threshold ?? 0) ? 'ALARM' : 'OK';
      }
      if (to === a.state) continue;
      changed.push({ alarm: name, from: a.state, to });
      const from = a.state;
      a.state = to;
      a.reason =
        value === undefined
          ? 'no datapoints'
          : `Threshold Crossed: 1 datapoint [${value}] was ${to === 'ALARM' ? '' : 'not '}greater than the threshold (${i.Threshold})`;
      a.updated = this.core.now();
      const actions =
        (i.ActionsEnabled ?? true)
          ? ((to === 'ALARM' ? i.AlarmActions : to === 'OK' ? i.OKActions : i.InsufficientDataActions) ?? [])
          : [];
      for (const topicArn of actions.filter((x) => /^arn:[^:]+:sns:/.test(x))) {
        const message = JSON.stringify({
          AlarmName: name,
          AlarmDescription: i.AlarmDescription,
          AWSAccountId: this.core.account,
          NewStateValue: to,
          OldStateValue: from,
          NewStateReason: a.reason,
          StateChangeTime: new Date(a.updated).toISOString(),
          Region: this.core.region,
          AlarmArn: a.arn,
          Trigger: {
            MetricName: i.MetricName,
            Namespace: i.Namespace,
            Statistic: i.Statistic,
            Dimensions: (i.Dimensions ?? []).map((d) => ({ name: d.Name, value: d.Value })),
            Period: i.Period,
            Threshold: i.Threshold,
            ComparisonOperator: i.ComparisonOperator,
            TreatMissingData: i.TreatMissingData,
          },
        });
        const accepted =
          !!sns && sns.publishFromAlarm(topicArn, a.arn, message, `ALARM: "${name}" in ${this.core.region}`);
        this.notifications.push({ alarm: name, topicArn, accepted });
      }
    }
    return changed;
  }

  /** Alarms with their settings (state is state, not a setting: left out). */
  inventory(): InventoryEntry[] {
    return [...this.alarms.entries()].map(([name, a]) => ({
      type: 'cloudwatch.alarm',
      key: a.tags['batchctl:logical'] ?? name,
      settings: { ...a.input, AlarmActions: a.input.AlarmActions?.map((x) => this.core.ref(x)), tags: a.tags },
    }));
  }
}
