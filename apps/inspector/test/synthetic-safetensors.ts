/** safetensors files built in the test, by the format's definition: u64 LE header length, JSON header, data. */

/** One float32 tensor to write. */
export interface F32Tensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: readonly number[];
}

/** The bytes of a safetensors file holding `tensors` (float32, packed in order). */
export function safetensorsBytes(tensors: readonly F32Tensor[]): Uint8Array {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * t.values.length] };
    offset += 4 * t.values.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  const data = new Float32Array(offset / 4);
  let i = 0;
  for (const t of tensors) for (const v of t.values) data[i++] = v;
  out.set(new Uint8Array(data.buffer), 8 + json.length);
  return out;
}
