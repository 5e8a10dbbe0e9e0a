// A CommonJS consumer: require() of the ESM-only packages (Node >= 20.19), then the same load as
// esm.mjs through @x/checkpoint directly, printing the same JSON.
const { createHash } = require('node:crypto');
const { createDeviceRuntime } = require('@x/device');
const { load } = require('@x/checkpoint');

(async () => {
  const runtime = await createDeviceRuntime({ cuda: false });
  const { value } = await load(process.argv[2], { runtime, mapLocation: 'cpu' });
  const tensors = [...value].map(([name, tensor]) => ({
    name,
    device: runtime.deviceOf(tensor).toString(),
    shape: tensor.shape,
    sha256: createHash('sha256').update(tensor.dataSync()).digest('hex'),
  }));
  console.log(JSON.stringify(tensors));
})();
