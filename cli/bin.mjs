#!/usr/bin/env node
// Entry point of `dcp`. The tool is TypeScript sharing the control plane's core modules; tsx compiles it
// on load, so no build step stands between the source and the command.
import { register } from 'tsx/esm/api';

register({ tsconfig: false });
const { run } = await import('./main.ts');
process.exitCode = await run(process.argv.slice(2));
