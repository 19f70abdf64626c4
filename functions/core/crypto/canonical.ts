// RFC 8785 (JSON Canonicalization Scheme) bytes: what release manifests, attestations, command results and
// audit records are signed or hashed over. Serialization itself is the `canonicalize` package; this module
// only makes sure the value is I-JSON first, because that package quietly drops `undefined` members, calls
// `toJSON` and would emit strings that are not valid Unicode, each of which would let two parties hash
// different bytes for what they believe is the same document.
import canonicalizeModule from 'canonicalize';

export class CanonicalizationError extends Error {
  override readonly name = 'CanonicalizationError';
  constructor(
    message: string,
    /** JSON-pointer-like path to the offending value ('' is the root). */
    readonly path: string,
  ) {
    super(path === '' ? message : `${message} at ${path}`);
  }
}

// The package is CommonJS with `export default` in its typings; under NodeNext the default import is the
// module object, whose runtime value is the function itself.
const serialize = ((canonicalizeModule as unknown as { default?: unknown }).default ??
  canonicalizeModule) as (input: unknown) => string | undefined;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const MAX_DEPTH = 128;

/** Throws CanonicalizationError unless `value` is plain I-JSON data (RFC 7493). */
export function assertIJson(value: unknown): void {
  check(value, '', 0, new Set());
}

function check(value: unknown, path: string, depth: number, ancestors: Set<object>): void {
  if (depth > MAX_DEPTH) throw new CanonicalizationError('Nesting too deep', path);
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) throw new CanonicalizationError('String is not valid Unicode (lone surrogate)', path);
    return;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new CanonicalizationError(`Number ${value} has no JSON form`, path);
    return;
  }
  if (typeof value !== 'object') throw new CanonicalizationError(`A ${typeof value} has no JSON form`, path);
  if (ancestors.has(value)) throw new CanonicalizationError('Cyclic structure', path);
  ancestors.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw new CanonicalizationError('Sparse array', `${path}/${i}`);
      check(value[i], `${path}/${i}`, depth + 1, ancestors);
    }
  } else {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      throw new CanonicalizationError('Only plain objects have a JSON form', path);
    }
    if (Object.getOwnPropertySymbols(value).length > 0) {
      throw new CanonicalizationError('Symbol-keyed members have no JSON form', path);
    }
    for (const [key, member] of Object.entries(value)) {
      const memberPath = `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      if (LONE_SURROGATE.test(key)) throw new CanonicalizationError('Member name is not valid Unicode', memberPath);
      // Any copy of the object by assignment would drop it, so signer and verifier could hash different bytes.
      if (key === '__proto__') throw new CanonicalizationError('Member name "__proto__" is not accepted', memberPath);
      if (member === undefined) throw new CanonicalizationError('Member value is undefined', memberPath);
      check(member, memberPath, depth + 1, ancestors);
    }
  }
  ancestors.delete(value);
}

/** The RFC 8785 text of `value`. Throws CanonicalizationError for anything that is not I-JSON. */
export function canonicalJson(value: unknown): string {
  assertIJson(value);
  const text = serialize(value);
  if (text === undefined) throw new CanonicalizationError('Value has no JSON form', '');
  return text;
}

/** The RFC 8785 bytes (UTF-8) of `value`: the input to every signature and hash in the control plane. */
export function canonicalBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}
