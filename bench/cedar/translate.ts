// DecideInput → a Cedar authorization request for bench/cedar/decisions.cedar. The translation only reshapes
// facts and does what Cedar cannot: instants become epoch milliseconds (Cedar has no clock and no ISO
// parser for arbitrary strings), semver comparisons are precomputed per component or version (Cedar has no
// semver), blank settings are left out (Cedar has no trim), and a few projections that need a filter or
// a lookup by a dynamic key are done here (Cedar has no quantifiers and no dynamic record access). Every
// rule itself — which fact combinations block, for which modes and actions — is in the .cedar file.
import semver from 'semver';
import type { CedarValueJson, EntityJson, StatefulAuthorizationCall } from '@cedar-policy/cedar-wasm/nodejs';
import type { BlockerCode } from '../../functions/core/blockers.js';
import type { DecideInput } from '../../functions/core/decisions.js';
import type { Runtime } from '../../functions/core/records.js';
import { coerceVersion, satisfiesRange } from '../../functions/core/runtime.js';

/** Codes the .cedar file does not express; removed from both sides before comparing. */
export const EXCLUDED_CODES: readonly BlockerCode[] = ['RELEASE_SIGNATURE_INVALID'];

export type CedarRequest = Omit<StatefulAuthorizationCall, 'preparsedPolicySetId' | 'preparsedSchemaName' | 'validateRequest'>;

type Json = CedarValueJson;
type JsonRecord = { [key: string]: Json };

/** Epoch ms of an ISO instant; undefined when absent or unreadable (the rules treat that as stale/expired). */
function ms(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const value = Date.parse(iso);
  return Number.isNaN(value) ? undefined : value;
}

/** Attributes whose value is undefined are left out: `has` is how Cedar asks for an optional fact. */
function record(fields: Record<string, Json | undefined>): JsonRecord {
  const out: JsonRecord = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) out[key] = value;
  return out;
}

/** decisions.ts's `filled`: a setting counts when it is a non-blank string, a non-empty object or any other value. */
function filled(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'string') return value.trim() !== '';
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

function setting(value: string | undefined): string | undefined {
  return filled(value) ? value : undefined;
}

/** semver order, 0 when either is not a version (decisions.ts then does not block). */
function compare(a: string, b: string): number {
  return semver.valid(a) && semver.valid(b) ? semver.compare(a, b) : 0;
}

/**
 * What Cedar needs of a runtime: the components present (plus each `a|b` requirement that one of its
 * alternatives fills, since Cedar cannot quantify over the alternatives) and, per range set, the components
 * whose version is unreadable or outside the range (the semver comparison Cedar cannot make).
 */
function runtimeFacts(runtime: Runtime, required: readonly string[], policyRanges: Runtime, releaseRanges: Runtime | undefined): JsonRecord {
  const present = (component: string) => typeof runtime[component] === 'string' && runtime[component]!.trim() !== '';
  const provides = Object.keys(runtime).filter(present);
  for (const entry of required) {
    if (!entry.includes('|') && entry.trim() === entry) continue; // a plain name: Cedar finds it in `provides`
    const alternatives = entry.split('|').map((c) => c.trim()).filter((c) => c !== '');
    if (alternatives.length === 0 || alternatives.some(present)) provides.push(entry);
  }
  const failures = (ranges: Runtime | undefined): string[] =>
    Object.entries(ranges ?? {})
      .filter(([component]) => present(component))
      .filter(([component, range]) => {
        const version = coerceVersion(runtime[component]!);
        return version === undefined || satisfiesRange(version, range) !== true;
      })
      .map(([component]) => component);
  return { provides, policyRangeFailures: failures(policyRanges), releaseRangeFailures: failures(releaseRanges) };
}

export function toCedarRequest(input: DecideInput): CedarRequest {
  const { facts, policies, action } = input;
  const { target, license, attestation, release, boundRelease } = facts;
  const mode = target.mode;
  const required = policies.target.requiredComponents[mode];
  const bound = target.currentRelease || undefined;
  const secrets = Object.entries(policies.secrets.required[mode]);

  const targetEntity: EntityJson = {
    uid: { type: 'Target', id: target.id },
    attrs: record({
      id: target.id,
      mode,
      status: target.status,
      currentRelease: bound,
      strategy: target.strategy || undefined,
      encryptionKey: setting(target.encryptionKey),
      lastHeartbeatAtMs: ms(target.lastHeartbeatAt),
      backupPolicy: target.backupPolicy ? record({ lastBackupAtMs: ms(target.backupPolicy.lastBackupAt) }) : undefined,
      whiteLabel: record({
        customDomain: setting(target.whiteLabel?.customDomain),
        brandingRef: setting(target.whiteLabel?.brandingRef),
        billingAccountId: setting(target.whiteLabel?.billingAccountId),
      }),
      enterprise: record({
        vpcId: setting(target.enterprise?.vpcId),
        sso: filled(target.enterprise?.sso) ? true : undefined,
        privateStorageBucket: setting(target.enterprise?.privateStorageBucket),
        aiGatewayEndpoint: setting(target.enterprise?.aiGatewayEndpoint),
      }),
      runtime: runtimeFacts(target.runtime, required, policies.target.supportedVersions, release?.runtime),
    }),
    parents: [],
  };
  const entities: EntityJson[] = [targetEntity];
  if (release) {
    entities.push({
      uid: { type: 'Release', id: release.id },
      attrs: record({
        id: release.id,
        status: release.status,
        expiresAtMs: ms(release.expiresAt),
        modes: release.modes,
        minUpgradeFrom: release.minUpgradeFrom || undefined,
        breakingMigrationIds: release.migrations.filter((m) => !m.backwardCompatible).map((m) => m.id),
      }),
      parents: [],
    });
  }

  const context = record({
    nowMs: input.now.getTime(),
    releaseId: facts.releaseId,
    license: license
      ? record({
          status: license.status,
          expiresAtMs: ms(license.expiresAt),
          modes: license.entitlements.modes,
          features: license.entitlements.features,
        })
      : undefined,
    attestation: attestation
      ? record({
          targetId: attestation.statement.targetId,
          signatureValid: attestation.signatureValid,
          result: attestation.result,
          issuedAtMs: ms(attestation.statement.issuedAt),
          releaseVersion: attestation.statement.releaseVersion,
          flags: record({ appDebug: attestation.statement.flags.appDebug }),
          runtime: runtimeFacts(attestation.statement.runtime, required, policies.target.supportedVersions, release?.runtime),
        })
      : undefined,
    boundRelease: boundRelease
      ? {
          id: boundRelease.id,
          status: boundRelease.status,
          migrationIds: boundRelease.migrations.map((m) => m.id),
          artifactKinds: boundRelease.artifacts.map((a) => a.kind),
        }
      : undefined,
    billingAccountConflict: facts.billingAccountConflict === true,
    secretSources: record({
      customerProvided: input.secretSources?.customerProvided ? [...input.secretSources.customerProvided] : [],
      secretsManager: input.secretSources?.secretsManager ? [...input.secretSources.secretsManager] : undefined,
    }),
    semver: record({
      releaseVsBound: release && bound ? compare(release.version, bound) : undefined,
      boundVsMinUpgradeFrom: release?.minUpgradeFrom && bound ? compare(bound, release.minUpgradeFrom) : undefined,
      requiredBetween:
        release && bound
          ? release.requiredVersionsBefore.filter((v) => compare(v, bound) > 0 && compare(v, release.version) < 0)
          : [],
    }),
    // The policy documents, with the per-mode entries of the target's mode picked out.
    policy: record({
      heartbeatMaxAgeMs: policies.target.heartbeatMaxAgeSeconds * 1000,
      backupMaxAgeMs: policies.target.backupMaxAgeSeconds * 1000,
      attestationMaxAgeMs: policies.attestation.maxAgeSeconds * 1000,
      saasStrategies: policies.target.saasStrategies,
      attestationRequiredModes: policies.attestation.requiredForModes,
      requiredFlags: record({ appDebug: policies.attestation.requiredFlags.appDebug }),
      requireReleaseMatch: policies.attestation.requireReleaseMatch,
      requiredComponents: required,
      requiredSecrets: secrets.map(([name]) => name),
      customerProvidedSecrets: secrets.filter(([, source]) => source === 'customer-provided').map(([name]) => name),
      secretsManagerSecrets: secrets.filter(([, source]) => source === 'secrets-manager').map(([name]) => name),
    }),
  });

  return {
    principal: { type: 'Target', id: target.id },
    action: { type: 'Action', id: action },
    resource: { type: 'Release', id: facts.releaseId ?? '' },
    context,
    entities,
  };
}
