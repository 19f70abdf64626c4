// A small zip reader and writer on node:zlib (inflateRaw/deflateRaw, crc32): enough for release packages
// (stored and deflated entries, no zip64, no encryption). Extraction refuses absolute paths, `..`
// segments, links and duplicate names, and checks every entry's size and CRC-32, so a package either
// unpacks completely into the target folder or the call throws.
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, mkdirSync, openSync, readSync, writeSync, fstatSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';

export class ZipError extends Error {
  override readonly name = 'ZipError';
}

interface Entry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
  mode: number;
  isDir: boolean;
}

const EOCD_SIG = 0x06054b50;
const CEN_SIG = 0x02014b50;
const LOC_SIG = 0x04034b50;
const MAX_ENTRIES = 100_000;

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) throw new ZipError('unexpected end of file');
    done += n;
  }
  return buf;
}

function entries(fd: number, fileSize: number): Entry[] {
  const tailLength = Math.min(fileSize, 22 + 0xffff);
  const tail = readAt(fd, fileSize - tailLength, tailLength);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError('not a zip file (no end of central directory)');
  const count = tail.readUInt16LE(eocd + 10);
  const cenSize = tail.readUInt32LE(eocd + 12);
  const cenOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || cenOffset === 0xffffffff) throw new ZipError('zip64 archives are not supported');
  if (count > MAX_ENTRIES) throw new ZipError('too many entries');
  if (cenOffset + cenSize > fileSize) throw new ZipError('central directory out of bounds');
  const cen = readAt(fd, cenOffset, cenSize);
  const out: Entry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cen.length || cen.readUInt32LE(p) !== CEN_SIG) throw new ZipError('corrupt central directory');
    const flags = cen.readUInt16LE(p + 8);
    if (flags & 1) throw new ZipError('encrypted entries are not supported');
    const nameLength = cen.readUInt16LE(p + 28);
    const extraLength = cen.readUInt16LE(p + 30);
    const commentLength = cen.readUInt16LE(p + 32);
    const madeBy = cen.readUInt16LE(p + 4) >> 8;
    const external = cen.readUInt32LE(p + 38);
    const name = cen.subarray(p + 46, p + 46 + nameLength).toString('utf8');
    const unixMode = madeBy === 3 ? external >>> 16 : 0;
    out.push({
      name,
      method: cen.readUInt16LE(p + 10),
      crc: cen.readUInt32LE(p + 16),
      compressedSize: cen.readUInt32LE(p + 20),
      size: cen.readUInt32LE(p + 24),
      localOffset: cen.readUInt32LE(p + 42),
      mode: unixMode,
      isDir: name.endsWith('/'),
    });
    p += 46 + nameLength + extraLength + commentLength;
  }
  return out;
}

function safePath(root: string, name: string): string {
  if (name.includes('\\') || name.startsWith('/') || /^[A-Za-z]:/.test(name) || name.includes('\0')) throw new ZipError(`unsafe entry name ${JSON.stringify(name)}`);
  const parts = name.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.some((s) => s === '..') || parts.length === 0) throw new ZipError(`unsafe entry name ${JSON.stringify(name)}`);
  const full = normalize(join(root, ...parts));
  if (!full.startsWith(root + sep)) throw new ZipError(`entry ${JSON.stringify(name)} escapes the target folder`);
  return full;
}

/**
 * Unpack `file` into the (existing, empty) folder `root`. Answers the number of files. With `fsync` (the
 * default) the files are on disk when it returns: one `sync -f` of the file system (syncfs), or, where that
 * tool is missing, an fsync of every file.
 */
export function extractZip(file: string, root: string, opts: { fsync?: boolean } = {}): number {
  const written: string[] = [];
  const files = extractEntries(file, root, written);
  if (opts.fsync !== false) {
    try {
      execFileSync('sync', ['-f', root], { stdio: 'ignore' });
    } catch {
      for (const f of written) {
        const fd = openSync(f, 'r');
        try {
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      }
    }
  }
  return files;
}

function extractEntries(file: string, root: string, written: string[]): number {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const list = entries(fd, size);
    const seen = new Set<string>();
    let files = 0;
    for (const e of list) {
      const target = safePath(root, e.name);
      if (seen.has(target)) throw new ZipError(`duplicate entry ${e.name}`);
      seen.add(target);
      const type = e.mode & 0o170000;
      if (type !== 0 && type !== 0o100000 && type !== 0o040000) throw new ZipError(`entry ${e.name} is not a plain file or folder (links are refused)`);
      if (e.isDir || type === 0o040000) {
        mkdirSync(target, { recursive: true, mode: 0o755 });
        continue;
      }
      const local = readAt(fd, e.localOffset, 30);
      if (local.readUInt32LE(0) !== LOC_SIG) throw new ZipError(`corrupt local header of ${e.name}`);
      const dataStart = e.localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
      if (dataStart + e.compressedSize > size) throw new ZipError(`entry ${e.name} out of bounds`);
      const raw = e.compressedSize > 0 ? readAt(fd, dataStart, e.compressedSize) : Buffer.alloc(0);
      let data: Buffer;
      if (e.method === 0) data = raw;
      else if (e.method === 8) {
        try {
          data = inflateRawSync(raw, { maxOutputLength: Math.max(e.size, 1) });
        } catch (err) {
          throw new ZipError(`entry ${e.name} does not inflate: ${(err as Error).message}`);
        }
      } else throw new ZipError(`entry ${e.name} uses unsupported compression method ${e.method}`);
      if (data.length !== e.size) throw new ZipError(`entry ${e.name} has ${data.length} bytes, the directory says ${e.size}`);
      if (crc32(data) >>> 0 !== e.crc >>> 0) throw new ZipError(`entry ${e.name} fails its CRC-32`);
      mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
      const mode = (e.mode & 0o111) !== 0 ? 0o755 : 0o644;
      const out = openSync(target, 'wx', mode);
      try {
        let done = 0;
        while (done < data.length) done += writeSync(out, data, done, data.length - done);
      } finally {
        closeSync(out);
      }
      written.push(target);
      files++;
    }
    return files;
  } finally {
    closeSync(fd);
  }
}

/** Build a zip in memory from `{path: content}` (deflated; `mode` marks executables). For tests, demos, benches. */
export function createZip(files: Readonly<Record<string, string | Uint8Array | { data: string | Uint8Array; mode: number }>>, opts: { store?: boolean } = {}): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, value] of Object.entries(files)) {
    const spec = typeof value === 'object' && !(value instanceof Uint8Array) ? value : { data: value, mode: 0o644 };
    const data = Buffer.from(spec.data);
    const method = opts.store ? 0 : 8;
    const body = method === 8 ? deflateRawSync(data) : data;
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(data) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOC_SIG, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(CEN_SIG, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(((0o100000 | spec.mode) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, body);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + body.length;
  }
  const cen = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(EOCD_SIG, 0);
  const count = Object.keys(files).length;
  eocd.writeUInt16LE(count, 8);
  eocd.writeUInt16LE(count, 10);
  eocd.writeUInt32LE(cen.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cen, eocd]);
}
