// Error names are what the state machines' Retry and Catch match: table-driven over what steps can throw.
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { STEPS, TRANSIENT_ERRORS, stepByState, type StepSpec } from '../../../functions/core/workflows.js';
import { ProblemError } from '../../../functions/core/problems.js';
import { StepError, blockedError, commandFailure, toStepError, transientError } from '../../../functions/steps/lib/errors.js';
import { Contention } from '../../../functions/steps/lib/store.js';

const spec = (state: string): StepSpec => stepByState(state)!;

function sdkError(name: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} happened`), { name, ...extra });
}

describe('toStepError', () => {
  const migrations = spec('Run migrations');
  it.each([
    ['a throttled DynamoDB call', sdkError('ProvisionedThroughputExceededException'), 'Transient.StepFailed'],
    ['a transaction conflict', sdkError('TransactionConflictException'), 'Transient.StepFailed'],
    ['a 503 from any service', sdkError('SomethingOdd', { $metadata: { httpStatusCode: 503 } }), 'Transient.StepFailed'],
    ['a retryable SDK error', sdkError('Odd', { $retryable: {} }), 'Transient.StepFailed'],
    ['a reset connection', sdkError('Error', { code: 'ECONNRESET' }), 'Transient.StepFailed'],
    ['a lost optimistic-concurrency race', new Contention('raced'), 'Transient.StepFailed'],
    ['a stale target version', new ProblemError(412, 'PRECONDITION_FAILED', 'stale'), 'Transient.StepFailed'],
    ['a transaction cancelled by contention', sdkError('TransactionCanceledException', { CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }] }), 'Transient.StepFailed'],
    ['a transaction cancelled by a condition', sdkError('TransactionCanceledException', { CancellationReasons: [{ Code: 'ConditionalCheckFailed' }] }), 'Blocked.MigrationFailed'],
    ['a programming error', new TypeError('x is undefined'), 'Blocked.MigrationFailed'],
    ['a 400 from a service', sdkError('ValidationException', { $metadata: { httpStatusCode: 400 } }), 'Blocked.MigrationFailed'],
    ['a thrown string', 'boom', 'Blocked.MigrationFailed'],
  ])('%s → %s', (_what, thrown, expected) => {
    const e = toStepError(migrations, thrown);
    expect(e.name).toBe(expected);
    const cause = JSON.parse(e.message);
    expect(cause.step).toBe('Run migrations');
    if (expected.startsWith('Blocked.')) expect(cause.blockers[0]).toMatchObject({ code: 'MIGRATION_FAILED', remediation: expect.any(String) });
    else expect(cause.message).toEqual(expect.any(String));
  });

  it('passes step errors through unchanged', () => {
    const own = blockedError(spec('Inject secrets'), 'no key');
    expect(toStepError(migrations, own)).toBe(own);
  });

  it("names every step's blocker error after its code, and transient errors are in the Retry list", () => {
    for (const s of STEPS) {
      const e = blockedError(s, 'detail');
      expect(e.name).toMatch(/^Blocked\.[A-Z][A-Za-z]+$/);
      expect(e.retryable).toBe(false);
      expect(TRANSIENT_ERRORS).toContain(transientError(s, 'd').name);
      expect(TRANSIENT_ERRORS).toContain(transientError(s, 'd', 'Transient.AgentError').name);
    }
    expect(blockedError(spec('Run health checks'), 'd').name).toBe('Blocked.HealthCheckFailed');
    expect(blockedError(spec('Check policy gate'), 'd').name).toBe('Blocked.PolicyDenied');
  });

  it('puts given blockers in the cause and names the error after the first', () => {
    const e = blockedError(spec('Check policy gate'), 'denied', [
      { code: 'LICENSE_EXPIRED', message: 'expired' },
      { code: 'BACKUP_STALE', message: 'old' },
    ]);
    expect(e).toBeInstanceOf(StepError);
    expect(e.name).toBe('Blocked.LicenseExpired');
    expect(JSON.parse(e.message).blockers.map((b: { code: string }) => b.code)).toEqual(['LICENSE_EXPIRED', 'BACKUP_STALE']);
  });
});

describe('commandFailure', () => {
  it("blocks with the step's blocker and the agent's message, or stays retryable for Transient.*", () => {
    const failed = commandFailure({ step: 'runHealthChecks', type: 'run-health-checks' }, { name: 'HealthCheckError', message: 'HTTP 502 from /health' });
    expect(failed.error).toBe('Blocked.HealthCheckFailed');
    expect(JSON.parse(failed.cause).blockers[0].message).toContain('HTTP 502');
    expect(commandFailure({ step: 'runHealthChecks', type: 'run-health-checks' }, { name: 'Transient.Busy', message: 'later' }).error).toBe('Transient.AgentError');
    // The block branch's own switch-off step is found by its key, not by its function.
    expect(commandFailure({ step: 'disableMaintenanceAfterFailure', type: 'disable-maintenance' }, undefined).error).toBe('Blocked.MaintenanceModeFailed');
  });
});

describe('step files', () => {
  it('exist for every function the step list names, each exporting a handler', async () => {
    const dir = join(import.meta.dirname, '../../../functions/steps');
    const files = new Set(readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)));
    for (const fn of new Set(STEPS.map((s) => s.fn))) {
      expect(files.has(fn), `functions/steps/${fn}.ts`).toBe(true);
      const mod = (await import(`../../../functions/steps/${fn}.ts`)) as { handler?: unknown };
      expect(typeof mod.handler, fn).toBe('function');
    }
  });
});
