// Who is calling: the token's scopes as the authorizer passed them on, and the route × scope check.
import type { RouteSpec } from './routes/types.js';
import { problems } from './problems.js';

export interface Principal {
  readonly tokenId: string;
  readonly scopes: readonly string[];
  readonly roles: ReadonlySet<'admin' | 'operator' | 'auditor'>;
  /** Target ids this token acts for (`target:<id>`). */
  readonly targetIds: ReadonlySet<string>;
  /** `tenant:<tenantId>` restriction; undefined when unrestricted. */
  readonly tenant?: string;
}

/** Authorizer context values must be strings, so scopes travel space-separated. */
export function principalFromContext(ctx: Record<string, unknown> | null | undefined): Principal | undefined {
  if (!ctx || typeof ctx.tokenId !== 'string' || typeof ctx.scopes !== 'string') return undefined;
  return principalFromScopes(ctx.tokenId, ctx.scopes.split(' ').filter(Boolean));
}

export function principalFromScopes(tokenId: string, scopes: readonly string[]): Principal {
  const roles = new Set<'admin' | 'operator' | 'auditor'>();
  const targetIds = new Set<string>();
  const tenants = new Set<string>();
  for (const s of scopes) {
    if (s === 'admin' || s === 'operator' || s === 'auditor') roles.add(s);
    else if (s.startsWith('target:')) targetIds.add(s.slice('target:'.length));
    else if (s.startsWith('tenant:')) tenants.add(s.slice('tenant:'.length));
  }
  // Tokens with two tenant restrictions are refused at creation; one stored before that rule may do nothing.
  if (tenants.size > 1) return { tokenId, scopes, roles: new Set(), targetIds: new Set(), tenant: [...tenants].join(' ') };
  const [tenant] = tenants;
  return { tokenId, scopes, roles, targetIds, tenant };
}

/** The actor name recorded in audit records. */
export function actorOf(p: Principal): string {
  return `token:${p.tokenId}`;
}

/**
 * May this principal call this route? `targetId` is the target the route acts on, when the route table
 * says where to find it; role scopes do not need it.
 */
export function isAllowed(route: RouteSpec, p: Principal, targetId: string | undefined): boolean {
  for (const scope of route.scopes) {
    if (scope === 'target') {
      if (targetId !== undefined ? p.targetIds.has(targetId) : route.targetCheckedByHandler && p.targetIds.size > 0) return true;
    } else if (p.roles.has(scope)) return true;
  }
  return false;
}

/**
 * Tenant-restricted tokens (README "Tenant-restricted tokens"): a token restricted to tenant T acts only on
 * T's targets and on the licenses whose customerId is T, and on nothing shared that reaches other tenants'
 * targets: it may not publish or revoke releases, start or halt rollouts, or manage keys or tokens. It may
 * read shared objects (releases, signing keys, policies) and validate configs.
 */
export function refuseSharedWrite(p: Principal, what: string): void {
  if (p.tenant !== undefined) {
    throw problems.forbidden(`${what} reaches every tenant's targets; this token is restricted to tenant ${p.tenant}.`);
  }
}

/** May this principal see (and register targets on) a license of this customer? */
export function canUseLicense(p: Principal, customerId: string): boolean {
  return p.tenant === undefined || p.tenant === customerId;
}

/** A tenant-restricted token sees only its tenant's targets. */
export function canSeeTenant(p: Principal, tenantId: string): boolean {
  return p.tenant === undefined || p.tenant === tenantId;
}
