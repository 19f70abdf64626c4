// Ed25519 verification rate of our strict verifier (@noble/ed25519, zip215: false) next to node:crypto's
// (OpenSSL) on the same signed messages, and the time to publish one release end to end over HTTP on the
// local runtime (schema, I-JSON and canonicalization checks, strict signature verification, the writes).
import { createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { canonicalBytes } from '../functions/core/crypto/canonical.js';
import { verify } from '../functions/core/crypto/ed25519.js';
import { decodeBase64Strict } from '../functions/core/crypto/base64.js';
import { sampleSigned, signedBy, testKey } from '../test/unit/crypto/release-fixtures.js';
import {
  formatMs,
  formatPerOp,
  formatRate,
  formatRatio,
  formatSpread,
  interleavedRates,
  percentile,
  roundRatio,
  timeAsync,
  type RateResult,
} from './harness.js';
import { expectStatus, startLocalRuntime } from './local-runtime.js';
import type { Bench, BenchContext, BenchResult } from './index.js';

const MESSAGES = 64;
const ROUNDS = 5;
const ROUND_MS = 300;
const PUBLISH_WARM_UP = 5;
const PUBLISHES = 50;

export const ed25519: Bench = {
  id: 'ed25519',
  title: 'Ed25519 verification and release publishing',
  run,
};

interface Signed {
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

async function run(context: BenchContext): Promise<BenchResult> {
  const failures: string[] = [];
  const key = testKey('bench-ed25519');
  const keyObject: KeyObject = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(key.publicKey).toString('base64url') },
    format: 'jwk',
  });

  // Real release manifests: the RFC 8785 bytes of `signed`, as publish and bind verify them.
  const signedMessages: Signed[] = Array.from({ length: MESSAGES }, (_, i) => {
    const manifest = signedBy(sampleSigned({ version: `2.${i}.0` }), key);
    return { message: canonicalBytes(manifest.signed), signature: decodeBase64Strict(manifest.signatures[0]!.sig, 64) };
  });
  const bytes = signedMessages.reduce((sum, s) => sum + s.message.length, 0) / MESSAGES;
  for (const [index, s] of signedMessages.entries()) {
    const noble = verify(s.signature, s.message, key.publicKey);
    const node = nodeVerify(null, s.message, keyObject, s.signature);
    if (!noble || !node) failures.push(`message ${index}: noble ${noble}, node:crypto ${node}`);
  }

  context.log(`[bench] Ed25519 verify: ${ROUNDS} interleaved rounds of ${ROUND_MS} ms`);
  const [noble, node] = interleavedRates<Signed>(
    [
      { name: '@noble/ed25519', items: signedMessages, run: (s) => verify(s.signature, s.message, key.publicKey) },
      { name: 'node:crypto', items: signedMessages, run: (s) => nodeVerify(null, s.message, keyObject, s.signature) },
    ],
    { rounds: ROUNDS, roundMs: ROUND_MS },
  ) as [RateResult, RateResult];

  const publish = await measurePublish(context, key);

  const lines = [
    `Verification of ${MESSAGES} release manifests (the RFC 8785 bytes of \`signed\`, ${Math.round(bytes)} bytes on average),`,
    'all signed by one key, on the main thread, the two verifiers interleaved in',
    `${ROUNDS} rounds of ${ROUND_MS} ms each in the same run. \`verify\` of functions/core/crypto/ed25519.ts is`,
    '@noble/ed25519 with `zip215: false` (strict RFC 8032, SHA-512 from node:crypto); node:crypto is',
    "`crypto.verify(null, message, keyObject, signature)` (OpenSSL; its edge-case rules are OpenSSL's, not",
    'necessarily the Wycheproof-strict ones docs/concepts.md describes). Both accepted every signature. *vs @noble* is',
    'the median over the rounds of the ratio within a round.',
    '',
    '| verifier | verifications/s | per verification | rounds (verifications/s) | vs @noble |',
    '|---|---:|---:|---|---:|',
    `| @noble/ed25519 \`verify\` (zip215: false) | ${formatRate(noble.perSecond)} | ${formatPerOp(noble.perSecond)} | ${formatSpread(noble)} | 1× |`,
    `| node:crypto \`crypto.verify\` | ${formatRate(node.perSecond)} | ${formatPerOp(node.perSecond)} | ${formatSpread(node)} | ` +
      `${formatRatio(roundRatio(node, noble))} |`,
    '',
    'Publishing one release end to end over HTTP on the local runtime (DynamoDB Local in memory, API server',
    'in the bench process): one `POST /signing-keys`, then each iteration signs a fresh manifest with a',
    `higher version (not timed) and \`POST /releases\` it with the admin token; ${PUBLISH_WARM_UP} warm-up publishes, then`,
    `${PUBLISHES} measured, one at a time.`,
    '',
    '| step | p50 | p99 |',
    '|---|---:|---:|',
    `| sign the manifest (client side, not part of the publish) | ${formatMs(percentile(publish.sign, 50))} | ${formatMs(percentile(publish.sign, 99))} |`,
    `| \`POST /releases\` → 201 | ${formatMs(percentile(publish.post, 50))} | ${formatMs(percentile(publish.post, 99))} |`,
  ];
  return { markdown: lines.join('\n'), failures };
}

async function measurePublish(context: BenchContext, key: ReturnType<typeof testKey>): Promise<{ sign: number[]; post: number[] }> {
  const runtime = await startLocalRuntime(context.log);
  try {
    expectStatus(
      await runtime.call('POST', '/signing-keys', { keyId: key.keyId, publicKey: key.publicKeyBase64 }),
      201,
      'add signing key',
    );
    context.log(`[bench] publishing ${PUBLISH_WARM_UP} + ${PUBLISHES} releases`);
    const sign: number[] = [];
    const post: number[] = [];
    for (let i = 0; i < PUBLISH_WARM_UP + PUBLISHES; i++) {
      const version = `1.0.${i}`;
      const now = Date.now();
      const signing = await timeAsync(async () =>
        signedBy(
          sampleSigned({
            version,
            artifacts: [{ name: `app-${version}.zip`, kind: 'zip', sha256: 'a'.repeat(64), size: 10 }],
            publishedAt: new Date(now).toISOString(),
            expiresAt: new Date(now + 180 * 86_400_000).toISOString(),
            minUpgradeFrom: '0.1.0',
          }),
          key,
        ),
      );
      const response = expectStatus(await runtime.call('POST', '/releases', signing.value), 201, `publish ${version}`);
      if (i >= PUBLISH_WARM_UP) {
        sign.push(signing.ms);
        post.push(response.ms);
      }
    }
    return { sign, post };
  } finally {
    await runtime.stop();
  }
}
