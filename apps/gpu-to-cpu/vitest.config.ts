import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'gpu-to-cpu',
    include: ['src/**/*.test.ts'],
    clearMocks: true,
    restoreMocks: true,
    testTimeout: 30_000,
  },
});
