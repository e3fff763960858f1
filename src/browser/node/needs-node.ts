// The error a browser build raises where Node's file system (or another Node-only module) is
// needed: it names the function and says what a page uses instead.

export function needsNode(what: string): never {
  throw new Error(`${what} needs Node's file system: in a browser use a FileSource (urlSource/memorySource)`);
}
