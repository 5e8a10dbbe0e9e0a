/**
 * Interop with both torches: every zip fixture either torch wrote is loaded (raw) and saved again in
 * the default layout (torch 2.13's), then torch 2.13 loads each file with its default
 * `weights_only=True` and torch 1.13 loads the files of its own set; both must equal what torch
 * loads from the original (torch 2.13 refuses numpy values under `weights_only`, in the original as
 * in ours). Python floats (integral ones included) travel as floats.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, MANIFEST } from './testing/manifest.js';
import { load, save } from './node.js';
import { runPython, runPython2, runTorch2Tests, tempDir, torchAvailable } from './testing/torch.js';

/** Whole-module pickles need their class, which `weights_only=True` refuses, as torch does for the original. */
const files = MANIFEST.fixtures
  .filter((f) => f.format === 'zip' && !f.synthesized && f.error === undefined && !f.file.endsWith('whole-module.pt'))
  .map((f) => f.file);

const COMPARE = String.raw`
import json, pickle, sys, torch
def raw(t):
    if t.is_quantized:
        return (t.int_repr().contiguous().flatten().view(torch.uint8).tolist(), t.qscheme())
    if t.layout != torch.strided:
        t = t.to_dense()
    return t.detach().contiguous().flatten().view(torch.uint8).tolist()
def same(a, b, at):
    assert type(a) is type(b), f"{at}: {type(a)} != {type(b)}"
    if isinstance(a, torch.Tensor):
        assert (a.dtype, a.shape, a.layout, a.requires_grad, a.device) == (b.dtype, b.shape, b.layout, b.requires_grad, b.device), at
        if a.layout == torch.strided and not a.is_quantized:
            assert (a.stride(), a.storage_offset()) == (b.stride(), b.storage_offset()), at
        if not a.is_meta:
            assert raw(a) == raw(b), at
    elif isinstance(a, dict):
        assert list(a) == list(b), at
        assert getattr(a, "_metadata", None) == getattr(b, "_metadata", None), at
        for k in a: same(a[k], b[k], f"{at}[{k!r}]")
    elif isinstance(a, (list, tuple)) and not isinstance(a, torch.Size):
        assert len(a) == len(b), at
        for i, (x, y) in enumerate(zip(a, b)): same(x, y, f"{at}[{i}]")
    elif hasattr(a, "__array__") and not isinstance(a, (int, float)):
        assert a.dtype == b.dtype and a.tolist() == b.tolist(), at
    else:
        assert a == b or (a != a and b != b), f"{at}: {a!r} != {b!r}"
def load(path, weights_only):
    return torch.load(path, map_location="cpu", weights_only=weights_only)
weights_only = sys.argv[1] == "weights_only"
refused = []
for ours, original in zip(sys.argv[2::2], sys.argv[3::2]):
    try:
        expected = load(original, weights_only)
    except pickle.UnpicklingError:
        expected = None  # torch refuses its own file (numpy values, 1.13's protocol 4): ours may do better
    try:
        mine = load(ours, weights_only)
    except pickle.UnpicklingError:
        assert expected is None, f"{ours} is refused, the original is not"
        refused.append(original.rsplit("fixtures/", 1)[1])
        same(load(original, False), load(ours, False), ours)
        continue
    same(load(original, False) if expected is None else expected, mine, ours)
print(json.dumps({"loaded": len(sys.argv[2::2]) - len(refused), "refused": refused}))
`;

async function resave(file: string, dir: string, layout?: '1.13'): Promise<string> {
  const { value } = await load(join(FIXTURES, file), { dtype: 'raw', mapLocation: 'cpu' });
  const out = join(dir, file.replaceAll('/', '__'));
  await save(value, out, { keepLocations: false, ...(layout === undefined ? {} : { layout }) });
  return out;
}

describe('what we write loads in torch 2.13 (weights_only=True) and torch 1.13, equal to the original', () => {
  it('covers both sets, the 2.x-only dtypes and layouts among them', () => {
    expect(files).toContain('zip/training-checkpoint.pt');
    expect(files).toContain('torch2/zip/dtypes-2x.pt');
    expect(files).toContain('torch2/zip/sparse-compressed.pt');
  });

  it.runIf(runTorch2Tests)(
    'torch 2.13, weights_only=True',
    async () => {
      const dir = tempDir();
      const args: string[] = [];
      for (const file of files) args.push(await resave(file, dir), join(FIXTURES, file));
      // torch 2.13 refuses numpy scalars and arrays under weights_only, in the original as in ours
      const numpy = ['zip/training-checkpoint.pt', 'torch2/zip/training-checkpoint.pt'];
      expect(JSON.parse(runPython2(COMPARE, ['weights_only', ...args]))).toEqual({
        loaded: files.length - numpy.length,
        refused: numpy,
      });
    },
    120_000,
  );

  it.runIf(torchAvailable || process.env.CI !== undefined)(
    'torch 1.13 (its weights_only has no BINFLOAT), files of its own set',
    async () => {
      const dir = tempDir();
      const own = files.filter((f) => !f.startsWith('torch2/'));
      const args: string[] = [];
      for (const file of own) args.push(await resave(file, dir), join(FIXTURES, file));
      expect(JSON.parse(runPython(COMPARE, ['plain', ...args]))).toEqual({ loaded: own.length, refused: [] });
    },
    120_000,
  );

  it.runIf(runTorch2Tests && (torchAvailable || process.env.CI !== undefined))(
    "torch 2.13's COO (with is_coalesced) saved in the 1.13 layout loads in torch 1.13",
    async () => {
      const file = 'torch2/zip/sparse-coo.pt';
      const dense = `import json, sys, torch
s = torch.load(sys.argv[1], map_location="cpu")["sparse"]
print(json.dumps([s.is_sparse, s.to_dense().tolist()]))`;
      const ours = await resave(file, tempDir(), '1.13');
      expect(JSON.parse(runPython(dense, [ours]))).toEqual(JSON.parse(runPython2(dense, [join(FIXTURES, file)])));
    },
    60_000,
  );
});
