/**
 * A static file server on 127.0.0.1 for the end-to-end test: the built page, and folders mounted
 * under URL prefixes, with single HTTP Range requests answered as 206 (what `fromUrl` sends).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.png': 'image/png',
};

/** A running server: its origin (`http://127.0.0.1:PORT`) and a way to stop it. */
export interface StaticServer {
  readonly origin: string;
  /** The `Range` header of every request that had one, in order. */
  readonly ranges: readonly string[];
  close(): Promise<void>;
}

/** Serves `mounts` (URL prefix -> folder; `/` for the site root) until closed. */
export async function serveStatic(mounts: Record<string, string>): Promise<StaticServer> {
  const prefixes = Object.entries(mounts).sort(([a], [b]) => b.length - a.length);
  const ranges: string[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      const mount = prefixes.find(([prefix]) => path.startsWith(prefix));
      if (mount === undefined) return void res.writeHead(404).end();
      const [prefix, folder] = mount;
      const file = normalize(join(folder, path.slice(prefix.length) || 'index.html'));
      if (!file.startsWith(normalize(folder + sep))) return void res.writeHead(403).end();
      let size: number;
      try {
        const s = await stat(file);
        if (!s.isFile()) return void res.writeHead(404).end();
        size = s.size;
      } catch {
        return void res.writeHead(404).end();
      }
      const headers = { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'accept-ranges': 'bytes' };
      if (req.headers.range !== undefined) ranges.push(req.headers.range);
      const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
      if (range === null) {
        res.writeHead(200, { ...headers, 'content-length': size });
        return void (req.method === 'HEAD' ? res.end() : createReadStream(file).pipe(res));
      }
      const start = Number(range[1]);
      const end = Math.min(range[2] === '' ? size - 1 : Number(range[2]), size - 1);
      if (start > end) return void res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      res.writeHead(206, { ...headers, 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${size}` });
      createReadStream(file, { start, end }).pipe(res);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the server has no TCP address');
  return {
    origin: `http://127.0.0.1:${address.port}`,
    ranges,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
