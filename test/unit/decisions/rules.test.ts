// Edges of individual rules, the registry itself, and the fact-loading contract with the adapter.
import { describe, expect, it } from 'vitest';
import {
  BLOCKERS,
  BLOCKER_CODES,
  blockedErrorName,
  codesOwnedBy,
  renderBlocker,
} from '../../../functions/core/blockers.js';
import {
  TRUST_SET_KEY,
  assembleFacts,
  billingAccountGuardKey,
  decide,
  decideFor,
  defaultAction,
  factKeyList,
  factKeys,
  judgeReleaseSigners,
  withTrustedKey,
  type DecideInput,
} from '../../../functions/core/decisions.js';
import { POLICY_KINDS } from '../../../functions/core/policies.js';
import { FAULTS, K1, K3, NOW, at, baseline, build, makeAttestation, makeRelease, trustedKey } from './fixtures.js';

const codesOf = (input: DecideInput) => decide(input).blockers.map((b) => b.code);
const fault = (code: string, name: string) => {
  const found = FAULTS.find((f) => f.code === code && f.name === name);
  if (!found) throw new Error(`no fault ${code}: ${name}`);
  return found;
};

/** A self-hosted target that is registered but not provisioned yet: no release bound, no heartbeat. */
function newTarget(action: DecideInput['action']): DecideInput {
  const input = baseline('self-hosted', action);
  const t = input.facts.target;
  t.status = 'registered';
  delete t.currentRelease;
  delete t.lastHeartbeatAt;
  delete input.facts.boundRelease;
  input.facts.attestation = makeAttestation(t, NOW);
  return input;
}

describe('registry', () => {
  it('has unique codes, each owned by one policy kind', () => {
    expect(new Set(BLOCKER_CODES).size).toBe(BLOCKERS.length);
    const owned = POLICY_KINDS.flatMap((k) => codesOwnedBy(k));
    expect(owned.sort()).toEqual([...BLOCKER_CODES].sort());
  });

  it('keeps the SPEC §4 table order, with RELEASE_NOT_FOUND added last', () => {
    expect(BLOCKER_CODES.slice(0, 5)).toEqual([
      'LICENSE_REVOKED', 'ATTESTATION_FAILED', 'UNSUPPORTED_RUNTIME', 'MISSING_BACKUP_POLICY', 'RELEASE_REVOKED',
    ]);
    expect(BLOCKER_CODES.at(-2)).toBe('TARGET_BLOCKED');
    expect(BLOCKER_CODES.at(-1)).toBe('RELEASE_NOT_FOUND');
  });

  it('names Step Functions errors after the code', () => {
    expect(blockedErrorName('UNSUPPORTED_RUNTIME')).toBe('Blocked.UnsupportedRuntime');
    expect(blockedErrorName('MIGRATIONS_NOT_BACKWARD_COMPATIBLE')).toBe('Blocked.MigrationsNotBackwardCompatible');
  });

  it('refuses to render a message with a missing parameter', () => {
    expect(() => renderBlocker('LICENSE_EXPIRED', { licenseId: 'l' })).toThrow(/expiresAt/);
  });
});

describe('HEARTBEAT_STALE and new targets', () => {
  it('does not block provisioning or the first bind of a target that never sent a heartbeat', () => {
    expect(decide(newTarget('provision'))).toEqual({ decision: 'allow', blockers: [] });
    expect(decide(newTarget('bind'))).toEqual({ decision: 'allow', blockers: [] });
  });

  it('blocks an update of a target without heartbeat (and it has no rollback package either)', () => {
    expect(codesOf(newTarget('update'))).toEqual(['HEARTBEAT_STALE', 'ROLLBACK_PACKAGE_MISSING']);
  });

  it('accepts a heartbeat exactly at the edge of the window', () => {
    const input = baseline('white-label', 'update');
    input.facts.target.lastHeartbeatAt = at(NOW, -input.policies.target.heartbeatMaxAgeSeconds);
    expect(codesOf(input)).toEqual([]);
  });
});

describe('release ordering', () => {
  it('REQUIRED_RELEASE_SKIPPED ignores required versions equal to the bound or the new one', () => {
    const input = baseline('saas', 'update');
    input.facts.release!.requiredVersionsBefore = ['2.3.0', '2.4.0', '1.0.0'];
    expect(codesOf(input)).toEqual([]);
  });

  it('REQUIRED_RELEASE_SKIPPED counts a required pre-release between the two and names them in order', () => {
    const input = baseline('saas', 'update');
    input.facts.release!.requiredVersionsBefore = ['2.3.9', '2.4.0-rc.1', '2.3.1'];
    const [blocker] = decide(input).blockers;
    expect(blocker!.code).toBe('REQUIRED_RELEASE_SKIPPED');
    expect(blocker!.message).toContain('2.3.1, 2.3.9, 2.4.0-rc.1');
    expect(blocker!.remediation).toBe('Update to 2.3.1 first.');
  });

  it('re-binding the bound version is not a downgrade', () => {
    const input = baseline('self-hosted', 'bind');
    input.facts.release = input.facts.boundRelease;
    input.facts.releaseId = '2.3.0';
    expect(codesOf(input)).toEqual([]);
  });

  it('without a releaseId no release code is judged', () => {
    const input = baseline('self-hosted', 'update');
    delete input.facts.release;
    delete input.facts.releaseId;
    expect(codesOf(input)).toEqual([]);
  });
});

describe('MIGRATIONS_NOT_BACKWARD_COMPATIBLE', () => {
  const breaking = { id: '2026_01_02_000001_drop', checksum: 'f'.repeat(64), backwardCompatible: false };

  it('ignores a breaking migration the bound release already ran', () => {
    const input = baseline('saas', 'update');
    input.facts.release!.migrations.unshift(breaking);
    input.facts.boundRelease!.migrations.unshift(breaking);
    expect(codesOf(input)).toEqual([]);
  });

  it('counts every migration when the bound release is unknown', () => {
    const input = baseline('saas', 'update');
    input.facts.release!.migrations.unshift(breaking);
    input.facts.boundRelease!.migrations.unshift(breaking);
    delete input.facts.boundRelease;
    expect(codesOf(input)).toEqual(['MIGRATIONS_NOT_BACKWARD_COMPATIBLE']);
  });

  it('leaves an in-place SaaS target to STRATEGY_NOT_ALLOWED', () => {
    const input = build('saas', 'update', [fault('MIGRATIONS_NOT_BACKWARD_COMPATIBLE', 'breaking migration with blue-green')]);
    input.facts.target.strategy = 'in-place';
    expect(codesOf(input)).toEqual(['STRATEGY_NOT_ALLOWED']);
  });
});

describe('RELEASE_REVOKED', () => {
  it('judges the bound release only for an active target', () => {
    const input = build('saas', 'update', [fault('RELEASE_REVOKED', 'bound release of the active target is revoked')]);
    input.facts.target.status = 'updating';
    expect(codesOf(input)).toEqual([]);
  });

  it('reports a release that is both asked for and bound once', () => {
    const input = baseline('saas', 'bind');
    input.facts.boundRelease!.status = 'revoked';
    input.facts.release = input.facts.boundRelease;
    input.facts.releaseId = '2.3.0';
    const { blockers } = decide(input);
    expect(blockers.map((b) => b.code)).toEqual(['RELEASE_REVOKED']);
    expect(blockers[0]!.message).toBe('Revoked: release 2.3.0 was revoked at an unrecorded time.');
  });
});

describe('attestation policy edits', () => {
  it('requiredForModes decides where the attestation codes apply', () => {
    const whiteLabel = baseline('white-label', 'update');
    whiteLabel.policies.attestation.requiredForModes = ['white-label'];
    expect(codesOf(whiteLabel)).toEqual(['ATTESTATION_MISSING']);

    const selfHosted = build('self-hosted', 'update', [fault('ATTESTATION_MISSING', 'no attestation')]);
    selfHosted.policies.attestation.requiredForModes = [];
    expect(codesOf(selfHosted)).toEqual([]);
  });

  it('requireReleaseMatch and requiredFlags can be relaxed', () => {
    const input = build('self-hosted', 'update', [
      fault('ATTESTATION_FAILED', 'attestation names another release'),
      fault('ATTESTATION_FAILED', 'attestation reports APP_DEBUG on'),
    ]);
    expect(decide(input).blockers[0]!.message).toMatch(/appDebug.*2\.2\.0/);
    input.policies.attestation.requireReleaseMatch = false;
    input.policies.attestation.requiredFlags = {};
    expect(codesOf(input)).toEqual([]);
  });

  it('an attestation about another target fails and its runtime is not believed', () => {
    const input = baseline('enterprise-private-cloud', 'update');
    input.facts.attestation!.statement.targetId = 'someone-else';
    input.facts.attestation!.statement.runtime.php = '7.4';
    expect(codesOf(input)).toEqual(['ATTESTATION_FAILED']);
  });
});

describe('the judged runtime', () => {
  it('prefers the passing attestation over the reported runtime', () => {
    const input = baseline('self-hosted', 'update');
    input.facts.target.runtime.php = '7.4.33';
    expect(codesOf(input)).toEqual([]);
  });

  it('falls back to the reported runtime when the latest attestation failed', () => {
    const input = build('self-hosted', 'update', [fault('ATTESTATION_FAILED', 'attestation signature invalid')]);
    input.facts.target.runtime.php = '7.4.33';
    const { blockers } = decide(input);
    expect(blockers.map((b) => b.code)).toEqual(['ATTESTATION_FAILED', 'UNSUPPORTED_RUNTIME']);
    expect(blockers[1]!.message).toMatch(/^The runtime reported at .* php 7\.4\.33 is outside >=8\.2 \(target policy\)/);
  });

  it('believes a passing attestation where none is required', () => {
    const input = baseline('saas', 'update');
    input.facts.attestation = makeAttestation(input.facts.target, NOW);
    delete input.facts.attestation.statement.runtime['cdn-waf'];
    const { blockers } = decide(input);
    expect(blockers.map((b) => b.code)).toEqual(['UNSUPPORTED_RUNTIME']);
    expect(blockers[0]!.message).toContain('runtime attested at');
  });
});

describe('other rule edges', () => {
  it('an unreadable expiry counts as expired', () => {
    const input = baseline('saas', 'provision');
    input.facts.license!.expiresAt = 'soon';
    expect(codesOf(input)).toEqual(['LICENSE_EXPIRED']);
  });

  it('an empty AI gateway endpoint needs no feature', () => {
    const input = build('enterprise-private-cloud', 'provision', [fault('LICENSE_FEATURE_NOT_ENTITLED', 'AI gateway without private-ai-gateway')]);
    input.facts.target.enterprise!.aiGatewayEndpoint = '  ';
    expect(codesOf(input)).toEqual([]);
  });

  it('SaaS secrets need no encryption key; a mode that requires no secret needs nothing', () => {
    const saas = baseline('saas', 'provision');
    delete saas.facts.target.encryptionKey;
    expect(codesOf(saas)).toEqual([]);
    const selfHosted = baseline('self-hosted', 'provision');
    delete selfHosted.facts.target.encryptionKey;
    selfHosted.policies.secrets.required['self-hosted'] = {};
    expect(codesOf(selfHosted)).toEqual([]);
  });

  it('a blocked target lists what blocked it; a decommissioned one is refused too', () => {
    const input = build('saas', 'update', [fault('TARGET_BLOCKED', 'target blocked')]);
    expect(decide(input).blockers[0]!.message).toBe('Target t-saas is blocked (UNSUPPORTED_RUNTIME).');
  });

  it('refuses an invalid clock', () => {
    expect(() => decide({ ...baseline('saas', 'update'), now: new Date('nope') })).toThrow(RangeError);
  });

  it('reports several blockers in registry order, and each policy only its own', () => {
    const input = build('self-hosted', 'update', [
      fault('TARGET_BLOCKED', 'target blocked'),
      fault('SECRETS_UNAVAILABLE', 'customer-provided secret with no value'),
      fault('LICENSE_REVOKED', 'license revoked'),
      fault('ATTESTATION_STALE', 'attestation older than maxAgeSeconds'),
      fault('RELEASE_EXPIRED', 'release expired'),
    ]);
    const all = codesOf(input);
    expect(all).toEqual(['LICENSE_REVOKED', 'ATTESTATION_STALE', 'SECRETS_UNAVAILABLE', 'RELEASE_EXPIRED', 'TARGET_BLOCKED']);
    expect(decideFor('target', input).blockers.map((b) => b.code)).toEqual(['LICENSE_REVOKED', 'TARGET_BLOCKED']);
    expect(decideFor('attestation', input).blockers.map((b) => b.code)).toEqual(['ATTESTATION_STALE']);
    expect(decideFor('secrets', input).blockers.map((b) => b.code)).toEqual(['SECRETS_UNAVAILABLE']);
    expect(decideFor('provisioning', input).blockers.map((b) => b.code)).toEqual(['RELEASE_EXPIRED']);
  });

  it('defaultAction provisions a new target and updates a bound one', () => {
    expect(defaultAction({})).toBe('provision');
    expect(defaultAction({ currentRelease: '2.3.0' })).toBe('update');
  });
});

describe('judgeReleaseSigners', () => {
  const keys = [trustedKey(K1, NOW), trustedKey(K3, NOW)];

  it('counts distinct keys only', () => {
    const judged = judgeReleaseSigners({ validSignerKeyIds: [K1.keyId, K1.keyId], receivedAt: at(NOW, -60) }, keys, 2);
    expect(judged).toMatchObject({ valid: false, counted: [K1.keyId] });
    expect(judgeReleaseSigners({ validSignerKeyIds: [K1.keyId, K3.keyId], receivedAt: at(NOW, -60) }, keys, 2).valid).toBe(true);
  });

  it('judges windows at receipt: notBefore inclusive, notAfter exclusive', () => {
    const receivedAt = at(NOW, -60);
    const edge = [trustedKey(K1, NOW, { notBefore: receivedAt }), trustedKey(K3, NOW, { notAfter: receivedAt })];
    const judged = judgeReleaseSigners({ validSignerKeyIds: [K1.keyId, K3.keyId], receivedAt }, edge, 1);
    expect(judged.counted).toEqual([K1.keyId]);
    expect(judged.rejected.map((r) => r.keyId)).toEqual([K3.keyId]);
  });
});

describe('fact loading', () => {
  it('names one key per fact, policy heads included', () => {
    const { facts } = baseline('white-label', 'update');
    const keys = factKeys(facts.target, '2.4.0');
    expect(keys).toEqual({
      license: { table: 'licenses', key: { id: 'lic-1' } },
      attestation: { table: 'attestations', key: { targetId: 't-white-label', sk: 'latest' } },
      release: { table: 'releases', key: { id: '2.4.0' } },
      boundRelease: { table: 'releases', key: { id: '2.3.0' } },
      trustSet: { table: 'guards', key: { key: TRUST_SET_KEY } },
      billingGuard: { table: 'guards', key: { key: billingAccountGuardKey('ba-1') } },
      policies: {
        target: { table: 'policies', key: { kind: 'target', rev: 'head' } },
        provisioning: { table: 'policies', key: { kind: 'provisioning', rev: 'head' } },
        secrets: { table: 'policies', key: { kind: 'secrets', rev: 'head' } },
        attestation: { table: 'policies', key: { kind: 'attestation', rev: 'head' } },
      },
    });
    expect(factKeyList(keys)).toHaveLength(10);
  });

  it('drops duplicate keys (BatchGetItem refuses them) and facts that do not apply', () => {
    const { facts } = baseline('saas', 'bind');
    const list = factKeyList(factKeys(facts.target, '2.3.0'));
    expect(list.filter((r) => r.table === 'releases')).toEqual([{ table: 'releases', key: { id: '2.3.0' } }]);
    expect(list).toHaveLength(8);
    expect(factKeyList(factKeys({ ...facts.target, currentRelease: undefined }))).toHaveLength(7);
  });

  it('assembles facts from the items found', () => {
    const { facts } = baseline('white-label', 'update');
    const release = makeRelease(NOW, '2.3.0');
    const trust = withTrustedKey(undefined, trustedKey(K1, NOW), NOW.toISOString());
    const assembled = assembleFacts(facts.target, '2.3.0', {
      release,
      trustSet: trust,
      billingGuard: { key: billingAccountGuardKey('ba-1'), tenantId: 'tenant-2', targetId: 'other' },
    });
    expect(assembled).toEqual({
      target: facts.target,
      release,
      releaseId: '2.3.0',
      boundRelease: release,
      signingKeys: trust.keys,
      billingAccountConflict: true,
    });
    const sameTenant = assembleFacts(facts.target, undefined, {
      billingGuard: { key: billingAccountGuardKey('ba-1'), tenantId: 'tenant-1', targetId: 't-white-label' },
    });
    expect(sameTenant.billingAccountConflict).toBe(false);
    expect(sameTenant.signingKeys).toEqual([]);
  });

  it('withTrustedKey replaces by keyId, keeps keys sorted and bumps the version', () => {
    const one = withTrustedKey(undefined, trustedKey(K3, NOW), 't1');
    const two = withTrustedKey(one, trustedKey(K1, NOW), 't2');
    const revoked = withTrustedKey(two, trustedKey(K3, NOW, { status: 'revoked', revokedAt: 't3' }), 't3');
    expect(two.keys.map((k) => k.keyId)).toEqual([K1.keyId, K3.keyId].sort());
    expect(revoked).toMatchObject({ key: TRUST_SET_KEY, version: 3, updatedAt: 't3' });
    expect(revoked.keys.find((k) => k.keyId === K3.keyId)!.status).toBe('revoked');
    expect(revoked.keys).toHaveLength(2);
  });
});
