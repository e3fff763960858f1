// Tests in a real browser: headless Chromium (Debian's /usr/bin/chromium, or RELPO_CHROMIUM) driven
// by puppeteer-core, with WebGPU on its software Vulkan (SwiftShader), loading the browser bundle
// dist/browser/relpo.js from a small static server over the repository.
//
// Use, one browser per test file (top-level await):
//
//   const browser = await openBrowser(test);   // closed by test.after.always
//   browser.test(`title${browser.note}`, async (t) => {
//     if (!browser.page) return t.fail(browser.missing!);          // only when RELPO_REQUIRE_BROWSER=1
//     const out = await runInPage<number[]>(browser.page, `
//       import * as r from '/dist/browser/relpo.js';
//       export default async () => { … return plainJsonValue; };`);
//   });
//
// runInPage serves the module source from the server (so '/…' imports resolve against the
// repository root) and returns what its default export resolves to, through JSON. A thrown error,
// an uncaught page error or a console error fails it, with all of those in the message (not the
// browser's "Failed to load resource" notes: a fetch of an absent file may be expected).
// browser.test is test.serial, or test.serial.skip (the reason in browser.note) when Chromium, the
// bundle or a WebGPU adapter is missing, unless RELPO_REQUIRE_BROWSER=1 (CI), where it fails.
// A page of the repository (an example) opens with `browser.page.goto(`${browser.session!.server.url}/examples/…`)`;
// browser.session.errors collects its page and console errors. startBrowser() gives the same
// session outside ava (a script taking screenshots): { browser, server, page, errors, close() }.
import type { TestFn } from 'ava';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BUNDLE = join(ROOT, 'dist/browser/relpo.js');
export const CHROMIUM = process.env.RELPO_CHROMIUM ?? '/usr/bin/chromium';
/** CI (RELPO_REQUIRE_BROWSER=1) fails the browser tests where they cannot run instead of skipping them. */
export const BROWSER_REQUIRED = process.env.RELPO_REQUIRE_BROWSER === '1';

/** Chromium's WebGPU on Vulkan: SwiftShader where there is no GPU. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=vulkan'];

const TYPES: Record<string, string> = {
  '.js': 'text/javascript', '.mjs': 'text/javascript', '.map': 'application/json', '.json': 'application/json',
  '.html': 'text/html', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.jinja': 'text/plain',
};

/** Serves the repository's files, and module sources registered by runInPage under /__run/. */
export class StaticServer {
  readonly modules = new Map<string, string>();
  private constructor(private readonly server: Server, readonly url: string) {}

  static async start(root = ROOT): Promise<StaticServer> {
    let self: StaticServer | undefined;
    const server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      const mod = self?.modules.get(path);
      if (mod !== undefined) return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(mod);
      const file = normalize(join(root, path));
      if (!file.startsWith(root)) return void res.writeHead(403).end();
      readFile(file).then(
        (body) => res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body),
        () => res.writeHead(404).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new StaticServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return self;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Why the browser tests cannot start here (before launching anything), or null. */
export function browserMissing(): string | null {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (sudo bash scripts/setup-browser.sh, or set RELPO_CHROMIUM)`;
  if (!existsSync(BUNDLE)) return `no browser bundle at ${BUNDLE} (npm run build:browser)`;
  return null;
}

export interface BrowserSession {
  browser: Browser;
  server: StaticServer;
  page: Page;
  /** Page errors and console errors since the page opened; runInPage reports and clears them. */
  errors: string[];
  close(): Promise<void>;
}

const sessions = new WeakMap<Page, BrowserSession>();

/** Launches Chromium with WebGPU and opens a page on the static server; `missing` says why not. */
export async function startBrowser(): Promise<BrowserSession | { missing: string }> {
  const before = browserMissing();
  if (before) return { missing: before };
  const server = await StaticServer.start();
  let browser: Browser;
  try {
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  } catch (e) {
    await server.close();
    return { missing: `Chromium (${CHROMIUM}) did not start: ${(e as Error).message}` };
  }
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`));
  // A failed fetch logs "Failed to load resource" (urlSource.has asks for files that may be absent):
  // not an error of the page; a load that matters fails the module instead.
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console error: ${m.text()}`); });
  const session: BrowserSession = { browser, server, page, errors, close: async () => { await browser.close(); await server.close(); } };
  await page.goto(`${server.url}/test/helpers/browser-page.html`);
  const adapter = await page.evaluate(async () => {
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    const a = gpu ? await gpu.requestAdapter() : null;
    return a ? `${a.info.vendor} ${a.info.architecture}` : null;
  });
  if (!adapter) {
    await session.close();
    return { missing: `Chromium (${CHROMIUM}) has no WebGPU adapter with ${CHROMIUM_ARGS.join(' ')}` };
  }
  sessions.set(page, session);
  return session;
}

/** Runs an ES module's default export in the page; its result comes back through JSON. */
export async function runInPage<T>(page: Page, moduleSource: string): Promise<T> {
  const session = sessions.get(page);
  if (!session) throw new Error('runInPage: a page from startBrowser/openBrowser is needed');
  const path = `/__run/${session.server.modules.size}.js`;
  session.server.modules.set(path, moduleSource);
  session.errors.length = 0;
  let out: { ok: true; json: string } | { ok: false; error: string };
  try {
    out = await page.evaluate(async (url: string) => {
      try {
        const mod = (await import(url)) as { default?: () => unknown };
        if (typeof mod.default !== 'function') return { ok: false as const, error: `${url} has no default export function` };
        return { ok: true as const, json: JSON.stringify((await mod.default()) ?? null) };
      } catch (e) {
        return { ok: false as const, error: e instanceof Error ? e.stack ?? e.message : String(e) };
      }
    }, path);
  } catch (e) {
    out = { ok: false, error: `page.evaluate: ${(e as Error).message}` };
  }
  const errors = session.errors.splice(0);
  if (!out.ok || errors.length > 0) throw new Error([out.ok ? 'the page reported errors' : out.error, ...errors].join('\n'));
  return JSON.parse(out.json) as T;
}

export interface BrowserForTests {
  /** test.serial, or test.serial.skip when the browser cannot run and RELPO_REQUIRE_BROWSER is not set. */
  test: TestFn['serial'];
  /** ' (skipped: reason)' to append to test titles when skipped, else ''. */
  note: string;
  /** Why there is no page (then a test under RELPO_REQUIRE_BROWSER=1 must fail with it). */
  missing: string | null;
  page: Page | null;
  session: BrowserSession | null;
}

/** One browser for a test file: started now, closed after its tests. */
export async function openBrowser(test: TestFn): Promise<BrowserForTests> {
  const started = await startBrowser();
  const missing = 'missing' in started ? started.missing : null;
  const session = 'missing' in started ? null : started;
  if (session) test.after.always(() => session.close());
  return {
    test: missing && !BROWSER_REQUIRED ? (test.serial.skip as unknown as TestFn['serial']) : test.serial,
    note: missing ? ` (skipped: ${missing})` : '',
    missing: missing && `RELPO_REQUIRE_BROWSER=1, but ${missing}`,
    page: session?.page ?? null,
    session,
  };
}
