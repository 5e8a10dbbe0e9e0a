export { chromiumPath, browserTestsRun, launchChromium } from './chromium.js';
export { serveFolders } from './static-server.js';
export type { StaticServer } from './static-server.js';
export { bundlePage } from './bundle.js';
