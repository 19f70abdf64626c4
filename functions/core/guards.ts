// Keys of the items in the `guards` table that several writers and the decision path share. Kept apart
// from the decision engine so writers do not bundle it.

/** The one item holding every signing key (see core/decisions.ts, "Fact loading"). */
export const TRUST_SET_KEY = 'trust#signing-keys';

/** White-label billing accounts belong to one tenant. */
export function billingAccountGuardKey(billingAccountId: string): string {
  return `billing-account#${billingAccountId}`;
}
