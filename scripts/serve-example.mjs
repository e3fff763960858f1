// npm run serve:example: serves the repository root over HTTP (the page imports /dist/browser/relpo.js
// and fetches its model from examples/browser/tiny-model/) and prints the example's URL.
// node scripts/serve-example.mjs [--port N] (default 8080; 0: any free port). Only 127.0.0.1 listens.
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json; charset=utf-8', '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.jinja': 'text/plain; charset=utf-8', '.txt': 'text/plain; charset=utf-8',
  '.safetensors': 'application/octet-stream', '.wasm': 'application/wasm',
};

const portFlag = process.argv.indexOf('--port');
const port = portFlag >= 0 ? Number(process.argv[portFlag + 1]) : Number(process.env.PORT ?? 8080);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`serve-example: --port must be an integer in [0, 65535], got '${process.argv[portFlag + 1] ?? process.env.PORT}'`);
  process.exit(2);
}
if (!existsSync(join(root, 'dist/browser/relpo.js'))) console.warn('serve-example: dist/browser/relpo.js is missing: run npm run build:browser (npm run serve:example does)');

const server = createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
  if (path === '/') return void res.writeHead(302, { location: '/examples/browser/' }).end();
  let file = normalize(join(root, path));
  if (file !== root.slice(0, -1) && !file.startsWith(root)) return void res.writeHead(403).end('outside the repository');
  try {
    if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`no such file: ${path}`);
  }
});
server.on('error', (e) => {
  console.error(`serve-example: cannot listen on 127.0.0.1:${port}: ${e.message}${e.code === 'EADDRINUSE' ? ' (try --port 0, or another port)' : ''}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  console.log(`relpo example: http://localhost:${server.address().port}/examples/browser/  (Ctrl-C stops)`);
});
