// Reading a target as the caller may see it, shared by the target and run routes.
import { canSeeTenant, type Principal } from '../../core/principal.js';
import { problems } from '../../core/problems.js';
import type { TargetRecord } from '../../core/records.js';
import { getTarget } from '../../adapters/targets.js';

/** Read a target the caller may see; tenant-restricted tokens get 404 for other tenants' targets. */
export async function visibleTarget(id: string, principal: Principal): Promise<TargetRecord> {
  const target = await getTarget(id);
  if (!target || !canSeeTenant(principal, target.tenantId)) throw problems.notFound('TARGET_NOT_FOUND', `No target ${id}.`);
  return target;
}

