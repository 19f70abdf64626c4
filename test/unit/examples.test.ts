// The shipped production examples pass the same config validation as packaging and publishing.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateConfig, parseDotEnv } from '../../functions/core/config-validation.js';
import { registerTargetBody } from '../../functions/core/schemas/targets.js';

describe('examples/', () => {
  it.each([
    ['self-hosted', 'examples/self-hosted.env.production'],
    ['saas', 'examples/saas.env.production'],
  ] as const)('%s production config is valid and keeps APP_DEBUG=false', (mode, file) => {
    const text = readFileSync(file, 'utf8');
    expect(validateConfig(mode, text)).toEqual({ valid: true, violations: [] });
    const env = Object.fromEntries(parseDotEnv(text).entries.map((e) => [e.key, e.value]));
    expect(env.APP_DEBUG).toBe('false');
  });

  it('the example target is a valid registration body', () => {
    const r = registerTargetBody.safeParse(JSON.parse(readFileSync('examples/target.json', 'utf8')));
    expect(r.success, JSON.stringify(r.error?.issues)).toBe(true);
  });
});
