// Delete injected secrets (block branch): every secret this run created, deleted without a recovery
// window so the names can be reused (SPEC §7.3). Names were recorded before creation, so a step that died
// half-way is covered; deleting a secret that never got created is a no-op.
import { compensationPlan } from '../core/compensation.js';
import { secretStore } from '../adapters/secrets.js';
import { defineStep, succeeded } from './lib/step.js';
import { commit } from './lib/store.js';

export const handler = defineStep('delete-secrets', async ({ payload, execution, now }) => {
  const { secrets } = compensationPlan(execution);
  for (const name of secrets) await secretStore().delete(name);
  if (secrets.length > 0) {
    await commit(
      payload.execution.id,
      () => ({ audit: [{ action: 'secrets.deleted', details: { executionId: payload.execution.id, secrets } }] }),
      now,
    );
  }
  return succeeded({
    summary: secrets.length > 0 ? `Deleted ${secrets.length} secret(s) this run created` : 'This run created no secrets',
    deleted: secrets,
  });
});
