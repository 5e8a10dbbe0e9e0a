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
import { concatBytes, pickleOps, type PickleOp } from '@x/checkpoint/internal';
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

/** One storage persistent id found in a pickle. */
export interface StorageSite {
  /** The storage as the persistent id describes it. */
  readonly storage: StorageInfo;
  /** The string entry holding its location. */
  readonly entry: Str;
}

/** What {@link scanPickle} found. */
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

/** A location that {@link rewriteLocations} changed. */
export interface LocationChange {
  /** Storage key. */
  readonly key: string;
  /** Location as saved. */
  readonly from: string;
  /** Location written. */
  readonly to: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');
const utf8Encode = new TextEncoder();

/**
 * Walks one pickle starting at `start` without building any value, and returns where it ends, its
 * storage persistent ids (with their location strings) and what a rewrite needs. The bytes are
 * decoded by `@x/checkpoint`'s `pickleOps` (with the unpickler's default string and line limits).
 *
 * @throws CheckpointError `PICKLE_TRUNCATED`, `PICKLE_INVALID_OPCODE`, `PICKLE_FRAME`,
 *   `PICKLE_LIMIT`, `PICKLE_TYPE` (from the decoder), `PICKLE_STACK_UNDERFLOW`, `PICKLE_MARK`,
 *   `PICKLE_MEMO_MISSING`, `STORAGE_BAD_PID` (offsets relative to `data` plus `where.offset`).
 */
export function scanPickle(data: Uint8Array, start = 0, where: { entry?: string; offset?: number } = {}): PickleScan {
  const base = where.offset ?? 0;
  let at = start;
  const fail = (
    code: 'PICKLE_STACK_UNDERFLOW' | 'PICKLE_MARK' | 'PICKLE_MEMO_MISSING' | 'STORAGE_BAD_PID',
    message: string,
  ): never => {
    throw new CheckpointError(code, message, { entry: where.entry, offset: base + at });
  };
  const ops: Op[] = [];
  const gets: Str[] = [];
  const frames: { pos: number; start: number; end: number }[] = [];
  const sites: StorageSite[] = [];
  const stack: Slot[] = [];
  const memo = new Map<number, Value>();
  let end = start;

  const pop = (): Value => {
    const v = stack.pop();
    if (v === undefined) fail('PICKLE_STACK_UNDERFLOW', 'an opcode needs a value on an empty stack');
    if (v === MARK) fail('PICKLE_MARK', 'an opcode found a MARK where it needs a value');
    return v as Value;
  };
  const popMark = (): Value[] => {
    const k = stack.lastIndexOf(MARK);
    if (k < 0) fail('PICKLE_MARK', 'an opcode needs a MARK and there is none');
    const items = stack.splice(k) as Slot[];
    return items.slice(1) as Value[];
  };
  const push = (v: Value): void => {
    stack.push(v);
  };
  const pushLiteral = (op: PickleOp, text: string | undefined): void => {
    ops.push({ pos: op.offset, end: op.end, text });
    const i = ops.length - 1;
    push({ t: 'str', op: i, literal: i });
  };
  const get = (index: number, op: PickleOp): void => {
    const v = memo.get(index);
    if (v === undefined) fail('PICKLE_MEMO_MISSING', `memo ${index} is read before it is written`);
    const value = v as Value;
    if (value.t !== 'str') {
      push(value);
      return;
    }
    ops.push({ pos: op.offset, end: op.end });
    const entry: Str = { t: 'str', op: ops.length - 1, literal: value.literal };
    gets.push(entry);
    push(entry);
  };
  const put = (index: number): void => {
    const top = stack[stack.length - 1];
    if (top === undefined || top === MARK) fail('PICKLE_STACK_UNDERFLOW', 'memoizing with no value on the stack');
    memo.set(index, top as Value);
  };
  const text = (bytes: Uint8Array): string | undefined => {
    if (bytes.length > 256) return undefined;
    try {
      return utf8.decode(bytes);
    } catch {
      return undefined;
    }
  };

  for (const op of pickleOps(data, start, { entry: where.entry, offset: base })) {
    at = op.offset;
    const arg = op.argument;
    switch (op.opcode.name) {
      case 'STOP':
        end = op.end;
        break;
      case 'PROTO':
        break;
      case 'FRAME':
        frames.push({ pos: op.offset, start: op.end, end: op.end + (arg as number) });
        break;
      case 'MARK':
        stack.push(MARK);
        break;
      case 'POP':
        if (stack.pop() === undefined) fail('PICKLE_STACK_UNDERFLOW', 'POP on an empty stack');
        break;
      case 'POP_MARK':
        popMark();
        break;
      case 'DUP': {
        const top = pop();
        push(top);
        push(top);
        break;
      }
      case 'BININT':
      case 'BININT1':
      case 'BININT2':
      case 'LONG1':
      case 'LONG4':
        push({ t: 'int', value: BigInt(arg as number | bigint) });
        break;
      case 'INT':
      case 'LONG': {
        const digits = latin1.decode(arg as Uint8Array).replace(/L$/, '');
        push(/^[+-]?\d{1,40}$/.test(digits) ? { t: 'int', value: BigInt(digits) } : { t: 'other' });
        break;
      }
      case 'NONE':
        push({ t: 'none' });
        break;
      case 'BINUNICODE':
      case 'SHORT_BINUNICODE':
      case 'BINUNICODE8':
      case 'BINSTRING':
      case 'SHORT_BINSTRING':
      case 'BINBYTES':
      case 'SHORT_BINBYTES':
      case 'BINBYTES8':
        pushLiteral(op, text(arg as Uint8Array));
        break;
      case 'STRING': // repr text: not decoded
      case 'UNICODE': // raw-unicode-escape: not decoded
        pushLiteral(op, undefined);
        break;
      case 'GLOBAL': {
        const [module, name] = arg as readonly [Uint8Array, Uint8Array];
        push({ t: 'global', module: latin1.decode(module), name: latin1.decode(name) });
        break;
      }
      case 'STACK_GLOBAL': {
        const name = pop();
        const module = pop();
        const nameText = name.t === 'str' ? ops[name.literal]?.text : undefined;
        const moduleText = module.t === 'str' ? ops[module.literal]?.text : undefined;
        push(
          nameText !== undefined && moduleText !== undefined
            ? { t: 'global', module: moduleText, name: nameText }
            : { t: 'other' },
        );
        break;
      }
      case 'GET':
        get(Number(latin1.decode(arg as Uint8Array)), op);
        break;
      case 'BINGET':
      case 'LONG_BINGET':
        get(arg as number, op);
        break;
      case 'PUT':
        put(Number(latin1.decode(arg as Uint8Array)));
        break;
      case 'BINPUT':
      case 'LONG_BINPUT':
        put(arg as number);
        break;
      case 'MEMOIZE':
        put(memo.size);
        break;
      case 'TUPLE':
        push({ t: 'tuple', items: popMark() });
        break;
      case 'EMPTY_TUPLE':
        push({ t: 'tuple', items: [] });
        break;
      case 'TUPLE1':
      case 'TUPLE2':
      case 'TUPLE3': {
        const n = Number(op.opcode.name.slice('TUPLE'.length));
        const items: Value[] = [];
        for (let i = 0; i < n; i++) items.unshift(pop());
        push({ t: 'tuple', items });
        break;
      }
      case 'BINPERSID': {
        const site = storageSite(pop(), (message) => fail('STORAGE_BAD_PID', message), ops);
        if (site !== undefined) sites.push(site);
        push({ t: 'other' });
        break;
      }
      case 'PERSID': // protocol 0: the id is a string, torch never writes it
        push({ t: 'other' });
        break;
      case 'REDUCE':
      case 'NEWOBJ':
        pop(), pop(), push({ t: 'other' });
        break;
      case 'NEWOBJ_EX':
        pop(), pop(), pop(), push({ t: 'other' });
        break;
      case 'APPEND':
      case 'BUILD':
        pop();
        break;
      case 'SETITEM':
        pop(), pop();
        break;
      case 'APPENDS':
      case 'SETITEMS':
      case 'ADDITEMS':
        popMark();
        break;
      case 'DICT':
      case 'LIST':
      case 'OBJ':
      case 'FROZENSET':
      case 'INST':
        popMark();
        push({ t: 'other' });
        break;
      case 'EMPTY_DICT':
      case 'EMPTY_LIST':
      case 'EMPTY_SET':
      case 'NEWTRUE':
      case 'NEWFALSE':
      case 'NEXT_BUFFER':
      case 'FLOAT':
      case 'BINFLOAT':
      case 'EXT1':
      case 'EXT2':
      case 'EXT4':
      case 'BYTEARRAY8':
        push({ t: 'other' });
        break;
      case 'READONLY_BUFFER':
        break;
    }
  }
  if (stack.length !== 1 || stack[0] === MARK)
    fail('PICKLE_MARK', `STOP with ${stack.length} stack items; expected exactly one value`);
  return {
    end,
    sites,
    intValue: (stack[0] as Value).t === 'int' ? (stack[0] as { value: bigint }).value : undefined,
    ops,
    gets,
    frames,
  };
}

/** The storage site of a persistent id, `undefined` for ids that are not storages (legacy `('module', …)`). */
function storageSite(pid: Value, bad: (message: string) => never, ops: readonly Op[]): StorageSite | undefined {
  if (pid.t !== 'tuple') return undefined;
  const [typename, type, key, location, numel] = pid.items;
  const textOf = (v: Value | undefined): string | undefined => (v?.t === 'str' ? ops[v.literal]?.text : undefined);
  if (textOf(typename) !== 'storage') return undefined;
  if (pid.items.length !== 5 && pid.items.length !== 6) {
    bad(
      `a storage persistent id must have 5 items ('storage', type, key, location, numel) or 6 (legacy: view metadata), found ${pid.items.length}`,
    );
  }
  if (type?.t !== 'global' || type.module !== 'torch')
    bad('the storage type of a persistent id must be a torch storage class');
  const g = type as { module: string; name: string };
  const dtype: TorchDType | undefined = g.name === 'UntypedStorage' ? 'uint8' : dtypeFromStorageName(g.name);
  if (dtype === undefined) bad(`unknown storage class torch.${quote(g.name, '')}`);
  const keyText = textOf(key);
  if (keyText === undefined || !/^[0-9]{1,20}$/.test(keyText))
    bad('the storage key of a persistent id must be 1 to 20 decimal digits');
  const locationText = textOf(location);
  if (locationText === undefined || location?.t !== 'str')
    bad('the location of a persistent id must be a binary-encoded string such as "cuda:0"');
  if (numel?.t !== 'int' || numel.value < 0n || numel.value > BigInt(Number.MAX_SAFE_INTEGER))
    bad('the numel of a persistent id must be a non-negative int below 2^53');
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
      throw new CheckpointError(
        'STORAGE_CONFLICT',
        `one location string serves two storages mapped to different locations (${quote(previous, '')}, ${quote(to, '')})`,
        {
          details: { key: storage.key },
        },
      );
    }
    wanted.set(entry, to);
    if (to !== storage.location && !seen.has(storage.key))
      changes.push({ key: storage.key, from: storage.location, to });
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
      if (want === undefined)
        throw new CheckpointError('STORAGE_BAD_PID', 'a memoized location string is not a binary-encoded string', {});
      edits.set(get.op, want);
    }
  }
  if (edits.size === 0) return { bytes: data.slice(start, scan.end), changes };

  const replaced = [...edits]
    .map(([i, text]) => ({ op: scan.ops[i] as Op, bytes: binunicode(text) }))
    .sort((a, b) => a.op.pos - b.op.pos);
  const delta = (from: number, to: number): number =>
    replaced
      .filter((r) => r.op.pos >= from && r.op.end <= to)
      .reduce((n, r) => n + r.bytes.length - (r.op.end - r.op.pos), 0);
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
