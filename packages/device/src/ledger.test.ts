import { describe, expect, it } from 'vitest';
import { Ledger } from './ledger.js';

describe('Ledger', () => {
  it('counts bytes, peak and tensors per device, and copies', () => {
    const l = new Ledger();
    l.place('cpu', 100);
    l.place('cpu', 50); // cpu: 150 B now, peak 150
    l.release('cpu', 100); // cpu: 50 B, peak stays 150
    l.place('cuda:0', 50);
    l.move(50); // one copy of 50 B
    expect(l.snapshot()).toEqual({
      devices: { cpu: { bytes: 50, peak: 150, tensors: 1 }, 'cuda:0': { bytes: 50, peak: 50, tensors: 1 } },
      copies: 1,
      bytesMoved: 50,
      bytesPlaced: 100 + 50 + 50,
    });
    expect(l.usage('wasm:0')).toEqual({ bytes: 0, peak: 0, tensors: 0 });
  });

  it('snapshot is a detached plain object', () => {
    const l = new Ledger();
    l.place('cpu', 8);
    const s = l.snapshot();
    l.place('cpu', 8);
    expect(s.devices['cpu']).toEqual({ bytes: 8, peak: 8, tensors: 1 });
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it('reset zeroes everything and starts a new epoch', () => {
    const l = new Ledger();
    l.place('cpu', 8);
    l.move(8);
    const e = l.epoch;
    l.reset();
    expect(l.epoch).toBe(e + 1);
    expect(l.snapshot()).toEqual({ devices: {}, copies: 0, bytesMoved: 0, bytesPlaced: 0 });
  });
});
