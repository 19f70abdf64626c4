// Template tests of the workflows (SPEC §7, §10): the deployed definitions are the files with the policy's
// numbers and the step functions' ARNs, the state machines log everything and trace, each role holds only
// what its steps need, and runs that end outside their block branch reach the reconciler.
import { asList, formattedArn, templateReader, withAction, type Json } from './template-reader.js';
import { describe, expect, it } from 'vitest';
import { stateMachineEnvVar } from '../../functions/adapters/engine.js';
import { tableEnvVar, type TableId } from '../../functions/core/tables.js';
import { STEPS, TRANSIENT_ERRORS, type WorkflowKind } from '../../functions/core/workflows.js';
import {
  API_MACHINE_ACCESS,
  API_WORKFLOW_ACCESS,
  ROLLOUT_WAVE_NOTIFIERS,
  STEP_SECRET_ACCESS,
  secretAccessOf,
  stepTableAccess,
  unionGrants,
  workflowStepFns,
  workflowStepsTableAccess,
  type ApiFunctionName,
} from '../../infra/access.js';
import { createApp } from '../../infra/create-app.js';
import { COMPENSATION_FAILED_METRIC, RECONCILED_STATUSES, RECONCILER_FN } from '../../infra/workflows.js';
import { STEP_FUNCTION_TIMEOUT_SECONDS, WORKFLOW_KINDS, loadDefinition, numericSettings, placeholdersOf } from '../../statemachines/definitions.js';
import { WORKFLOW_STEP_MODULES } from '../../functions/steps/workflow-steps.js';


// Prepare: one synth for the whole file, bundling skipped (the code is not what these tests look at).
const { stack } = createApp({ nag: false, context: { 'aws:cdk:bundling-stacks': [] } });
const { logicalId, ofType, propsOf, arnOf, refOf, statementsOf, statementsOfFn, tableGrants } = templateReader(stack);
const workflows = stack.workflows;





const stepFn = workflows.stepFunction;

describe.each([...WORKFLOW_KINDS])('%s state machine', (kind) => {
  const machine = workflows.stateMachines[kind];
  const props = propsOf(machine);

  it('is the definition file with the provisioning policy numbers, byte for byte', () => {
    expect(props.DefinitionString).toBe(loadDefinition(kind, { numbers: numericSettings() }));
  });

  it('substitutes exactly the placeholders the file uses, each with its step function ARN', () => {
    expect(Object.keys(props.DefinitionSubstitutions).sort()).toEqual(placeholdersOf(kind));
    for (const placeholder of placeholdersOf(kind)) {
      expect(props.DefinitionSubstitutions[placeholder], placeholder).toEqual(arnOf(stepFn));
    }
    // Filled the way Step Functions fills them, no placeholder is left.
    const filled = (props.DefinitionString as string).replace(/\$\{(\w+)\}/g, (_, name: string) =>
      name in props.DefinitionSubstitutions ? `arn:aws:lambda:eu-west-1:111122223333:function:${name}` : `\${${name}}`,
    );
    expect(filled).not.toContain('${');
    expect(() => JSON.parse(filled) as unknown).not.toThrow();
  });

  it('retries only transient errors, never States.ALL', () => {
    const states = Object.values((JSON.parse(props.DefinitionString as string) as Json).States as Json) as Json[];
    const retriers = states.flatMap((s) => (s.Retry ?? []) as Json[]);
    expect(retriers.length).toBe(states.filter((s) => s.Type === 'Task').length);
    for (const retrier of retriers) {
      expect(retrier.ErrorEquals).not.toContain('States.ALL');
      expect(retrier.ErrorEquals).toEqual([...TRANSIENT_ERRORS]);
      expect(retrier).toMatchObject({ MaxAttempts: numericSettings().RetryMaxAttempts, JitterStrategy: 'FULL' });
    }
  });

  it('is a Standard workflow that logs all events with execution data and traces with X-Ray', () => {
    expect(props.StateMachineType).toBe('STANDARD');
    expect(props.LoggingConfiguration).toEqual({
      Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logicalId(workflows.logGroups[kind]), 'Arn'] } } }],
      IncludeExecutionData: true,
      Level: 'ALL',
    });
    expect(props.TracingConfiguration).toEqual({ Enabled: true });
    expect(propsOf(workflows.logGroups[kind]).RetentionInDays).toBeGreaterThan(0);
    expect((JSON.parse(props.DefinitionString as string) as Json).TimeoutSeconds).toBeGreaterThan(0);
  });

  it('may invoke exactly the workflow step function, unqualified, and nothing else but logging and tracing', () => {
    const statements = statementsOf(logicalId(machine.role));
    const invoke = withAction(statements, 'lambda:');
    expect(invoke).toHaveLength(1);
    expect(invoke[0]!.Action).toBe('lambda:InvokeFunction');
    expect(asList<Json>(invoke[0]!.Resource)).toEqual([arnOf(stepFn)]);
    const others = statements.filter((s) => s !== invoke[0]).flatMap((s) => asList<string>(s.Action));
    expect(others.every((a) => a.startsWith('xray:') || a.startsWith('logs:'))).toBe(true);
  });

  it('counts runs that end in CompensationFailed from its log group', () => {
    const [, filter] = ofType('AWS::Logs::MetricFilter').find(([, f]) => f.Properties.LogGroupName.Ref === logicalId(workflows.logGroups[kind]))!;
    expect(filter.Properties.FilterPattern).toBe('{ ($.type = "ExecutionFailed") && ($.details.error = "CompensationFailed") }');
    expect(filter.Properties.MetricTransformations).toEqual([
      { MetricNamespace: COMPENSATION_FAILED_METRIC.namespace, MetricName: COMPENSATION_FAILED_METRIC.name, MetricValue: '1', DefaultValue: 0 },
    ]);
  });
});

describe('workflow step function', () => {
  const statements = statementsOfFn(stepFn);

  it('is one function for every step of the step list, dispatching to each step file', () => {
    expect(propsOf(stepFn.function)).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], TracingConfig: { Mode: 'Active' } });
    expect(Object.keys(WORKFLOW_STEP_MODULES).sort()).toEqual([...new Set(STEPS.map((s) => s.fn))].sort());
    expect(ofType('AWS::Lambda::Function').filter(([, f]) => String(f.Properties.Description).includes('step'))).toHaveLength(2);
  });

  it('its timeout is the TimeoutSeconds of every task that invokes it without a task token (D8)', () => {
    expect(propsOf(stepFn.function).Timeout).toBe(STEP_FUNCTION_TIMEOUT_SECONDS);
    for (const kind of WORKFLOW_KINDS) {
      const states = Object.entries((JSON.parse(propsOf(workflows.stateMachines[kind]).DefinitionString as string) as Json).States as Json);
      for (const [name, state] of states) {
        if (state.Type !== 'Task') continue;
        if (String(state.Resource).endsWith('.waitForTaskToken')) {
          // The agent's wait is the task's; the invocation itself is bounded by the function's timeout.
          expect(state.TimeoutSeconds, name).toBe(numericSettings().StepTimeoutSeconds);
        } else {
          expect(state.TimeoutSeconds, name).toBeLessThanOrEqual(propsOf(stepFn.function).Timeout);
        }
      }
    }
  });

  it('gets exactly the union of its steps\' tables (infra/access.ts), with their env vars', () => {
    const expected = workflowStepsTableAccess();
    expect(expected).toEqual(unionGrants(...workflowStepFns().map(({ fn, sendsCommand }) => stepTableAccess(fn, sendsCommand))));
    expect(tableGrants(stepFn)).toEqual(expected);
    const env = propsOf(stepFn.function).Environment?.Variables ?? {};
    for (const tableId of Object.keys(expected) as TableId[]) {
      expect(env[tableEnvVar(tableId)]).toEqual(refOf(stack.data.tables[tableId].table));
    }
    // Every step's own grant is in the union (read-write where any step writes).
    for (const { fn, sendsCommand } of workflowStepFns()) {
      for (const [tableId, access] of Object.entries(stepTableAccess(fn, sendsCommand))) {
        expect(expected[tableId as TableId] === 'readWrite' || access === 'read', `${fn} ${tableId}`).toBe(true);
      }
    }
  });

  it('may answer task tokens of both workflows by name (no dependency cycle), and tell the rollout wave an update ended', () => {
    const states = withAction(statements, 'states:');
    expect(states).toEqual([
      ...WORKFLOW_KINDS.map((kind) => ({
        Action: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'],
        Effect: 'Allow',
        Resource: formattedArn('states', `stateMachine:${workflows.stateMachineNames[kind]}`),
      })),
      { Action: 'states:SendTaskSuccess', Effect: 'Allow', Resource: formattedArn('states', `stateMachine:${workflows.stateMachineNames['rollout-wave']}`) },
    ]);
    expect(ROLLOUT_WAVE_NOTIFIERS.filter((fn) => workflowStepFns().some((f) => f.fn === fn))).toEqual(['record-audit-event', 'record-failure']);
  });

  it('creates secrets only under dcp/ with the run tag, and deletes only tagged ones, without listing any', () => {
    expect(secretAccessOf(workflowStepFns().map((f) => f.fn))).toEqual(['create', 'delete']);
    expect(STEP_SECRET_ACCESS['inject-secrets']).toEqual(['create']);
    const secrets = formattedArn('secretsmanager', 'secret:dcp/*/*');
    const sm = withAction(statements, 'secretsmanager:');
    expect(sm).toContainEqual({
      Action: ['secretsmanager:CreateSecret', 'secretsmanager:TagResource'],
      Effect: 'Allow',
      Resource: secrets,
      Condition: { Null: { 'aws:RequestTag/dcp:created-by': 'false' }, 'ForAllValues:StringEquals': { 'aws:TagKeys': ['dcp:created-by'] } },
    });
    expect(sm).toContainEqual({
      Action: 'secretsmanager:DeleteSecret',
      Effect: 'Allow',
      Resource: secrets,
      Condition: { Null: { 'aws:ResourceTag/dcp:created-by': 'false' } },
    });
    for (const s of sm) expect(s.Resource).toEqual(secrets);
  });
});

describe('reconciler', () => {
  const [ruleId, rule] = ofType('AWS::Events::Rule').find(([id]) => id === logicalId(workflows.reconcileRule))!;
  const dlqArn = { 'Fn::GetAtt': [logicalId(workflows.reconcileDeadLetters), 'Arn'] };

  it('hears the status changes that end runs of both workflows and of the rollout, not of its waves', () => {
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: {
        status: [...RECONCILED_STATUSES],
        stateMachineArn: [...WORKFLOW_KINDS.map((kind) => refOf(workflows.stateMachines[kind])), refOf(stack.rollouts.stateMachines.rollout)],
      },
    });
    // The reconciler tells a rollout execution by its state machine's name (functions/steps/reconcile.ts).
    const rolloutMachine = /[:-]rollout$/;
    expect(rolloutMachine.test(`arn:aws:states:eu-west-1:111122223333:stateMachine:${workflows.stateMachineNames.rollout}`)).toBe(true);
    for (const kind of ['provisioning', 'update', 'rollout-wave'] as const) {
      expect(rolloutMachine.test(`arn:aws:states:eu-west-1:111122223333:stateMachine:${workflows.stateMachineNames[kind]}`), kind).toBe(false);
    }
    expect([...RECONCILED_STATUSES].sort()).toEqual(['ABORTED', 'FAILED', 'TIMED_OUT']);
  });

  it('invokes the reconciler with retries and a dead-letter queue', () => {
    expect(rule.Properties.Targets).toHaveLength(1);
    const [target] = rule.Properties.Targets as Json[];
    expect(target!.Arn).toEqual(arnOf(workflows.reconciler));
    expect(target!.DeadLetterConfig).toEqual({ Arn: dlqArn });
    expect(target!.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
    expect(target!.RetryPolicy.MaximumEventAgeInSeconds).toBeGreaterThan(0);
    const [, permission] = ofType('AWS::Lambda::Permission').find(([, p]) => p.Properties.SourceArn?.['Fn::GetAtt']?.[0] === ruleId)!;
    expect(permission.Properties).toMatchObject({ Principal: 'events.amazonaws.com', FunctionName: arnOf(workflows.reconciler) });
    // The reconciler's own failures after Lambda's retries land in the same queue.
    const [, asyncConfig] = ofType('AWS::Lambda::EventInvokeConfig').find(([, c]) => c.Properties.FunctionName.Ref === logicalId(workflows.reconciler.function))!;
    expect(asyncConfig.Properties.DestinationConfig).toEqual({ OnFailure: { Destination: dlqArn } });
  });

  it('keeps dead letters encrypted, over TLS only, and alarms on them', () => {
    expect(propsOf(workflows.reconcileDeadLetters).SqsManagedSseEnabled).toBe(true);
    const [, policy] = ofType('AWS::SQS::QueuePolicy').find(([, p]) => p.Properties.Queues[0].Ref === logicalId(workflows.reconcileDeadLetters))!;
    expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    expect(propsOf(workflows.reconcileFailedAlarm)).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 1 });
  });

  it('deletes only secrets a run tagged, without listing or reading any', () => {
    const statements = withAction(statementsOfFn(workflows.reconciler), 'secretsmanager:');
    expect(statements.find((s) => s.Action === 'secretsmanager:DeleteSecret')).toEqual({
      Action: 'secretsmanager:DeleteSecret',
      Effect: 'Allow',
      Resource: formattedArn('secretsmanager', 'secret:dcp/*/*'),
      Condition: { Null: { 'aws:ResourceTag/dcp:created-by': 'false' } },
    });
    const actions = statements.flatMap((s) => asList<string>(s.Action));
    expect(actions).not.toContain('secretsmanager:ListSecrets');
    expect(actions).not.toContain('secretsmanager:GetSecretValue');
  });

  it('compensates with the tables, secrets and execution reads it needs', () => {
    expect(tableGrants(workflows.reconciler)).toEqual(stepTableAccess(RECONCILER_FN, false));
    const env = propsOf(workflows.reconciler.function).Environment.Variables;
    for (const kind of WORKFLOW_KINDS) expect(env[stateMachineEnvVar(kind)]).toEqual(refOf(workflows.stateMachines[kind]));
    expect(tableGrants(workflows.reconciler)).toMatchObject({ rollouts: 'readWrite', audit: 'readWrite' });
    const states = withAction(statementsOfFn(workflows.reconciler), 'states:');
    expect(states).toEqual([
      // A compensated run a rollout wave started tells the wave it ended.
      { Action: 'states:SendTaskSuccess', Effect: 'Allow', Resource: formattedArn('states', `stateMachine:${workflows.stateMachineNames['rollout-wave']}`) },
      {
        Action: ['states:DescribeExecution', 'states:GetExecutionHistory'],
        Effect: 'Allow',
        Resource: WORKFLOW_KINDS.map((kind) => formattedArn('states', `execution:${workflows.stateMachineNames[kind]}:*`)),
      },
      // The update runs of a halted rollout's running wave (D12).
      { Action: 'states:StopExecution', Effect: 'Allow', Resource: formattedArn('states', `execution:${workflows.stateMachineNames.update}:*`) },
    ]);
  });
});

describe('rollout schedule', () => {
  it('catches up on lost ReleasePublished events by default, for the stable channel (operations.test.ts: off by context)', () => {
    expect(Object.keys(stack.rollouts.scheduleRules)).toEqual(['stable']);
  });
});

describe('alarm', () => {
  it('goes off on the first run that ends in CompensationFailed', () => {
    expect(propsOf(workflows.compensationFailedAlarm)).toMatchObject({
      Namespace: COMPENSATION_FAILED_METRIC.namespace,
      MetricName: COMPENSATION_FAILED_METRIC.name,
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });
});

describe('API functions that drive runs', () => {
  const apiFn = (name: ApiFunctionName) => stack.api.functions[name];
  const executionArns = WORKFLOW_KINDS.map((kind) => formattedArn('states', `execution:${workflows.stateMachineNames[kind]}:*`));
  const machineRefs = WORKFLOW_KINDS.map((kind) => refOf(workflows.stateMachines[kind]));
  const statesStatements = (name: ApiFunctionName) => withAction(statementsOfFn(apiFn(name)), 'states:');

  it('runs starts, stops and reads runs, and knows both state machines', () => {
    expect(API_WORKFLOW_ACCESS.runs).toEqual(['run', 'observe']);
    const statements = statesStatements('runs');
    expect(statements.filter((s) => s.Action === 'states:StartExecution').map((s) => s.Resource)).toEqual(machineRefs);
    expect(statements).toContainEqual({
      Action: ['states:StopExecution', 'states:DescribeExecution', 'states:GetExecutionHistory'],
      Effect: 'Allow',
      Resource: executionArns,
    });
    const env = propsOf(apiFn('runs').function).Environment.Variables;
    for (const kind of WORKFLOW_KINDS) expect(env[stateMachineEnvVar(kind)]).toEqual(refOf(workflows.stateMachines[kind]));
  });

  it('commands completes and keeps alive waits, and nothing else on the state machines', () => {
    const statements = statesStatements('commands');
    expect(statements).toEqual(
      machineRefs.map((Resource) => ({ Action: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'], Effect: 'Allow', Resource })),
    );
  });

  it('executions only reads runs', () => {
    expect(statesStatements('executions')).toEqual([
      { Action: ['states:DescribeExecution', 'states:GetExecutionHistory'], Effect: 'Allow', Resource: executionArns },
    ]);
  });

  it('no other API function touches the state machines', () => {
    for (const name of Object.keys(stack.api.functions) as ApiFunctionName[]) {
      // The rollouts function's own grants are checked in rollouts.test.ts.
      if (API_WORKFLOW_ACCESS[name] || API_MACHINE_ACCESS[name]) continue;
      expect(statesStatements(name), name).toEqual([]);
      const env = propsOf(apiFn(name).function).Environment?.Variables ?? {};
      expect(env[stateMachineEnvVar('provisioning')], name).toBeUndefined();
    }
  });
});
