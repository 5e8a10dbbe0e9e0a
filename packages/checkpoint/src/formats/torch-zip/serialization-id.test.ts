import { describe, expect, it } from 'vitest';
import { fixtureBytes, MANIFEST } from '../../testing/manifest.js';
import { serializationId } from './serialization-id.js';
import { fromBytes } from '../../source.js';
import { openZip } from '../../zip/archive.js';
import { crc32 } from '../../zip/crc32.js';

const torch2Zips = MANIFEST.fixtures
  .filter((f) => f.file.startsWith('torch2/') && (f.format === 'zip' || f.format === 'torchscript'))
  .map((f) => f.file);

describe('.data/serialization_id as torch 2.13 computes it', () => {
  it('covers archives large enough for the set to rehash (over 13 records)', async () => {
    const zip = await openZip(fromBytes(fixtureBytes('torch2/zip/training-checkpoint.pt')));
    expect(zip.entries.size).toBeGreaterThan(14);
  });

  it.each(torch2Zips)('%s', async (file) => {
    const zip = await openZip(fromBytes(fixtureBytes(file)));
    const names = [...zip.entries.keys()];
    expect(names.at(-1)).toBe('.data/serialization_id');
    const records = [];
    for (const name of names.slice(0, -1)) {
      const data = await zip.read(name);
      records.push({ name, crc: crc32(data), size: data.length });
    }
    expect(serializationId(records)).toBe(new TextDecoder().decode(await zip.read('.data/serialization_id')));
  });
});
