/**
 * Bundles a page script for the browser with Vite, resolving packages the way a web app's bundler
 * does (`browser` fields, the `default` export conditions, CommonJS dependencies).
 *
 * @module
 */

import { build } from 'vite';

/**
 * Builds `entry` (a TypeScript or JavaScript module) into `outDir/page.js` as an ES module,
 * unminified, with its dynamic imports split into chunks beside it.
 */
export async function bundlePage(entry: string, outDir: string): Promise<void> {
  await build({
    configFile: false,
    logLevel: 'error',
    publicDir: false,
    build: {
      outDir,
      emptyOutDir: true,
      minify: false,
      target: 'es2022',
      reportCompressedSize: false,
      rollupOptions: { input: entry, output: { format: 'es', entryFileNames: 'page.js' } },
    },
  });
}
