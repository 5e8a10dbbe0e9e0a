import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@x/mmap',
    include: ['src/**/*.test.js'],
    testTimeout: 30_000,
  },
});
