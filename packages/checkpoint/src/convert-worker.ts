/**
 * The worker thread of {@link WorkerConverter}: converts each storage it is sent with
 * `toTensorData(…, { overwrite: true })` and sends the result back, moving (never copying) the buffer
 * both ways. Posts `{ ready: true }` once loaded, so the pool only hands over buffers to workers that run.
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
    reply = { id, data: toTensorData(new Uint8Array(buffer, byteOffset, byteLength), dtype, 'convert', { overwrite: true }) };
  } catch (error) {
    reply = { id, error };
  }
  port.postMessage(reply, 'data' in reply ? [reply.data.values.buffer as ArrayBuffer] : []);
});
port.postMessage({ ready: true } satisfies WidenReply);
