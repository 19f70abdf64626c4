// D7: no state input, state output or Map iteration result of the rollout-wave state machine may pass
// Step Functions' 256 KiB payload limit (States.DataLimitExceeded, which no Catch can handle), whatever the
// policy allows: a wave of MAX_WAVE_SIZE (1,000) targets with the longest target ids, every one waiting for
// a maintenance window and reporting a failed run with blockers. The definition runs on aws-local-stepfunctions
// with the step functions stubbed by realistic results; every state's input and output is measured.
import { describe, expect, it } from 'vitest';
import { MAX_WAVE_SIZE } from '../../functions/core/rollouts.js';
import { loadDefinition, numericSettings, placeholdersOf } from '../../statemachines/definitions.js';

if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}
const { StateMachine } = await import('aws-local-stepfunctions');

/** Step Functions' limit on a state's input or output and on a task result (256 KiB, UTF-8). */
const PAYLOAD_LIMIT = 256 * 1024;
const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v ?? null), 'utf8');

const targetId = (i: number) => `t${String(i).padStart(5, '0')}-${'x'.repeat(64 - 7)}`.slice(0, 64);
const blockers = [
  { code: 'HEALTH_CHECK_FAILED', message: 'Health checks failed after the release was installed.', remediation: 'Inspect the health check output in the execution; fix the target, then unblock and retry.' },
  { code: 'ROLLBACK_FAILED', message: 'Rolling back to the retained release failed.', remediation: 'Restore the target by hand from the rollback package, then unblock.' },
];

async function measureWave(size: number) {
  const strings = Object.fromEntries(placeholdersOf('rollout-wave').map((p) => [p, `arn:aws:lambda:eu-west-1:111122223333:function:${p}`]));
  const definition = JSON.parse(loadDefinition('rollout-wave', { numbers: numericSettings(), strings }));
  // The library cannot wait for task tokens or timestamps; the stubs answer at once and windows are past.
  const opensAt = new Date(Date.now() - 1000).toISOString();
  const targets = Array.from({ length: size }, (_, i) => ({ targetId: targetId(i), windowOpensAt: opensAt }));
  const lambda = (payload: any): any => ({ StatusCode: 200, ExecutedVersion: '$LATEST', Payload: payload });
  const machine = new StateMachine(definition, { validationOptions: { checkPaths: false } });
  const execution = machine.run(
    { rollout: { id: 'ro-evt-0123456789abcdef01234567' }, wave: { index: 7 }, AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: 'arn:aws:states:eu-west-1:111122223333:execution:DeploymentControlPlane-rollout:ro-evt-0123456789abcdef01234567' },
    {
      overrides: {
        taskResourceLocalHandlers: {
          'Load wave': async () => lambda({ summary: `Wave 7 (wave): ${size} target(s), up to 1000 at a time, ${size} waiting for their maintenance window`, targets, maxConcurrency: 1000 }),
          'Update target': async (input: any): Promise<any> => ({
            outcome: 'failed', executionId: `update-${input.Payload.targetId}-0123456789abcdef`, status: 'FAILED', blockers,
          }),
          'Record target outcome': async (input: any) => lambda({ summary: `Target ${input.Payload.targetId}: failed (HEALTH_CHECK_FAILED, ROLLBACK_FAILED)`, outcome: 'failed' }),
          'Complete wave': async () => lambda({ summary: `Wave 7 completed: 0 succeeded, ${size} failed`, index: 7, failures: size, succeeded: 0 }),
        },
        waitTimeOverrides: { 'Wait for maintenance window': 0 },
      },
      context: {
        Execution: { Id: 'arn:aws:states:eu-west-1:111122223333:execution:DeploymentControlPlane-rollout-wave:ro-evt-0123456789abcdef01234567-w0007', Name: 'ro-evt-0123456789abcdef01234567-w0007' },
        Task: { Token: 'A'.repeat(1024) },
        State: { RetryCount: 0 },
      },
    } as never,
  );
  const sizes = new Map<string, number>();
  const pump = (async () => {
    for await (const ev of execution.eventLogs as AsyncGenerator<any>) {
      for (const [kind, value] of [['input', ev.state?.input], ['output', ev.state?.output]] as const) {
        if (value === undefined || !ev.state?.name) continue;
        const key = `${ev.state.name} ${kind}`;
        sizes.set(key, Math.max(sizes.get(key) ?? 0, bytes(value)));
      }
    }
  })();
  const output = await execution.result;
  await pump;
  return { sizes, output };
}

describe('rollout-wave payloads (D7)', () => {
  it(`stay under 256 KiB for a wave of ${MAX_WAVE_SIZE} targets with the longest ids, windows and failures`, async () => {
    const { sizes, output } = await measureWave(MAX_WAVE_SIZE);
    expect(output).toMatchObject({ failures: MAX_WAVE_SIZE });
    const report = [...sizes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}: ${(v / 1024).toFixed(1)} KiB`);
    console.log(`state sizes, wave of ${MAX_WAVE_SIZE} (largest first):\n  ${report.join('\n  ')}`);
    for (const [key, size] of sizes) expect(size, key).toBeLessThan(PAYLOAD_LIMIT);
    // The Map result itself: one {} per target, whatever each iteration did.
    expect(sizes.get('Update targets output')!).toBeLessThan(PAYLOAD_LIMIT / 2);
    expect(sizes.get('Record target outcome output')).toBe(2);
  }, 120_000);
});
