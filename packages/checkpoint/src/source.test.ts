import { describe, expect, it } from 'vitest';
import { fromBlob, fromBytes, fromUrl } from './source.js';
import { expectCode } from './testing/helpers.js';

const DATA = Uint8Array.from({ length: 100 }, (_, i) => i);

/** A fetch that serves DATA with RFC 7233 single ranges, and counts requests. */
function rangeServer(
  options: { ignoreRanges?: boolean; total?: '*'; etag?: string; changeAfter?: number; short?: boolean } = {},
) {
  const calls: { method: string; headers: Record<string, string> }[] = [];
  const fetch = async (_url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const headers = (init?.headers ?? {}) as Record<string, string>;
    calls.push({ method: init?.method ?? 'GET', headers });
    if (init?.method === 'HEAD')
      return new Response(null, { status: 200, headers: { 'content-length': String(DATA.length) } });
    if (options.ignoreRanges === true) return new Response(DATA, { status: 200 });
    if (options.changeAfter !== undefined && calls.length > options.changeAfter && headers['If-Match'] !== undefined)
      return new Response(null, { status: 412 });
    const m = /^bytes=(\d+)-(\d+)$/.exec(headers.Range ?? '')!;
    const [start, end] = [Number(m[1]), Math.min(Number(m[2]), DATA.length - 1)];
    const body = DATA.slice(start, options.short === true ? end : end + 1);
    const extra: Record<string, string> = options.etag === undefined ? {} : { etag: options.etag };
    return new Response(body, {
      status: 206,
      headers: { 'content-range': `bytes ${start}-${end}/${options.total ?? DATA.length}`, ...extra },
    });
  };
  return { fetch: fetch as typeof globalThis.fetch, calls };
}

describe('fromBytes / fromBlob', () => {
  it('read exact ranges and refuse ranges outside the source', async () => {
    for (const src of [fromBytes(DATA, 'mem'), fromBytes(DATA.buffer), fromBlob(new Blob([DATA]), 'blob')]) {
      expect(src.size).toBe(100);
      expect(await src.read(10, 3)).toEqual(Uint8Array.from([10, 11, 12]));
      expect(await src.read(100, 0)).toEqual(new Uint8Array(0));
      await expectCode(src.read(98, 3), 'INPUT_TRUNCATED');
      await expectCode(src.read(-1, 1), 'INPUT_TRUNCATED');
      await expectCode(src.read(0.5, 1), 'INPUT_TRUNCATED');
    }
    expect(fromBlob(new File([DATA], 'model.pt')).name).toBe('model.pt');
  });

  it('fromBytes returns views, not copies', async () => {
    const view = await fromBytes(DATA).read(4, 4);
    expect(view.buffer).toBe(DATA.buffer);
  });
});

describe('fromUrl', () => {
  it('finds the size from Content-Range and reads with one Range request per read', async () => {
    const server = rangeServer({ etag: '"v1"' });
    const src = await fromUrl('https://example.org/model.pt', { fetch: server.fetch, headers: { Authorization: 'x' } });
    expect(src.size).toBe(100);
    expect(await src.read(90, 10)).toEqual(DATA.subarray(90));
    expect(server.calls.at(-1)!.headers).toMatchObject({
      Range: 'bytes=90-99',
      'If-Match': '"v1"',
      Authorization: 'x',
    });
    expect(server.calls).toHaveLength(2);
  });

  it('falls back to HEAD when the total is unknown', async () => {
    const server = rangeServer({ total: '*' });
    expect((await fromUrl('https://example.org/x', { fetch: server.fetch })).size).toBe(100);
    expect(server.calls.map((c) => c.method)).toEqual(['GET', 'HEAD']);
  });

  it('fails clearly for servers that ignore ranges, short bodies and files replaced mid-load', async () => {
    await expectCode(
      fromUrl('https://example.org/x', { fetch: rangeServer({ ignoreRanges: true }).fetch }),
      'SOURCE_IO',
    );
    const short = await fromUrl('https://example.org/x', { fetch: rangeServer({ short: true }).fetch });
    await expectCode(short.read(0, 10), 'INPUT_TRUNCATED');
    const changing = await fromUrl('https://example.org/x', {
      fetch: rangeServer({ etag: '"v1"', changeAfter: 1 }).fetch,
    });
    const e = await expectCode(changing.read(0, 10), 'SOURCE_IO');
    expect(e.message).toContain('changed');
    const failing = (async () => {
      throw new TypeError('network down');
    }) as unknown as typeof fetch;
    await expectCode(fromUrl('https://example.org/x', { fetch: failing }), 'SOURCE_IO');
  });
});
