import { bench, describe } from 'vitest';
import { toTensorData } from './dtype.js';

/**
 * Conversion throughput on 64 MiB inputs, against a plain `Float32Array.prototype.set` copy of the same bytes into a
 * preallocated target, and into a fresh allocation (conversions allocate their output, so they pay the same page faults).
 */
const BYTES = 64 * 2 ** 20;
const input = new Uint8Array(BYTES);
{
  // realistic values: halves/bfloat16 of random normal-range numbers, int64 inside the int32 range
  const u16 = new Uint16Array(input.buffer);
  for (let i = 0; i < u16.length; i++) u16[i] = 0x3000 + ((i * 2654435761) >>> 20);
}
const int64Input = new Uint8Array(BYTES);
{
  const i32 = new Int32Array(int64Input.buffer);
  for (let i = 0; i < i32.length; i += 2) i32[i] = (i * 2654435761) | 0;
  for (let i = 1; i < i32.length; i += 2) i32[i] = (i32[i - 1] as number) >> 31;
}
const copySource = new Float32Array(input.buffer);
const copyTarget = new Float32Array(copySource.length);

const seconds = new Map<string, number[]>();
function timed(name: string, f: () => void): () => void {
  return () => {
    const t0 = performance.now();
    f();
    const list = seconds.get(name) ?? [];
    list.push((performance.now() - t0) / 1000);
    seconds.set(name, list);
  };
}

function report(name: string): void {
  const s = [...(seconds.get(name) ?? [])].sort((a, b) => a - b);
  const median = s[Math.floor(s.length / 2)] as number;
  console.log(
    `${name.padEnd(22)} ${(BYTES / median / 1e9).toFixed(2)} GB/s of input (median of ${s.length} timed calls, ${(median * 1000).toFixed(1)} ms)`,
  );
}

describe('dtype conversion, 64 MiB input', () => {
  const cases: [string, () => void][] = [
    ['baseline copy', () => copyTarget.set(copySource)],
    ['fresh alloc + copy', () => void new Float32Array(copySource.length).set(copySource)],
    ['float16 -> float32', () => void toTensorData(input, 'float16', 'convert')],
    ['bfloat16 -> float32', () => void toTensorData(input, 'bfloat16', 'convert')],
    ['int64 -> int32', () => void toTensorData(int64Input, 'int64', 'strict')],
  ];
  for (const [name, f] of cases) {
    bench(name, timed(name, f), {
      iterations: 5,
      warmupIterations: 1,
      time: 0,
      teardown: (_task, mode) => {
        if (mode === 'run') report(name);
      },
    });
  }
});
