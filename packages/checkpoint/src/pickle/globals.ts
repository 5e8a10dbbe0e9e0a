/**
 * The allow list of `GLOBAL` / `STACK_GLOBAL` names: torch's `weights_only` list
 * (`torch/_weights_only_unpickler.py`) plus what real checkpoints need (numpy arrays and scalars,
 * `bytes`, `frozenset`, legacy rebuild functions). Lookups are exact `(module, name)` pairs after
 * a fixed rename table; nothing is imported, resolved or executed.
 *
 * @module
 */
import { dtypeFromStorageName, dtypeFromTorchName } from '@x/device';

/** What an allow-listed global is, which decides what REDUCE / NEWOBJ / BUILD do with it. */
export type GlobalKind =
  | 'OrderedDict'
  | 'Counter'
  | 'set'
  | 'frozenset'
  | 'bytearray'
  | 'bytes'
  | 'complex'
  | 'codecs.encode'
  | 'torch.Size'
  | 'torch.device'
  | 'torch.Tensor'
  | 'Parameter'
  | 'get_layout'
  | 'dtype'
  | 'qscheme'
  | 'storage'
  | 'untyped_storage'
  | '_rebuild_tensor'
  | '_rebuild_tensor_v2'
  | '_rebuild_tensor_v3'
  | '_rebuild_parameter'
  | '_rebuild_parameter_with_state'
  | '_rebuild_qtensor'
  | '_rebuild_sparse_tensor'
  | '_rebuild_sparse_csr_tensor'
  | '_rebuild_meta_tensor_no_storage'
  | '_rebuild_device_tensor_from_numpy'
  | 'unsupported_rebuild'
  | 'rebuild_from_type'
  | 'np.reconstruct'
  | 'np.ndarray'
  | 'np.dtype'
  | 'np.scalar';

/**
 * An inert reference to a Python global (a class, function or singleton such as `torch.float16`).
 * `kind` says what the allow list knows it as; it is `undefined` for a global recorded under
 * `unknownClasses: 'record'`. A pickle value that *is* a global (a qscheme, or a class under
 * `'record'`) appears in the result as a `PyGlobal`; dtypes become `DType` (values.ts).
 */
export class PyGlobal {
  /**
   * @param module - module after renames, e.g. `torch._utils`.
   * @param name - attribute name, e.g. `_rebuild_tensor_v2`.
   * @param kind - allow-list kind, `undefined` when not allow-listed.
   */
  constructor(
    readonly module: string,
    readonly name: string,
    readonly kind: GlobalKind | undefined,
  ) {
    Object.freeze(this);
  }

  toString(): string {
    return `${this.module}.${this.name}`;
  }
}

const TABLE: ReadonlyArray<readonly [string, ReadonlyArray<readonly [string, GlobalKind]>]> = [
  [
    'collections',
    [
      ['OrderedDict', 'OrderedDict'],
      ['Counter', 'Counter'],
    ],
  ],
  [
    'builtins',
    [
      ['set', 'set'],
      ['frozenset', 'frozenset'],
      ['bytearray', 'bytearray'],
      ['bytes', 'bytes'],
      ['complex', 'complex'],
    ],
  ],
  ['_codecs', [['encode', 'codecs.encode']]],
  [
    'torch',
    [
      ['Size', 'torch.Size'],
      ['device', 'torch.device'],
      ['Tensor', 'torch.Tensor'],
      ['UntypedStorage', 'untyped_storage'],
      ['per_tensor_affine', 'qscheme'],
      ['per_tensor_symmetric', 'qscheme'],
      ['per_channel_affine', 'qscheme'],
      ['per_channel_symmetric', 'qscheme'],
      ['per_channel_affine_float_qparams', 'qscheme'],
    ],
  ],
  [
    'torch.storage',
    [
      ['UntypedStorage', 'untyped_storage'],
      ['_UntypedStorage', 'untyped_storage'],
    ],
  ],
  ['torch.nn.parameter', [['Parameter', 'Parameter']]],
  ['torch.serialization', [['_get_layout', 'get_layout']]],
  [
    'torch._utils',
    [
      ['_rebuild_tensor', '_rebuild_tensor'],
      ['_rebuild_tensor_v2', '_rebuild_tensor_v2'],
      ['_rebuild_tensor_v3', '_rebuild_tensor_v3'],
      ['_rebuild_parameter', '_rebuild_parameter'],
      ['_rebuild_parameter_with_state', '_rebuild_parameter_with_state'],
      ['_rebuild_qtensor', '_rebuild_qtensor'],
      ['_rebuild_sparse_tensor', '_rebuild_sparse_tensor'],
      ['_rebuild_sparse_csr_tensor', '_rebuild_sparse_csr_tensor'],
      ['_rebuild_meta_tensor_no_storage', '_rebuild_meta_tensor_no_storage'],
      ['_rebuild_device_tensor_from_numpy', '_rebuild_device_tensor_from_numpy'],
      ['_rebuild_wrapper_subclass', 'unsupported_rebuild'],
      ['_rebuild_device_tensor_from_cpu_tensor', 'unsupported_rebuild'],
      ['_rebuild_nested_tensor', 'unsupported_rebuild'],
    ],
  ],
  [
    'torch._tensor',
    [
      ['_rebuild_from_type_v2', 'rebuild_from_type'],
      ['_rebuild_from_type', 'rebuild_from_type'],
    ],
  ],
  [
    'numpy.core.multiarray',
    [
      ['_reconstruct', 'np.reconstruct'],
      ['scalar', 'np.scalar'],
    ],
  ],
  [
    'numpy._core.multiarray',
    [
      ['_reconstruct', 'np.reconstruct'],
      ['scalar', 'np.scalar'],
    ],
  ],
  [
    'numpy',
    [
      ['ndarray', 'np.ndarray'],
      ['dtype', 'np.dtype'],
    ],
  ],
];

const ALLOWED = new Map(TABLE.map(([module, names]) => [module, new Map(names)]));

/** Module renames applied before the lookup: torch's `load_module_mapping` and Python 2 names. */
const MODULE_RENAMES = new Map([
  ['torch.tensor', 'torch._tensor'],
  ['__builtin__', 'builtins'],
  ['copy_reg', 'copyreg'],
]);

/** Modules refused even when unknown classes are recorded (torch's blocklist). */
const BLOCKED_MODULES = ['sys', 'os', 'posix', 'nt'];

/** Result of {@link lookupGlobal}. */
export interface GlobalLookup {
  /** Module after renames. */
  readonly module: string;
  readonly name: string;
  /** Allow-list kind, `undefined` when the global is not allowed. */
  readonly kind: GlobalKind | undefined;
  /** The module is on torch's blocklist (`sys`, `os`, `posix`, `nt` and their submodules). */
  readonly blocked: boolean;
}

/**
 * Looks `(module, name)` up exactly. Legacy storage classes are allowed under `torch` and
 * `torch.cuda` for every storage class of the dtype table; dtypes under `torch` by their
 * canonical name only (`torch.float16`, not the alias `torch.half`), as torch pickles them.
 *
 * @example
 * ```ts
 * lookupGlobal('torch', 'FloatStorage').kind;           // 'storage'
 * lookupGlobal('torch.tensor', '_rebuild_from_type_v2'); // module 'torch._tensor', kind 'rebuild_from_type'
 * lookupGlobal('os', 'system');                          // kind undefined, blocked true
 * ```
 */
export function lookupGlobal(rawModule: string, name: string): GlobalLookup {
  const module = MODULE_RENAMES.get(rawModule) ?? rawModule;
  const blocked = BLOCKED_MODULES.some((b) => module === b || module.startsWith(`${b}.`));
  let kind = ALLOWED.get(module)?.get(name);
  if (
    kind === undefined &&
    (module === 'torch' || module === 'torch.cuda') &&
    !name.includes('.') &&
    dtypeFromStorageName(name) !== undefined
  ) {
    kind = 'storage';
  } else if (kind === undefined && module === 'torch' && dtypeFromTorchName(name) === name) {
    kind = 'dtype';
  }
  return { module, name, kind: blocked ? undefined : kind, blocked };
}
