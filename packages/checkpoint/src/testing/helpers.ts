/**
 * Shared test helpers (excluded from the build): the golden archive torch 1.13 writes
 * for `torch.arange(6.).reshape(2, 3)`, its `data.pkl` opcodes, and error assertions.
 */
import { PickleBuilder } from '@x-tools/test-utils';
import { MAX_MESSAGE_LENGTH } from '@x/device';
import { expect } from 'vitest';
import { isCheckpointError, type CheckpointErrorCode } from '../errors.js';

/** `torch.save(torch.arange(6.).reshape(2,3), io.BytesIO())`, torch 1.13, copied verbatim. */
export const GOLDEN_DUMP = `
00000000: 50 4b 03 04 00 00 08 08 00 00 00 00 00 00 00 00
00000010: 00 00 00 00 00 00 00 00 00 00 10 00 12 00 61 72
00000020: 63 68 69 76 65 2f 64 61 74 61 2e 70 6b 6c 46 42
00000030: 0e 00 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a
00000040: 80 02 63 74 6f 72 63 68 2e 5f 75 74 69 6c 73 0a
00000050: 5f 72 65 62 75 69 6c 64 5f 74 65 6e 73 6f 72 5f
00000060: 76 32 0a 71 00 28 28 58 07 00 00 00 73 74 6f 72
00000070: 61 67 65 71 01 63 74 6f 72 63 68 0a 46 6c 6f 61
00000080: 74 53 74 6f 72 61 67 65 0a 71 02 58 01 00 00 00
00000090: 30 71 03 58 03 00 00 00 63 70 75 71 04 4b 06 74
000000a0: 71 05 51 4b 00 4b 02 4b 03 86 71 06 4b 03 4b 01
000000b0: 86 71 07 89 63 63 6f 6c 6c 65 63 74 69 6f 6e 73
000000c0: 0a 4f 72 64 65 72 65 64 44 69 63 74 0a 71 08 29
000000d0: 52 71 09 74 71 0a 52 71 0b 2e 50 4b 07 08 c7 73
000000e0: 53 27 9a 00 00 00 9a 00 00 00 50 4b 03 04 00 00
000000f0: 08 08 00 00 00 00 00 00 00 00 00 00 00 00 00 00
00000100: 00 00 00 00 0e 00 2a 00 61 72 63 68 69 76 65 2f
00000110: 64 61 74 61 2f 30 46 42 26 00 5a 5a 5a 5a 5a 5a
00000120: 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a
00000130: 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a
00000140: 00 00 00 00 00 00 80 3f 00 00 00 40 00 00 40 40
00000150: 00 00 80 40 00 00 a0 40 50 4b 07 08 17 90 e7 91
00000160: 18 00 00 00 18 00 00 00 50 4b 03 04 00 00 08 08
00000170: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
00000180: 00 00 0f 00 2b 00 61 72 63 68 69 76 65 2f 76 65
00000190: 72 73 69 6f 6e 46 42 27 00 5a 5a 5a 5a 5a 5a 5a
000001a0: 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a
000001b0: 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a
000001c0: 33 0a 50 4b 07 08 d1 9e 67 55 02 00 00 00 02 00
000001d0: 00 00 50 4b 01 02 00 00 00 00 08 08 00 00 00 00
000001e0: 00 00 c7 73 53 27 9a 00 00 00 9a 00 00 00 10 00
000001f0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
00000200: 61 72 63 68 69 76 65 2f 64 61 74 61 2e 70 6b 6c
00000210: 50 4b 01 02 00 00 00 00 08 08 00 00 00 00 00 00
00000220: 17 90 e7 91 18 00 00 00 18 00 00 00 0e 00 00 00
00000230: 00 00 00 00 00 00 00 00 00 00 ea 00 00 00 61 72
00000240: 63 68 69 76 65 2f 64 61 74 61 2f 30 50 4b 01 02
00000250: 00 00 00 00 08 08 00 00 00 00 00 00 d1 9e 67 55
00000260: 02 00 00 00 02 00 00 00 0f 00 00 00 00 00 00 00
00000270: 00 00 00 00 00 00 68 01 00 00 61 72 63 68 69 76
00000280: 65 2f 76 65 72 73 69 6f 6e 50 4b 06 06 2c 00 00
00000290: 00 00 00 00 00 1e 03 2d 00 00 00 00 00 00 00 00
000002a0: 00 03 00 00 00 00 00 00 00 03 00 00 00 00 00 00
000002b0: 00 b7 00 00 00 00 00 00 00 d2 01 00 00 00 00 00
000002c0: 00 50 4b 06 07 00 00 00 00 89 02 00 00 00 00 00
000002d0: 00 01 00 00 00 50 4b 05 06 00 00 00 00 03 00 03
000002e0: 00 b7 00 00 00 d2 01 00 00 00 00
`;

/** Parses an `xxd`-style dump (offset, then hex bytes). */
export function parseDump(dump: string): Uint8Array {
  const out: number[] = [];
  for (const line of dump.trim().split('\n')) {
    for (const hex of line
      .slice(line.indexOf(':') + 1)
      .trim()
      .split(/\s+/))
      out.push(Number.parseInt(hex, 16));
  }
  return Uint8Array.from(out);
}

/** The golden archive's `data.pkl`, written with the builder (memo indices as torch writes them). */
export function goldenPickle(): Uint8Array {
  const p = new PickleBuilder().proto(2).global('torch._utils', '_rebuild_tensor_v2').binput(0);
  p.mark()
    .mark()
    .str('storage')
    .binput(1)
    .global('torch', 'FloatStorage')
    .binput(2)
    .str('0')
    .binput(3)
    .str('cpu')
    .binput(4);
  p.int(6).tuple().binput(5).binpersid();
  p.int(0).int(2).int(3).tuple2().binput(6).int(3).int(1).tuple2().binput(7).newFalse();
  p.global('collections', 'OrderedDict').binput(8).emptyTuple().reduce().binput(9);
  return p.tuple().binput(10).reduce().binput(11).stop().bytes();
}

/** `torch.arange(6.)` as little-endian float32 bytes. */
export const ARANGE6 = new Uint8Array(new Float32Array([0, 1, 2, 3, 4, 5]).buffer);

/** Asserts that `run` throws (or rejects with) a CheckpointError of `code` with a bounded message; returns it. */
export async function expectCode(
  run: (() => unknown) | Promise<unknown>,
  code: CheckpointErrorCode,
): Promise<Error & { code: string; details?: Record<string, unknown>; offset?: number; entry?: string }> {
  let error: unknown;
  try {
    await (typeof run === 'function' ? run() : run);
  } catch (e) {
    error = e;
  }
  expect(error, `expected ${code}`).toBeDefined();
  if (!isCheckpointError(error)) throw error;
  expect({ code: error.code, message: error.message }).toMatchObject({ code });
  expect(error.message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
  return error as never;
}

/** Asserts that `run` either succeeds or throws a CheckpointError (never another error). */
export async function onlyCheckpointErrors(run: () => unknown): Promise<void> {
  try {
    await run();
  } catch (e) {
    if (!isCheckpointError(e)) throw e;
  }
}
