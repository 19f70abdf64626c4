import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isSecretReference,
  parseDotEnv,
  REQUIRED_CONFIG_KEYS,
  validateConfig,
  validateReleaseConfig,
} from '../../functions/core/config-validation.js';
import { DEPLOYMENT_MODES, type DeploymentMode } from '../../functions/core/policies.js';

/** A configuration that satisfies every rule for `mode`. */
function goodEnv(mode: DeploymentMode): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of REQUIRED_CONFIG_KEYS[mode]) env[key] = `value-of-${key.toLowerCase().replace(/_/g, '-')}`;
  env.APP_ENV = 'production';
  env.APP_DEBUG = 'false';
  env.APP_URL = 'https://app.example.com';
  const secretRef = (key: string) => (mode === 'saas' ? `secretsmanager:dcp/${key}` : `\${ref:${key}}`);
  for (const key of Object.keys(env)) if (/(_KEY|_SECRET|_PASSWORD|_TOKEN)$/.test(key)) env[key] = secretRef(key);
  return env;
}

const codes = (result: ReturnType<typeof validateConfig>) => result.violations.map((v) => `${v.key}:${v.code}`).sort();

describe('validateConfig', () => {
  it.each(DEPLOYMENT_MODES)('accepts a complete production configuration for %s', (mode) => {
    expect(validateConfig(mode, goodEnv(mode))).toEqual({ valid: true, violations: [] });
  });

  it('requires APP_DEBUG=false and APP_ENV=production', () => {
    expect(codes(validateConfig('saas', { ...goodEnv('saas'), APP_DEBUG: 'true' }))).toEqual(['APP_DEBUG:APP_DEBUG_NOT_FALSE']);
    expect(codes(validateConfig('saas', { ...goodEnv('saas'), APP_DEBUG: 'FALSE ' }))).toEqual(['APP_DEBUG:APP_DEBUG_NOT_FALSE']);
    expect(codes(validateConfig('saas', { ...goodEnv('saas'), APP_ENV: 'staging' }))).toEqual(['APP_ENV:APP_ENV_NOT_PRODUCTION']);
    const { APP_DEBUG: _omitted, ...noDebug } = goodEnv('saas');
    expect(codes(validateConfig('saas', noDebug))).toEqual(['APP_DEBUG:REQUIRED_KEY_MISSING']);
  });

  it('requires the keys of each mode', () => {
    const { BRANDING_REF: _b, BILLING_ACCOUNT_ID: _c, ...rest } = goodEnv('white-label');
    expect(codes(validateConfig('white-label', rest))).toEqual(['BILLING_ACCOUNT_ID:REQUIRED_KEY_MISSING', 'BRANDING_REF:REQUIRED_KEY_MISSING']);
    expect(codes(validateConfig('self-hosted', { ...goodEnv('self-hosted'), LICENSE_ID: '' }))).toEqual(['LICENSE_ID:REQUIRED_KEY_MISSING']);
    expect(REQUIRED_CONFIG_KEYS['enterprise-private-cloud']).toContain('SSO_CLIENT_SECRET');
    expect(REQUIRED_CONFIG_KEYS.saas).not.toContain('LICENSE_TOKEN');
  });

  it.each(['APP_KEY', 'AWS_SECRET', 'DB_PASSWORD', 'LICENSE_TOKEN', 'MAIL_PASSWORD', 'STRIPE_SECRET', 'GPG_PASSPHRASE'])('refuses a literal %s', (key) => {
    const result = validateConfig('self-hosted', { ...goodEnv('self-hosted'), [key]: 'hunter2' });
    expect(codes(result)).toEqual([`${key}:SECRET_LITERAL`]);
    expect(JSON.stringify(result)).not.toContain('hunter2');
  });

  it('allows empty secrets and each documented reference form', () => {
    for (const value of ['', 'secretsmanager:dcp/t1/APP_KEY', 'secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:app-AbCdEf', 'ref:app-key', '${ref:app-key}']) {
      expect(isSecretReference(value) || value === '').toBe(true);
      expect(validateConfig('self-hosted', { ...goodEnv('self-hosted'), MAIL_PASSWORD: value }).valid).toBe(true);
    }
    for (const value of ['ref:', '${ref:a', 'secretsmanager:', 'vault:x', 'ref:a b']) expect(isSecretReference(value)).toBe(false);
  });

  it('accepts only Secrets Manager references for SaaS', () => {
    expect(codes(validateConfig('saas', { ...goodEnv('saas'), APP_KEY: 'ref:app-key' }))).toEqual(['APP_KEY:SECRET_SOURCE_NOT_ALLOWED']);
  });

  it('refuses a password embedded in a URL', () => {
    expect(codes(validateConfig('saas', { ...goodEnv('saas'), DATABASE_URL: 'postgres://app:s3cret@db:5432/app' }))).toEqual(['DATABASE_URL:SECRET_LITERAL']);
    expect(validateConfig('saas', { ...goodEnv('saas'), DATABASE_URL: 'postgres://db:5432/app' }).valid).toBe(true);
  });

  it('refuses key names dotenv cannot hold', () => {
    expect(codes(validateConfig('saas', { ...goodEnv('saas'), '1BAD': 'x' }))).toEqual(['1BAD:INVALID_KEY_NAME']);
  });
});

describe('.env text', () => {
  const toText = (env: Record<string, string>) => Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n');

  it('validates .env text the same way as an object', () => {
    const text = `# production\n${toText(goodEnv('self-hosted'))}\n`;
    expect(validateConfig('self-hosted', text)).toEqual({ valid: true, violations: [] });
    const bad = validateConfig('self-hosted', text.replace('APP_DEBUG=false', 'APP_DEBUG=true'));
    expect(bad.violations).toEqual([expect.objectContaining({ key: 'APP_DEBUG', code: 'APP_DEBUG_NOT_FALSE', line: expect.any(Number) })]);
  });

  it('flags duplicate keys, with every occurrence checked', () => {
    const text = `${toText(goodEnv('saas'))}\nAPP_DEBUG=true\n`;
    expect(codes(validateConfig('saas', text))).toEqual(['APP_DEBUG:APP_DEBUG_NOT_FALSE', 'APP_DEBUG:DUPLICATE_KEY']);
  });

  it('parses comments, export, quotes, escapes and multi-line values', () => {
    const text = [
      '\uFEFF# a comment',
      '',
      'export APP_NAME="Acme Cloud"',
      "SINGLE='no $escapes \\n here' # trailing comment",
      'DOUBLE="line\\nbreak \\"quoted\\" \\$HOME"',
      'UNQUOTED=plain # comment',
      'HASH=abc#def',
      'EMPTY=',
      'SPACED = value',
      'PEM="-----BEGIN-----',
      'abc',
      '-----END-----"',
      'CRLF=yes\r',
      'LAST=1',
    ].join('\n');
    const { entries, errors } = parseDotEnv(text);
    expect(errors).toEqual([]);
    expect(Object.fromEntries(entries.map((e) => [e.key, e.value]))).toEqual({
      APP_NAME: 'Acme Cloud',
      SINGLE: 'no $escapes \\n here',
      DOUBLE: 'line\nbreak "quoted" $HOME',
      UNQUOTED: 'plain',
      HASH: 'abc#def',
      EMPTY: '',
      SPACED: 'value',
      PEM: '-----BEGIN-----\nabc\n-----END-----',
      CRLF: 'yes',
      LAST: '1',
    });
    expect(entries.find((e) => e.key === 'LAST')?.line).toBe(14);
  });

  it.each([
    ['no equals sign', 'JUSTAKEY'],
    ['an unterminated quote', 'A="open'],
    ['text after the closing quote', 'A="x"y'],
    ['unquoted whitespace', 'A=two words'],
    ['a stray quote', 'A=it\'s'],
    ['a bad key name', '9A=x'],
  ])('reports %s as a syntax error with its line', (_label, line) => {
    const result = validateConfig('saas', `${toText(goodEnv('saas'))}\n${line}\n`);
    expect(result.valid).toBe(false);
    expect(result.violations).toContainEqual(expect.objectContaining({ code: 'SYNTAX_ERROR', line: Object.keys(goodEnv('saas')).length + 1 }));
  });

  it('reads back any value written in double quotes (property)', () => {
    const key = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,10}$/);
    const value = fc.string({ maxLength: 30 }).filter((v) => !v.includes('\r'));
    fc.assert(fc.property(fc.dictionary(key, value, { maxKeys: 6 }), (env) => {
      const text = Object.entries(env)
        .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\$/g, '\\$')}"`)
        .join('\n');
      const { entries, errors } = parseDotEnv(text);
      expect(errors).toEqual([]);
      expect(Object.fromEntries(entries.map((e) => [e.key, e.value]))).toEqual(env);
    }), { numRuns: 300 });
  });
});

describe('validateReleaseConfig', () => {
  it('needs APP_DEBUG and APP_ENV but not install-time keys', () => {
    expect(validateReleaseConfig({ APP_DEBUG: 'false', APP_ENV: 'production' }).valid).toBe(true);
    expect(validateReleaseConfig({ APP_ENV: 'production' }).violations.map((v) => v.code)).toEqual(['REQUIRED_KEY_MISSING']);
    expect(validateReleaseConfig({ APP_DEBUG: 'false', APP_ENV: 'production', REDIS_PASSWORD: 'x' }).violations.map((v) => v.code)).toEqual(['SECRET_LITERAL']);
  });
});
