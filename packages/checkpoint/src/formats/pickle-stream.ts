/**
 * Pickles inside a byte stream whose length is not recorded anywhere (the legacy format's
 * header pickles, the tar members' records): read a window, unpickle, and widen the window while
 * the pickle runs past it, up to `maxPickleBytes`. Nothing is allocated from a declared size.
 *
 * @module
 */
import { isCheckpointError } from '../errors.js';
import { unpickleAt, type UnpickleContext } from '../pickle/unpickler.js';
import type { ByteSource } from '../source.js';

/** First window read for a pickle. */
const FIRST_WINDOW = 64 * 1024;

/** Options of {@link readPickleAt}. */
export interface StreamPickleOptions
  extends Pick<UnpickleContext, 'limits' | 'persistentLoad' | 'unknownClasses' | 'entry'> {
  /** Where the enclosing stream ends (the pickle may not run past it); default the source end. */
  readonly end?: number;
}

/**
 * Unpickles the pickle that starts at byte `offset` of `source`; returns the value and the offset
 * just after its `STOP`. Errors carry absolute offsets.
 */
export async function readPickleAt(
  source: ByteSource,
  offset: number,
  options: StreamPickleOptions,
): Promise<{ value: unknown; end: number }> {
  const limit = Math.min(options.end ?? source.size, offset + options.limits.maxPickleBytes + 1);
  let window = Math.min(FIRST_WINDOW, limit - offset);
  for (;;) {
    const bytes = await source.read(offset, window);
    try {
      const { value, end } = unpickleAt(bytes, 0, { ...options, baseOffset: offset });
      return { value, end: offset + end };
    } catch (e) {
      if (!(isCheckpointError(e) && e.code === 'PICKLE_TRUNCATED') || offset + window >= limit) throw e;
    }
    window = Math.min(window * 2, limit - offset);
  }
}
