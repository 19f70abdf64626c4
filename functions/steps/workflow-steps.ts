// The one Lambda function behind every Task of the provisioning and update workflows (SPEC §7): Step
// Functions invokes it with the state's name in `step`, and it runs that step's module, which is loaded on
// first use so a cold start evaluates only the step it serves. Each step's module stays what it was (its
// own handler, tested on its own); the function's grants are the union of its steps' (infra/access.ts).
import { stepByState, type StepPayload } from '../core/workflows.js';

type StepModule = { handler: (payload: never) => Promise<unknown> };

/** Each step file of the step list (`fn` of STEPS), by name; a test checks the two lists are equal. */
export const WORKFLOW_STEP_MODULES: Readonly<Record<string, () => Promise<StepModule>>> = {
  'policy-gate': () => import('./policy-gate.js'),
  'allocate-target': () => import('./allocate-target.js'),
  'validate-runtime': () => import('./validate-runtime.js'),
  'inject-secrets': () => import('./inject-secrets.js'),
  'run-migrations': () => import('./run-migrations.js'),
  'seed-foundation-data': () => import('./seed-foundation-data.js'),
  'activate-license': () => import('./activate-license.js'),
  'bind-release': () => import('./bind-release.js'),
  'run-health-checks': () => import('./run-health-checks.js'),
  'lock-installer': () => import('./lock-installer.js'),
  'record-audit-event': () => import('./record-audit-event.js'),
  'enable-maintenance': () => import('./enable-maintenance.js'),
  'verify-backup': () => import('./verify-backup.js'),
  'retain-rollback-package': () => import('./retain-rollback-package.js'),
  'shift-traffic': () => import('./shift-traffic.js'),
  rollback: () => import('./rollback.js'),
  'disable-maintenance': () => import('./disable-maintenance.js'),
  'record-blockers': () => import('./record-blockers.js'),
  'delete-secrets': () => import('./delete-secrets.js'),
  'release-allocation': () => import('./release-allocation.js'),
  'unlock-installer': () => import('./unlock-installer.js'),
  'record-failure': () => import('./record-failure.js'),
};

export async function handler(payload: StepPayload): Promise<unknown> {
  const spec = typeof payload?.step === 'string' ? stepByState(payload.step) : undefined;
  const load = spec ? WORKFLOW_STEP_MODULES[spec.fn] : undefined;
  if (!spec || !load) throw unknownStep(`No workflow step is named ${JSON.stringify(payload?.step)}`);
  const { handler: run } = await load();
  return run(payload as never);
}

/** Not retried (no Transient.* name): a definition naming a step this function lacks is a deploy error. */
function unknownStep(message: string): Error {
  const error = new Error(message);
  error.name = 'Step.Unknown';
  return error;
}
