/**
 * Shared pieces of the hostile-input vectors: the case record
 * every builder returns, and small valid checkpoints (zip, legacy stream, tar) that the vectors
 * then corrupt. Everything is built in code with {@link PickleBuilder} and the zip builder.
 *
 * @module
 */
import { PickleBuilder, type TensorSpec } from '../pickle-builder.js';
import { torchZip, type BuiltZip } from '../zip-builder.js';

/** Options a case is opened or loaded with (a subset of `@x/checkpoint`'s `LoadOptions`). */
export interface CaseOptions {
  readonly limits?: Readonly<Record<string, number>>;
  readonly unknownClasses?: 'error' | 'record';
  readonly verify?: boolean;
  readonly dtype?: 'convert' | 'strict' | 'raw';
}

/** One hostile (or deliberately accepted) input of a vector. */
export interface HostileCase {
  /** Vector number, 1–97 (families listed in `vectors/index.ts`). */
  readonly vector: number;
  /** Variant name, unique within the vector. */
  readonly name: string;
  /** The whole file. */
  readonly bytes: Uint8Array;
  /**
   * The exact `CheckpointError` code expected. Absent when the library reads this input by design;
   * `accepted` then says why and the vector's test checks the result.
   */
  readonly code?: string;
  /** Why the input is read rather than refused (only when `code` is absent). */
  readonly accepted?: string;
  /** `'open'` (default): parsing fails; `'load'`: the structure opens and materialising fails. */
  readonly stage?: 'open' | 'load';
  readonly options?: CaseOptions;
  /** Fields the error's `details` must contain (e.g. `{ global: 'posix.system' }`). */
  readonly details?: Readonly<Record<string, unknown>>;
  /** The error's expected absolute byte `offset`. */
  readonly offset?: number;
  /** Payload text that must never appear in the error message. */
  readonly secret?: string;
}

const utf8 = new TextEncoder();

/** UTF-8 bytes of `text`. */
export function bytesOf(text: string): Uint8Array {
  return utf8.encode(text);
}

/**
 * Latin-1 bytes of `text` (each UTF-16 unit cut to 8 bits), for byte-string literals such as
 * `'\x80\x02N.'`.
 */
export function latin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/** Concatenates byte arrays. */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Little-endian float32 bytes of `values`. */
export function float32Bytes(values: readonly number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

/** `torch.arange(n, dtype=torch.float32)` as little-endian bytes. */
export function arangeBytes(n: number): Uint8Array {
  return float32Bytes(Array.from({ length: n }, (_, i) => i));
}

/** A CPU float32 tensor spec over storage `key`. */
export function floatTensor(
  key: string,
  numel: number,
  size: readonly number[],
  stride: readonly number[],
  offset = 0,
): TensorSpec {
  return { storage: 'FloatStorage', key, location: 'cpu', numel, offset, size, stride };
}

/** The `data.pkl` of `torch.save(OrderedDict(entries))` (protocol 2, no memo opcodes). */
export function stateDictPickle(entries: readonly (readonly [string, TensorSpec])[]): Uint8Array {
  const p = new PickleBuilder().proto(2).orderedDict();
  if (entries.length > 0) {
    p.mark();
    for (const [name, spec] of entries) p.str(name).tensorV2(spec);
    p.setitems();
  }
  return p.stop().bytes();
}

/**
 * A torch 1.13-layout zip: `data.pkl`, the storage records `data/<key>`, `version`, plus `extra`
 * records (before `version`).
 */
export function checkpointZip(
  pkl: Uint8Array,
  storages: readonly (readonly [string, Uint8Array])[],
  extra: readonly (readonly [string, Uint8Array | string])[] = [],
  prefix = 'archive',
): BuiltZip {
  return torchZip(
    [['data.pkl', pkl], ...storages.map(([k, b]) => [`data/${k}`, b] as const), ...extra, ['version', '3\n']],
    prefix,
  );
}

/** A zip holding only `data.pkl` = `pkl` and `version` (for pickle-level vectors). */
export function pickleZip(pkl: Uint8Array): BuiltZip {
  return checkpointZip(pkl, []);
}

/** The weight of {@link validCheckpoint}: arange(6) as a 2×3 float32 tensor over storage `0`. */
export const VALID_WEIGHT = floatTensor('0', 6, [2, 3], [3, 1]);
/** The bias of {@link validCheckpoint}: values 10, 20 over storage `1`. */
export const VALID_BIAS = floatTensor('1', 2, [2], [1]);

/** A valid `nn.Linear(3, 2)`-shaped state dict: `weight` = arange(6) as 2×3, `bias` = [10, 20]. */
export function validCheckpoint(): {
  zip: BuiltZip;
  pkl: Uint8Array;
  storages: readonly (readonly [string, Uint8Array])[];
} {
  const pkl = stateDictPickle([
    ['weight', VALID_WEIGHT],
    ['bias', VALID_BIAS],
  ]);
  const storages = [
    ['0', arangeBytes(6)],
    ['1', float32Bytes([10, 20])],
  ] as const;
  return { zip: checkpointZip(pkl, storages), pkl, storages };
}

/**
 * A legacy (non-zip) storage id `('storage', torch.<type>, key, location, numel, view_metadata)`
 * plus `BINPERSID`; `view` is `[viewKey, offset, size]` or `undefined` for `None`.
 */
export function legacyPid(
  p: PickleBuilder,
  storage: string,
  key: string,
  numel: number,
  view?: readonly [string, number, number],
): PickleBuilder {
  p.mark().str('storage').global('torch', storage).str(key).str('cpu').int(numel);
  if (view === undefined) p.none();
  else p.str(view[0]).int(view[1]).int(view[2]).tuple3();
  return p.tuple().binpersid();
}

/** `torch.serialization.MAGIC_NUMBER`, the first pickle of a legacy file. */
export const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

/** Parts of a legacy file (vector 84); each part can be replaced to corrupt it. */
export interface LegacyParts {
  readonly magic?: Uint8Array;
  readonly protocol?: Uint8Array;
  readonly sysInfo?: Uint8Array;
  /** The object pickle. */
  readonly main: Uint8Array;
  /** The key-list pickle, or the keys to pickle as a list of str. */
  readonly keys: Uint8Array | readonly string[];
  /** Per storage record: the int64 count written and the raw bytes. */
  readonly storages: readonly (readonly [count: number | bigint, data: Uint8Array])[];
}

/** The sys_info pickle `torch.save` writes on a little-endian 64-bit Linux. */
export function sysInfoPickle(littleEndian = true): Uint8Array {
  const p = new PickleBuilder().proto(2).emptyDict().mark();
  p.str('protocol_version')
    .int(1001)
    .str('little_endian')
    .raw(littleEndian ? 0x88 : 0x89);
  p.str('type_sizes').emptyDict().mark().str('short').int(2).str('int').int(4).str('long').int(4).setitems();
  return p.setitems().stop().bytes();
}

/**
 * A legacy stream file: magic, protocol 1001, sys_info, the object pickle, the key list, then
 * per key an int64-LE count and the raw bytes.
 */
export function legacyFile(parts: LegacyParts): Uint8Array {
  const magic = parts.magic ?? new PickleBuilder().proto(2).long(LEGACY_MAGIC).stop().bytes();
  const protocol = parts.protocol ?? new PickleBuilder().proto(2).int(1001).stop().bytes();
  const keys = parts.keys instanceof Uint8Array ? parts.keys : strList(parts.keys);
  const records = parts.storages.map(([count, data]) => {
    const head = new Uint8Array(8);
    new DataView(head.buffer).setBigInt64(0, BigInt(count), true);
    return concat(head, data);
  });
  return concat(magic, protocol, parts.sysInfo ?? sysInfoPickle(), parts.main, keys, ...records);
}

/** A pickled list of str. */
export function strList(items: readonly string[]): Uint8Array {
  const p = new PickleBuilder().proto(2).emptyList();
  if (items.length > 0) {
    p.mark();
    for (const k of items) p.str(k);
    p.appends();
  }
  return p.stop().bytes();
}

/** A valid legacy file: `{'w': tensor([1., 2., 3., 4.])}` over storage key `'123'`. */
export function validLegacy(): Uint8Array {
  return legacyFile({
    main: legacyMain([['w', '123', 4]]),
    keys: ['123'],
    storages: [[4, float32Bytes([1, 2, 3, 4])]],
  });
}

/**
 * The object pickle of a legacy file: a dict of 1-d float tensors `name → (key, numel)`, with an
 * optional view per tensor.
 */
export function legacyMain(
  tensors: readonly (readonly [name: string, key: string, numel: number, view?: readonly [string, number, number]])[],
): Uint8Array {
  const p = new PickleBuilder().proto(2).emptyDict().mark();
  for (const [name, key, numel, view] of tensors) {
    const length = view === undefined ? numel : view[2];
    p.str(name).global('torch._utils', '_rebuild_tensor_v2').mark();
    legacyPid(p, 'FloatStorage', key, numel, view);
    p.int(0).intTuple([length]).intTuple([1]).newFalse().orderedDict().tuple().reduce();
  }
  return p.setitems().stop().bytes();
}

/** A ustar archive of regular files (512-byte headers, data padded to 512, two zero blocks). */
export function tarArchive(members: readonly (readonly [string, Uint8Array])[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const [name, data] of members) {
    const h = new Uint8Array(512);
    const put = (at: number, text: string): void => h.set(latin1(text), at);
    put(0, name);
    put(100, '0000644\0');
    put(108, '0000000\0');
    put(116, '0000000\0');
    put(124, `${data.length.toString(8).padStart(11, '0')}\0`);
    put(136, '00000000000\0');
    put(148, '        ');
    put(156, '0');
    put(257, 'ustar\0');
    put(263, '00');
    const sum = h.reduce((a, b) => a + b, 0);
    put(148, `${sum.toString(8).padStart(6, '0')}\0 `);
    blocks.push(h, data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  blocks.push(new Uint8Array(1024));
  return concat(...blocks);
}
