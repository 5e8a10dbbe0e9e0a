/**
 * The location strings of a pickle's storage persistent ids, found and rewritten at the opcode
 * level: nothing is unpickled, no tensor is touched, and every byte outside the rewritten strings
 * (and the lengths of protocol-4 frames around them) stays as it was.
 *
 * `torch.save` writes each storage as `BINPERSID` of the tuple
 * `('storage', GLOBAL torch.XStorage, key, location, numel)` (legacy files add a sixth item,
 * `None`), and the pickler memoizes the strings, so a later tuple often takes its location with
 * `BINGET`. The walk below tracks, for every string on the stack, the opcode that pushed it and
 * the literal its text came from; memo indices never change.
 *
 * @module
 */

import { CheckpointError } from '@x/checkpoint';
import { concatBytes } from '@x/checkpoint/internal';
import { dtypeFromStorageName, dtypeInfo, quote, type StorageInfo, type TorchDType } from '@x/device';

/** A string on the symbolic stack: the op that pushed it and the literal op its text came from. */
interface Str {
  readonly t: 'str';
  /** Index into `ops` of the opcode that pushed this entry (a literal or a GET). */
  readonly op: number;
  /** Index into `ops` of the literal opcode whose bytes hold the text. */
  readonly literal: number;
}
type Value =
  | Str
  | { readonly t: 'int'; readonly value: bigint }
  | { readonly t: 'global'; readonly module: string; readonly name: string }
  | { readonly t: 'tuple'; readonly items: readonly Value[] }
  | { readonly t: 'none' }
  | { readonly t: 'other' };
const MARK = Symbol('mark');
type Slot = Value | typeof MARK;

/** A decoded opcode the rewrite may touch. */
interface Op {
  readonly pos: number;
  readonly end: number;
  /** Text of a string literal (`undefined` for GETs and for text-protocol strings we do not decode). */
  readonly text?: string | undefined;
}

/**
 * One storage persistent id found in a pickle.
 *
 * @example
 * ```ts
 * const [site]: readonly StorageSite[] = scanPickle(pkl).sites;
 * site.storage.location; // 'cuda:0'
 * ```
 */
export interface StorageSite {
  /** The storage as the persistent id describes it. */
  readonly storage: StorageInfo;
  /** The string entry holding its location. */
  readonly entry: Str;
}

/**
 * What {@link scanPickle} found.
 *
 * @example
 * ```ts
 * const { end, sites }: PickleScan = scanPickle(pkl);
 * ```
 */
export interface PickleScan {
  /** Offset just past the pickle's `STOP`. */
  readonly end: number;
  /** Storage persistent ids in the order the pickle references them (views repeat a key). */
  readonly sites: readonly StorageSite[];
  /** The pickle's first value when it is an int (legacy files start with a magic number pickle). */
  readonly intValue: bigint | undefined;
  /** @internal */ readonly ops: readonly Op[];
  /** @internal */ readonly gets: readonly Str[];
  /** @internal */ readonly frames: readonly { pos: number; start: number; end: number }[];
}

/**
 * A location that {@link rewriteLocations} changed.
 *
 * @example
 * ```ts
 * const c: LocationChange = { key: '0', from: 'cuda:0', to: 'cpu' };
 * ```
 */
export interface LocationChange {
  /** Storage key. */
  readonly key: string;
  /** Location as saved. */
  readonly from: string;
  /** Location written. */
  readonly to: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encode = new TextEncoder();

/** Fixed argument sizes of opcodes that take no length-prefixed or line argument. */
const FIXED: Record<number, number> = {
  0x80: 1, // PROTO
  0x95: 8, // FRAME
  0x4a: 4, // BININT 'J'
  0x4b: 1, // BININT1 'K'
  0x4d: 2, // BININT2 'M'
  0x47: 8, // BINFLOAT 'G'
  0x68: 1, // BINGET 'h'
  0x6a: 4, // LONG_BINGET 'j'
  0x71: 1, // BINPUT 'q'
  0x72: 4, // LONG_BINPUT 'r'
  0x82: 1, // EXT1
  0x83: 2, // EXT2
  0x84: 4, // EXT4
};
/** Opcodes followed by a little-endian length and that many bytes: opcode -> width of the length. */
const COUNTED: Record<number, number> = {
  0x54: 4, // BINSTRING 'T'
  0x55: 1, // SHORT_BINSTRING 'U'
  0x58: 4, // BINUNICODE 'X'
  0x8c: 1, // SHORT_BINUNICODE
  0x8d: 8, // BINUNICODE8
  0x42: 4, // BINBYTES 'B'
  0x43: 1, // SHORT_BINBYTES 'C'
  0x8e: 8, // BINBYTES8
  0x96: 8, // BYTEARRAY8
  0x8a: 1, // LONG1
  0x8b: 4, // LONG4
};

/**
 * Walks one pickle starting at `start` without building any value, and returns where it ends, its
 * storage persistent ids (with their location strings) and what a rewrite needs.
 *
 * @throws CheckpointError `PICKLE_TRUNCATED`, `PICKLE_INVALID_OPCODE`, `PICKLE_STACK_UNDERFLOW`,
 *   `PICKLE_MARK`, `PICKLE_MEMO_MISSING`, `PICKLE_FRAME`, `STORAGE_BAD_PID` (offsets relative to
 *   `data` plus `where.offset`).
 * @example
 * ```ts
 * const scan = scanPickle(await zip.read('data.pkl'));
 * scan.sites.map((s) => s.storage.location); // ['cuda:0', 'cuda:0']
 * ```
 */
export function scanPickle(data: Uint8Array, start = 0, where: { entry?: string; offset?: number } = {}): PickleScan {
  const base = where.offset ?? 0;
  const fail = (code: 'PICKLE_TRUNCATED' | 'PICKLE_INVALID_OPCODE' | 'PICKLE_STACK_UNDERFLOW' | 'PICKLE_MARK' | 'PICKLE_MEMO_MISSING' | 'PICKLE_FRAME' | 'STORAGE_BAD_PID', message: string, at: number): never => {
    throw new CheckpointError(code, message, { entry: where.entry, offset: base + at });
  };
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const ops: Op[] = [];
  const gets: Str[] = [];
  const frames: { pos: number; start: number; end: number }[] = [];
  const sites: StorageSite[] = [];
  const stack: Slot[] = [];
  const memo = new Map<number, Value>();
  let pos = start;

  const need = (n: number, at: number): void => {
    if (pos + n > data.length) fail('PICKLE_TRUNCATED', `the pickle ends inside the opcode at ${base + at}`, at);
  };
  const uint = (width: number): number => {
    const v = width === 1 ? view.getUint8(pos) : width === 2 ? view.getUint16(pos, true) : width === 4 ? view.getUint32(pos, true) : Number(view.getBigUint64(pos, true));
    pos += width;
    return v;
  };
  const line = (at: number): string => {
    const nl = data.indexOf(0x0a, pos);
    if (nl < 0) fail('PICKLE_TRUNCATED', 'a text argument has no terminating newline', at);
    const text = String.fromCharCode(...data.subarray(pos, Math.min(nl, pos + 256)));
    pos = nl + 1;
    return text;
  };
  const pop = (at: number): Value => {
    const v = stack.pop();
    if (v === undefined) fail('PICKLE_STACK_UNDERFLOW', 'an opcode needs a value on an empty stack', at);
    if (v === MARK) fail('PICKLE_MARK', 'an opcode found a MARK where it needs a value', at);
    return v as Value;
  };
  const popMark = (at: number): Value[] => {
    const k = stack.lastIndexOf(MARK);
    if (k < 0) fail('PICKLE_MARK', 'an opcode needs a MARK and there is none', at);
    const items = stack.splice(k) as Slot[];
    return items.slice(1) as Value[];
  };
  const push = (v: Value): void => {
    stack.push(v);
  };
  const pushLiteral = (at: number, text: string | undefined): void => {
    ops.push({ pos: at, end: pos, text });
    const i = ops.length - 1;
    push({ t: 'str', op: i, literal: i });
  };
  const get = (index: number, at: number): void => {
    const v = memo.get(index);
    if (v === undefined) fail('PICKLE_MEMO_MISSING', `memo ${index} is read before it is written`, at);
    const value = v as Value;
    if (value.t !== 'str') return push(value);
    ops.push({ pos: at, end: pos });
    const entry: Str = { t: 'str', op: ops.length - 1, literal: value.literal };
    gets.push(entry);
    push(entry);
  };
  const put = (index: number, at: number): void => {
    const top = stack[stack.length - 1];
    if (top === undefined || top === MARK) fail('PICKLE_STACK_UNDERFLOW', 'memoizing with no value on the stack', at);
    memo.set(index, top as Value);
  };
  const text = (bytes: Uint8Array): string | undefined => {
    try {
      return utf8.decode(bytes);
    } catch {
      return undefined;
    }
  };

  for (;;) {
    const at = pos;
    need(1, at);
    const code = data[pos++] as number;
    const fixed = FIXED[code];
    const counted = COUNTED[code];
    if (fixed !== undefined) need(fixed, at);
    if (counted !== undefined) need(counted, at);
    switch (code) {
      case 0x2e: // STOP
        if (stack.length !== 1 || stack[0] === MARK) fail('PICKLE_MARK', `STOP with ${stack.length} stack items; expected exactly one value`, at);
        return { end: pos, sites, intValue: (stack[0] as Value).t === 'int' ? (stack[0] as { value: bigint }).value : undefined, ops, gets, frames };
      case 0x80: // PROTO
        pos += 1;
        break;
      case 0x95: {
        // FRAME
        const length = uint(8);
        frames.push({ pos: at, start: pos, end: pos + length });
        if (pos + length > data.length) fail('PICKLE_FRAME', `a frame of ${length} bytes runs past the end of the pickle`, at);
        break;
      }
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x30: // POP
        if (stack.pop() === undefined) fail('PICKLE_STACK_UNDERFLOW', 'POP on an empty stack', at);
        break;
      case 0x31: // POP_MARK
        popMark(at);
        break;
      case 0x32: {
        // DUP
        const top = pop(at);
        push(top);
        push(top);
        break;
      }
      case 0x4b: // BININT1
      case 0x4d: // BININT2
        push({ t: 'int', value: BigInt(uint(code === 0x4b ? 1 : 2)) });
        break;
      case 0x4a: // BININT
        push({ t: 'int', value: BigInt(view.getInt32(pos, true)) });
        pos += 4;
        break;
      case 0x8a: // LONG1
      case 0x8b: {
        // LONG4
        const n = uint(code === 0x8a ? 1 : 4);
        need(n, at);
        push({ t: 'int', value: littleSigned(data.subarray(pos, pos + n)) });
        pos += n;
        break;
      }
      case 0x49: // INT
      case 0x4c: {
        // LONG
        const digits = line(at).replace(/L$/, '');
        push(/^[+-]?\d{1,40}$/.test(digits) ? { t: 'int', value: BigInt(digits) } : { t: 'other' });
        break;
      }
      case 0x4e: // NONE
        push({ t: 'none' });
        break;
      case 0x58: // BINUNICODE
      case 0x8c: // SHORT_BINUNICODE
      case 0x8d: // BINUNICODE8
      case 0x54: // BINSTRING
      case 0x55: // SHORT_BINSTRING
      case 0x42: // BINBYTES
      case 0x43: // SHORT_BINBYTES
      case 0x8e: {
        // BINBYTES8
        const n = uint(counted as number);
        need(n, at);
        const payload = data.subarray(pos, pos + n);
        pos += n;
        pushLiteral(at, n <= 256 ? text(payload) : undefined);
        break;
      }
      case 0x53: // STRING (repr text): not decoded
      case 0x56: // UNICODE (raw-unicode-escape): not decoded
        line(at);
        pushLiteral(at, undefined);
        break;
      case 0x63: {
        // GLOBAL
        const module = line(at);
        const name = line(at);
        push({ t: 'global', module, name });
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop(at);
        const module = pop(at);
        const nameText = name.t === 'str' ? ops[name.literal]?.text : undefined;
        const moduleText = module.t === 'str' ? ops[module.literal]?.text : undefined;
        push(nameText !== undefined && moduleText !== undefined ? { t: 'global', module: moduleText, name: nameText } : { t: 'other' });
        break;
      }
      case 0x67: // GET
        get(Number(line(at)), at);
        break;
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
        get(uint(code === 0x68 ? 1 : 4), at);
        break;
      case 0x70: // PUT
        put(Number(line(at)), at);
        break;
      case 0x71: // BINPUT
      case 0x72: // LONG_BINPUT
        put(uint(code === 0x71 ? 1 : 4), at);
        break;
      case 0x94: // MEMOIZE
        put(memo.size, at);
        break;
      case 0x74: // TUPLE
        push({ t: 'tuple', items: popMark(at) });
        break;
      case 0x29: // EMPTY_TUPLE
        push({ t: 'tuple', items: [] });
        break;
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: {
        // TUPLE3
        const n = code - 0x84;
        const items: Value[] = [];
        for (let i = 0; i < n; i++) items.unshift(pop(at));
        push({ t: 'tuple', items });
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop(at);
        const site = storageSite(pid, (message) => fail('STORAGE_BAD_PID', message, at), ops);
        if (site !== undefined) sites.push(site);
        push({ t: 'other' });
        break;
      }
      case 0x50: // PERSID (protocol 0: the id is a string, torch never writes it)
        line(at);
        push({ t: 'other' });
        break;
      case 0x52: // REDUCE
      case 0x81: // NEWOBJ
        pop(at), pop(at), push({ t: 'other' });
        break;
      case 0x92: // NEWOBJ_EX
        pop(at), pop(at), pop(at), push({ t: 'other' });
        break;
      case 0x61: // APPEND
      case 0x62: // BUILD
        pop(at);
        break;
      case 0x73: // SETITEM
        pop(at), pop(at);
        break;
      case 0x65: // APPENDS
      case 0x75: // SETITEMS
      case 0x90: // ADDITEMS
        popMark(at);
        break;
      case 0x64: // DICT
      case 0x6c: // LIST
      case 0x6f: // OBJ
      case 0x91: // FROZENSET
        popMark(at);
        push({ t: 'other' });
        break;
      case 0x69: // INST
        line(at), line(at), popMark(at), push({ t: 'other' });
        break;
      case 0x7d: // EMPTY_DICT
      case 0x5d: // EMPTY_LIST
      case 0x8f: // EMPTY_SET
      case 0x88: // NEWTRUE
      case 0x89: // NEWFALSE
      case 0x97: // NEXT_BUFFER
        push({ t: 'other' });
        break;
      case 0x98: // READONLY_BUFFER
        break;
      case 0x46: // FLOAT
        line(at), push({ t: 'other' });
        break;
      case 0x47: // BINFLOAT
        pos += 8;
        push({ t: 'other' });
        break;
      case 0x82: // EXT1
      case 0x83: // EXT2
      case 0x84: // EXT4
        pos += fixed as number;
        push({ t: 'other' });
        break;
      case 0x96: {
        // BYTEARRAY8
        const n = uint(8);
        need(n, at);
        pos += n;
        push({ t: 'other' });
        break;
      }
      default:
        fail('PICKLE_INVALID_OPCODE', `0x${code.toString(16).padStart(2, '0')} is not a pickle opcode`, at);
    }
  }
}

/** The storage site of a persistent id, `undefined` for ids that are not storages (legacy `('module', …)`). */
function storageSite(pid: Value, bad: (message: string) => never, ops: readonly Op[]): StorageSite | undefined {
  if (pid.t !== 'tuple') return undefined;
  const [typename, type, key, location, numel] = pid.items;
  const textOf = (v: Value | undefined): string | undefined => (v?.t === 'str' ? ops[v.literal]?.text : undefined);
  if (textOf(typename) !== 'storage') return undefined;
  if (pid.items.length !== 5 && pid.items.length !== 6) {
    bad(`a storage persistent id must have 5 items ('storage', type, key, location, numel) or 6 (legacy: view metadata), found ${pid.items.length}`);
  }
  if (type?.t !== 'global' || type.module !== 'torch') bad('the storage type of a persistent id must be a torch storage class');
  const g = type as { module: string; name: string };
  const dtype: TorchDType | undefined = g.name === 'UntypedStorage' ? 'uint8' : dtypeFromStorageName(g.name);
  if (dtype === undefined) bad(`unknown storage class torch.${quote(g.name, '')}`);
  const keyText = textOf(key);
  if (keyText === undefined || !/^[0-9]{1,20}$/.test(keyText)) bad('the storage key of a persistent id must be 1 to 20 decimal digits');
  const locationText = textOf(location);
  if (locationText === undefined || location?.t !== 'str') bad('the location of a persistent id must be a binary-encoded string such as "cuda:0"');
  if (numel?.t !== 'int' || numel.value < 0n || numel.value > BigInt(Number.MAX_SAFE_INTEGER)) bad('the numel of a persistent id must be a non-negative int below 2^53');
  const count = Number((numel as { value: bigint }).value);
  const storage: StorageInfo = {
    key: keyText as string,
    dtype: dtype as TorchDType,
    numel: count,
    byteLength: count * dtypeInfo(dtype as TorchDType).itemSize,
    location: locationText as string,
  };
  return { storage, entry: location as Str };
}

function littleSigned(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i] as number);
  return (bytes[bytes.length - 1] as number) & 0x80 ? v - (1n << BigInt(8 * bytes.length)) : v;
}

/**
 * Rewrites the location string of every storage persistent id found by {@link scanPickle} to
 * `target(storage)`, changing nothing else: a location literal gets its new text in place (so
 * every `BINGET` of its memo slot reads the new text), a `BINGET` whose storage wants a
 * different location than its literal now holds becomes a literal of its own, a `BINGET` that is
 * not a location keeps reading the original text, and protocol-4 frame lengths are adjusted.
 * Returns the new bytes of `data[start, scan.end)` and the changes made.
 *
 * @throws CheckpointError `STORAGE_CONFLICT` when one string entry is the location of two storages
 *   that want different locations.
 * @example
 * ```ts
 * const scan = scanPickle(pkl);
 * const { bytes } = rewriteLocations(pkl, scan, () => 'cpu');
 * ```
 */
export function rewriteLocations(
  data: Uint8Array,
  scan: PickleScan,
  target: (storage: StorageInfo) => string,
  start = 0,
): { bytes: Uint8Array; changes: LocationChange[] } {
  const wanted = new Map<Str, string>();
  const changes: LocationChange[] = [];
  const seen = new Set<string>();
  for (const { storage, entry } of scan.sites) {
    const to = target(storage);
    const previous = wanted.get(entry);
    if (previous !== undefined && previous !== to) {
      throw new CheckpointError('STORAGE_CONFLICT', `one location string serves two storages mapped to different locations (${quote(previous, '')}, ${quote(to, '')})`, {
        details: { key: storage.key },
      });
    }
    wanted.set(entry, to);
    if (to !== storage.location && !seen.has(storage.key)) changes.push({ key: storage.key, from: storage.location, to });
    seen.add(storage.key);
  }
  // New text of each literal op: its own entry's wanted location, else unchanged.
  const literalText = new Map<number, string>();
  const edits = new Map<number, string>(); // op index -> replacement text (as a BINUNICODE literal)
  for (const [entry, to] of wanted) {
    if (entry.op !== entry.literal) continue;
    literalText.set(entry.op, to);
    if (to !== scan.ops[entry.op]?.text) edits.set(entry.op, to);
  }
  for (const get of scan.gets) {
    const original = scan.ops[get.literal]?.text;
    const holds = literalText.get(get.literal) ?? original;
    const want = wanted.get(get) ?? original;
    if (want !== holds) {
      if (want === undefined) throw new CheckpointError('STORAGE_BAD_PID', 'a memoized location string is not a binary-encoded string', {});
      edits.set(get.op, want);
    }
  }
  if (edits.size === 0) return { bytes: data.slice(start, scan.end), changes };

  const replaced = [...edits].map(([i, text]) => ({ op: scan.ops[i] as Op, bytes: binunicode(text) })).sort((a, b) => a.op.pos - b.op.pos);
  const delta = (from: number, to: number): number =>
    replaced.filter((r) => r.op.pos >= from && r.op.end <= to).reduce((n, r) => n + r.bytes.length - (r.op.end - r.op.pos), 0);
  const parts: Uint8Array[] = [];
  let cursor = start;
  const frames = scan.frames.map((f) => ({ ...f, length: f.end - f.start + delta(f.start, f.end) }));
  const points = [
    ...replaced.map((r) => ({ pos: r.op.pos, end: r.op.end, bytes: r.bytes })),
    ...frames.map((f) => ({ pos: f.pos + 1, end: f.pos + 9, bytes: u64(f.length) })),
  ].sort((a, b) => a.pos - b.pos);
  for (const p of points) {
    parts.push(data.subarray(cursor, p.pos), p.bytes);
    cursor = p.end;
  }
  parts.push(data.subarray(cursor, scan.end));
  return { bytes: concatBytes(parts), changes };
}

function binunicode(text: string): Uint8Array {
  const payload = utf8Encode.encode(text);
  const out = new Uint8Array(5 + payload.length);
  out[0] = 0x58;
  new DataView(out.buffer).setUint32(1, payload.length, true);
  out.set(payload, 5);
  return out;
}

function u64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  return out;
}
