/**
 * The tensor rebuild functions of torch's `torch/_utils.py` (`_rebuild_tensor_v2` and kin), as pure
 * constructors of {@link TensorRef}-like descriptions: exact arity, argument types and geometry are
 * checked; nothing is allocated for tensor data.
 *
 * @module
 */
import { dtypeInfo, type TorchDType } from '@x/device';
import { CheckpointError } from '../errors.js';
import {
  checkGeometry,
  Layout,
  type CompressedLayout,
  type LayoutName,
  type InlineTensorRef,
  type MetaTensorRef,
  type QScheme,
  type QuantizedTensorRef,
  type RebuiltTensorRef,
  type SparseTensorRef,
} from './tensor-refs.js';
import { isStorageRef, isTensorRef, type StorageRef, type TensorRef } from './values.js';
import { elementsPerByte } from './packed-quantized.js';
import { Args } from './args.js';
import { numpyInfo } from './numpy.js';

/** `_rebuild_tensor(storage, offset, size, stride)` (v1, legacy files). */
export function rebuildTensorV1(a: Args): RebuiltTensorRef {
  a.arity(4);
  return strided(a, storageArg(a, 0), undefined, false, undefined);
}

/** `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks[, metadata])`. */
export function rebuildTensorV2(a: Args): RebuiltTensorRef {
  a.arity(6, 7);
  a.emptyHooks(5);
  return strided(a, storageArg(a, 0), undefined, a.bool(4), a.length === 7 ? a.get(6) : undefined);
}

/** `_rebuild_tensor_v3(storage, offset, size, stride, requires_grad, backward_hooks, dtype[, metadata])`. */
export function rebuildTensorV3(a: Args): RebuiltTensorRef {
  a.arity(7, 8);
  a.emptyHooks(5);
  return strided(a, storageArg(a, 0), a.dtype(6), a.bool(4), a.length === 8 ? a.get(7) : undefined);
}

/**
 * `Tensor.__setstate__` for `torch.Tensor() + BUILD`: `(storage, offset, size, stride)` or the old Variable 5-tuple.
 */
export function tensorFromState(a: Args): RebuiltTensorRef {
  a.arity(4, 5);
  if (a.length === 4) return strided(a, storageArg(a, 0), undefined, false, undefined);
  return withFlags(tensorArg(a, 0), { requiresGrad: a.bool(3) });
}

/**
 * `_rebuild_parameter(data, requires_grad, hooks)` and `_rebuild_parameter_with_state(…, state)`; also `Parameter(data[, requires_grad])`.
 */
export function rebuildParameter(a: Args, form: 'plain' | 'with_state' | 'class'): RebuiltTensorRef {
  if (form === 'class') {
    a.arity(1, 2);
    return withFlags(tensorArg(a, 0), { parameter: true, requiresGrad: a.length === 2 ? a.bool(1) : true });
  }
  a.arity(form === 'plain' ? 3 : 4);
  a.emptyHooks(2);
  return withFlags(tensorArg(a, 0), {
    parameter: true,
    requiresGrad: a.bool(1),
    state: form === 'plain' ? undefined : stateOrUndefined(a.get(3)),
  });
}

/** `_rebuild_from_type_v2(func, type, args, state)` after `func(*args)` ran: `type` must be `Tensor` or `Parameter`. */
export function fromType(a: Args, built: unknown): RebuiltTensorRef {
  a.arity(4);
  const type = a.global(1, ['torch.Tensor', 'Parameter'], 'torch.Tensor or torch.nn.Parameter');
  if (!isTensorRef(built)) return a.fail(0, 'a function that rebuilds a tensor');
  return withFlags(built, {
    parameter: type.kind === 'Parameter' || built.parameter,
    state: stateOrUndefined(a.get(3)),
  });
}

const QSCHEMES: readonly QScheme[] = [
  'per_tensor_affine',
  'per_tensor_symmetric',
  'per_channel_affine',
  'per_channel_symmetric',
  'per_channel_affine_float_qparams',
];

/** `_rebuild_qtensor(storage, offset, size, stride, quantizer_params, requires_grad, hooks)`. */
export function rebuildQTensor(a: Args): QuantizedTensorRef {
  a.arity(7);
  a.emptyHooks(6);
  const data = strided(a, storageArg(a, 0), undefined, false, undefined);
  const q = new Args('quantizer_params', a.tuple(4), a.ctx);
  const scheme = q.global(0, ['qscheme'], 'a qscheme').name as QScheme;
  if (!QSCHEMES.includes(scheme)) q.fail(0, 'a known qscheme');
  let quantizer: QuantizedTensorRef['quantizer'];
  if (scheme === 'per_tensor_affine' || scheme === 'per_tensor_symmetric') {
    q.arity(3);
    quantizer = { qscheme: scheme, scale: q.number(1), zeroPoint: safe(q, 2) };
  } else {
    q.arity(4);
    quantizer = { qscheme: scheme, scales: tensorArg(q, 1), zeroPoints: tensorArg(q, 2), axis: safe(q, 3) };
  }
  return Object.freeze({ kind: 'quantized', data, quantizer: Object.freeze(quantizer), requiresGrad: a.bool(5) });
}

const COMPRESSED: readonly string[] = ['sparse_csr', 'sparse_csc', 'sparse_bsr', 'sparse_bsc'];

/** `_rebuild_sparse_tensor(layout, data)` (and 1.13's `_rebuild_sparse_csr_tensor`). */
export function rebuildSparse(a: Args, csrOnly: boolean): SparseTensorRef {
  a.arity(2);
  const arg = a.get(0);
  const layout = arg instanceof Layout ? arg.name : a.fail(0, 'a torch.layout');
  const d = new Args(`${a.fn} data`, a.tuple(1), a.ctx);
  if (layout === 'sparse_coo' && !csrOnly) {
    d.arity(3, 4);
    const coalesced = d.length === 4 ? d.bool(3) : undefined;
    return Object.freeze({
      kind: 'sparse',
      layout: 'sparse_coo',
      indices: tensorArg(d, 0),
      values: tensorArg(d, 1),
      shape: shapeArg(d, 2),
      coalesced,
    });
  }
  if (!(csrOnly ? layout === 'sparse_csr' : COMPRESSED.includes(layout)))
    a.fail(0, csrOnly ? 'torch.sparse_csr' : 'a sparse layout');
  d.arity(4);
  return Object.freeze({
    kind: 'sparse',
    layout: layout as CompressedLayout,
    compressedIndices: tensorArg(d, 0),
    plainIndices: tensorArg(d, 1),
    values: tensorArg(d, 2),
    shape: shapeArg(d, 3),
  });
}

/** `_rebuild_meta_tensor_no_storage(dtype, size, stride, requires_grad)`. */
export function rebuildMeta(a: Args): MetaTensorRef {
  a.arity(4);
  const dtype = a.dtype(0);
  const g = checkGeometry(0, a.ints(1), a.ints(2), dtypeInfo(dtype).itemSize, undefined, a.ctx.limits, a.ctx.where());
  return Object.freeze({ kind: 'meta', dtype, shape: g.shape, stride: g.stride, requiresGrad: a.bool(3) });
}

/** `_rebuild_device_tensor_from_numpy(data, dtype, device, requires_grad)`. */
export function rebuildFromNumpy(a: Args): InlineTensorRef {
  a.arity(4);
  const data = a.get(0);
  const info = numpyInfo(data);
  if (info === undefined || info.fortranOrder) return a.fail(0, 'a C-order numpy array');
  return Object.freeze({
    kind: 'inline',
    dtype: a.dtype(1),
    shape: info.shape,
    data: data as InlineTensorRef['data'],
    device: a.str(2),
    requiresGrad: a.bool(3),
  });
}

/** The layouts `torch.serialization._get_layout` knows. */
const LAYOUTS: readonly string[] = ['strided', 'sparse_coo', ...COMPRESSED, '_mkldnn', 'jagged'];

/** `torch.serialization._get_layout(name)`: the layout name itself, validated. */
export function getLayout(a: Args): Layout {
  a.arity(1);
  const text = a.str(0);
  const name = text.slice('torch.'.length);
  return text.startsWith('torch.') && LAYOUTS.includes(name)
    ? new Layout(name as LayoutName)
    : a.fail(0, "a torch layout name such as 'torch.sparse_coo'");
}

function strided(
  a: Args,
  storage: StorageRef,
  dtype: TorchDType | undefined,
  requiresGrad: boolean,
  metadata: unknown,
): RebuiltTensorRef {
  const d = dtype ?? storage.dtype;
  const perByte = elementsPerByte(d);
  // packed dtypes count elements, not bytes: bound the elements by what the storage's bytes hold
  const [itemSize, capacity] =
    perByte === 1 ? [dtypeInfo(d).itemSize, storage.byteLength] : [1, storage.byteLength * perByte];
  const g = checkGeometry(a.int(1), a.ints(2), a.ints(3), itemSize, capacity, a.ctx.limits, a.ctx.where());
  const { conj, neg } = tensorMetadata(a, metadata);
  return Object.freeze({
    storage,
    offset: g.offset,
    shape: g.shape,
    stride: g.stride,
    dtype: d,
    requiresGrad,
    parameter: false,
    conj,
    neg,
    state: undefined,
  });
}

function withFlags(
  t: TensorRef,
  changes: { parameter?: boolean; requiresGrad?: boolean; state?: unknown },
): RebuiltTensorRef {
  const base = t as Partial<RebuiltTensorRef>;
  return Object.freeze({
    ...t,
    conj: base.conj ?? false,
    neg: base.neg ?? false,
    state: base.state,
    ...changes,
  });
}

const NO_METADATA = Object.freeze({ conj: false, neg: false });

/** `_rebuild_tensor_v2/v3` metadata: a dict of `conj` / `neg` booleans. */
function tensorMetadata(a: Args, metadata: unknown): { conj: boolean; neg: boolean } {
  if (metadata === undefined || metadata === null) return NO_METADATA;
  const bits = { conj: false, neg: false };
  if (!(metadata instanceof Map)) return a.fail(a.length - 1, 'a dict of tensor metadata');
  for (const [k, v] of metadata) {
    if ((k !== 'conj' && k !== 'neg') || typeof v !== 'boolean') {
      throw new CheckpointError(
        'TENSOR_UNSUPPORTED',
        `${a.fn}: tensor metadata other than conj/neg booleans is not supported`,
        a.ctx.where(),
      );
    }
    bits[k as 'conj' | 'neg'] = v;
  }
  return bits;
}

function storageArg(a: Args, i: number): StorageRef {
  const v = a.get(i);
  return isStorageRef(v) ? v : a.fail(i, 'a storage (persistent id)');
}

function tensorArg(a: Args, i: number): TensorRef {
  const v = a.get(i);
  return isTensorRef(v) ? v : a.fail(i, 'a tensor');
}

function shapeArg(a: Args, i: number): readonly number[] {
  return checkGeometry(
    0,
    a.ints(i),
    a.ints(i).map(() => 0),
    1,
    undefined,
    a.ctx.limits,
    a.ctx.where(),
  ).shape;
}

function safe(a: Args, i: number): number {
  const v = a.int(i);
  return typeof v === 'number' ? v : a.fail(i, 'an int below 2^53');
}

/** Python attribute state: `None` and `{}` mean none. */
function stateOrUndefined(state: unknown): unknown {
  return state === null || (state instanceof Map && state.size === 0) ? undefined : state;
}
