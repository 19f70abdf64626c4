// The control plane's own events (SPEC §7.4) and the rule patterns that react to them: one definition for
// the EventBridge rules of the CDK stack and the local bus of the local runtime.

export const EVENT_SOURCE = 'dcp.control-plane';

export const DETAIL_TYPES = {
  releasePublished: 'ReleasePublished',
} as const;

export interface ReleasePublishedDetail {
  releaseId: string;
  channel: string;
  modes: string[];
  required: boolean;
  publishedAt: string;
}

/** EventBridge event pattern of the rule that starts a rollout when a release is published. */
export const RELEASE_PUBLISHED_PATTERN = {
  source: [EVENT_SOURCE],
  'detail-type': [DETAIL_TYPES.releasePublished],
} as const;

export interface ControlPlaneEvent<D = unknown> {
  source: string;
  'detail-type': string;
  detail: D;
  time?: string;
  id?: string;
}

/** Whether an event matches a pattern of exact-value lists on top-level fields (what our rules use). */
export function matchesPattern(event: ControlPlaneEvent, pattern: Readonly<Record<string, readonly string[]>>): boolean {
  return Object.entries(pattern).every(([field, values]) => values.includes(String((event as unknown as Record<string, unknown>)[field])));
}
