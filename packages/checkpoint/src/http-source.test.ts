/**
 * A checkpoint served over real HTTP on the loopback interface: `fromUrl` reads it with Range
 * requests (one per read, never the whole file), and `inspect`/`load`/`open` of the Node entry
 * accept the URL. Expected values are torch 1.13's, from the fixture manifest.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Tensor } from '@tensorflow/tfjs-core';
import { dtypeInfo } from '@x/device';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, manifestFixture } from './testing/manifest.js';
import { inspect, load, open } from './node.js';

const FILE = 'zip/conv-bn-sequential.pt';
const BYTES = readFileSync(fixturePath(FILE));
const ranges: string[] = [];
let server: Server;
let url: string;

beforeAll(async () => {
  // RFC 7233 single byte ranges; a request without Range gets the whole file (counted as '*')
  server = createServer((req, res) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    ranges.push(m === null ? '*' : `${m[1]}-${m[2]}`);
    if (m === null) {
      res.writeHead(200, { 'content-length': BYTES.length }).end(req.method === 'HEAD' ? undefined : BYTES);
      return;
    }
    const start = Number(m[1]);
    const end = Math.min(Number(m[2]), BYTES.length - 1);
    res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${BYTES.length}`, 'content-length': end - start + 1 });
    res.end(BYTES.subarray(start, end + 1));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/conv-bn-sequential.pt`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('checkpoints over HTTP Range requests (loopback server)', () => {
  it('inspect matches torch 1.13 for every tensor, reading only ranges', async () => {
    ranges.length = 0;
    const result = await inspect(url);
    const expected = manifestFixture(FILE).tensors;
    expect(result.tensors.map((t) => [t.path, t.dtype, t.shape, t.location, t.sha256])).toEqual(
      expected.map((t) => [t.path, t.dtype, t.shape, t.location, t.sha256]),
    );
    expect(ranges.length).toBeGreaterThan(0);
    expect(ranges).not.toContain('*');
  });

  it('load places every tensor on the cpu with the values torch saved', async () => {
    const { value, report } = await load(url, { mapLocation: 'cpu' });
    const sd = value as Map<string, Tensor>;
    expect([...sd.keys()]).toEqual(manifestFixture(FILE).tensors.map((t) => t.path.join('.')));
    const fromFile = (await load(fixturePath(FILE), { mapLocation: 'cpu' })).value as Map<string, Tensor>;
    for (const [name, t] of sd)
      expect(Array.from(await t.data()), name).toEqual(Array.from(await fromFile.get(name)!.data()));
    // every storage read once: the sum of numel × itemsize over the distinct storage keys
    const storages = new Map(
      manifestFixture(FILE).tensors.map((t) => [t.storage!.key, t.storage!.numel * dtypeInfo(t.dtype).itemSize]),
    );
    expect(report.bytesRead).toBe([...storages.values()].reduce((a, b) => a + b, 0));
  });

  it('open reads one tensor without fetching the others', async () => {
    const ckpt = await open(url);
    ranges.length = 0;
    const t = (await ckpt.tensor('0.weight', { device: 'cpu' })) as Tensor;
    await ckpt.close();
    expect(t.shape).toEqual(manifestFixture(FILE).tensors[0]!.shape);
    // the record's header and data (one or two ranges), nothing else
    expect(ranges.length).toBeLessThanOrEqual(2);
    const total = ranges.reduce((n, r) => n + Number(r.split('-')[1]) - Number(r.split('-')[0]) + 1, 0);
    expect(total).toBeLessThan(BYTES.length);
  });
});
