// Vite build of the operator console (console/dist). Relative asset URLs (`base: './'`) so the same bundle
// works at /console/ locally and at /<stage>/console/ behind API Gateway. Everything is bundled: no CDN, no
// inline script or style (the Content-Security-Policy in functions/console/assets.ts forbids both).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The preload polyfill would be an inline script; every browser the console supports has modulepreload.
    modulePreload: { polyfill: false },
    // Nothing is inlined as a data: URL (CSP img-src/font-src 'self').
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
