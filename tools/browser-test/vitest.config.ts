import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@x-tools/browser-test',
    include: ['src/**/*.test.ts'],
    clearMocks: true,
    restoreMocks: true,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
