/**
 * Values that live only on the unpickler's stack and memo, never in a result.
 *
 * @module
 */
import type { PyGlobal } from './globals.js';

/**
 * A Python `float` with an integral value (`1.0`, `-0.0`): a JS number would lose the
 * distinction from `int`, so it travels boxed until it is stored in a container, where the slot
 * is marked with `markFloat` and the bare number stored.
 */
export class FloatBox {
  constructor(readonly value: number) {}
}

/**
 * A numpy scalar (`numpy.core.multiarray.scalar`): its value (a number, {@link FloatBox}, bigint,
 * boolean or complex record) and numpy dtype; stored in a container, the value is kept and the
 * slot marked with `markNumpyScalar`.
 */
export class NumpyScalarBox {
  /**
   * @param dtype - numpy `dtype.str`, e.g. `<f8`.
   * @param module - the module of the `scalar` global that made it, e.g. `numpy._core.multiarray`.
   */
  constructor(
    readonly value: unknown,
    readonly dtype: string,
    readonly module?: string,
  ) {}
}

/** A stack value without its boxes (where no container slot can remember what they said). */
export function bare(v: unknown): unknown {
  if (v instanceof NumpyScalarBox) return bare(v.value);
  return v instanceof FloatBox ? v.value : v;
}

/**
 * An object created by REDUCE that only BUILD completes (`torch.Tensor` + `set_` state, numpy's
 * `_reconstruct` + array state). The memo may hold it; BUILD sets `result`, later reads of the
 * memo see the result, and a Pending left unresolved at STOP is an error.
 */
export class Pending {
  /** The completed value, once BUILD ran. */
  result: unknown = undefined;
  resolved = false;

  /**
   * @param kind - what BUILD must turn it into.
   * @param origin - the global whose call created it.
   */
  constructor(
    readonly kind: 'tensor' | 'ndarray',
    readonly origin: PyGlobal,
  ) {}
}
