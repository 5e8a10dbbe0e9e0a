import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'placement',
    include: ['src/**/*.test.ts'],
    clearMocks: true,
    restoreMocks: true,
    testTimeout: 30_000,
  },
});
