import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveFolders, type StaticServer } from './static-server.js';

let dir: string;
let server: StaticServer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'x-static-'));
  await writeFile(join(dir, 'data.bin'), new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
  await writeFile(join(dir, 'index.html'), '<p>hi</p>');
  server = await serveFolders({ '/': dir, '/nested/': join(dir, 'nowhere') });
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('serveFolders', () => {
  it('serves whole files with their type, and index.html for a folder', async () => {
    const res = await fetch(`${server.origin}/`);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toBe('<p>hi</p>');
  });

  it('answers Range requests with 206 and Content-Range, clipped to the file; 416 past its end', async () => {
    const res = await fetch(`${server.origin}/data.bin`, { headers: { Range: 'bytes=3-5' } });
    expect([res.status, res.headers.get('content-range')]).toEqual([206, 'bytes 3-5/10']);
    expect([...new Uint8Array(await res.arrayBuffer())]).toEqual([3, 4, 5]);
    const tail = await fetch(`${server.origin}/data.bin`, { headers: { Range: 'bytes=8-99' } });
    expect([...new Uint8Array(await tail.arrayBuffer())]).toEqual([8, 9]);
    const past = await fetch(`${server.origin}/data.bin`, { headers: { Range: 'bytes=10-12' } });
    expect([past.status, past.headers.get('content-range')]).toEqual([416, 'bytes */10']);
  });

  it('serves nothing outside its folders: the longest prefix wins, and .. is refused', async () => {
    expect((await fetch(`${server.origin}/nested/data.bin`)).status).toBe(404);
    // `..%2F` survives URL parsing and decodes to `../`: it would reach <dir>/data.bin from /nested/
    expect((await fetch(`${server.origin}/nested/..%2Fdata.bin`)).status).toBe(404);
    expect((await fetch(`${server.origin}/missing.bin`)).status).toBe(404);
  });
});
