import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeTorchZip, type WriteTorchZipOptions } from './writer.js';
import {
  arangeF32,
  buildCases,
  CASE_NAMES,
  goldenBytes,
  readCase,
  runPython,
  sameBytes,
  saveTorchCases,
  Storages,
  tempDir,
  torchAvailable,
  type Case,
} from '../../testing/torch.js';
import { markFloat, OrderedDict, tuple } from '../../pickle/values.js';
import { memorySink } from '../../zip/writer.js';

async function write(c: Case, options: Omit<WriteTorchZipOptions, 'storageBytes'> = {}): Promise<Uint8Array> {
  const mem = memorySink();
  await writeTorchZip(c.value, mem, { ...options, storageBytes: (s) => c.bytes.get(s)! });
  return mem.bytes();
}

/** [name, data offset] of each local record, walking the headers (descriptors are 16 bytes, none when empty). */
function dataOffsets(zip: Uint8Array): [string, number][] {
  const v = new DataView(zip.buffer, zip.byteOffset);
  const out: [string, number][] = [];
  for (let at = 0; v.getUint32(at, true) === 0x04034b50; ) {
    const nameLength = v.getUint16(at + 26, true);
    const data = at + 30 + nameLength + v.getUint16(at + 28, true);
    const name = new TextDecoder().decode(zip.subarray(at + 30, at + 30 + nameLength));
    out.push([name, data]);
    // a non-empty record ends with a 16-byte descriptor (no zip64 in these small archives)
    let next = data;
    if (v.getUint16(at + 6, true) & 8) {
      while (v.getUint32(next, true) !== 0x08074b50) next++;
      next += 16;
    }
    at = next;
  }
  return out;
}

describe('writeTorchZip', () => {
  it('writes the golden vector (prefix "archive") without torch', async () => {
    expect(sameBytes(await write(buildCases().golden!, { layout: '1.13' }), goldenBytes())).toBe('identical');
  });

  it('writes the 2.7 layout: records, order and offsets of test_storage_alignment', async () => {
    const st = new Storages();
    const sd = new OrderedDict<string, unknown>([
      ['weight', st.tensor(st.storage('float32', arangeF32(100)), [10, 10], [10, 1])],
      ['bias', st.tensor(st.storage('float32', arangeF32(10)), [10], [1])],
    ]);
    sd.metadata = new OrderedDict([['', new Map<string, unknown>([['version', 1]])]]);
    const c = { value: sd, bytes: st.bytes };
    const at64 = dataOffsets(await write(c, { layout: '2.7' }));
    expect(at64.map(([n]) => n)).toEqual([
      'archive/data.pkl',
      'archive/.format_version',
      'archive/.storage_alignment',
      'archive/byteorder',
      'archive/data/0',
      'archive/data/1',
      'archive/version',
      'archive/.data/serialization_id',
    ]);
    expect(at64.slice(0, 6).map(([, o]) => o)).toEqual([64, 448, 576, 704, 832, 1344]);
    const at4096 = new Map(dataOffsets(await write(c, { layout: '2.7', alignment: 4096 })));
    expect([at4096.get('archive/data/0'), at4096.get('archive/data/1')]).toEqual([20480, 24576]);
    const withId = dataOffsets(await write(c, { layout: '2.7', serializationId: '0'.repeat(40) }));
    expect(withId.at(-1)![0]).toBe('archive/.data/serialization_id');
  });

  it('rejects options torch would not produce and storages of the wrong size', async () => {
    const c = buildCases().golden!;
    await expect(write(c, { layout: '1.13', alignment: 128 })).rejects.toMatchObject({ code: 'ARCHIVE_LAYOUT' });
    await expect(write(c, { layout: '1.13', serializationId: '0'.repeat(40) })).rejects.toMatchObject({
      code: 'ARCHIVE_LAYOUT',
    });
    await expect(write(c, { serializationId: '12' })).rejects.toMatchObject({ code: 'ARCHIVE_LAYOUT' });
    await expect(write(c, { prefix: 'a/b' })).rejects.toMatchObject({ code: 'ARCHIVE_LAYOUT' });
    await expect(writeTorchZip(c.value, memorySink(), { storageBytes: () => new Uint8Array(3) })).rejects.toMatchObject(
      {
        code: 'STORAGE_SIZE_MISMATCH',
        entry: 'data/0',
      },
    );
  });
});

describe.skipIf(!torchAvailable)('writeTorchZip matches torch.save (1.13) byte for byte', () => {
  let dir = '';
  beforeAll(() => {
    dir = saveTorchCases();
  }, 120_000);

  for (const name of CASE_NAMES) {
    it(`"${name}"`, async () => {
      const c = buildCases()[name]!;
      const ours = await write(c, { prefix: name === 'golden' ? 'archive' : name, layout: '1.13' });
      expect(sameBytes(ours, readCase(dir, `${name}.pt`))).toBe('identical');
    });
  }

  it('writes what torch.load(weights_only=True) reads back, for a value torch did not write', async () => {
    const st = new Storages();
    const x = st.storage(
      'int64',
      BigInt64Array.from({ length: 10 }, (_, i) => BigInt(i * i)),
    );
    const w = st.storage('float32', Float32Array.of(0.5, -1.25, 3, 1e-3));
    const sd = new OrderedDict<string, unknown>([
      ['enc.w', st.tensor(w, [2, 2], [1, 2], 0, { parameter: true, requiresGrad: true })],
      ['enc.x', st.tensor(x, [5, 2], [1, 5])],
      ['enc.y', st.tensor(x, [3], [3], 1)],
    ]);
    sd.metadata = new OrderedDict([
      ['', new Map<string, unknown>([['version', 1]])],
      ['enc', new Map<string, unknown>([['version', 2]])],
    ]);
    const hp = new Map<unknown, unknown>([
      ['steps', tuple(9, 999)],
      [3, [true, null, 'ünï', -(2 ** 40)]],
    ]);
    // torch 1.13's weights_only unpickler has no BINFLOAT ("Unsupported operand 71"): floats go in a second file
    const floats = new Map<string, unknown>([
      ['lr', 1],
      ['betas', tuple(0.9, 0.999)],
    ]);
    markFloat(floats, 'lr');
    const tmp = tempDir();
    const file = join(tmp, 'ours.pt');
    writeFileSync(
      file,
      await write(
        {
          value: new Map<string, unknown>([
            ['model', sd],
            ['hp', hp],
          ]),
          bytes: st.bytes,
        },
        { prefix: 'other', layout: '1.13' },
      ),
    );
    writeFileSync(
      join(tmp, 'floats.pt'),
      await write({ value: floats, bytes: new Map() }, { prefix: 'floats', layout: '1.13' }),
    );
    const out = runPython(
      String.raw`
import sys, zipfile, torch, collections
assert zipfile.ZipFile(sys.argv[1]).namelist() == ['other/data.pkl', 'other/data/0', 'other/data/1', 'other/version']
obj = torch.load(sys.argv[1], weights_only=True)
sd = obj['model']
x = torch.arange(10) ** 2
w = torch.tensor([0.5, -1.25, 3, 1e-3]).view(2, 2).t()
assert type(sd) is collections.OrderedDict and list(sd) == ['enc.w', 'enc.x', 'enc.y']
assert sd._metadata == {'': {'version': 1}, 'enc': {'version': 2}}
assert isinstance(sd['enc.w'], torch.nn.Parameter) and sd['enc.w'].requires_grad and torch.equal(sd['enc.w'].data, w)
assert sd['enc.x'].dtype == torch.int64 and torch.equal(sd['enc.x'], x.view(2, 5).t()) and sd['enc.x'].stride() == (1, 5)
assert torch.equal(sd['enc.y'], x[1::3]) and sd['enc.y'].storage_offset() == 1
assert sd['enc.x'].storage().data_ptr() == sd['enc.y'].storage().data_ptr()
hp = obj['hp']
assert hp == {'steps': (9, 999), 3: [True, None, '\u00fcn\u00ef', -2**40]}
floats = torch.load(sys.argv[1].replace('ours.pt', 'floats.pt'))
assert floats == {'lr': 1.0, 'betas': (0.9, 0.999)} and type(floats['lr']) is float
print('ok')
`,
      [file],
    );
    expect(out.trim()).toBe('ok');
  });
});
