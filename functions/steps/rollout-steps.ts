// The one Lambda function behind every Task of the rollout and rollout-wave state machines (SPEC §7.4):
// each Task names its step module in the payload's `step` (statemachines/rollout*.asl.json), and this runs
// that module, loaded on first use. The modules stay as they are; the function's grants are the union of
// the rollout steps' (infra/access.ts, ROLLOUT_STEP_TABLE_ACCESS).

type StepModule = { handler: (payload: never) => Promise<unknown> };

/** Every rollout step file; a test checks this equals ROLLOUT_STEP_FNS and the steps the ASL names. */
export const ROLLOUT_STEP_MODULES: Readonly<Record<string, () => Promise<StepModule>>> = {
  'rollout-plan': () => import('./rollout-plan.js'),
  'rollout-load': () => import('./rollout-load.js'),
  'rollout-judge-wave': () => import('./rollout-judge-wave.js'),
  'rollout-complete': () => import('./rollout-complete.js'),
  'rollout-load-wave': () => import('./rollout-load-wave.js'),
  'rollout-update-target': () => import('./rollout-update-target.js'),
  'rollout-record-outcome': () => import('./rollout-record-outcome.js'),
  'rollout-complete-wave': () => import('./rollout-complete-wave.js'),
};

export async function handler(payload: { step?: unknown }): Promise<unknown> {
  const step = payload?.step;
  const load = typeof step === 'string' && Object.hasOwn(ROLLOUT_STEP_MODULES, step) ? ROLLOUT_STEP_MODULES[step] : undefined;
  if (!load) throw unknownStep(`No rollout step is named ${JSON.stringify(step)}`);
  const { handler: run } = await load();
  return run(payload as never);
}

/** Not retried (no Transient.* name): a definition naming a step this function lacks is a deploy error. */
function unknownStep(message: string): Error {
  const error = new Error(message);
  error.name = 'Step.Unknown';
  return error;
}
