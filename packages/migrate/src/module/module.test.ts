import type { Tensor } from '@tensorflow/tfjs-core';
import type { DeviceRuntime, Placed } from '@x/device';
import { beforeAll, describe, expect, it } from 'vitest';
import { Module } from './module.js';
import { planDeviceMap, sizeEntries } from '../device-map/plan.js';
import { thrown } from '../testing/errors.js';
import { f32, twoBackendRuntime } from '../testing/runtime.js';

let runtime: DeviceRuntime;
beforeAll(async () => {
  runtime = await twoBackendRuntime();
});

const values = (t: unknown): number[] => Array.from((t as Tensor).dataSync());
const disposed = (t: Placed): boolean => (t as Tensor).isDisposed;

/** torch: nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)).state_dict() names and shapes. */
function sequentialStateDict(d: string): Map<string, Placed> {
  return new Map<string, Placed>([
    [
      '0.weight',
      f32(
        runtime,
        Array.from({ length: 12 }, (_, i) => i),
        d,
        [3, 4],
      ),
    ],
    ['0.bias', f32(runtime, [1, 2, 3], d)],
    ['1.weight', f32(runtime, [1, 1, 1], d)],
    ['1.bias', f32(runtime, [0, 0, 0], d)],
    ['1.running_mean', f32(runtime, [0, 0, 0], d)],
    ['1.running_var', f32(runtime, [1, 1, 1], d)],
    ['1.num_batches_tracked', runtime.place(new Int32Array([0]), [], 'int32', d)],
  ]);
}

describe('Module trees', () => {
  it('builds submodules from dotted names, BatchNorm statistics as buffers', () => {
    const sd = sequentialStateDict('cpu');
    const m = Module.fromStateDict(sd, { className: 'Sequential' });
    expect(m.namedModules().map(([p]) => p)).toEqual(['', '0', '1']);
    expect(m.get('0.weight')).toBe(sd.get('0.weight'));
    expect(m.get('1')).toBeInstanceOf(Module);
    expect(m.get('2.weight')).toBeUndefined();
    expect(m.namedTensors().map((t) => `${t.name}:${t.kind}`)).toEqual([
      '0.weight:parameter',
      '0.bias:parameter',
      '1.weight:parameter',
      '1.bias:parameter',
      '1.running_mean:buffer',
      '1.running_var:buffer',
      '1.num_batches_tracked:buffer',
    ]);
    expect([...m.stateDict().keys()]).toEqual([...sd.keys()]);
  });

  it('takes buffer names from an option', () => {
    const m = Module.fromStateDict(new Map([['pos', f32(runtime, [0], 'cpu')]]), { buffers: new Set(['pos']) });
    expect(m.namedTensors()[0]?.kind).toBe('buffer');
  });

  it('rejects bad names with torch texts', () => {
    const m = new Module().addModule('a', new Module());
    expect(thrown(() => m.registerParameter('a.b', null)).message).toBe('parameter name can\'t contain "."');
    expect(thrown(() => m.registerParameter('', null)).message).toBe('parameter name can\'t be empty string ""');
    expect(thrown(() => m.registerParameter('a', null)).message).toBe("attribute 'a' already exists");
    expect(thrown(() => m.addModule('x.y', new Module())).message).toBe('module name can\'t contain ".", got: x.y');
    m.registerBuffer('z', null);
    expect(thrown(() => m.addModule('z', new Module())).code).toBe('MODULE_NAME_TAKEN');
    expect(thrown(() => Module.fromStateDict(new Map([['a..b', f32(runtime, [0], 'cpu')]]))).code).toBe(
      'MODULE_NAME_INVALID',
    );
    expect(
      thrown(() =>
        Module.fromStateDict(
          new Map([
            ['a', f32(runtime, [0], 'cpu')],
            ['a.b', f32(runtime, [0], 'cpu')],
          ]),
        ),
      ).code,
    ).toBe('MODULE_NAME_TAKEN');
  });

  it('reports a tensor shared under two names once, like named_parameters', () => {
    const w = f32(runtime, [1, 2, 3, 4], 'cpu', [2, 2]);
    const m = Module.fromStateDict(
      new Map([
        ['emb.weight', w],
        ['head.weight', w],
        ['head.bias', f32(runtime, [0, 0], 'cpu')],
      ]),
    );
    // torch: named_parameters() -> ['a.weight', 'a.bias', 'b.bias'] for b.weight = a.weight; state_dict lists both
    expect(m.namedTensors().map((t) => t.name)).toEqual(['emb.weight', 'head.bias']);
    expect(m.namedTensors({ removeDuplicate: false }).map((t) => t.name)).toEqual([
      'emb.weight',
      'head.weight',
      'head.bias',
    ]);
    expect(m.tiedGroups()).toEqual([['emb.weight', 'head.weight']]);
    const entries = sizeEntries(m);
    expect(entries).toEqual([
      { name: 'emb.weight', bytes: 4 * 4, buffer: false },
      { name: 'head.weight', bytes: 4 * 4, tiedTo: 'emb.weight', buffer: false },
      { name: 'head.bias', bytes: 2 * 4, buffer: false },
    ]);
    expect(planDeviceMap(m, { strategy: 'sequential', maxMemory: { cpu: 1000 } }).totals).toEqual({ cpu: 16 + 8 });
  });
});

describe('Module.to', () => {
  it('moves every parameter and buffer, disposing the old ones; the ledger adds up', () => {
    runtime.ledger.reset();
    const sd = sequentialStateDict('cpu');
    const m = Module.fromStateDict(sd);
    // float32: 12 + 3 + 3 + 3 + 3 + 3 = 27 elements × 4 B; int32 scalar: 4 B
    const bytes = 27 * 4 + 4;
    expect(runtime.ledger.snapshot().devices.cpu?.bytes).toBe(bytes);
    expect(m.to('cuda', runtime)).toBe(m);
    const snap = runtime.ledger.snapshot();
    expect(snap.copies).toBe(7);
    expect(snap.bytesMoved).toBe(bytes);
    expect(snap.devices['cuda:0']).toEqual({ bytes, peak: bytes, tensors: 7 });
    expect(snap.devices.cpu).toMatchObject({ bytes: 0, tensors: 0 });
    expect(m.devices(runtime)).toEqual(['cuda:0']);
    expect(runtime.backendName('cuda:0')).toBe('wasm');
    expect(values(m.get('0.weight'))).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect([...sd.values()].every(disposed)).toBe(true);
  });

  it('is a no-op where tensors already are: same objects, nothing in the ledger', () => {
    const m = Module.fromStateDict(sequentialStateDict('cuda:0'));
    const before = m.namedTensors().map((t) => t.tensor);
    const snap = runtime.ledger.snapshot();
    m.to('cuda:0', runtime);
    m.to('cuda', runtime);
    expect(m.namedTensors().map((t) => t.tensor)).toEqual(before);
    expect(runtime.ledger.snapshot()).toEqual(snap);
  });

  it('moves a tied weight once and keeps it tied', () => {
    runtime.ledger.reset();
    const w = f32(runtime, [1, 2, 3, 4], 'cpu', [2, 2]);
    const m = Module.fromStateDict(
      new Map([
        ['emb.weight', w],
        ['head.weight', w],
        ['head.bias', f32(runtime, [0, 0], 'cpu')],
      ]),
    );
    m.to('cuda:0', runtime);
    const snap = runtime.ledger.snapshot();
    expect(snap.copies).toBe(2);
    expect(snap.bytesMoved).toBe(4 * 4 + 2 * 4);
    expect(m.get('emb.weight')).toBe(m.get('head.weight'));
    expect(runtime.deviceOf(m.get('head.weight') as Placed).toString()).toBe('cuda:0');
  });

  it('visits children first, then own parameters, then buffers (torch _apply order)', () => {
    const m = new Module('Net')
      .registerParameter('scale', f32(runtime, [1], 'cpu'))
      .registerBuffer('step', f32(runtime, [0], 'cpu'))
      .addModule(
        'fc',
        new Module('Linear').registerParameter('weight', f32(runtime, [1], 'cpu')).registerParameter('bias', null),
      );
    const seen: string[] = [];
    m.applyTensors((t, name, kind) => {
      seen.push(`${name}:${kind}`);
      return t;
    });
    expect(seen).toEqual(['fc.weight:parameter', 'scale:parameter', 'step:buffer']);
  });

  it('fails on an unavailable device before moving anything', () => {
    const m = Module.fromStateDict(new Map([['w', f32(runtime, [1], 'cpu')]]));
    expect(() => m.to('cuda:1', runtime)).toThrow(/cuda/i);
    expect(m.devices(runtime)).toEqual(['cpu']);
  });
});

describe('Module.loadStateDict', () => {
  it("throws torch's text for missing, unexpected and mis-shaped keys", () => {
    const m = Module.fromStateDict(sequentialStateDict('cpu'), { className: 'Sequential' });
    const bad = sequentialStateDict('cpu');
    bad.delete('0.bias');
    bad.set('0.weight', f32(runtime, new Array(8).fill(0), 'cpu', [2, 4]));
    bad.set('2.weight', f32(runtime, [0], 'cpu'));
    bad.set('extra', f32(runtime, [0], 'cpu'));
    const before = m.namedTensors().map((t) => t.tensor);
    const e = thrown(() => m.loadStateDict(bad, { runtime }));
    expect(e.code).toBe('LOAD_STATE_DICT');
    // torch 1.13: m = nn.Sequential(nn.Linear(4,3), nn.BatchNorm1d(3)); sd2 = dict(m.state_dict());
    // del sd2['0.bias']; sd2['2.weight'] = torch.zeros(1); sd2['0.weight'] = torch.zeros(2,4);
    // sd2['extra'] = torch.zeros(1); m.load_state_dict(sd2) -> RuntimeError with this text
    expect(e.message).toBe(
      'Error(s) in loading state_dict for Sequential:\n\tMissing key(s) in state_dict: "0.bias". \n\tUnexpected key(s) in state_dict: "2.weight", "extra". \n\tsize mismatch for 0.weight: copying a param with shape torch.Size([2, 4]) from checkpoint, the shape in current model is torch.Size([3, 4]).',
    );
    expect(m.namedTensors().map((t) => t.tensor)).toEqual(before);
  });

  it('returns missing and unexpected keys when not strict (torch _IncompatibleKeys)', () => {
    const m = Module.fromStateDict(sequentialStateDict('cpu'));
    const sd = sequentialStateDict('cpu');
    sd.delete('0.bias');
    sd.set('x.y', f32(runtime, [0], 'cpu'));
    // torch 1.13: _IncompatibleKeys(missing_keys=['0.bias'], unexpected_keys=['x.y'])
    expect(m.loadStateDict(sd, { runtime, strict: false })).toEqual({
      missingKeys: ['0.bias'],
      unexpectedKeys: ['x.y'],
      warnings: [],
    });
  });

  it('checks unexpected keys per module like torch (a bare module name is not unexpected)', () => {
    const m = Module.fromStateDict(
      new Map([
        ['0.weight', f32(runtime, [1, 2, 3, 4], 'cpu', [2, 2])],
        ['0.bias', f32(runtime, [1, 2], 'cpu')],
      ]),
    );
    const sd = new Map<string, Placed>([
      ['0.weight', f32(runtime, [0, 0, 0, 0], 'cpu', [2, 2])],
      ['0.bias', f32(runtime, [0, 0], 'cpu')],
      ['0.foo', f32(runtime, [0], 'cpu')],
      ['0', f32(runtime, [0], 'cpu')],
    ]);
    // torch 1.13, nn.Sequential(nn.Linear(2,2)): unexpected_keys=['0.foo']
    expect(m.loadStateDict(sd, { runtime, strict: false }).unexpectedKeys).toEqual(['0.foo']);
  });

  it('names a value that is not a tensor (torch text)', () => {
    const m = Module.fromStateDict(
      new Map([
        ['0.weight', f32(runtime, [1, 2, 3, 4], 'cpu', [2, 2])],
        ['0.bias', f32(runtime, [1, 2], 'cpu')],
      ]),
      {
        className: 'Sequential',
      },
    );
    // torch 1.13: nn.Sequential(nn.Linear(2,2)).load_state_dict({'0.weight': 3})
    expect(thrown(() => m.loadStateDict(new Map([['0.weight', 3]]), { runtime })).message).toBe(
      'Error(s) in loading state_dict for Sequential:\n\tMissing key(s) in state_dict: "0.bias". \n\tWhile copying the parameter named "0.weight", expected torch.Tensor or Tensor-like object from checkpoint but received <class \'int\'>',
    );
  });

  it("copies onto the module's device by default and disposes the replaced tensors", () => {
    const m = Module.fromStateDict(sequentialStateDict('cuda:0'));
    const old = m.namedTensors().map((t) => t.tensor);
    const sd = sequentialStateDict('cpu');
    sd.set('0.bias', f32(runtime, [7, 8, 9], 'cpu'));
    runtime.ledger.reset();
    expect(m.loadStateDict(sd, { runtime })).toEqual({ missingKeys: [], unexpectedKeys: [], warnings: [] });
    expect(m.devices(runtime)).toEqual(['cuda:0']);
    expect(values(m.get('0.bias'))).toEqual([7, 8, 9]);
    expect(old.every(disposed)).toBe(true);
    expect([...sd.values()].some(disposed)).toBe(false);
    expect(runtime.ledger.snapshot()).toMatchObject({ copies: 7, bytesMoved: 27 * 4 + 4 });
  });

  it("with assign, the state dict's tensors (and devices) replace the module's", () => {
    const m = Module.fromStateDict(sequentialStateDict('cuda:0'));
    const sd = sequentialStateDict('cpu');
    runtime.ledger.reset();
    m.loadStateDict(sd, { runtime, assign: true });
    expect(m.get('0.weight')).toBe(sd.get('0.weight'));
    expect(m.devices(runtime)).toEqual(['cpu']);
    expect(runtime.ledger.snapshot().copies).toBe(0);
  });

  it('refuses a dtype change without assign', () => {
    const m = Module.fromStateDict(new Map([['w', f32(runtime, [1], 'cpu')]]));
    const e = thrown(() =>
      m.loadStateDict(new Map([['w', runtime.place(new Int32Array([1]), [1], 'int32', 'cpu')]]), { runtime }),
    );
    expect(e.message).toContain('dtype mismatch for w');
  });

  it('warns and keeps a meta tensor when copying real data into it', () => {
    const m = Module.fromStateDict(new Map([['w', runtime.place(new Float32Array(2), [2], 'float32', 'meta')]]));
    const meta = m.get('w');
    const { warnings } = m.loadStateDict(new Map([['w', f32(runtime, [1, 2], 'cpu')]]), { runtime });
    expect(warnings[0]).toContain('copying from a non-meta parameter in the checkpoint to a meta parameter');
    expect(m.get('w')).toBe(meta);
  });
});
