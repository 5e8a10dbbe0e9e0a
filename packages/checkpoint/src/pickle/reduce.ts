/**
 * What REDUCE, NEWOBJ and BUILD mean for each allow-listed global. Every action builds inert data;
 * unknown globals become {@link PyObject} records only when the caller opted in.
 *
 * @module
 */
import { device } from '@x/device';
import { CheckpointError } from '../errors.js';
import { isTensorRef, OrderedDict, PyObject, TorchSize, type Tuple } from './values.js';
import { Args, pyTypeName, type Context } from './args.js';
import { Pending } from './boxes.js';
import { PyGlobal } from './globals.js';
import {
  buildNdarray,
  buildNumpyDType,
  complexRecord,
  NumpyDType,
  numpyDType,
  numpyScalar,
  reconstruct,
} from './numpy.js';
import {
  fromType,
  getLayout,
  rebuildFromNumpy,
  rebuildMeta,
  rebuildParameter,
  rebuildQTensor,
  rebuildSparse,
  rebuildTensorV1,
  rebuildTensorV2,
  rebuildTensorV3,
  tensorFromState,
} from './rebuild.js';
import { encodeLatin1 } from './text.js';

/** Callbacks the unpickler gives the actions (dict and set rules live in the unpickler). */
export interface Containers {
  /** Inserts into a dict with the unpickler's key rules (hashability, duplicates). */
  setItem(map: Map<unknown, unknown>, key: unknown, value: unknown): void;
  /** Checks that a value may be a set member / dict key. */
  checkHashable(value: unknown): void;
}

/** REDUCE: `fn(*args)`. */
export function callGlobal(fn: PyGlobal, args: Tuple, ctx: Context, containers: Containers): unknown {
  const a = new Args(fn, args, ctx);
  switch (fn.kind) {
    case undefined:
      return record(fn, args);
    case 'OrderedDict':
      return fillDict(new OrderedDict(), a, containers);
    case 'Counter':
      return fillDict(new Map(), a, containers);
    case 'set':
    case 'frozenset': {
      a.arity(0, 1);
      const items = a.length === 0 ? [] : a.get(0);
      if (!Array.isArray(items)) return a.fail(0, 'a list');
      for (const item of items) containers.checkHashable(item);
      return new Set(items);
    }
    case 'bytearray':
      a.arity(0, 2);
      if (a.length === 0) return new Uint8Array(0);
      if (a.get(0) instanceof Uint8Array && a.length === 1) return (a.get(0) as Uint8Array).slice();
      return latin1Bytes(a);
    case 'bytes':
      a.arity(0);
      return new Uint8Array(0);
    case 'codecs.encode':
      return latin1Bytes(a);
    case 'complex':
      a.arity(2);
      return complexRecord(a.number(0), a.number(1));
    case 'torch.Size': {
      a.arity(1);
      const size = new TorchSize();
      for (const n of a.ints(0)) size.push(typeof n === 'number' ? n : a.fail(0, 'a tuple of ints below 2^53'));
      return size;
    }
    case 'torch.device':
      return torchDevice(a);
    case 'torch.Tensor':
      a.arity(0);
      return new Pending('tensor', fn);
    case 'Parameter':
      return rebuildParameter(a, 'class');
    case 'get_layout':
      return getLayout(a);
    case '_rebuild_tensor':
      return rebuildTensorV1(a);
    case '_rebuild_tensor_v2':
      return rebuildTensorV2(a);
    case '_rebuild_tensor_v3':
      return rebuildTensorV3(a);
    case '_rebuild_parameter':
      return rebuildParameter(a, 'plain');
    case '_rebuild_parameter_with_state':
      return rebuildParameter(a, 'with_state');
    case '_rebuild_qtensor':
      return rebuildQTensor(a);
    case '_rebuild_sparse_tensor':
      return rebuildSparse(a, false);
    case '_rebuild_sparse_csr_tensor':
      return rebuildSparse(a, true);
    case '_rebuild_meta_tensor_no_storage':
      return rebuildMeta(a);
    case '_rebuild_device_tensor_from_numpy':
      return rebuildFromNumpy(a);
    case 'unsupported_rebuild':
      throw new CheckpointError(
        'TENSOR_UNSUPPORTED',
        `${String(fn)} tensors (wrapper subclasses, nested or device-only tensors) are not supported`,
        ctx.where(),
      );
    case 'rebuild_from_type': {
      a.arity(4);
      const inner = a.global(0, REBUILDERS, 'a tensor rebuild function');
      return fromType(a, callGlobal(inner, a.tuple(2), ctx, containers));
    }
    case 'np.reconstruct':
      return reconstruct(a, fn);
    case 'np.dtype':
      return numpyDType(a);
    case 'np.scalar':
      return numpyScalar(a, fn);
    case 'np.ndarray':
    case 'dtype':
    case 'qscheme':
    case 'storage':
    case 'untyped_storage':
      throw new CheckpointError('PICKLE_TYPE', `${String(fn)} cannot be called by a pickle`, ctx.where());
  }
}

const REBUILDERS: readonly string[] = [
  '_rebuild_tensor',
  '_rebuild_tensor_v2',
  '_rebuild_tensor_v3',
  '_rebuild_parameter',
  '_rebuild_parameter_with_state',
  '_rebuild_qtensor',
  '_rebuild_sparse_tensor',
  '_rebuild_sparse_csr_tensor',
  '_rebuild_meta_tensor_no_storage',
];

/** NEWOBJ: `cls.__new__(cls, *args)` for the classes that allow it. */
export function newObject(cls: unknown, args: Tuple, ctx: Context): unknown {
  if (!(cls instanceof PyGlobal)) {
    throw new CheckpointError('PICKLE_TYPE', `NEWOBJ needs a class, got ${pyTypeName(cls)}`, ctx.where());
  }
  const a = new Args(cls, args, ctx);
  switch (cls.kind) {
    case undefined:
      return record(cls, args, 'newobj');
    case 'OrderedDict':
      a.arity(0);
      return new OrderedDict();
    case 'Parameter':
      return rebuildParameter(a, 'class');
    default:
      throw new CheckpointError('PICKLE_TYPE', `NEWOBJ cannot create ${String(cls)}`, ctx.where());
  }
}

/** BUILD: applies `state` to `target`; returns the value that replaces `target` on the stack. */
export function build(target: unknown, state: unknown, ctx: Context): unknown {
  if (target instanceof Pending && !target.resolved) {
    target.result =
      target.kind === 'tensor'
        ? tensorFromState(new Args('torch.Tensor.__setstate__', Array.isArray(state) ? state : [], ctx))
        : buildNdarray(state, target.origin, ctx);
    target.resolved = true;
    return target.result;
  }
  if (target instanceof NumpyDType) return buildNumpyDType(target, state, ctx);
  if (target instanceof OrderedDict) {
    buildOrderedDict(target, state, ctx);
    return target;
  }
  if (target instanceof PyObject && ctx.record) {
    if (target.state !== undefined)
      throw new CheckpointError('PICKLE_TYPE', `BUILD twice on ${pyTypeName(target)}`, ctx.where());
    target.state = state;
    return target;
  }
  throw new CheckpointError(
    'PICKLE_TYPE',
    `BUILD cannot set the state of ${isTensorRef(target) ? 'a rebuilt tensor' : pyTypeName(target)}`,
    ctx.where(),
  );
}

/** `OrderedDict.__dict__.update(state)`: only `_metadata` (what `state_dict()` pickles) is accepted. */
function buildOrderedDict(target: OrderedDict, state: unknown, ctx: Context): void {
  if (state === null) return;
  if (!(state instanceof Map))
    throw new CheckpointError('PICKLE_TYPE', `OrderedDict state must be a dict, got ${pyTypeName(state)}`, ctx.where());
  for (const [key, value] of state) {
    if (key !== '_metadata') {
      throw new CheckpointError('PICKLE_TYPE', `OrderedDict attribute other than _metadata is not supported`, {
        ...ctx.where(),
        details: { attribute: typeof key === 'string' ? key.slice(0, 64) : pyTypeName(key) },
      });
    }
    if (!(value instanceof Map) || [...value].some(([k, v]) => typeof k !== 'string' || !(v instanceof Map))) {
      throw new CheckpointError('PICKLE_TYPE', `OrderedDict _metadata must map str to dict`, ctx.where());
    }
    target.metadata =
      value instanceof OrderedDict
        ? (value as OrderedDict<string, Map<string, unknown>>)
        : new OrderedDict(value as Map<string, Map<string, unknown>>);
  }
}

function record(cls: PyGlobal, args: Tuple, via: PyObject['via'] = 'reduce'): PyObject {
  const obj = new PyObject(cls.module, cls.name);
  obj.args = args;
  obj.via = via;
  return obj;
}

/** `OrderedDict()`, `OrderedDict([(k, v), …])`, `OrderedDict({…})`, `Counter({…})`. */
function fillDict(map: Map<unknown, unknown>, a: Args, containers: Containers): Map<unknown, unknown> {
  a.arity(0, 1);
  if (a.length === 0) return map;
  const source = a.get(0);
  if (source instanceof Map) {
    for (const [k, v] of source) containers.setItem(map, k, v);
    return map;
  }
  if (!Array.isArray(source)) return a.fail(0, 'a dict or a list of pairs');
  for (const pair of source) {
    if (!Array.isArray(pair) || pair.length !== 2) return a.fail(0, 'a list of (key, value) pairs');
    containers.setItem(map, pair[0], pair[1]);
  }
  return map;
}

/** `_codecs.encode(text, 'latin1')` and `bytearray(text, 'latin-1')`. */
function latin1Bytes(a: Args): Uint8Array {
  a.arity(2);
  const encoding = a.str(1).toLowerCase();
  if (encoding !== 'latin1' && encoding !== 'latin-1' && encoding !== 'iso-8859-1') a.fail(1, "'latin1'");
  return encodeLatin1(a.str(0)) ?? a.fail(0, 'a str of code points below 256');
}

/** `torch.device('cuda', 1)`, `torch.device('cuda:1')`, `torch.device('cpu')`. */
function torchDevice(a: Args): unknown {
  a.arity(1, 2);
  const type = a.str(0);
  const index = a.length === 2 ? a.int(1) : undefined;
  try {
    return device(type, typeof index === 'bigint' ? Number.NaN : index);
  } catch (cause) {
    throw new CheckpointError(
      'PICKLE_TYPE',
      `torch.device arguments are not a valid device: ${String((cause as Error).message).slice(0, 120)}`,
      { ...a.ctx.where(), cause },
    );
  }
}
