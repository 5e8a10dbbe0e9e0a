import { defineConfig } from 'vite';

export default defineConfig({
  // relative asset URLs: the built folder works from any path of any static host
  base: './',
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 4096 },
  server: { host: '127.0.0.1' },
});
