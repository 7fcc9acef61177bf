// Reads one entry of a zip file (the Lambda zips of scripts/package), with no dependency: the
// central directory names each entry and where its data is; stored and deflated entries only
// (what cargo-lambda and Python's zipfile write), no zip64 (Lambda zips are far below 4 GiB).

import * as fs from 'node:fs';
import * as zlib from 'node:zlib';

const EOCD_SIG = 0x06054b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;

/** The bytes of entry `name` of the zip `file`, or undefined when it has no such entry. */
export function readZipEntry(file: string, name: string): Buffer | undefined {
  const buf = fs.readFileSync(file);
  const bad = (why: string) => new Error(`${file} is not a zip this app can read: ${why}`);
  // End of central directory: 22 bytes plus a comment of up to 65535 bytes, at the very end.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw bad('no end of central directory');
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  if (at === 0xffffffff || count === 0xffff) throw bad('zip64');
  for (let n = 0; n < count; n++) {
    if (at + 46 > buf.length || buf.readUInt32LE(at) !== CENTRAL_SIG) throw bad('broken central directory');
    const method = buf.readUInt16LE(at + 10);
    const compressedSize = buf.readUInt32LE(at + 20);
    const size = buf.readUInt32LE(at + 24);
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    const localAt = buf.readUInt32LE(at + 42);
    const entryName = buf.subarray(at + 46, at + 46 + nameLen).toString('utf8');
    at += 46 + nameLen + extraLen + commentLen;
    if (entryName !== name) continue;
    if (buf.readUInt32LE(localAt) !== LOCAL_SIG) throw bad(`no local header for ${name}`);
    const start = localAt + 30 + buf.readUInt16LE(localAt + 26) + buf.readUInt16LE(localAt + 28);
    const data = buf.subarray(start, start + compressedSize);
    const out = method === 0 ? Buffer.from(data) : method === 8 ? zlib.inflateRawSync(data) : undefined;
    if (!out) throw bad(`${name} uses compression method ${method}`);
    if (out.length !== size) throw bad(`${name} is ${out.length} bytes, its header says ${size}`);
    return out;
  }
  return undefined;
}
