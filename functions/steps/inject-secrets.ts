// Inject secrets (SPEC §7.3): create the target's generated secrets, then send install-secrets. SaaS
// services read Secrets Manager through IAM, so their command carries references only; a customer-run
// target receives the values sealed to its X25519 encryptionKey. Secret names are recorded on the run
// before anything is created, so compensation finds them even if this step dies half-way. Results, audit
// records and logs carry names and references, never values.
import { randomBytes } from 'node:crypto';
import { sealSecrets } from '../core/secret-box.js';
import { getExecution, updateExecution } from '../adapters/executions.js';
import { getPolicy } from '../adapters/policies.js';
import { SecretOwnedElsewhereError, secretStore, targetSecretName, type SecretRef } from '../adapters/secrets.js';
import { sendCommand } from './lib/command.js';
import { blockedError } from './lib/errors.js';
import { assertRunOpen, defineStep } from './lib/step.js';

/** One secret as the command, the result and the audit trail see it. */
interface SecretEntry {
  name: string;
  source: 'generated' | 'secrets-manager' | 'customer-provided';
  secretName: string;
  ref?: string;
}

/** 256 bits of randomness, URL-safe so it fits any .env file. */
function generateValue(): string {
  return randomBytes(32).toString('base64url');
}

export const handler = defineStep('inject-secrets', async (ctx) => {
  const { spec, target, execution, payload } = ctx;
  const store = secretStore();
  const customerRun = target.mode !== 'saas';
  if (customerRun && !target.encryptionKey) {
    throw blockedError(spec, `Target ${target.id} has no encryptionKey, so its secrets cannot be delivered.`);
  }
  const required = Object.entries((await getPolicy('secrets')).document.required[target.mode]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // Each secret the mode needs, looked up by name (DescribeSecret; the role has no ListSecrets).
  const existing = new Map<string, SecretRef>();
  for (const [name, source] of required) {
    if (source === 'customer-provided') continue;
    const found = await store.describe(targetSecretName(target.id, name));
    if (found) existing.set(found.name, found);
  }
  const ours = new Set(execution.effects?.secrets ?? []);

  const generated = required.filter(([, source]) => source === 'generated').map(([name]) => targetSecretName(target.id, name));
  // A secret by that name that this run did not set out to create belongs to someone else: never adopt it
  // (compensation would delete it).
  const foreign = generated.filter((n) => existing.has(n) && !ours.has(n));
  if (foreign.length > 0) throw blockedError(spec, `Secrets ${foreign.join(', ')} already exist and were not created by this run.`);
  if (generated.some((n) => !ours.has(n))) {
    await updateExecution(payload.execution.id, (r) => {
      assertRunOpen(spec, r);
      return { ...r, effects: { ...r.effects, secrets: [...new Set([...(r.effects?.secrets ?? []), ...generated])] } };
    });
  }

  const entries: SecretEntry[] = [];
  const values: Record<string, string> = {};
  for (const [name, source] of required) {
    const secretName = targetSecretName(target.id, name);
    if (source === 'generated') {
      let ref: SecretRef;
      try {
        ref = await store.create(secretName, generateValue(), payload.execution.id);
      } catch (e) {
        if (e instanceof SecretOwnedElsewhereError) throw blockedError(spec, `Secret ${secretName} already exists and was not created by this run.`);
        throw e;
      }
      entries.push({ name, source, secretName, ref: ref.ref });
      if (customerRun) {
        // A retry finds the value an earlier attempt created, not the one generated now: read it back.
        const value = await store.read(secretName);
        if (value === undefined) throw blockedError(spec, `Secret ${secretName} vanished after it was created.`);
        values[name] = value;
      }
    } else if (source === 'secrets-manager') {
      const ref = existing.get(secretName);
      if (!ref) throw blockedError(spec, `${name} is not in Secrets Manager (expected ${secretName}).`);
      entries.push({ name, source, secretName, ref: ref.ref });
      if (customerRun) {
        const value = await store.read(secretName);
        if (value === undefined) throw blockedError(spec, `${name} is not in Secrets Manager (expected ${secretName}).`);
        values[name] = value;
      }
    } else {
      // The customer keeps this value at their site; the agent is told which name to use.
      entries.push({ name, source, secretName });
    }
  }

  // The run may have been stopped and compensated while the secrets were being created: undo them here.
  const after = await getExecution(payload.execution.id);
  if (after && (after.compensatedAt || after.status !== 'RUNNING')) {
    for (const n of generated) await store.delete(n);
    assertRunOpen(spec, after);
  }

  const names = entries.map(({ name, source, secretName, ref }) => ({ name, source, secretName, ...(ref ? { ref } : {}) }));
  return sendCommand(ctx, {
    payload: {
      secrets: names,
      ...(customerRun && Object.keys(values).length > 0 ? { sealed: sealSecrets(values, target.encryptionKey!) } : {}),
    },
    details: { secrets: names.map((n) => n.name), created: generated },
  });
});
