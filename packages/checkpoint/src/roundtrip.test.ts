/**
 * Round trip, bit for bit: every fixture the manifest marks `"roundtrip": true` is loaded in raw
 * mode and saved again with `keepLocations`; the file must equal torch's bytes. Raw tensors carry
 * their file description (`tensorInfo`), so `save` puts them back on their storages and views and
 * writes the locations they were saved with (mapLocation only decides where data would be placed).
 * Quantized, sparse and meta tensors, numpy arrays and scalars, torch objects and whole-module
 * `PyObject` records (`unknownClasses: 'record'`) come back too. The CUDA fixtures were tagged the
 * way a GPU save tags (`'cuda:' + str(i)` built per storage, tools/fixtures/tagging.py).
 *
 * The archive prefix is taken from the fixture (torch used the file stem or `archive`), since the
 * temporary file may not have the stem torch saw.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, MANIFEST as manifest, openFixture } from './testing/manifest.js';
import { load } from './load.js';
import type { SaveOptions } from './formats/torch-zip/save.js';
import { save } from './node/save.js';
import { fromFile } from './node/source.js';
import { sameBytes, tempDir } from './testing/torch.js';

/** The layout options a file's own records call for: torch 2.x's records and serialization id, carried over. */
async function layoutOf(file: string): Promise<Pick<SaveOptions, 'layout' | 'serializationId'>> {
  const c = await openFixture(file, { unknownClasses: 'record' });
  try {
    const id = c.metadata?.get('serialization_id') as string | undefined;
    return c.metadata?.has('format_version') === true
      ? { layout: '2.7', ...(id === undefined ? {} : { serializationId: id }) }
      : { layout: '1.13' };
  } finally {
    await c.close();
  }
}

/** The archive prefix: the first local header's name up to its `/`. */
function prefixOf(bytes: Uint8Array): string {
  const nameLength = new DataView(bytes.buffer, bytes.byteOffset).getUint16(26, true);
  return Buffer.from(bytes.subarray(30, 30 + nameLength))
    .toString('utf8')
    .split('/')[0]!;
}

async function roundTrip(file: string): Promise<{ ours: Uint8Array; torch: Uint8Array }> {
  const path = join(FIXTURES, file);
  const torch = new Uint8Array(readFileSync(path));
  const source = await fromFile(path);
  try {
    const { value } = await load(source, { dtype: 'raw', mapLocation: 'cpu', unknownClasses: 'record' });
    const out = join(tempDir(), file.split('/').pop()!);
    await save(value, out, { keepLocations: true, prefix: prefixOf(torch), ...(await layoutOf(file)) });
    return { ours: new Uint8Array(readFileSync(out)), torch };
  } finally {
    await source.close();
  }
}

const marked = manifest.fixtures.filter((f) => f.roundtrip).map((f) => f.file);

describe('round trip: load (raw) then save gives torch 1.13’s and torch 2.13’s exact bytes', () => {
  it('the manifest marks fixtures for round trip, among them every kind of value the pickler writes', () => {
    for (const file of [
      'zip/training-checkpoint.pt',
      'zip/quantized.pt',
      'zip/sparse-coo.pt',
      'zip/meta.pt',
      'zip/torch-objects.pt',
      'zip/whole-module.pt',
      'zip/cuda0.pt',
      'zip/cuda-mixed.pt',
    ]) {
      expect(marked).toContain(file);
    }
  });

  it.each(marked)('%s', async (file) => {
    const { ours, torch } = await roundTrip(file);
    expect(sameBytes(ours, torch)).toBe('identical');
  });
});
