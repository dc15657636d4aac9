import { defineConfig } from '@playwright/test';

/**
 * Playwright journeys for Vitrina.
 *
 * The server is started (and seeded with the demo catalog) by whoever runs
 * the tests -- `cargo leptos end-to-end` or the CI script -- so there is no
 * `webServer` block here. Point the tests elsewhere with BASE_URL.
 *
 * The browser is Debian's Chromium (`apt-get install -y chromium`);
 * `npx playwright install` (a download) is not used. Override with CHROMIUM_PATH.
 */
export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: 1,
  reporter: 'list',
  use: {
    baseURL: process.env.BASE_URL || 'http://127.0.0.1:3000',
    trace: 'retain-on-failure',
    // the journeys read English: the browser asks for it, and the shop's first-visit rule sends it to /en/…
    locale: 'en-US',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [
    {
      name: 'chromium',
      use: { browserName: 'chromium' },
    },
  ],
});
