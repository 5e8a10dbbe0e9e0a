/**
 * Random-access byte sources (isomorphic: no `node:` imports). A checkpoint is never read whole:
 * the zip directory is read from the tail, then each record with one positional read.
 *
 * @module
 */
import { quote } from '@x/device';
import { CheckpointError } from './errors.js';

/**
 * Random access to the bytes of a file, buffer, Blob or URL.
 *
 * `read(offset, length)` resolves to exactly `length` bytes or rejects with a
 * {@link CheckpointError} (`INPUT_TRUNCATED` when the range is outside `[0, size)` or the source
 * delivered fewer bytes, `SOURCE_IO` when the underlying I/O failed). The returned array may be a
 * view into memory the source shares; callers must not write to it.
 */
export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /** A display name (file path, Blob name, URL), or `undefined`. */
  readonly name: string | undefined;
  /** Reads exactly `length` bytes starting at `offset`. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Optional: reads exactly `target.length` bytes starting at `offset` straight into `target`
   * (same errors as `read`), so a caller can choose where the bytes land. See {@link readInto}.
   */
  readInto?(target: Uint8Array, offset: number): Promise<void>;
}

/**
 * Fills `target` with the source's bytes at `offset`: through `source.readInto` when it has one,
 * else by copying what `read` returns.
 */
export async function readInto(source: ByteSource, target: Uint8Array, offset: number): Promise<void> {
  if (source.readInto !== undefined) await source.readInto(target, offset);
  else target.set(await source.read(offset, target.length));
}

/**
 * Throws `INPUT_TRUNCATED` unless `[offset, offset + length)` lies inside a source of `size` bytes.
 * Sources call it first in `read`.
 */
export function checkRange(size: number, offset: number, length: number): void {
  if (
    !Number.isSafeInteger(offset) ||
    !Number.isSafeInteger(length) ||
    offset < 0 ||
    length < 0 ||
    offset + length > size
  ) {
    throw new CheckpointError(
      'INPUT_TRUNCATED',
      `bytes ${offset}..${offset + length} requested from a ${size}-byte source`,
      {
        offset,
        details: { size, length },
      },
    );
  }
}

/** A source over bytes already in memory. `read` returns views (no copies) into `data`. */
export function fromBytes(data: Uint8Array | ArrayBuffer, name?: string): ByteSource {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  return {
    size: bytes.length,
    name,
    async read(offset, length) {
      checkRange(bytes.length, offset, length);
      return bytes.subarray(offset, offset + length);
    },
  };
}

/**
 * A source over a `Blob` or `File` (browser file inputs, `fetch().blob()`); each read slices the
 * Blob, so only the requested bytes are loaded.
 */
export function fromBlob(blob: Blob, name?: string): ByteSource {
  const size = blob.size;
  return {
    size,
    name: name ?? fileName(blob),
    async read(offset, length) {
      checkRange(size, offset, length);
      let buffer: ArrayBuffer;
      try {
        buffer = await blob.slice(offset, offset + length).arrayBuffer();
      } catch (cause) {
        throw new CheckpointError('SOURCE_IO', `reading the Blob failed: ${String(cause).slice(0, 200)}`, {
          offset,
          cause,
        });
      }
      return exactly(new Uint8Array(buffer), length, offset);
    },
  };
}

/** Options of {@link fromUrl}. */
export interface UrlSourceOptions {
  /** The `fetch` to use (default: the global one). */
  readonly fetch?: typeof globalThis.fetch;
  /** Extra request headers (e.g. `Authorization`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Aborts every request of this source. */
  readonly signal?: AbortSignal;
}

/**
 * A source over HTTP(S) Range requests. The size comes from the `Content-Range` of a `bytes=0-0`
 * request (or a `HEAD` request's `Content-Length` when the total is `*`); every read is one
 * `Range: bytes=a-b` request that must answer `206` with exactly that range. When the server sent a
 * strong `ETag`, later reads send `If-Match`, so a file replaced mid-load fails instead of mixing
 * two files. Servers that ignore `Range` fail with `SOURCE_IO`.
 */
export async function fromUrl(url: string | URL, options: UrlSourceOptions = {}): Promise<ByteSource> {
  const href = String(url);
  const doFetch = options.fetch ?? globalThis.fetch;
  const request = async (init: RequestInit, offset: number): Promise<Response> => {
    try {
      return await doFetch(href, {
        ...init,
        headers: { ...options.headers, ...(init.headers as Record<string, string>) },
        signal: options.signal ?? null,
      });
    } catch (cause) {
      throw new CheckpointError('SOURCE_IO', `request to ${quote(href)} failed: ${String(cause).slice(0, 200)}`, {
        offset,
        cause,
      });
    }
  };

  const probe = await request({ headers: { Range: 'bytes=0-0' } }, 0);
  let size: number | undefined;
  if (probe.status === 206) size = parseContentRange(probe.headers.get('content-range'))?.total;
  else if (probe.status === 416) size = parseContentRange(probe.headers.get('content-range'))?.total; // empty resource: `bytes */0`
  await probe.body?.cancel();
  if (probe.status === 200) {
    throw new CheckpointError(
      'SOURCE_IO',
      `${quote(href)} ignores HTTP Range requests (answered 200 to bytes=0-0); download it and use fromBytes`,
    );
  }
  if (probe.status !== 206 && probe.status !== 416) {
    throw new CheckpointError('SOURCE_IO', `${quote(href)} answered HTTP ${probe.status} to a Range request`, {
      details: { status: probe.status },
    });
  }
  if (size === undefined) {
    const head = await request({ method: 'HEAD' }, 0);
    const length = head.headers.get('content-length');
    if (head.ok && length !== null && /^[0-9]{1,16}$/.test(length)) size = Number(length);
  }
  if (size === undefined || !Number.isSafeInteger(size)) {
    throw new CheckpointError(
      'SOURCE_IO',
      `${quote(href)} did not say its size (no Content-Range total, no Content-Length)`,
    );
  }
  const etag = probe.headers.get('etag');
  const ifMatch: Record<string, string> = etag !== null && !etag.startsWith('W/') ? { 'If-Match': etag } : {};
  const total = size;

  return {
    size: total,
    name: href,
    async read(offset, length) {
      checkRange(total, offset, length);
      if (length === 0) return new Uint8Array(0);
      const res = await request({ headers: { Range: `bytes=${offset}-${offset + length - 1}`, ...ifMatch } }, offset);
      const range = parseContentRange(res.headers.get('content-range'));
      if (res.status !== 206 || range === undefined || range.start !== offset) {
        await res.body?.cancel();
        const changed = res.status === 412 ? ' (the resource changed since it was opened)' : '';
        throw new CheckpointError(
          'SOURCE_IO',
          `${quote(href)} answered HTTP ${res.status} to bytes=${offset}-${offset + length - 1}${changed}`,
          {
            offset,
            details: { status: res.status },
          },
        );
      }
      return exactly(new Uint8Array(await res.arrayBuffer()), length, offset);
    },
  };
}

function fileName(blob: Blob): string | undefined {
  const n: unknown = (blob as { name?: unknown }).name;
  return typeof n === 'string' ? n : undefined;
}

function parseContentRange(
  header: string | null,
): { start: number | undefined; total: number | undefined } | undefined {
  const m = header === null ? null : /^bytes (?:(\d{1,16})-\d{1,16}|\*)\/(\d{1,16}|\*)$/.exec(header.trim());
  if (m === null) return undefined;
  return {
    start: m[1] === undefined ? undefined : Number(m[1]),
    total: m[2] === '*' || m[2] === undefined ? undefined : Number(m[2]),
  };
}

function exactly(bytes: Uint8Array, length: number, offset: number): Uint8Array {
  if (bytes.length !== length) {
    throw new CheckpointError('INPUT_TRUNCATED', `expected ${length} bytes, the source delivered ${bytes.length}`, {
      offset,
      details: { expected: length, actual: bytes.length },
    });
  }
  return bytes;
}
