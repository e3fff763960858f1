// node:url in the browser build: fileURLToPath gives a URL's path (only module-relative paths of
// Node-only files, such as the MPI addon's, are computed with it at load time).

export function fileURLToPath(url: string | URL): string {
  return decodeURIComponent(new URL(url).pathname);
}
