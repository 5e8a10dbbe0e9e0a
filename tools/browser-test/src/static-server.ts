/**
 * A loopback HTTP server for the browser tests: serves files from named folders, answers HTTP
 * Range requests (so `fromUrl` sources work) and never serves anything outside those folders.
 *
 * @module
 */

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
};

/** A running {@link serveFolders} server. */
export interface StaticServer {
  /** `http://127.0.0.1:PORT`. */
  readonly origin: string;
  /** The `Range` header of every request that had one, in order (to check that a reader used them). */
  readonly ranges: readonly string[];
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * Serves each folder under its URL prefix (`{ '/app/': '/abs/dist' }`) on 127.0.0.1 at a free port.
 * `Range: bytes=a-b` gets `206` with `Content-Range`; unknown paths and `..` get `404`.
 */
export async function serveFolders(folders: Readonly<Record<string, string>>): Promise<StaticServer> {
  const ranges: string[] = [];
  const server = createServer((req, res) => {
    if (req.headers.range !== undefined) ranges.push(req.headers.range);
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const prefix = Object.keys(folders)
      .filter((p) => path.startsWith(p))
      .sort((a, b) => b.length - a.length)[0];
    const rest = prefix === undefined ? undefined : normalize(path.slice(prefix.length));
    if (prefix === undefined || rest === undefined || rest.split(sep).includes('..')) return notFound(res);
    void send(
      join(folders[prefix]!, rest === '.' ? 'index.html' : rest),
      req.headers.range,
      req.method === 'HEAD',
      res,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    ranges,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
  };
}

async function send(file: string, range: string | undefined, head: boolean, res: ServerResponse): Promise<void> {
  const info = await stat(file).catch(() => undefined);
  if (info === undefined || !info.isFile()) return notFound(res);
  const headers = {
    'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'no-store',
  };
  const m = range === undefined ? null : /^bytes=(\d+)-(\d+)$/.exec(range);
  if (range !== undefined) {
    const start = m === null ? NaN : Number(m[1]);
    const end = m === null ? NaN : Math.min(Number(m[2]), info.size - 1);
    if (!(start <= end)) {
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${info.size}` }).end();
      return;
    }
    res.writeHead(206, {
      ...headers,
      'Content-Range': `bytes ${start}-${end}/${info.size}`,
      'Content-Length': end - start + 1,
    });
    if (head) res.end();
    else createReadStream(file, { start, end }).pipe(res);
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Length': info.size });
  if (head) res.end();
  else createReadStream(file).pipe(res);
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
}
