// Pure compensation planning: which blockers a caught failure becomes, and what a run must undo.
import { describe, expect, it } from 'vitest';
import { blockersFromFailure, codeOfErrorName, compensationPlan, parseCause } from '../../../functions/core/compensation.js';
import { stepByState, type ExecutionRecord, type ExecutionStep } from '../../../functions/core/workflows.js';
import { blockedError, transientError } from '../../../functions/steps/lib/errors.js';

function record(steps: Partial<ExecutionStep>[], effects: ExecutionRecord['effects'] = {}): ExecutionRecord {
  return {
    id: 'run-1', kind: 'provisioning', targetId: 't', releaseId: '1.0.0', status: 'RUNNING', startedAt: '2026-01-01T00:00:00Z',
    steps: steps.map((s) => ({ name: 'x', status: 'SUCCEEDED', attempts: 1, startedAt: '2026-01-01T00:00:00Z', ...s })),
    effects, idempotencyKey: 'k', version: 1,
  };
}

const waitingOn = (key: string) => record([{ name: 'policyGate' }, { name: 'allocateTarget' }, { name: key, status: 'WAITING' }]);

describe('blockersFromFailure', () => {
  it.each([
    ['our cause with blockers', { Error: 'Blocked.MigrationFailed', Cause: blockedError(stepByState('Run migrations')!, 'exit 3').message }, waitingOn('runMigrations'), 'MIGRATION_FAILED', 'runMigrations'],
    ['a Lambda-wrapped cause', { Error: 'Blocked.SeedFailed', Cause: JSON.stringify({ errorType: 'Blocked.SeedFailed', errorMessage: blockedError(stepByState('Seed foundation data')!, 'dup').message }) }, undefined, 'SEED_FAILED', 'seedFoundationData'],
    ['a Blocked name with a plain cause', { Error: 'Blocked.HealthCheckFailed', Cause: 'HTTP 502' }, waitingOn('runHealthChecks'), 'HEALTH_CHECK_FAILED', 'runHealthChecks'],
    ['a decision code name', { Error: 'Blocked.LicenseRevoked', Cause: 'revoked' }, waitingOn('policyGate'), 'LICENSE_REVOKED', undefined],
    ['a task timeout', { Error: 'States.Timeout' }, waitingOn('runMigrations'), 'AGENT_TIMEOUT', 'runMigrations'],
    ['a heartbeat timeout', { Error: 'States.HeartbeatTimeout' }, waitingOn('bindRelease'), 'AGENT_TIMEOUT', 'bindRelease'],
    ['agent errors after retries', { Error: 'Transient.AgentError', Cause: 'busy' }, waitingOn('validateRuntime'), 'AGENT_TIMEOUT', 'validateRuntime'],
    ['a Lambda step that kept failing transiently', { Error: 'Transient.StepFailed', Cause: transientError(stepByState('Allocate target')!, 'throttled').message }, undefined, 'ALLOCATION_FAILED', 'allocateTarget'],
    ['a command step that kept failing transiently', { Error: 'Transient.StepFailed' }, waitingOn('lockInstaller'), 'AGENT_TIMEOUT', 'lockInstaller'],
    ['an unknown error', { Error: 'Lambda.Unknown', Cause: 'out of memory' }, waitingOn('bindRelease'), 'RELEASE_BIND_FAILED', 'bindRelease'],
    ['nothing known at all', { Error: 'States.Runtime' }, record([]), 'EXECUTION_LOST', undefined],
  ])('%s', (_what, failure, rec, code, stepKey) => {
    const { blockers, step } = blockersFromFailure(failure, rec);
    expect(blockers[0]!.code).toBe(code);
    expect(blockers[0]!.message.length).toBeGreaterThan(0);
    if (stepKey) expect(step?.key).toBe(stepKey);
  });

  it('skips block-branch steps when looking for the failed step', () => {
    const rec = record([{ name: 'runHealthChecks', status: 'FAILED' }, { name: 'recordBlockers', status: 'RUNNING' }]);
    expect(blockersFromFailure({ Error: 'States.TaskFailed' }, rec).step?.key).toBe('runHealthChecks');
  });

  it('maps every Blocked.* name back to its code', () => {
    expect(codeOfErrorName('Blocked.AgentTimeout')).toBe('AGENT_TIMEOUT');
    expect(codeOfErrorName('Blocked.ReleaseSignatureInvalid')).toBe('RELEASE_SIGNATURE_INVALID');
    expect(codeOfErrorName('Blocked.PolicyDenied')).toBe('POLICY_DENIED');
    expect(codeOfErrorName('Transient.StepFailed')).toBeUndefined();
  });

  it('reads causes of every shape', () => {
    expect(parseCause(undefined)).toEqual({});
    expect(parseCause('plain words')).toEqual({ text: 'plain words' });
    expect(parseCause('"a json string"')).toEqual({ text: 'a json string' });
    expect(parseCause(JSON.stringify({ step: 'Bind release', blockers: [{ code: 'X', message: 'm' }, { nonsense: true }] }))).toEqual({
      parsed: { step: 'Bind release', blockers: [{ code: 'X', message: 'm' }] },
    });
  });
});

describe('compensationPlan', () => {
  it('undoes only what the run did and has not undone yet', () => {
    expect(compensationPlan(record([]))).toEqual({ secrets: [], unlockInstaller: false, disableMaintenance: false });
    expect(compensationPlan(record([], { secrets: ['a', 'b', 'a'], installerLocked: true, maintenanceMode: true }))).toEqual({
      secrets: ['a', 'b'], unlockInstaller: true, disableMaintenance: true,
    });
    const undone = record(
      [{ name: 'unlockInstaller', status: 'SUCCEEDED' }, { name: 'disableMaintenance', status: 'SUCCEEDED' }],
      { installerLocked: true, maintenanceMode: true },
    );
    expect(compensationPlan(undone)).toMatchObject({ unlockInstaller: false, disableMaintenance: false });
    const failedOff = record([{ name: 'disableMaintenanceAfterFailure', status: 'FAILED' }], { maintenanceMode: true });
    expect(compensationPlan(failedOff).disableMaintenance).toBe(true);
  });
});
