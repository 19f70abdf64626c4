// CDK CLI entry point (cdk.json: "npx tsx infra/app.ts").
import { createApp } from './create-app.js';

createApp().app.synth();
