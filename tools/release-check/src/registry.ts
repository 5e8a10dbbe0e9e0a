/**
 * A real npm registry (verdaccio) on a loopback port for the release check: storage in a folder
 * the caller owns, anonymous publish for the `@x` scope only, no uplinks (nothing of `@x` can come
 * from elsewhere), every other package refused so installs must name the public registry for them.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { runServer } from 'verdaccio';

/** A started registry. */
export interface LocalRegistry {
  /** Base URL with a trailing slash, e.g. `http://127.0.0.1:41234/`. */
  readonly url: string;
  /** Stops the server and drops open connections; resolves when it no longer listens. */
  close(): Promise<void>;
}

/** Starts verdaccio on 127.0.0.1 with an ephemeral port, storing packages under `dir`. */
export async function startRegistry(dir: string): Promise<LocalRegistry> {
  const server = (await runServer({
    self_path: join(dir, 'config.yaml'),
    storage: join(dir, 'storage'),
    auth: { htpasswd: { file: join(dir, 'htpasswd'), max_users: -1 } },
    uplinks: {},
    packages: { '@x/*': { access: ['$all'], publish: ['$all'], unpublish: ['$all'] } },
    log: { type: 'stdout', format: 'pretty', level: 'error' },
    web: { enable: false },
  } as unknown as Parameters<typeof runServer>[0])) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
