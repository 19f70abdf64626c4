// Rollouts (SPEC §7.4): the control plane's own EventBridge bus, on which publishing a release emits
// ReleasePublished; the rule that starts the rollout workflow from it (and, optionally, a schedule that
// starts it per channel to catch up on lost events); the two Standard state machines — the rollout, which
// plans and runs one child execution per wave, and the wave, which updates its targets — built from
// statemachines/rollout*.asl.json like the provisioning and update workflows; and one Lambda function for
// all the rollout steps, with the union of their tables.
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { stateMachineEnvVar } from '../functions/adapters/engine.js';
import { EVENT_SOURCE, RELEASE_PUBLISHED_PATTERN } from '../functions/core/events.js';
import type { ProvisioningPolicy } from '../functions/core/policies.js';
import type { TableId } from '../functions/core/tables.js';
import { MACHINE_KINDS, STEP_FUNCTION_TIMEOUT_SECONDS, numericSettings, placeholdersOf, type MachineKind } from '../statemachines/definitions.js';
import { STEP_FUNCTIONS, functionPlaceholder } from '../functions/core/workflows.js';
import { ROLLOUT_STEP_FNS, ROLLOUT_WAVE_NOTIFIERS, rolloutStepsTableAccess, type MachineGrants, type TableAccess } from './access.js';
import type { DataTable } from './data.js';
import { DcpFunction } from './function.js';
import { buildStateMachine, executionArnsByName, pascal, type Workflows } from './workflows.js';

/** The two rollout state machines. */
export const ROLLOUT_KINDS = ['rollout', 'rollout-wave'] as const satisfies readonly MachineKind[];
export type RolloutKind = (typeof ROLLOUT_KINDS)[number];

/** Placeholder of the wave state machine's ARN in statemachines/rollout.asl.json (its `.sync:2` task). */
export const WAVE_STATE_MACHINE_PLACEHOLDER = 'RolloutWaveStateMachineArn';

/** The managed rule Step Functions creates to learn when a `.sync` child execution ends. */
export const SYNC_EVENTS_RULE = 'StepFunctionsGetEventsForStepFunctionsExecutionRule';

/**
 * How often the catch-up rule runs when the context does not say (`-c dcp:rolloutSchedule=off` switches it
 * off). Each run plans a rollout of each channel's newest release only when that release has never had a
 * rollout (functions/steps/rollout-plan.ts): it starts exactly the rollouts a lost ReleasePublished event
 * would have, and never re-runs a release an operator halted or whose rollout ended.
 */
export const DEFAULT_ROLLOUT_SCHEDULE = 'rate(1 hour)';

/** Channels the scheduled rule starts rollouts for when none are given. */
export const DEFAULT_ROLLOUT_CHANNELS: readonly string[] = ['stable'];

/** Variable holding the event bus name, read by functions/adapters/events.ts. */
export const EVENT_BUS_ENV = 'DCP_EVENT_BUS';

export interface RolloutsProps {
  readonly tables: Readonly<Record<TableId, DataTable>>;
  /** The provisioning and update workflows: the update state machine runs each target's update. */
  readonly workflows: Workflows;
  /** Retries and step timeouts come from this policy (default: the documented one), as for the workflows. */
  readonly provisioningPolicy?: ProvisioningPolicy;
  /**
   * An EventBridge schedule expression (`rate(1 day)`, `cron(0 3 * * ? *)`) that also starts a rollout of
   * each channel's newest release that never had one, catching up on ReleasePublished events that were
   * lost. Off when absent or `off`.
   */
  readonly schedule?: string;
  /** Channels the schedule starts rollouts for (default: stable). */
  readonly channels?: readonly string[];
  /** Where the alarms go (an SNS topic action, for instance). */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
}

export class Rollouts extends Construct {
  readonly bus: events.EventBus;
  readonly archive: events.Archive;
  /** The one function behind every rollout step (functions/steps/rollout-steps.ts). */
  readonly stepFunction: DcpFunction;
  readonly stateMachines: Readonly<Record<RolloutKind, sfn.StateMachine>>;
  readonly logGroups: Readonly<Record<RolloutKind, logs.LogGroup>>;
  readonly releasePublishedRule: events.Rule;
  /** One scheduled rule per channel, when a schedule is given. */
  readonly scheduleRules: Readonly<Record<string, events.Rule>>;
  readonly startDeadLetters: sqs.Queue;
  readonly startFailedAlarm: cloudwatch.Alarm;
  private readonly workflows: Workflows;

  constructor(scope: Construct, id: string, props: RolloutsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const names = props.workflows.stateMachineNames;
    this.workflows = props.workflows;

    // The control plane's own bus: only its functions publish to it (PutEvents granted one by one).
    this.bus = new events.EventBus(this, 'Bus', {
      eventBusName: `${stack.stackName}-events`,
      description: 'Deployment Control Plane events (ReleasePublished)',
    });
    // A few small events a day: archiving them costs next to nothing and lets an operator replay a lost
    // rollout start (a replayed event plans the same rollout id, so a second delivery changes nothing).
    this.archive = this.bus.archive('Archive', {
      description: 'Deployment Control Plane events, for replay',
      eventPattern: { source: [EVENT_SOURCE] },
      retention: Duration.days(90),
    });

    // One function runs every rollout step (functions/steps/rollout-steps.ts dispatches on the payload's
    // `step`), with the union of their tables. Planning and loading a wave read every target of the rollout
    // (up to tens of thousands), hence the memory; the tasks wait at most its timeout (one number).
    const stepFunction = new DcpFunction(this, 'RolloutSteps', {
      entry: `functions/steps/${STEP_FUNCTIONS.rollout}.ts`,
      description: 'Deployment Control Plane: the steps of the rollout and rollout-wave workflows',
      timeout: Duration.seconds(STEP_FUNCTION_TIMEOUT_SECONDS),
      memorySize: 1024,
    });
    for (const [tableId, access] of Object.entries(rolloutStepsTableAccess()) as [TableId, TableAccess][]) {
      stepFunction.bindTable(props.tables[tableId], access);
    }
    this.stepFunction = stepFunction;

    // The update-target step starts each target's update run, and answers the wave's token itself when it
    // skips a target; the update run's last step answers it otherwise (both by name: no dependency cycle).
    this.bindMachines(stepFunction, { update: ['start'] });
    if (ROLLOUT_STEP_FNS.some((fn) => (ROLLOUT_WAVE_NOTIFIERS as readonly string[]).includes(fn))) props.workflows.grantWaveNotify(stepFunction);

    const numbers = numericSettings(props.provisioningPolicy);
    const functionsOf = (kind: RolloutKind): Record<string, DcpFunction> =>
      Object.fromEntries(
        placeholdersOf(kind)
          .filter((p) => p !== WAVE_STATE_MACHINE_PLACEHOLDER)
          .map((p) => {
            if (p !== functionPlaceholder(STEP_FUNCTIONS.rollout)) throw new Error(`statemachines/${kind}.asl.json uses \${${p}}, which is not the rollout step function`);
            return [p, stepFunction];
          }),
      );
    const wave = buildStateMachine(this, { kind: 'rollout-wave', name: names['rollout-wave'], numbers, functions: functionsOf('rollout-wave') });
    const rollout = buildStateMachine(this, {
      kind: 'rollout',
      name: names.rollout,
      numbers,
      functions: functionsOf('rollout'),
      substitutions: { [WAVE_STATE_MACHINE_PLACEHOLDER]: wave.machine.stateMachineArn },
    });
    this.stateMachines = { rollout: rollout.machine, 'rollout-wave': wave.machine };
    this.logGroups = { rollout: rollout.logGroup, 'rollout-wave': wave.logGroup };

    // What `arn:aws:states:::states:startExecution.sync:2` needs: start the wave, describe and stop its
    // executions, and the managed rule through which Step Functions hears that a child execution ended.
    wave.machine.grantStartExecution(rollout.machine.role);
    iam.Grant.addToPrincipal({
      grantee: rollout.machine.role,
      actions: ['states:DescribeExecution', 'states:StopExecution'],
      resourceArns: [executionArnsByName(stack, names['rollout-wave'])],
    });
    iam.Grant.addToPrincipal({
      grantee: rollout.machine.role,
      actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      resourceArns: [stack.formatArn({ service: 'events', resource: 'rule', resourceName: SYNC_EVENTS_RULE })],
    });
    Validations.of(rollout.machine.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${names['rollout-wave']}:*]`,
      reason:
        'The .sync:2 integration describes and stops the wave child executions it started; their names are ' +
        'chosen per rollout and wave, so only the wave state machine can be named (the documented policy).',
    });

    // A rollout that ends without its closing step must not stay RUNNING; the wave child is not watched
    // (its parent sees it end, and the parent's own end is reconciled).
    props.workflows.reconcileAlso(rollout.machine);

    // Starts that EventBridge could not deliver after its retries.
    this.startDeadLetters = new sqs.Queue(this, 'StartDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.startDeadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the rules that start rollouts. Its messages are the ' +
        'undelivered events, inspected and replayed by an operator, and the queue depth alarms.',
    });
    const startTarget = (input?: events.RuleTargetInput) =>
      new targets.SfnStateMachine(rollout.machine, {
        ...(input ? { input } : {}),
        deadLetterQueue: this.startDeadLetters,
        retryAttempts: 8,
        maxEventAge: Duration.hours(6),
      });

    // The whole event is the input: rollout-plan reads detail.releaseId, and the event id keeps a redelivered
    // event from planning a second rollout.
    this.releasePublishedRule = new events.Rule(this, 'ReleasePublishedRule', {
      description: 'Start a rollout when a release is published',
      eventBus: this.bus,
      eventPattern: eventPatternOf(RELEASE_PUBLISHED_PATTERN),
      targets: [startTarget()],
    });

    const scheduleRules: Record<string, events.Rule> = {};
    if (props.schedule !== undefined && props.schedule !== 'off') {
      const schedule = scheduleOf(props.schedule);
      const channels = props.channels ?? DEFAULT_ROLLOUT_CHANNELS;
      if (channels.length === 0) throw new Error('A rollout schedule needs at least one channel');
      for (const channel of new Set(channels)) {
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(channel)) throw new Error(`Rollout channel ${JSON.stringify(channel)} is not a channel name`);
        scheduleRules[channel] = new events.Rule(this, `Schedule${pascal(channel)}Rule`, {
          description: `Start a rollout of the newest ${channel} release on schedule (${props.schedule})`,
          schedule,
          targets: [startTarget(events.RuleTargetInput.fromObject({ schedule: { channel } }))],
        });
      }
    }
    this.scheduleRules = scheduleRules;

    this.startFailedAlarm = new cloudwatch.Alarm(this, 'StartDeadLettersAlarm', {
      alarmDescription:
        'A rollout could not be started (EventBridge gave up delivering ReleasePublished or the schedule to ' +
        'the rollout state machine). The event is in the rollout start dead-letter queue.',
      metric: this.startDeadLetters.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmActions?.length) this.startFailedAlarm.addAlarmAction(...props.alarmActions);
  }

  /** The state machines of the stack, rollout and workflow alike. */
  get allStateMachines(): Readonly<Record<MachineKind, sfn.IStateMachine>> {
    return { ...this.workflows.stateMachines, ...this.stateMachines };
  }

  /** Let a function publish to the bus, in the variable the events adapter reads. */
  bindPublisher(fn: DcpFunction): void {
    this.bus.grantPutEventsTo(fn.role);
    fn.function.addEnvironment(EVENT_BUS_ENV, this.bus.eventBusName);
  }

  /**
   * Give a function the state machines named in `grants`: each one's ARN in the variable the engine adapter
   * reads (functions/adapters/engine.ts), StartExecution on it for `start`, StopExecution on its executions
   * for `stop`.
   */
  bindMachines(fn: DcpFunction, grants: MachineGrants): void {
    const stack = Stack.of(this);
    const machines = this.allStateMachines;
    const names = this.workflows.stateMachineNames;
    const stoppable: MachineKind[] = [];
    for (const kind of MACHINE_KINDS) {
      const actions = grants[kind];
      if (!actions || actions.length === 0) continue;
      fn.function.addEnvironment(stateMachineEnvVar(kind), machines[kind].stateMachineArn);
      if (actions.includes('start')) machines[kind].grantStartExecution(fn.role);
      if (actions.includes('stop')) stoppable.push(kind);
    }
    if (stoppable.length === 0) return;
    iam.Grant.addToPrincipal({
      grantee: fn.role,
      actions: ['states:StopExecution'],
      resourceArns: stoppable.map((kind) => executionArnsByName(stack, names[kind])),
    });
    for (const kind of stoppable) {
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${names[kind]}:*]`,
        reason:
          `states:StopExecution on the executions of the ${kind} state machine only: halting a rollout stops ` +
          'executions whose names are derived per rollout, wave and target, so they cannot be listed in advance.',
      });
    }
  }
}

/** The shared rule pattern (functions/core/events.ts) in CDK's spelling. */
export function eventPatternOf(pattern: Readonly<Record<string, readonly string[]>>): events.EventPattern {
  const out: Record<string, string[]> = {};
  for (const [field, values] of Object.entries(pattern)) out[field === 'detail-type' ? 'detailType' : field] = [...values];
  return out as events.EventPattern;
}

function scheduleOf(expression: string): events.Schedule {
  if (!/^(rate|cron)\(.+\)$/.test(expression.trim())) {
    throw new Error(`Rollout schedule ${JSON.stringify(expression)} must be an EventBridge rate(...) or cron(...) expression`);
  }
  return events.Schedule.expression(expression.trim());
}
