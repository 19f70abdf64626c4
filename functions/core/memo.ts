// Bounded memo tables for the decision path. Only pure functions of a string key are memoized here (semver
// parsing, range checks, template compilation), so a hit answers exactly what a fresh computation would; the
// bound keeps memory flat whatever the inputs (when a table fills up it is emptied and refilled).

/** Longest key worth remembering; longer ones are computed every time. */
const MAX_KEY_LENGTH = 256;

export class BoundedMemo<V> {
  private readonly table = new Map<string, V>();

  constructor(private readonly limit: number) {}

  get(key: string): V | undefined {
    return this.table.get(key);
  }

  /** Remembers `value` for `key` (unless the key is very long) and answers it. */
  set(key: string, value: V): V {
    if (key.length <= MAX_KEY_LENGTH) {
      if (this.table.size >= this.limit) this.table.clear();
      this.table.set(key, value);
    }
    return value;
  }
}
