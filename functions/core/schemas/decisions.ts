import * as z from 'zod';
import { identifier } from './common.js';

export const DECISION_ACTIONS = ['provision', 'update', 'bind'] as const;
export const decisionAction = z.enum(DECISION_ACTIONS);

export const evaluateBody = z.strictObject({
  targetId: identifier,
  releaseId: identifier.optional(),
  action: decisionAction.optional(),
});

export const decisionBody = z.strictObject({
  targetId: identifier,
  releaseId: identifier.optional(),
  action: decisionAction,
});
