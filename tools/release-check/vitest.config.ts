import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@x-tools/release-check',
    include: ['src/**/*.test.ts'],
    // Generous: the checks wait on npm, turbo and tsc processes, which a loaded machine slows many times over.
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
