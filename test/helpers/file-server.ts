// A folder served over HTTP on 127.0.0.1 (a web server or hub mirror, for urlSource), with the
// requests it had, so a test can see what a loader fetched. Range requests ("bytes=a-b") are
// answered 206 with Content-Range unless `ranges` is false (a server that ignores them: 200, the
// whole file).
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface FileServer {
  /** The folder's URL, ending in '/'. */
  url: string;
  /** "METHOD /path" of every request, in order, with " bytes=a-b" for a range. */
  requests: string[];
  /** Bytes sent in response bodies. */
  sent: () => number;
  close(): Promise<void>;
}

export async function serveFolder(dir: string, { ranges = true } = {}): Promise<FileServer> {
  const requests: string[] = [];
  let sent = 0;
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const range = ranges ? /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '') : null;
    requests.push(`${req.method} ${path}${req.headers.range ? ` ${req.headers.range}` : ''}`);
    readFile(join(dir, path)).then(
      (file) => {
        const [begin, end] = range ? [Number(range[1]), Math.min(Number(range[2]) + 1, file.length)] : [0, file.length];
        const body = file.subarray(begin, end);
        res.writeHead(range ? 206 : 200, { 'content-length': body.length, ...(range ? { 'content-range': `bytes ${begin}-${end - 1}/${file.length}` } : {}) });
        if (req.method !== 'HEAD') sent += body.length;
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      () => {
        res.writeHead(404);
        res.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/`, requests, sent: () => sent, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
