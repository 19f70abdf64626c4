// esbuild settings shared by the Lambda functions (infra/function.ts) and the bundle bench
// (bench/bundles.ts), so what the bench measures is what deploys.

// The ESM bundle still contains CommonJS dependencies that call require() for Node built-ins; esbuild's
// ESM output has no require, so the banner provides one.
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __dcpCreateRequire } from 'node:module'; const require = __dcpCreateRequire(import.meta.url);";

/**
 * Left out of every bundle: the SDK's credential providers other than the environment one. The default
 * chain loads them with a dynamic import() only when no credentials are in the environment, and Lambda
 * always puts the function's role credentials there, so they never load; if one ever did, the runtime's own
 * SDK copy would answer the import. Leaving them out keeps ~80 KB (STS/SSO clients) out of each bundle.
 */
export const EXTERNAL_MODULES = [
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/credential-provider-http',
  '@aws-sdk/credential-provider-login',
  '@aws-sdk/nested-clients',
  '@smithy/credential-provider-imds',
];
