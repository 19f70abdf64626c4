#!/usr/bin/env node
// Entry point of `dcp-agent`. TypeScript sharing the control plane's core modules (manifest verification,
// canonical JSON, Ed25519, sealed boxes); tsx compiles it on load.
import { register } from 'tsx/esm/api';

register({ tsconfig: false });
const { main } = await import('./src/main.ts');
process.exitCode = await main(process.argv.slice(2));
