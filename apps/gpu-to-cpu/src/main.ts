console.log("gpu-to-cpu: not built yet");
