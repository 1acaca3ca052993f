/**
 * What every dashboard test in a real browser needs: the dashboard built as `npm run build`
 * builds it, a headless Debian Chromium as the CI machine runs it, and a signed-in page.
 */
import { mkdtemp } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';

export const chromiumPath = '/usr/bin/chromium';
/** Browser suites skip where the machine has no Chromium. */
export const hasChromium = existsSync(chromiumPath);
export const screenshots = fileURLToPath(new URL('../../test-output/dashboard/', import.meta.url));

const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

/** The same Vite build `npm run build` runs, into a fresh directory the caller removes. */
export async function buildDashboard(prefix: string): Promise<string> {
  const built = await mkdtemp(join(tmpdir(), prefix));
  await build({
    configFile: fileURLToPath(new URL('../../src/dashboard/vite.config.ts', import.meta.url)),
    build: { outDir: built, emptyOutDir: true },
    logLevel: 'error',
  });
  return built;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, args });
}

/** A browser with a profile of its own; the profile's directory goes to `profiles` for removal. */
export async function openBrowser(profiles: string[]): Promise<BrowserContext> {
  const profile = await mkdtemp(join(tmpdir(), 'tidemark-chromium-'));
  profiles.push(profile);
  return chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args,
    viewport: { width: 1280, height: 900 },
  });
}

/** Signs in with `token` and waits until the header names the role `who` expects. */
export async function signIn(
  page: Page,
  base: string,
  token: string,
  who: string | RegExp = /\((viewer|operator)\)/,
): Promise<void> {
  await page.goto(`${base}/`);
  await page.getByTestId('token').fill(token);
  await page.getByTestId('sign-in').click();
  await page.getByTestId('who').getByText(who).waitFor({ timeout: 15_000 });
}
