// The provisioning and update workflows (SPEC §7): one Lambda function for all the steps of the step list, two
// Standard state machines built from statemachines/*.asl.json with the functions' ARNs substituted, and the
// reconciler that compensates runs ending without their block branch (stopped, timed out, or failed in
// it). An alarm goes off when a run ends in CompensationFailed. buildStateMachine is shared with the rollout
// workflows (infra/rollouts.ts), and the state machine names of both live here.
import { ArnFormat, Aws, Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { stateMachineEnvVar } from '../functions/adapters/engine.js';
import { CREATED_BY_TAG, targetSecretName } from '../functions/adapters/secrets.js';
import type { ProvisioningPolicy } from '../functions/core/policies.js';
import type { TableId } from '../functions/core/tables.js';
import { STEP_FUNCTIONS, STEPS, TERMINAL_STATES, functionPlaceholder, type WorkflowKind } from '../functions/core/workflows.js';
import {
  MACHINE_KINDS,
  STEP_FUNCTION_TIMEOUT_SECONDS,
  WORKFLOW_KINDS,
  loadDefinition,
  numericSettings,
  placeholdersOf,
  type MachineKind,
  type NumericSettings,
} from '../statemachines/definitions.js';
import {
  ROLLOUT_WAVE_NOTIFIERS,
  STEP_SECRET_ACCESS,
  secretAccessOf,
  stepTableAccess,
  workflowStepFns,
  workflowStepsTableAccess,
  type SecretAccess,
  type TableAccess,
  type TableGrants,
  type WorkflowAccess,
} from './access.js';
import type { DataTable } from './data.js';
import { DcpFunction } from './function.js';

/** The reconciler's function file (not a state of either workflow). */
export const RECONCILER_FN = 'reconcile';

/** Execution statuses that end a run without its block branch necessarily having run. */
export const RECONCILED_STATUSES = ['ABORTED', 'TIMED_OUT', 'FAILED'] as const;

/** Custom metric counting runs that ended in CompensationFailed, fed from the state machines' logs. */
export const COMPENSATION_FAILED_METRIC = { namespace: 'DeploymentControlPlane', name: 'CompensationFailed' } as const;

export interface WorkflowsProps {
  readonly tables: Readonly<Record<TableId, DataTable>>;
  /** Retries, step timeouts and agent heartbeats come from this policy (default: the documented one). */
  readonly provisioningPolicy?: ProvisioningPolicy;
  /** Where the alarms go (an SNS topic action, for instance). */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
}

export class Workflows extends Construct {
  /** The one function behind every step of both workflows (functions/steps/workflow-steps.ts). */
  readonly stepFunction: DcpFunction;
  readonly stateMachines: Readonly<Record<WorkflowKind, sfn.StateMachine>>;
  /**
   * Fixed names (`<stack>-<kind>`) of every state machine of the stack, the rollout ones included, so ARNs
   * can be built without referencing the state machines.
   */
  readonly stateMachineNames: Readonly<Record<MachineKind, string>>;
  readonly logGroups: Readonly<Record<WorkflowKind, logs.LogGroup>>;
  readonly reconciler: DcpFunction;
  readonly reconcileRule: events.Rule;
  readonly reconcileDeadLetters: sqs.Queue;
  readonly compensationFailedAlarm: cloudwatch.Alarm;
  readonly reconcileFailedAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: WorkflowsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const numbers = numericSettings(props.provisioningPolicy);
    this.stateMachineNames = stateMachineNames(stack);

    // Steps that complete their own wait (nothing to unlock, maintenance already off) answer their task
    // token. Granting that on the state machine's own ARN would make each step's policy depend on the state
    // machine, which depends on the step: the ARN is built from the fixed name instead.
    const machineName = (kind: WorkflowKind) => this.stateMachineNames[kind];
    const machineRefs = Object.fromEntries(
      WORKFLOW_KINDS.map((kind) => [kind, sfn.StateMachine.fromStateMachineName(this, `${pascal(kind)}ByName`, machineName(kind))]),
    ) as Record<WorkflowKind, sfn.IStateMachine>;

    // One function runs every step of both workflows (functions/steps/workflow-steps.ts dispatches on the
    // state's name); its grants are the union of its steps' (infra/access.ts), so there is one entry per
    // step to keep and one function to deploy, not one per step.
    const fns = workflowStepFns();
    const step = new DcpFunction(this, 'WorkflowSteps', {
      entry: `functions/steps/${STEP_FUNCTIONS.workflow}.ts`,
      description: 'Deployment Control Plane: the steps of the provisioning and update workflows',
      // Steps only write records and send commands; the agent's work is waited for by the state machine.
      // The tasks that invoke it wait at most this long (statemachines/definitions.ts, one number).
      timeout: Duration.seconds(STEP_FUNCTION_TIMEOUT_SECONDS),
    });
    this.bindTables(step, props.tables, workflowStepsTableAccess());
    this.grantSecrets(step, secretAccessOf(fns.map((f) => f.fn)));
    // Command steps answer their own task token when there is nothing to wait for (both workflows have some).
    const commandKinds = WORKFLOW_KINDS.filter((kind) => STEPS.some((s) => s.command !== undefined && s.workflows.includes(kind)));
    for (const kind of commandKinds) machineRefs[kind].grantTaskResponse(step.role);
    // An update run a rollout wave started reports its end to the wave's waiting task (notifyParent).
    if (fns.some((f) => (ROLLOUT_WAVE_NOTIFIERS as readonly string[]).includes(f.fn))) this.grantWaveNotify(step);
    this.stepFunction = step;

    const stateMachines = {} as Record<WorkflowKind, sfn.StateMachine>;
    const logGroups = {} as Record<WorkflowKind, logs.LogGroup>;
    for (const kind of WORKFLOW_KINDS) {
      const { machine, logGroup } = buildStateMachine(this, {
        kind,
        name: machineName(kind),
        numbers,
        functions: Object.fromEntries(
          placeholdersOf(kind).map((p) => {
            if (p !== functionPlaceholder(STEP_FUNCTIONS.workflow)) throw new Error(`statemachines/${kind}.asl.json uses \${${p}}, which is not the workflow step function`);
            return [p, step];
          }),
        ),
      });
      new logs.MetricFilter(this, `${pascal(kind)}CompensationFailed`, {
        logGroup,
        filterPattern: logs.FilterPattern.all(
          logs.FilterPattern.stringValue('$.type', '=', 'ExecutionFailed'),
          logs.FilterPattern.stringValue('$.details.error', '=', TERMINAL_STATES.compensationFailed),
        ),
        metricNamespace: COMPENSATION_FAILED_METRIC.namespace,
        metricName: COMPENSATION_FAILED_METRIC.name,
        metricValue: '1',
        defaultValue: 0,
      });
      stateMachines[kind] = machine;
      logGroups[kind] = logGroup;
    }
    this.stateMachines = stateMachines;
    this.logGroups = logGroups;

    this.compensationFailedAlarm = new cloudwatch.Alarm(this, 'CompensationFailedAlarm', {
      alarmDescription:
        'A provisioning or update run ended in CompensationFailed: its block branch could not undo what the run ' +
        'did. The reconciler tries again; check the target (secrets, allocation, installer lock, maintenance mode).',
      metric: new cloudwatch.Metric({
        namespace: COMPENSATION_FAILED_METRIC.namespace,
        metricName: COMPENSATION_FAILED_METRIC.name,
        statistic: cloudwatch.Stats.SUM,
        period: Duration.minutes(5),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // The reconciler: EventBridge's execution status changes in AWS (the local runtime calls the same code
    // at start-up and on abort). A run that did reach its block branch is recorded as compensated and skipped.
    this.reconcileDeadLetters = new sqs.Queue(this, 'ReconcileDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.reconcileDeadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue: of the reconcile rule target and of the reconciler\'s ' +
        'asynchronous invocations. Its messages are inspected and replayed by an operator, and the queue depth alarms.',
    });

    this.reconciler = new DcpFunction(this, 'Reconciler', {
      entry: `functions/steps/${RECONCILER_FN}.ts`,
      description: 'Deployment Control Plane: compensate runs that stopped, timed out or failed outside their block branch',
      timeout: Duration.minutes(5),
    });
    this.bindTables(this.reconciler, props.tables, stepTableAccess(RECONCILER_FN, false));
    this.grantSecrets(this.reconciler, STEP_SECRET_ACCESS[RECONCILER_FN] ?? []);
    this.grantWaveNotify(this.reconciler);
    this.bindStateMachines(this.reconciler, ['observe']);
    // A halted rollout's update runs are stopped here, asynchronously to the halt request (D12).
    iam.Grant.addToPrincipal({
      grantee: this.reconciler.role,
      actions: ['states:StopExecution'],
      resourceArns: [executionArnsByName(stack, this.stateMachineNames.update)],
    });
    this.reconciler.function.configureAsyncInvoke({
      retryAttempts: 2,
      onFailure: new destinations.SqsDestination(this.reconcileDeadLetters),
    });

    this.reconcileRule = new events.Rule(this, 'ReconcileRule', {
      // reconcileAlso adds the rollout workflow's state machine.
      description: 'Runs of the workflows that ended aborted, timed out or failed, for the reconciler',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          status: [...RECONCILED_STATUSES],
          stateMachineArn: WORKFLOW_KINDS.map((kind) => stateMachines[kind].stateMachineArn),
        },
      },
      targets: [
        new targets.LambdaFunction(this.reconciler.function, {
          deadLetterQueue: this.reconcileDeadLetters,
          retryAttempts: 8,
          maxEventAge: Duration.hours(6),
        }),
      ],
    });

    this.reconcileFailedAlarm = new cloudwatch.Alarm(this, 'ReconcileDeadLettersAlarm', {
      alarmDescription:
        'A finished run could not be reconciled (delivery or the reconciler failed after retries): its target ' +
        'may be half-provisioned. The event is in the reconcile dead-letter queue.',
      metric: this.reconcileDeadLetters.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    for (const alarm of [this.compensationFailedAlarm, this.reconcileFailedAlarm]) {
      if (props.alarmActions?.length) alarm.addAlarmAction(...props.alarmActions);
    }
  }

  /** Have the reconciler also hear the executions of `machine` end (the rollout workflow's, SPEC §7.4). */
  reconcileAlso(machine: sfn.IStateMachine): void {
    this.reconcileRule.addEventPattern({ detail: { stateMachineArn: [machine.stateMachineArn] } });
  }

  /**
   * SendTaskSuccess on the rollout-wave state machine, by name: that state machine invokes the rollout step
   * functions, whose policies would otherwise depend on it in a cycle.
   */
  grantWaveNotify(fn: DcpFunction): void {
    iam.Grant.addToPrincipal({
      grantee: fn.role,
      actions: ['states:SendTaskSuccess'],
      resourceArns: [stateMachineArnByName(Stack.of(this), this.stateMachineNames['rollout-wave'])],
    });
  }

  /**
   * Give a function what `access` needs on both state machines: the state machine ARNs in the variables the
   * engine adapter reads (functions/adapters/engine.ts), and the matching grants.
   */
  bindStateMachines(fn: DcpFunction, access: readonly WorkflowAccess[]): void {
    const stack = Stack.of(this);
    const executionArns: string[] = [];
    for (const kind of WORKFLOW_KINDS) {
      const machine = this.stateMachines[kind];
      if (access.includes('run') || access.includes('observe')) {
        fn.function.addEnvironment(stateMachineEnvVar(kind), machine.stateMachineArn);
        executionArns.push(
          // Execution names are chosen per run (target + idempotency key hash), so only the machine is fixed.
          stack.formatArn({
            service: 'states',
            resource: 'execution',
            resourceName: `${this.stateMachineNames[kind]}:*`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        );
      }
      if (access.includes('run')) machine.grantStartExecution(fn.role);
      if (access.includes('respond')) machine.grantTaskResponse(fn.role);
    }
    const executionActions = [
      ...(access.includes('run') ? ['states:StopExecution'] : []),
      ...(access.includes('observe') ? ['states:DescribeExecution', 'states:GetExecutionHistory'] : []),
    ];
    if (executionActions.length > 0) {
      iam.Grant.addToPrincipal({ grantee: fn.role, actions: executionActions, resourceArns: executionArns });
      for (const kind of WORKFLOW_KINDS) {
        Validations.of(fn.role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${this.stateMachineNames[kind]}:*]`,
          reason:
            `${executionActions.join(', ')} on the executions of the ${kind} state machine only: execution names ` +
            'are derived per run from the target and the idempotency key, so they cannot be listed in advance.',
        });
      }
    }
  }

  private bindTables(fn: DcpFunction, tables: Readonly<Record<TableId, DataTable>>, grants: TableGrants) {
    for (const [tableId, access] of Object.entries(grants) as [TableId, TableAccess][]) fn.bindTable(tables[tableId], access);
  }

  /** Secrets Manager on the per-target secrets (`dcp/<targetId>/<NAME>`) only. */
  private grantSecrets(fn: DcpFunction, access: readonly SecretAccess[]) {
    if (access.length === 0) return;
    const secrets = Stack.of(this).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      // Secret ARNs end in a random suffix after the name, which the last `*` also covers.
      resourceName: targetSecretName('*', '*'),
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const tagged = `aws:ResourceTag/${CREATED_BY_TAG}`;
    if (access.includes('create')) {
      // Creating is idempotent: an existing secret is described to see whether this run created it.
      iam.Grant.addToPrincipal({
        grantee: fn.role,
        actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
        resourceArns: [secrets],
      });
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          // Only with the run tag, and no other tag (CreateSecret with Tags also needs TagResource).
          actions: ['secretsmanager:CreateSecret', 'secretsmanager:TagResource'],
          resources: [secrets],
          conditions: {
            Null: { [`aws:RequestTag/${CREATED_BY_TAG}`]: 'false' },
            'ForAllValues:StringEquals': { 'aws:TagKeys': [CREATED_BY_TAG] },
          },
        }),
      );
    }
    if (access.includes('delete')) {
      iam.Grant.addToPrincipal({ grantee: fn.role, actions: ['secretsmanager:DescribeSecret'], resourceArns: [secrets] });
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          // Compensation deletes what runs created; a secret without the run tag is not ours to delete.
          actions: ['secretsmanager:DeleteSecret'],
          resources: [secrets],
          conditions: { Null: { [tagged]: 'false' } },
        }),
      );
    }
    Validations.of(fn.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:dcp/*/*]',
      reason:
        'Per-target secrets are created during runs under dcp/<targetId>/<NAME> and their ARNs end in a random ' +
        'suffix, so only the prefix can be named. Creating requires the run tag; deleting requires a secret to carry it.',
    });
  }
}

/** The fixed name of each state machine: `<stack>-<kind>` (the reconciler tells the rollout one by its `-rollout` ending). */
export function stateMachineNames(stack: Stack): Record<MachineKind, string> {
  return Object.fromEntries(MACHINE_KINDS.map((kind) => [kind, `${stack.stackName}-${kind}`])) as Record<MachineKind, string>;
}

/** A state machine's ARN from its fixed name, for grants that must not reference the state machine itself. */
export function stateMachineArnByName(stack: Stack, name: string): string {
  return stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
}

/** ARN pattern of every execution of a state machine, by its fixed name (execution names vary per run). */
export function executionArnsByName(stack: Stack, name: string): string {
  return stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${name}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
}

export interface BuildStateMachineProps {
  readonly kind: MachineKind;
  readonly name: string;
  readonly numbers: NumericSettings;
  /** The function behind each `${...FunctionArn}` placeholder of the definition. */
  readonly functions: Readonly<Record<string, DcpFunction>>;
  /** Further DefinitionSubstitutions (another state machine's ARN, for instance). */
  readonly substitutions?: Readonly<Record<string, string>>;
}

/**
 * One Standard state machine from statemachines/<kind>.asl.json (SPEC §10): the policy's numbers in the
 * text, Step Functions filling in the ARNs, every event logged with execution data to its own log group,
 * X-Ray tracing, and a role that may invoke exactly the functions the definition names. Each placeholder
 * of the file must get a value and no value may go unused.
 */
export function buildStateMachine(scope: Construct, props: BuildStateMachineProps): { machine: sfn.StateMachine; logGroup: logs.LogGroup } {
  const { kind, name } = props;
  const logGroup = new logs.LogGroup(scope, `${pascal(kind)}Logs`, {
    // Step Functions' vended-logs prefix keeps the log resource policy small as state machines are added.
    // The name ends in the stack's own id (the UUID CloudFormation gives each stack it creates): the group
    // is retained when the stack is deleted (a year of run history), so a fixed name would make the next
    // deployment of the stack fail with AlreadyExists.
    logGroupName: `/aws/vendedlogs/states/${name}-${Fn.select(2, Fn.split('/', Aws.STACK_ID))}`,
    retention: logs.RetentionDays.ONE_YEAR,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const substitutions: Record<string, string> = {
    ...Object.fromEntries(Object.entries(props.functions).map(([p, fn]) => [p, fn.function.functionArn])),
    ...props.substitutions,
  };
  const placeholders = placeholdersOf(kind);
  const missing = placeholders.filter((p) => !(p in substitutions));
  const unused = Object.keys(substitutions).filter((p) => !placeholders.includes(p));
  if (missing.length > 0 || unused.length > 0) {
    throw new Error(`statemachines/${kind}.asl.json: no value for ${missing.join(', ') || '-'}; values for unused ${unused.join(', ') || '-'}`);
  }
  const machine = new sfn.StateMachine(scope, `${pascal(kind)}StateMachine`, {
    stateMachineName: name,
    stateMachineType: sfn.StateMachineType.STANDARD,
    comment: `Deployment Control Plane ${kind} workflow (statemachines/${kind}.asl.json)`,
    // The file, with numbers from the provisioning policy; Step Functions fills in the ARNs.
    definitionBody: sfn.DefinitionBody.fromString(loadDefinition(kind, { numbers: props.numbers })),
    definitionSubstitutions: substitutions,
    // Execution input and results hold ids, summaries and references, never secret values.
    logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    tracingEnabled: true,
  });
  // Invoke exactly the functions the definition names, unqualified, as the definition calls them.
  iam.Grant.addToPrincipal({
    grantee: machine.role,
    actions: ['lambda:InvokeFunction'],
    resourceArns: [...new Set(Object.values(props.functions))].map((fn) => fn.function.functionArn),
  });
  Validations.of(machine.role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'Added by CDK for logging and tracing: the CloudWatch Logs delivery actions (logs:CreateLogDelivery and ' +
      'the like) and xray:PutTraceSegments/PutTelemetryRecords/GetSampling*, none of which supports ' +
      'resource-level permissions. Lambda invocation names each function of the definition.',
  });
  return { machine, logGroup };
}

export function pascal(name: string): string {
  return name.replace(/(^|[^a-zA-Z0-9]+)([a-zA-Z0-9])/g, (_, __, c: string) => c.toUpperCase());
}
