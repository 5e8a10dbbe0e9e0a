/**
 * Rewriting the saved locations of a checkpoint without loading it: `torch.load(path)` (no
 * `map_location`) then restores every storage where the rewrite put it. Tensors are never
 * materialised; storage records are copied byte for byte.
 *
 * @module
 */

import type { ByteSink, ByteSource } from '@x/checkpoint';
import { openContainer, openZip, ZipWriter, type ChunkedData, type ZipArchive } from '@x/checkpoint/internal';
import { resolveLocation, type MapLocation, type StorageInfo } from '@x/device';
import { MigrateError } from '../errors.js';
import { rewriteLocations, scanPickle, type PickleScan } from './pickle-locations.js';

/** One storage of a relocated checkpoint. */
export interface RelocatedStorage extends Omit<StorageInfo, 'location'> {
  /** Location as saved. */
  from: string;
  /** Location written. */
  to: string;
}

/** Result of {@link relocateSource} and `relocateCheckpoint`. */
export interface RelocateReport {
  /** Container: torch zip (`torch.save` since 1.6) or the legacy pickle stream. */
  format: 'zip' | 'legacy';
  /** Every storage once, in first-reference order. */
  storages: RelocatedStorage[];
  /** Storages whose location changed. */
  changed: number;
  /** Bytes read from the input's storage records and pickles, i.e. its size. */
  bytesIn: number;
  /** Bytes written. */
  bytesOut: number;
}

/** Bytes per positional read while copying a storage record. */
const COPY_CHUNK = 16 * 2 ** 20;
/** Magic number of the legacy format's first pickle. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
/** Pickles before the storage list in a legacy file: magic, protocol version, sys_info, the object. */
const LEGACY_PICKLES = 4;

/**
 * The location string a relocation writes for a storage: the saved one when `mapLocation` is
 * `undefined`, else the device torch's rules pick (`resolveLocation`).
 */
function relocatedTag(mapLocation: MapLocation | undefined, storage: StorageInfo): string {
  return mapLocation === undefined ? storage.location : String(resolveLocation(mapLocation, storage));
}

/** Options of {@link relocateSource} and `relocateCheckpoint`. */
export interface RelocateOptions {
  /**
   * Classes outside the loader's allow list (an old `torch.save(model)`): refused by default, as
   * `load` refuses them; `'record'` accepts them as inert records (nothing is executed either way).
   */
  readonly unknownClasses?: 'error' | 'record';
  /**
   * Called after each write with the bytes written so far and the input's size (the output is
   * about as long: only location strings change).
   */
  readonly onProgress?: (progress: { readonly bytesDone: number; readonly bytesTotal: number }) => void;
}

/**
 * Rewrites the saved location of every storage of a torch checkpoint read from `source` and
 * writes the result to `sink`: in a torch zip every record but `data.pkl` is copied byte for byte
 * (stored, aligned as the input's `.storage_alignment` says, default 64) and `data.pkl` is
 * rewritten at the opcode level (only location strings change); in a legacy file the object
 * pickle is rewritten and everything else copied. Nothing is unpickled or materialised.
 *
 * @param options - see {@link RelocateOptions}.
 * @throws MigrateError `RELOCATE_UNSUPPORTED` (safetensors, tar, TorchScript, unknown bytes);
 *   CheckpointError for a malformed archive or pickle; DeviceError for a bad `mapLocation`.
 */
export async function relocateSource(
  source: ByteSource,
  sink: ByteSink,
  mapLocation: MapLocation | undefined,
  options: RelocateOptions = {},
): Promise<RelocateReport> {
  const head = await source.read(0, Math.min(source.size, 512));
  const counted = countingSink(sink, (written) =>
    options.onProgress?.({ bytesDone: written, bytesTotal: source.size }),
  );
  // the loader's own reader (allow list, limits) checks a zip or legacy file before a byte is written; the view has no close, so `source` stays open
  const view = {
    size: source.size,
    name: source.name,
    read: (offset: number, length: number) => source.read(offset, length),
  };
  const check = async (): Promise<void> =>
    (await openContainer(view, { unknownClasses: options.unknownClasses ?? 'error' })).close();
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) {
    const zip = await openZip(source);
    if (!zip.entries.has('constants.pkl')) await check();
    const storages = await relocateZip(zip, counted, mapLocation);
    return report('zip', storages, source.size, counted.written);
  }
  if (isTar(head)) unsupported('a tar checkpoint (torch before 0.1.10); load it and save it again to relocate it');
  if (isSafetensors(head)) unsupported('a safetensors file: it stores no device locations');
  if (head[0] === 0x80) {
    await check();
    const storages = await relocateLegacy(source, counted, mapLocation);
    return report('legacy', storages, source.size, counted.written);
  }
  return unsupported('not a torch checkpoint (no zip signature, no pickle magic number)');
}

function report(
  format: 'zip' | 'legacy',
  storages: RelocatedStorage[],
  bytesIn: number,
  bytesOut: number,
): RelocateReport {
  return { format, storages, changed: storages.filter((s) => s.from !== s.to).length, bytesIn, bytesOut };
}

async function relocateZip(
  zip: ZipArchive,
  sink: ByteSink,
  mapLocation: MapLocation | undefined,
): Promise<RelocatedStorage[]> {
  const records = [...zip.entries.keys()];
  if (records.includes('constants.pkl') || records.some((r) => r.startsWith('code/'))) {
    unsupported('a TorchScript archive; relocate the state dict saved with torch.save instead');
  }
  const entry = `${zip.prefix}/data.pkl`;
  const pickle = await zip.read('data.pkl');
  const stored = zip.entry('data.pkl').method === 'stored';
  const scan = scanPickle(pickle, 0, { entry, ...(stored ? { offset: await zip.dataOffset('data.pkl') } : {}) });
  if (scan.end !== pickle.length) {
    throw new MigrateError(
      'RELOCATE_UNSUPPORTED',
      `${entry} has ${pickle.length - scan.end} bytes after its STOP opcode`,
      { entry },
    );
  }
  const { bytes, storages } = rewrite(pickle, scan, mapLocation, 0);
  const alignment = zip.entries.has('.storage_alignment')
    ? Number(new TextDecoder().decode(await zip.read('.storage_alignment')))
    : 64;
  const writer = new ZipWriter(sink, { alignment });
  for (const [record, e] of zip.entries) {
    if (record === 'data.pkl') await writer.add(e.name, bytes);
    else if (e.method === 'stored') await writer.add(e.name, copyRecord(zip.source, await zip.dataOffset(e), e.size));
    else await writer.add(e.name, await zip.read(e));
  }
  await writer.finish();
  return storages;
}

async function relocateLegacy(
  source: ByteSource,
  sink: ByteSink,
  mapLocation: MapLocation | undefined,
): Promise<RelocatedStorage[]> {
  for (let length = Math.min(source.size, 2 ** 20); ; length = Math.min(source.size, length * 2)) {
    const data = await source.read(0, length);
    let scans: PickleScan[];
    try {
      scans = scanLegacyHeader(data);
    } catch (e) {
      if (length < source.size && e instanceof Error && (e as { code?: string }).code === 'PICKLE_TRUNCATED') continue;
      throw e;
    }
    const main = scans[LEGACY_PICKLES - 1] as PickleScan;
    const mainStart = (scans[LEGACY_PICKLES - 2] as PickleScan).end;
    const { bytes, storages } = rewrite(data, main, mapLocation, mainStart);
    await sink.write(data.slice(0, mainStart));
    await sink.write(bytes);
    for await (const chunk of copyRecord(source, main.end, source.size - main.end).chunks()) await sink.write(chunk);
    return storages;
  }
}

/** Scans the four leading pickles of a legacy file; the first must be the magic number. */
function scanLegacyHeader(data: Uint8Array): PickleScan[] {
  const scans: PickleScan[] = [];
  let at = 0;
  for (let i = 0; i < LEGACY_PICKLES; i++) {
    const scan = scanPickle(data, at, { offset: 0 });
    if (i === 0 && scan.intValue !== LEGACY_MAGIC)
      unsupported('not a torch checkpoint (a pickle, but not the legacy magic number)');
    if (i < LEGACY_PICKLES - 1 && scan.sites.length > 0)
      unsupported('a legacy file with storages in its header pickles');
    scans.push(scan);
    at = scan.end;
  }
  return scans;
}

function rewrite(
  data: Uint8Array,
  scan: PickleScan,
  mapLocation: MapLocation | undefined,
  start: number,
): { bytes: Uint8Array; storages: RelocatedStorage[] } {
  const byKey = new Map<string, RelocatedStorage>();
  const { bytes } = rewriteLocations(
    data,
    scan,
    (storage) => {
      const known = byKey.get(storage.key);
      if (known !== undefined) return known.to;
      const to = relocatedTag(mapLocation, storage);
      const { location, ...rest } = storage;
      byKey.set(storage.key, { ...rest, from: location, to });
      return to;
    },
    start,
  );
  return { bytes, storages: [...byKey.values()] };
}

/** A record's bytes as chunks read on demand from the source. */
function copyRecord(source: ByteSource, offset: number, size: number): ChunkedData {
  return {
    size,
    async *chunks() {
      for (let at = 0; at < size; at += COPY_CHUNK)
        yield await source.read(offset + at, Math.min(COPY_CHUNK, size - at));
    },
  };
}

function countingSink(sink: ByteSink, onWrite: (written: number) => void): ByteSink & { written: number } {
  const counted = {
    written: 0,
    async write(chunk: Uint8Array) {
      await sink.write(chunk);
      counted.written += chunk.length;
      onWrite(counted.written);
    },
  };
  return counted;
}

function isTar(head: Uint8Array): boolean {
  return head.length >= 262 && String.fromCharCode(...head.subarray(257, 262)) === 'ustar';
}

function isSafetensors(head: Uint8Array): boolean {
  if (head.length < 9) return false;
  const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  return n > 0n && n < 100_000_000n && head[8] === 0x7b;
}

function unsupported(what: string): never {
  throw new MigrateError('RELOCATE_UNSUPPORTED', `cannot relocate ${what}`);
}
