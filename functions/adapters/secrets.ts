// The secret store port: per-target secrets created by "Inject secrets" and deleted by compensation.
// In AWS it is Secrets Manager; the local runtime registers its encrypted file store (setSecretStore).
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';

export interface SecretRef {
  name: string;
  /** ARN in AWS, `local:<name>` locally: what SaaS services and audit records may see. */
  ref: string;
}

export interface SecretStore {
  /**
   * Create `name` with `value`, tagged with the run that created it. Idempotent: if the secret exists and
   * carries the same `createdBy` tag, it answers the existing reference (a retried step succeeds);
   * a secret created by someone else is an error.
   */
  create(name: string, value: string, createdBy: string): Promise<SecretRef>;
  /** Read a value (only the install-secrets step encrypts it for a customer-run target). */
  read(name: string): Promise<string | undefined>;
  /** Delete at once, without a recovery window, so the name can be reused. Missing is fine. */
  delete(name: string): Promise<void>;
  /**
   * The secret's reference and the run that created it (its tag), or undefined when there is none. One
   * DescribeSecret per name: ListSecrets would need `Resource: "*"`, which no step is granted.
   */
  describe(name: string): Promise<(SecretRef & { createdBy?: string }) | undefined>;
}

export class SecretOwnedElsewhereError extends Error {
  override readonly name = 'SecretOwnedElsewhereError';
}

let store: SecretStore | undefined;

export function setSecretStore(next: SecretStore | undefined): void {
  store = next;
}

export function secretStore(): SecretStore {
  store ??= new SecretsManagerStore(new SecretsManagerClient({}));
  return store;
}

/** Per-target secret names: `dcp/<targetId>/<NAME>`. */
export function targetSecretName(targetId: string, key: string): string {
  return `dcp/${targetId}/${key}`;
}

/** Tag naming the run that created a secret; IAM lets compensation delete only secrets that carry it. */
export const CREATED_BY_TAG = 'dcp:created-by';

export class SecretsManagerStore implements SecretStore {
  constructor(private readonly client: SecretsManagerClient) {}

  async create(name: string, value: string, createdBy: string): Promise<SecretRef> {
    try {
      const out = await this.client.send(
        new CreateSecretCommand({ Name: name, SecretString: value, Tags: [{ Key: CREATED_BY_TAG, Value: createdBy }] }),
      );
      return { name, ref: out.ARN! };
    } catch (e) {
      if (!(e instanceof ResourceExistsException)) throw e;
      const existing = await this.client.send(new DescribeSecretCommand({ SecretId: name }));
      const owner = existing.Tags?.find((t) => t.Key === CREATED_BY_TAG)?.Value;
      if (owner !== createdBy) throw new SecretOwnedElsewhereError(`Secret ${name} exists and was not created by ${createdBy}`);
      return { name, ref: existing.ARN! };
    }
  }

  async read(name: string): Promise<string | undefined> {
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: name }));
      return out.SecretString;
    } catch (e) {
      if (e instanceof ResourceNotFoundException) return undefined;
      throw e;
    }
  }

  async delete(name: string): Promise<void> {
    try {
      await this.client.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
    } catch (e) {
      if (!(e instanceof ResourceNotFoundException)) throw e;
    }
  }

  async describe(name: string): Promise<(SecretRef & { createdBy?: string }) | undefined> {
    try {
      const out = await this.client.send(new DescribeSecretCommand({ SecretId: name }));
      const createdBy = out.Tags?.find((t) => t.Key === CREATED_BY_TAG)?.Value;
      return { name, ref: out.ARN!, ...(createdBy ? { createdBy } : {}) };
    } catch (e) {
      if (e instanceof ResourceNotFoundException) return undefined;
      throw e;
    }
  }
}
