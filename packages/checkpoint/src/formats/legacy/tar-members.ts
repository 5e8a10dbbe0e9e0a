/**
 * A minimal, strict reader of the POSIX tar layout the ≤ 0.1 `torch.save` wrote (Python
 * `tarfile`, PAX format): 512-byte headers with verified checksums, PAX `path`/`size` records,
 * regular files only. Member data is located, never read here.
 *
 * @module
 */
import { quote } from '@x/device';
import { CheckpointError } from '../../errors.js';
import { checkBound, type Limits } from '../../limits.js';
import { decodeUtf8 } from '../../pickle/text.js';
import type { ByteSource } from '../../source.js';

/** One regular file of the archive. */
export interface TarMember {
  readonly name: string;
  /** Absolute offset of the member's data. */
  readonly offset: number;
  readonly size: number;
}

const BLOCK = 512;
/** Largest PAX extended header accepted. */
const MAX_PAX = 64 * 1024;

/** Whether a 512-byte block is a tar header (`ustar` magic at byte 257). */
export function isTarHeader(head: Uint8Array): boolean {
  return head.length >= BLOCK && String.fromCharCode(...head.subarray(257, 262)) === 'ustar';
}

/**
 * Lists the regular files of a tar archive. `ARCHIVE_LAYOUT` for a bad checksum, a member type
 * other than a regular file or PAX header, or a name given twice; `INPUT_TRUNCATED` when a member
 * runs past the end of the source; `ZIP_TOO_MANY_ENTRIES` above `maxEntries` members.
 */
export async function readTarMembers(source: ByteSource, limits: Limits): Promise<Map<string, TarMember>> {
  const members = new Map<string, TarMember>();
  let pos = 0;
  let pax: Map<string, string> | undefined;
  while (pos + BLOCK <= source.size) {
    const header = await source.read(pos, BLOCK);
    if (header.every((b) => b === 0)) break;
    const where = { offset: pos };
    if (checksum(header) !== octal(header, 148, 8, where))
      throw new CheckpointError('ARCHIVE_LAYOUT', 'tar header checksum does not match', where);
    const type = String.fromCharCode(header[156]!);
    let size = octal(header, 124, 12, where);
    if (pax?.has('size')) size = decimal(pax.get('size')!, where);
    const dataStart = pos + BLOCK;
    if (size > source.size - dataStart)
      throw new CheckpointError('INPUT_TRUNCATED', `tar member of ${size} bytes runs past the end of the file`, where);
    if (type === 'x' || type === 'g') {
      if (size > MAX_PAX)
        throw new CheckpointError('ARCHIVE_LAYOUT', `tar PAX header of ${size} bytes is larger than ${MAX_PAX}`, where);
      const records = parsePax(await source.read(dataStart, size), where);
      pax = type === 'x' ? records : undefined;
    } else if (type === '0' || type === '\0') {
      const name = pax?.get('path') ?? headerName(header, where);
      pax = undefined;
      checkBound(members.size + 1, limits.maxEntries, 'maxEntries', 'tar members', where);
      if (members.has(name))
        throw new CheckpointError('ARCHIVE_LAYOUT', `tar member ${quote(name)} appears twice`, where);
      members.set(name, { name, offset: dataStart, size });
    } else {
      throw new CheckpointError('ARCHIVE_LAYOUT', `tar member type ${quote(type)} is not a regular file`, where);
    }
    pos = dataStart + Math.ceil(size / BLOCK) * BLOCK;
  }
  return members;
}

function checksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  return sum;
}

function octal(header: Uint8Array, at: number, length: number, where: { offset: number }): number {
  const text = String.fromCharCode(...header.subarray(at, at + length))
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (!/^[0-7]{1,11}$/.test(text))
    throw new CheckpointError('ARCHIVE_LAYOUT', `tar header field at ${at} is not an octal number`, where);
  return parseInt(text, 8);
}

function decimal(text: string, where: { offset: number }): number {
  if (!/^[0-9]{1,15}$/.test(text))
    throw new CheckpointError('ARCHIVE_LAYOUT', 'tar PAX size is not a decimal number', where);
  return Number(text);
}

function headerName(header: Uint8Array, where: { offset: number }): string {
  const field = (at: number, length: number): string => {
    const bytes = header.subarray(at, at + length);
    const end = bytes.indexOf(0);
    const text = decodeUtf8(end === -1 ? bytes : bytes.subarray(0, end));
    if (text === undefined) throw new CheckpointError('ARCHIVE_LAYOUT', 'tar member name is not valid UTF-8', where);
    return text;
  };
  const prefix = field(345, 155);
  const name = field(0, 100);
  return prefix === '' ? name : `${prefix}/${name}`;
}

/** PAX records: `<length> <key>=<value>\n`, the length counting the whole record. */
function parsePax(bytes: Uint8Array, where: { offset: number }): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < bytes.length) {
    const space = bytes.indexOf(0x20, pos);
    const lengthText = space === -1 ? '' : String.fromCharCode(...bytes.subarray(pos, space));
    const length = /^[0-9]{1,6}$/.test(lengthText) ? Number(lengthText) : 0;
    if (length <= space - pos + 1 || pos + length > bytes.length || bytes[pos + length - 1] !== 0x0a) {
      throw new CheckpointError('ARCHIVE_LAYOUT', 'malformed tar PAX record', where);
    }
    const record = decodeUtf8(bytes.subarray(space + 1, pos + length - 1));
    const eq = record?.indexOf('=') ?? -1;
    if (record === undefined || eq <= 0) throw new CheckpointError('ARCHIVE_LAYOUT', 'malformed tar PAX record', where);
    out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += length;
  }
  return out;
}
