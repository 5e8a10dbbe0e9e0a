import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '../dist/main.js');

describe('npm start (dist/main.js, built before tests), as a person sees it', () => {
  it('tells the story with exit 0 and no TF.js "install tfjs-node" banner or other warning', () => {
    const r = spawnSync(process.execPath, [MAIN], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toMatch(/TensorFlow\.js in Node|tfjs-node|=====/);
    expect(r.stdout).toContain("load().to('cpu') moved");
  });
});
