// Benchmarks in the browser (`npm run bench:map`): same server set-up as the end-to-end tests.
import { defineConfig } from '@playwright/test';
import base from './playwright.config';

export default defineConfig({ ...base, testDir: './bench', testMatch: /.*\.bench\.ts/, timeout: 900_000 });
