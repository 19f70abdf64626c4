// Global setup: builds the operator console (console/dist) once for the run when it is missing or stale,
// so the local runtime the browser tests start serves the current sources at /console.
import { buildConsole } from '../../scripts/build-console.js';

export default async function setup(): Promise<void> {
  await buildConsole({ ifStale: true });
}
