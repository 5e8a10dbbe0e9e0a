import { describe, expect, it } from 'vitest';
import {
  dtypeFromSafetensors,
  parseSafetensorsHeader,
  readSafetensors,
  safetensorsDtype,
  safetensorsHeaderLength,
  serializeSafetensorsHeader,
  writeSafetensors,
  type SafetensorsTensorInput,
} from './header.js';
import { memorySink } from '../../zip/writer.js';

const enc = new TextEncoder();

/** A safetensors file: u64 LE length of `json`, `json`, then `data` bytes. */
function file(json: string | Uint8Array, data = 0, length?: bigint): Uint8Array {
  const j = typeof json === 'string' ? enc.encode(json) : json;
  const out = new Uint8Array(8 + j.length + data);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(j.length), true);
  out.set(j, 8);
  return out;
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

describe('safetensors header', () => {
  it('maps every dtype code to a torch dtype and back', () => {
    const codes = [
      'BOOL',
      'U8',
      'I8',
      'F8_E5M2',
      'F8_E4M3',
      'F8_E8M0',
      'I16',
      'U16',
      'F16',
      'BF16',
      'I32',
      'U32',
      'F32',
      'C64',
      'F64',
      'I64',
      'U64',
    ];
    for (const c of codes) expect(safetensorsDtype(dtypeFromSafetensors(c)!)).toBe(c);
    expect(dtypeFromSafetensors('BF16')).toBe('bfloat16');
    expect(dtypeFromSafetensors('F8_E4M3')).toBe('float8_e4m3fn');
    expect(dtypeFromSafetensors('F4')).toBeUndefined();
    expect(safetensorsDtype('qint8')).toBeUndefined();
  });

  it('lays tensors out as the reference writer: dtype (enum order, descending), then name; metadata first; space padding to 8', () => {
    const t = (dtype: SafetensorsTensorInput['dtype'], shape: number[]): SafetensorsTensorInput => ({
      dtype,
      shape,
      data: new Uint8Array(0),
    });
    const { bytes, header } = serializeSafetensorsHeader(
      [
        ['b', t('float32', [2])],
        ['h', t('float16', [3])],
        ['a', t('float32', [1])],
        ['i', t('int64', [1])],
        ['é', t('float32', [0])],
      ],
      { metadata: { format: 'pt' } },
    );
    // I64 > F32 > F16 in the Rust Dtype enum; bytes: i 8, a 4, b 8, é 0, h 6
    const json =
      '{"__metadata__":{"format":"pt"},' +
      '"i":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},' +
      '"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},' +
      '"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]},' +
      '"é":{"dtype":"F32","shape":[0],"data_offsets":[20,20]},' +
      '"h":{"dtype":"F16","shape":[3],"data_offsets":[20,26]}}';
    const jsonBytes = enc.encode(json);
    const n = Math.ceil(jsonBytes.length / 8) * 8;
    const expected = new Uint8Array(8 + n).fill(0x20);
    new DataView(expected.buffer).setBigUint64(0, BigInt(n), true);
    expected.set(jsonBytes, 8);
    expect(Buffer.from(bytes).equals(Buffer.from(expected))).toBe(true);
    expect(header.dataStart).toBe(8 + n);
    expect(header.dataLength).toBe(26);
  });

  it('writes a file that reads back with every tensor and the metadata, asking for lazy data once', async () => {
    const w = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
    const ids = new Uint8Array(new BigInt64Array([7n, -1n]).buffer);
    let calls = 0;
    const mem = memorySink();
    await writeSafetensors(
      [
        ['w', { dtype: 'float32', shape: [2, 3], data: w }],
        ['ids', { dtype: 'int64', shape: [2], data: async () => (calls++, ids) }],
        ['mask', { dtype: 'bool', shape: [0], data: new Uint8Array(0) }],
      ],
      mem,
      { metadata: new Map([['format', 'pt']]) },
    );
    expect(calls).toBe(1);
    const { header, tensors } = readSafetensors(mem.bytes());
    expect(header.metadata).toEqual(new Map([['format', 'pt']]));
    expect(header.tensors.map((t) => [t.name, t.dtype, t.shape, t.begin, t.end])).toEqual([
      ['ids', 'int64', [2], 0, 16],
      ['w', 'float32', [2, 3], 16, 40],
      ['mask', 'bool', [0], 40, 40],
    ]);
    expect(tensors.get('w')).toEqual(w);
    expect(tensors.get('ids')).toEqual(ids);
  });

  it('rejects data of the wrong size, unknown dtypes and duplicate names when writing', async () => {
    const mem = memorySink();
    await expect(
      writeSafetensors([['w', { dtype: 'float32', shape: [2], data: new Uint8Array(4) }]], mem),
    ).rejects.toMatchObject({ code: 'STORAGE_SIZE_MISMATCH', entry: 'w' });
    expect(
      codeOf(() => serializeSafetensorsHeader([['q', { dtype: 'qint8', shape: [1], data: new Uint8Array(1) }]])),
    ).toBe('TENSOR_UNSUPPORTED');
    const one = { dtype: 'uint8', shape: [1], data: new Uint8Array(1) } as const;
    expect(
      codeOf(() =>
        serializeSafetensorsHeader([
          ['x', one],
          ['x', one],
        ]),
      ),
    ).toBe('ARCHIVE_LAYOUT');
    expect(codeOf(() => serializeSafetensorsHeader([['__metadata__', one]]))).toBe('ARCHIVE_LAYOUT');
  });

  it('checks the header length: 8 bytes present, at most 100 000 000, inside the file', () => {
    expect(codeOf(() => safetensorsHeaderLength(new Uint8Array(4), 4))).toBe('INPUT_TRUNCATED');
    expect(codeOf(() => readSafetensors(file('{}', 0, 100_000_001n)))).toBe('UNSUPPORTED_FORMAT');
    expect(codeOf(() => readSafetensors(file('{}', 0, 3n)))).toBe('INPUT_TRUNCATED');
    expect(safetensorsHeaderLength(file('{}'), 10)).toBe(2);
  });

  const tensor = (dtype: string, shape: unknown, offsets: unknown): string =>
    JSON.stringify({ dtype, shape, data_offsets: offsets });
  const cases: [string, string | Uint8Array, number, string][] = [
    ['invalid UTF-8', Uint8Array.of(0x7b, 0xff, 0x7d), 0, 'UNSUPPORTED_FORMAT'],
    ['not starting with { after whitespace', ' \n[]', 0, 'UNSUPPORTED_FORMAT'],
    ['invalid JSON', '{"a":', 0, 'UNSUPPORTED_FORMAT'],
    ['duplicate names', `{"a":${tensor('U8', [1], [0, 1])},"a":${tensor('U8', [1], [1, 2])}}`, 2, 'ARCHIVE_LAYOUT'],
    ['unknown dtype', `{"a":${tensor('F4', [2], [0, 1])}}`, 1, 'TENSOR_UNSUPPORTED'],
    ['negative dimension', `{"a":${tensor('U8', [-1], [0, 0])}}`, 0, 'TENSOR_GEOMETRY'],
    ['fractional offset', `{"a":${tensor('U8', [1], [0, 0.5])}}`, 1, 'TENSOR_GEOMETRY'],
    ['size not numel × itemSize', `{"a":${tensor('F32', [2], [0, 4])}}`, 4, 'TENSOR_GEOMETRY'],
    ['end before begin', `{"a":${tensor('U8', [0], [1, 0])}}`, 1, 'ARCHIVE_LAYOUT'],
    ['hole', `{"a":${tensor('U8', [1], [0, 1])},"b":${tensor('U8', [1], [2, 3])}}`, 3, 'ARCHIVE_LAYOUT'],
    ['overlap', `{"a":${tensor('U8', [2], [0, 2])},"b":${tensor('U8', [2], [1, 3])}}`, 3, 'ARCHIVE_LAYOUT'],
    ['not starting at 0', `{"a":${tensor('U8', [1], [1, 2])}}`, 2, 'ARCHIVE_LAYOUT'],
    ['bytes after the data', `{"a":${tensor('U8', [1], [0, 1])}}`, 2, 'ARCHIVE_LAYOUT'],
    ['data cut short', `{"a":${tensor('U8', [4], [0, 4])}}`, 2, 'INPUT_TRUNCATED'],
    ['metadata value not a string', '{"__metadata__":{"n":1}}', 0, 'ARCHIVE_LAYOUT'],
    ['metadata not an object', '{"__metadata__":"x"}', 0, 'ARCHIVE_LAYOUT'],
    ['tensor entry not an object', '{"a":[1]}', 0, 'TENSOR_GEOMETRY'],
  ];
  for (const [what, json, data, code] of cases) {
    it(`rejects a header with ${what} (${code})`, () => {
      expect(codeOf(() => readSafetensors(file(json, data)))).toBe(code);
    });
  }

  it('accepts a valid header with keys that look like Object.prototype members', () => {
    const f = file(`{"__proto__":${tensor('U8', [1], [0, 1])},"constructor":${tensor('U8', [1], [1, 2])}}`, 2);
    const { header } = readSafetensors(f);
    expect(header.tensors.map((t) => t.name)).toEqual(['__proto__', 'constructor']);
    expect(header.metadata).toBeUndefined();
    expect(({} as Record<string, unknown>).dtype).toBeUndefined();
  });

  it('finds a name repeated in another spelling (JSON.parse keeps one member of each name)', () => {
    const json = `{"a":${tensor('U8', [1], [0, 1])},"\\u0061":${tensor('U8', [1], [1, 2])}}`;
    expect(() => readSafetensors(file(json, 2))).toThrow(
      expect.objectContaining({
        code: 'ARCHIVE_LAYOUT',
        message: 'safetensors header names "a" twice (byte offset 8)',
      }),
    );
  });

  it('counts members past strings holding commas, brackets, braces, quotes and backslashes', () => {
    const names = ['a,b', '{"}', '[x],', 'q\\"', '\\'];
    const json = JSON.stringify({
      __metadata__: { 'k,}': 'v"],{', '"': '\\' },
      ...Object.fromEntries(names.map((n, i) => [n, { dtype: 'U8', shape: [1], data_offsets: [i, i + 1] }])),
    });
    const { header } = readSafetensors(file(json, names.length));
    expect(header.tensors.map((t) => t.name)).toEqual(names);
    expect(header.metadata).toEqual(
      new Map([
        ['k,}', 'v"],{'],
        ['"', '\\'],
      ]),
    );
    expect(readSafetensors(file(' {} ')).header.tensors).toEqual([]);
  });

  it('parses header bytes given on their own (random-access readers)', () => {
    const json = enc.encode(`{"a":${tensor('I16', [2, 2], [0, 8])}}`);
    const h = parseSafetensorsHeader(json, 8 + json.length + 8);
    expect(h.tensors[0]).toMatchObject({ name: 'a', dtype: 'int16', shape: [2, 2], begin: 0, end: 8 });
    expect(h.dataStart).toBe(8 + json.length);
  });
});
