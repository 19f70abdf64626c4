// `dcp release upload`: put a release artifact where agents download it from. The file is checked against
// the signed manifest (size and sha256) here, again by the control plane before it presigns the PUT, and
// a third time by S3, which refuses a body whose length or SHA-256 differs from the signed headers.
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';

export interface UploadIo {
  out(text: string): void;
  err(text: string): void;
}

export const UPLOAD_HELP = `  dcp release upload <manifest.json> <file> [--name <artifact>] --api <url> [--token-file <file>]
      Check <file> against the manifest's artifact of that name (default: the file's name) — size and
      sha256 — then upload it through a presigned PUT from POST /releases/{id}/artifacts/{name}/upload.
      The token (operator or admin) comes from --token-file or DCP_TOKEN; --api is the API base URL
      (…/api/v1/deployment-server) or DCP_API_URL.`;

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function releaseUpload(io: UploadIo, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { name: { type: 'string' }, api: { type: 'string' }, 'token-file': { type: 'string' } },
  });
  const [manifestFile, file] = positionals;
  const api = (values.api ?? process.env.DCP_API_URL)?.replace(/\/$/, '');
  const token = values['token-file'] ? readFileSync(values['token-file'], 'utf8').trim() : process.env.DCP_TOKEN;
  if (!manifestFile || !file || !api || !token) {
    io.err('dcp: usage: dcp release upload <manifest.json> <file> [--name <artifact>] --api <url> --token-file <file>');
    return 2;
  }
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { signed?: { version?: string; artifacts?: { name: string; sha256: string; size: number }[] } };
  const version = manifest.signed?.version;
  const name = values.name ?? basename(file);
  const artifact = manifest.signed?.artifacts?.find((a) => a.name === name);
  if (!version || !artifact) {
    io.err(`dcp: ${manifestFile} names no artifact ${name}`);
    return 1;
  }
  const size = statSync(file).size;
  const sha256 = await sha256File(file);
  if (size !== artifact.size || sha256 !== artifact.sha256.toLowerCase()) {
    io.err(`dcp: ${file} is not the ${name} of the manifest: ${size} bytes, sha256 ${sha256}; the manifest says ${artifact.size} bytes, ${artifact.sha256.toLowerCase()}`);
    return 1;
  }
  const res = await fetch(`${api}/releases/${encodeURIComponent(version)}/artifacts/${encodeURIComponent(name)}/upload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ size, sha256 }),
  });
  const answer = (await res.json().catch(() => ({}))) as { url?: string; headers?: Record<string, string>; code?: string; detail?: string; alreadyStored?: boolean };
  if (res.status !== 200 || !answer.url) {
    io.err(`dcp: the control plane refused the upload: HTTP ${res.status} ${answer.code ?? ''} ${answer.detail ?? ''}`);
    return 1;
  }
  const put = await fetch(answer.url, {
    method: 'PUT',
    headers: answer.headers ?? {},
    body: Readable.toWeb(createReadStream(file)) as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  if (!put.ok) {
    io.err(`dcp: the artifact store refused the upload: HTTP ${put.status} ${(await put.text()).slice(0, 500)}`);
    return 1;
  }
  io.out(JSON.stringify({ uploaded: name, release: version, size, sha256 }));
  return 0;
}
