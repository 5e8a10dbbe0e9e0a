import { isDeviceError } from '@x/device';
import { describe, expect, it } from 'vitest';
import { fixtureBytes } from './testing/manifest.js';
import { load as loadIsomorphic } from './load.js';
import { callerByteSource } from './load-arguments.js';
import { resolveLimits } from './limits.js';
import { inspect, load, open } from './node.js';
import { fromBytes, type ByteSource } from './source.js';
import { expectCode } from './testing/helpers.js';

const FILE = 'zip/cuda-mixed.pt';
const bytes = (): Uint8Array => fixtureBytes(FILE);

describe('load, open and inspect reject a wrong source with SOURCE_INVALID', () => {
  it.each([
    ['a number', 42, 'got 42'],
    ['null', null, 'got null'],
    ['a plain object', {}, 'got an object (Object)'],
    ['an object whose read is not a function', { size: 4, read: 'yes' }, 'got an object (Object)'],
  ])('%s', async (_, source, found) => {
    for (const run of [load, loadIsomorphic, open, inspect]) {
      const e = await expectCode(run(source as never, { mapLocation: 'cpu' }), 'SOURCE_INVALID');
      expect(e.message).toBe(`the source must be a ByteSource, Uint8Array, ArrayBuffer, Blob, URL or string; ${found}`);
    }
  });

  it('a ByteSource whose size is not a byte count', async () => {
    const e = await expectCode(load({ size: -1, name: 'x', read: async () => new Uint8Array(0) }), 'SOURCE_INVALID');
    expect(e.message).toBe("a ByteSource's size must be a byte count; got -1");
  });
});

describe('load rejects a wrong option with OPTION_INVALID, before reading', () => {
  const untouched = (): ByteSource => ({
    size: 100,
    name: 'untouched',
    read: () => {
      throw new Error('read before the options were checked');
    },
  });

  it.each([
    ['options', null, 'options must be an object; got null'],
    ['dtype', { dtype: 'fast' }, `option dtype must be 'convert', 'strict' or 'raw'; got "fast"`],
    ['unknownClasses', { unknownClasses: 'allow' }, `option unknownClasses must be 'error' or 'record'; got "allow"`],
    ['verify', { verify: 'yes' }, 'option verify must be a boolean; got "yes"'],
    ['mmap', { mmap: 1 }, 'option mmap must be a boolean; got 1'],
    ['onProgress', { onProgress: 'log' }, 'option onProgress must be a function; got "log"'],
    [
      'runtime',
      { runtime: {} },
      'option runtime must be a DeviceRuntime of @x/device (with check, place, prepare, dispose and a ledger); got an object (Object)',
    ],
    ['limits', { limits: 5 }, 'option limits must be an object of limits (see DEFAULT_LIMITS); got 5'],
    ['limits', { limits: { maxOps: 0 } }, "option limits: limit 'maxOps' must be a positive number; got 0"],
    ['limits', { limits: { maxOps: '10' } }, `option limits: limit 'maxOps' must be a positive number; got "10"`],
    ['limits', { limits: { 'max\nops': 1 } }, "option limits: unknown limit 'max\\x0aops'"],
  ])('%s: %j', async (option, options, message) => {
    for (const run of [load, loadIsomorphic]) {
      const e = await expectCode(run(untouched(), options as never), 'OPTION_INVALID');
      expect(e.message).toBe(message);
      expect(e.details).toEqual({ option });
    }
  });

  it('resolveLimits itself still throws TypeError for a direct caller', () => {
    expect(() => resolveLimits({ maxOps: -1 })).toThrow("limit 'maxOps' must be a positive number; got -1");
  });
});

describe("a caller's ByteSource whose reads break its contract", () => {
  const over = (read: ByteSource['read']): ByteSource => ({ size: bytes().length, name: 'mine.pt', read });

  it('a read that throws: SOURCE_IO with the thrown error as cause', async () => {
    const cause = new TypeError('network down');
    const e = await expectCode(
      load(
        over(async () => {
          throw cause;
        }),
        { mapLocation: 'cpu' },
      ),
      'SOURCE_IO',
    );
    expect(e.message).toMatch(/^ByteSource "mine\.pt": read\(\d+, \d+\) failed: network down \(byte offset \d+\)$/);
    expect(e.cause).toBe(cause);
  });

  it('a readInto that throws: SOURCE_IO', async () => {
    const inner = fromBytes(bytes());
    const source = callerByteSource({
      ...inner,
      name: 'mine.pt',
      readInto: async () => {
        throw new RangeError('disk gone');
      },
    });
    const e = await expectCode(source.readInto!(new Uint8Array(8), 16), 'SOURCE_IO');
    expect(e.message).toBe('ByteSource "mine.pt": readInto(8 bytes at 16) failed: disk gone (byte offset 16)');
  });

  it('a read that resolves to something else than the bytes asked for: SOURCE_IO', async () => {
    const e = await expectCode(load(over((async () => 'bytes') as never), { mapLocation: 'cpu' }), 'SOURCE_IO');
    expect(e.message).toMatch(
      /^ByteSource "mine\.pt": read\(\d+, (\d+)\) resolved to "bytes"; expected a Uint8Array of \1 bytes/,
    );
  });

  it('a short read: INPUT_TRUNCATED', async () => {
    const e = await expectCode(
      load(
        over(async () => new Uint8Array(3)),
        { mapLocation: 'cpu' },
      ),
      'INPUT_TRUNCATED',
    );
    expect(e.message).toMatch(/^ByteSource "mine\.pt": read\(\d+, \d+\) delivered 3 bytes/);
  });

  it('a ByteSource that keeps its contract loads as the same bytes do', async () => {
    const inner = fromBytes(bytes());
    const mine: ByteSource = { size: inner.size, name: undefined, read: (o, n) => inner.read(o, n) };
    const [a, b] = await Promise.all([load(mine, { mapLocation: 'cpu' }), load(bytes(), { mapLocation: 'cpu' })]);
    expect(a.report.tensors).toEqual(b.report.tensors);
  });
});

describe('mapLocation is checked by @x/device (documented DeviceError codes)', () => {
  it.each([
    [
      42,
      'MAP_LOCATION_INVALID',
      'mapLocation must be a device string, a Device, a record or Map of location tags, or a function; got number',
    ],
    [
      { 'cuda:0': 42 },
      'MAP_LOCATION_INVALID',
      'mapLocation record values must be device strings or Devices; got number',
    ],
    ['cuda:01', 'DEVICE_INVALID', "Invalid device string: 'cuda:01'"],
    [
      'tpu',
      'LOCATION_UNKNOWN',
      "don't know how to restore data location of torch.storage.UntypedStorage (tagged with tpu)",
    ],
  ])('%j: %s', async (mapLocation, code, message) => {
    const e = await load(bytes(), { mapLocation: mapLocation as never }).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isDeviceError(e) && { code: e.code, message: e.message }).toEqual({ code, message });
  });
});
