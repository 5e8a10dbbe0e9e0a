/**
 * The worker thread of `WorkerConverter` (convert-workers.ts): converts each storage it is sent with
 * `toTensorData(…, { overwrite: true })`, in place in the shared buffer, and replies with the result.
 * Posts `{ ready: true }` once loaded, so the pool only counts on workers that run.
 *
 * @module
 */
import { parentPort } from 'node:worker_threads';
import { toTensorData } from '@x/device';
import type { WidenReply, WidenRequest } from './convert-workers.js';

const port = parentPort;
if (port === null) throw new Error('convert-worker.js runs as a worker thread of WorkerConverter');
port.on('message', ({ id, buffer, byteOffset, byteLength, dtype }: WidenRequest) => {
  let reply: WidenReply;
  try {
    reply = {
      id,
      data: toTensorData(new Uint8Array(buffer, byteOffset, byteLength), dtype, 'convert', { overwrite: true }),
    };
  } catch (error) {
    reply = { id, error };
  }
  // in place, the result shares the caller's memory; a misaligned view converts into a fresh buffer, moved back
  const fresh = 'data' in reply && reply.data.values.buffer instanceof ArrayBuffer ? [reply.data.values.buffer] : [];
  port.postMessage(reply, fresh);
});
port.postMessage({ ready: true } satisfies WidenReply);
