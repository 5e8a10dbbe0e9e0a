/**
 * `npm start`: a CNN saved on a GPU, loaded on a machine without one.
 *
 * @module
 */

import { createDeviceRuntime } from '@x/device';
import { MODEL_PATH, readBatch } from './batch.js';
import { runStory } from './story.js';

/** Largest difference from PyTorch's logits the app accepts. */
const TOLERANCE = 1e-4;

const batch = await readBatch();
const runtime = await createDeviceRuntime();
const standIn = await createDeviceRuntime({ bindings: { cuda: 'wasm' }, cuda: false });
const result = await runStory({
  modelPath: MODEL_PATH,
  batch,
  runtime,
  standIn,
  splitMap: { features: 'wasm', classifier: 'cpu' },
  log: (line) => console.log(line),
});
const worst = Math.max(result.cpu.maxAbsDiff, result.split.maxAbsDiff);
if (worst > TOLERANCE) {
  console.error(`gpu-to-cpu: logits differ from PyTorch's by ${worst}, more than ${TOLERANCE}`);
  process.exitCode = 1;
}
