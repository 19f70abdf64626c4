import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalBytes, canonicalJson, CanonicalizationError } from '../../../functions/core/crypto/canonical.js';
import { parseJsonStrict } from '../../../functions/core/json.js';

const dir = new URL('../../fixtures/jcs/', import.meta.url);
const names = readdirSync(new URL('input/', dir)).filter((n) => n.endsWith('.json')).sort();

describe('RFC 8785 vectors', () => {
  it('has the six reference vectors', () => {
    expect(names).toEqual(['arrays.json', 'french.json', 'structures.json', 'unicode.json', 'values.json', 'weird.json']);
  });

  it.each(names)('%s canonicalizes to exactly the expected bytes', (name) => {
    const input = parseJsonStrict(readFileSync(new URL(`input/${name}`, dir), 'utf8'));
    const expected = readFileSync(new URL(`output/${name}`, dir));
    expect(Buffer.from(canonicalBytes(input))).toEqual(expected);
  });
});

describe('canonicalization properties', () => {
  const json = fc.jsonValue({ maxDepth: 4 });

  it('is idempotent: canonical text parses back to the same canonical text', () => {
    fc.assert(fc.property(json, (value) => {
      const once = canonicalJson(value);
      expect(canonicalJson(JSON.parse(once))).toBe(once);
    }), { numRuns: 500 });
  });

  it('does not depend on member order', () => {
    fc.assert(fc.property(fc.dictionary(fc.string(), json, { maxKeys: 8 }), (object) => {
      const reversed = Object.fromEntries(Object.entries(object).reverse());
      expect(canonicalJson(reversed)).toBe(canonicalJson(object));
    }), { numRuns: 300 });
  });

  it('is what JSON.parse reads back as the same value', () => {
    fc.assert(fc.property(json, (value) => {
      expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
    }), { numRuns: 300 });
  });
});

describe('values without an I-JSON form', () => {
  it.each([
    ['NaN', Number.NaN],
    ['Infinity', { a: Number.POSITIVE_INFINITY }],
    ['-Infinity', [Number.NEGATIVE_INFINITY]],
    ['undefined member', { a: undefined }],
    ['undefined at the root', undefined],
    ['bigint', { n: 1n }],
    ['function', { f: () => 1 }],
    ['symbol', Symbol('s')],
    ['Date (toJSON)', { at: new Date(0) }],
    ['Map', new Map()],
    ['sparse array', [1, , 3]], // eslint-disable-line no-sparse-arrays
    ['lone surrogate', { s: '\ud800' }],
    ['lone surrogate key', { '\udc00': 1 }],
  ])('refuses %s', (_label, value) => {
    expect(() => canonicalJson(value)).toThrow(CanonicalizationError);
  });

  it('refuses cycles and excessive nesting', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/Cyclic/);
    let deep: unknown = 1;
    for (let i = 0; i < 200; i++) deep = [deep];
    expect(() => canonicalJson(deep)).toThrow(/Nesting/);
  });

  it('accepts a repeated (non-cyclic) reference and null-prototype objects', () => {
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
    const bare = Object.assign(Object.create(null) as object, { b: 2, a: 1 });
    expect(canonicalJson(bare)).toBe('{"a":1,"b":2}');
    expect(canonicalJson(-0)).toBe('0');
  });
});
