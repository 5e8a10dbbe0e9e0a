/**
 * A user's project outside the monorepo: a folder in the temp dir that installs `@x/migrate` from
 * the local registry (the `@x` scope only; everything else from the npm registry the machine is
 * configured for, through the npm cache) and holds the consumer files of ../consumer.
 */
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from './repo-copy.js';
import { cleanNpmEnv, run } from './run.js';

/** The tfjs peers a consumer installs next to our packages, at the versions the repo develops with. */
export const tfjsPeers = ['@tensorflow/tfjs-core@4.22.0', '@tensorflow/tfjs-backend-cpu@4.22.0'];

/** Creates the consumer folder `dir` and installs `@x/migrate@version` with the tfjs peers. */
export async function installConsumer(dir: string, registryUrl: string, version: string): Promise<void> {
  await mkdir(dir);
  await writeFile(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'x-release-consumer', private: true }, null, 2)}\n`,
  );
  await writeFile(join(dir, '.npmrc'), `@x:registry=${registryUrl}\n`);
  await cp(join(repoRoot, 'tools/release-check/consumer'), dir, { recursive: true });
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', `@x/migrate@${version}`, ...tfjsPeers], {
    cwd: dir,
    env: cleanNpmEnv(),
  });
}

/** One error line of tsc output; `file` is absent for errors without a location (bad config …). */
export interface Diagnostic {
  readonly file: string | undefined;
  readonly text: string;
}

/** Every error line of tsc's plain output (`file(line,col): error TSnnnn: …` or `error TSnnnn: …`). */
export function parseDiagnostics(output: string): Diagnostic[] {
  return output
    .split('\n')
    .filter((line) => /\berror TS\d+/.test(line))
    .map((line) => ({ file: /^(\S.*?)\(\d+,\d+\): error TS\d+/.exec(line)?.[1], text: line }));
}

/**
 * Whether a diagnostic belongs to tfjs's own typings: `@tensorflow/tfjs-core` needs `Long` from
 * `@types/long` without declaring it, and its `@webgpu/types` clash with TypeScript's DOM lib.
 * Those are tfjs's to fix; everything else must be clean.
 */
export function isTfjsTypingIssue(diagnostic: Diagnostic): boolean {
  const tfjs = /node_modules\/(@tensorflow|@webgpu)\/|node_modules\/typescript\/lib\/lib\.dom\.d\.ts$/;
  return diagnostic.file !== undefined && tfjs.test(diagnostic.file);
}
