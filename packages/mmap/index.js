import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** See index.d.ts. */
export function loadMmap() {
  try {
    return { binding: require('./build/Release/x_mmap.node'), reason: undefined };
  } catch (e) {
    return { binding: undefined, reason: `the @x/mmap addon is not built (${String(e?.code ?? e).slice(0, 120)})` };
  }
}
