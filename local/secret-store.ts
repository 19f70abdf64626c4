// The local runtime's SecretStore (SPEC §9): Secrets Manager's contract on one machine. Values are kept
// encrypted with AES-256-GCM in DCP_DATA_DIR/secrets/store.json under a key in a separate 0600 file; each
// value is bound to its name (additional authenticated data), so swapping ciphertexts between names fails
// to decrypt. An in-memory mode serves tests.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SecretOwnedElsewhereError, type SecretRef, type SecretStore } from '../functions/adapters/secrets.js';

interface StoredSecret {
  createdBy: string;
  createdAt: string;
  /** base64 of iv (12 bytes) ‖ ciphertext ‖ tag (16 bytes). */
  sealed: string;
}

interface StoreFile {
  version: 1;
  secrets: Record<string, StoredSecret>;
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function localSecretRef(name: string): string {
  return `local:${name}`;
}

export class LocalSecretStore implements SecretStore {
  private key: Buffer | undefined;
  private data: StoreFile | undefined;
  /** Operations run one at a time so read-modify-write of the file never interleaves. */
  private queue: Promise<unknown> = Promise.resolve();

  /** `dir` holds `key` and `store.json`; without it the store lives in memory only. */
  private constructor(private readonly dir: string | undefined) {}

  static inMemory(): LocalSecretStore {
    return new LocalSecretStore(undefined);
  }

  static inDirectory(dir: string): LocalSecretStore {
    return new LocalSecretStore(dir);
  }

  create(name: string, value: string, createdBy: string): Promise<SecretRef> {
    return this.serial(async () => {
      const data = await this.load();
      const existing = data.secrets[name];
      if (existing) {
        if (existing.createdBy !== createdBy) throw new SecretOwnedElsewhereError(`Secret ${name} exists and was not created by ${createdBy}`);
        return { name, ref: localSecretRef(name) };
      }
      data.secrets[name] = { createdBy, createdAt: new Date().toISOString(), sealed: this.seal(name, value) };
      await this.save();
      return { name, ref: localSecretRef(name) };
    });
  }

  read(name: string): Promise<string | undefined> {
    return this.serial(async () => {
      const stored = (await this.load()).secrets[name];
      return stored ? this.open(name, stored.sealed) : undefined;
    });
  }

  /** The secret's tag and creation time, or undefined when there is none (Secrets Manager's DescribeSecret). */
  describe(name: string): Promise<(SecretRef & { createdBy: string; createdAt: string }) | undefined> {
    return this.serial(async () => {
      const stored = (await this.load()).secrets[name];
      return stored ? { name, ref: localSecretRef(name), createdBy: stored.createdBy, createdAt: stored.createdAt } : undefined;
    });
  }

  delete(name: string): Promise<void> {
    return this.serial(async () => {
      const data = await this.load();
      if (!(name in data.secrets)) return;
      delete data.secrets[name];
      await this.save();
    });
  }

  list(prefix: string): Promise<SecretRef[]> {
    return this.serial(async () =>
      Object.keys((await this.load()).secrets)
        .filter((n) => n.startsWith(prefix))
        .sort()
        .map((name) => ({ name, ref: localSecretRef(name) })),
    );
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private seal(name: string, value: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key!, iv);
    cipher.setAAD(Buffer.from(name, 'utf8'));
    const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64');
  }

  private open(name: string, sealed: string): string {
    const bytes = Buffer.from(sealed, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key!, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(name, 'utf8'));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  }

  private async load(): Promise<StoreFile> {
    if (this.data) return this.data;
    if (!this.dir) {
      this.key = randomBytes(KEY_BYTES);
      this.data = { version: 1, secrets: {} };
      return this.data;
    }
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    this.key = await this.loadKey(join(this.dir, 'key'));
    try {
      const parsed = JSON.parse(await readFile(join(this.dir, 'store.json'), 'utf8')) as StoreFile;
      if (parsed.version !== 1 || typeof parsed.secrets !== 'object') throw new Error('unknown secret store format');
      this.data = parsed;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`Cannot read the local secret store in ${this.dir}`, { cause: e });
      this.data = { version: 1, secrets: {} };
    }
    return this.data;
  }

  private async loadKey(file: string): Promise<Buffer> {
    try {
      const key = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
      if (key.length !== KEY_BYTES) throw new Error(`${file} does not hold a ${KEY_BYTES}-byte key`);
      return key;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const key = randomBytes(KEY_BYTES);
    try {
      // 'wx': two writers racing on a fresh folder must not each keep a different key.
      await writeFile(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return this.loadKey(file);
      throw e;
    }
    return key;
  }

  private async save(): Promise<void> {
    if (!this.dir) return;
    const file = join(this.dir, 'store.json');
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(this.data, null, 1), { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, file);
  }
}
