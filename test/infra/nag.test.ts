// cdk-nag's AwsSolutions pack over the whole app: no finding may be left unacknowledged, and every
// acknowledgement in infra/ says why.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../infra/create-app.js';

interface ValidationReport {
  pluginReports: { pluginName: string; violations: { ruleName: string; violatingConstructs?: { constructPath: string }[] }[] }[];
}

// Prepare: synthesize once, without bundling (nag reads templates, not code).
const outdir = mkdtempSync(path.join(tmpdir(), 'dcp-nag-'));
const { app } = createApp({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
let synthError: unknown;
try {
  app.synth();
} catch (error) {
  synthError = error;
}
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

function acknowledgements(root: IConstruct): { path: string; id: string; reason: unknown }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, unknown>))
      .map(([id, reason]) => ({ path: c.node.path, id, reason })),
  );
}

describe('cdk-nag AwsSolutions', () => {
  it('synthesizes without a validation failure', () => {
    expect(synthError === undefined ? undefined : String(synthError)).toBeUndefined();
  });

  it('leaves no finding unacknowledged, errors and warnings alike', () => {
    const report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as ValidationReport;
    const findings = report.pluginReports.flatMap((r) =>
      r.violations.map((v) => `${v.ruleName} at ${(v.violatingConstructs ?? []).map((c) => c.constructPath).join(', ')}`),
    );
    expect(findings).toEqual([]);
  });

  it('gives a written reason for every acknowledgement', () => {
    const acks = acknowledgements(app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(typeof ack.reason, `${ack.id} at ${ack.path}`).toBe('string');
      expect((ack.reason as string).length, `${ack.id} at ${ack.path}`).toBeGreaterThan(40);
    }
  });
});
