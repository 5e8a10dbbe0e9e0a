// An ES module consumer: loads a CUDA-saved checkpoint onto the CPU through @x/migrate and prints
// each tensor's name, device, shape and the sha256 of its float32 bytes as JSON.
import { createHash } from 'node:crypto';
import { createDeviceRuntime } from '@x/device';
import { loadModule } from '@x/migrate';

const runtime = await createDeviceRuntime({ cuda: false });
const { module } = await loadModule(process.argv[2], { runtime, mapLocation: 'cpu' });
const tensors = module.namedTensors().map(({ name, tensor }) => ({
  name,
  device: runtime.deviceOf(tensor).toString(),
  shape: tensor.shape,
  sha256: createHash('sha256').update(tensor.dataSync()).digest('hex'),
}));
console.log(JSON.stringify(tensors));
