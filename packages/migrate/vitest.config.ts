import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@x/migrate',
    include: ['src/**/*.test.ts'],
    clearMocks: true,
    restoreMocks: true,
    testTimeout: 30_000,
    hookTimeout: 60_000, // hooks that start Python + torch take seconds on a busy 2-core machine
  },
});
