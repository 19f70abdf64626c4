// Where the stack's alarms go: one SNS topic that every alarm notifies (on ALARM and back to OK), and an
// optional e-mail subscription from the context (`-c dcp:alarmEmail=ops@example.com`; the recipient
// confirms it from the mail SNS sends). Other subscribers (a pager, a chat bridge) subscribe to the topic,
// whose ARN is a stack output.
import { Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface OperationsProps {
  /** E-mail address subscribed to the alarm topic. */
  readonly alarmEmail?: string;
}

export class Operations extends Construct {
  readonly alarmTopic: sns.Topic;
  readonly alarmAction: cloudwatch.IAlarmAction;

  constructor(scope: Construct, id: string, props: OperationsProps = {}) {
    super(scope, id);
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Deployment Control Plane alarms',
      // Publishers (CloudWatch alarms) and subscribers must use TLS.
      enforceSSL: true,
    });
    // CloudWatch alarms publish to the topic as the service; nothing else may.
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
      }),
    );
    Validations.of(this.alarmTopic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'Alarm notifications carry alarm names, states and metric values only, no customer data; a customer ' +
        'managed KMS key would add a key policy for CloudWatch to keep in step, and the AWS managed SNS key ' +
        'cannot be used by CloudWatch alarms.',
    });
    if (props.alarmEmail !== undefined) {
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.alarmEmail)) {
        throw new Error(`dcp:alarmEmail ${JSON.stringify(props.alarmEmail)} is not an e-mail address`);
      }
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }
    this.alarmAction = new actions.SnsAction(this.alarmTopic);
  }

  /** Notify the topic when `alarm` goes off and when it is back to OK. */
  notify(...alarms: cloudwatch.Alarm[]): void {
    for (const alarm of alarms) {
      alarm.addAlarmAction(this.alarmAction);
      alarm.addOkAction(this.alarmAction);
    }
  }
}
