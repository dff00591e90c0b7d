/**
 * Debian's Chromium driven by playwright-core, for tests of pages. No browser download: CI installs the
 * `chromium` package (.ci/run), and a missing browser fails the test rather than skipping it.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { chromium, type Browser } from 'playwright-core';

export const ARTIFACTS_DIR = new URL('../../test-artifacts/', import.meta.url);

export async function launchChromium(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium not found at ${executablePath}: install Debian's chromium package (see .ci/run) or set CHROMIUM_PATH`,
    );
  }
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  return chromium.launch({
    executablePath,
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
  });
}
