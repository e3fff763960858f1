// The import graph of a TypeScript source tree, and what the layering test asks of it: cycles
// between files, cycles between sibling folders, and imports from a higher layer into a lower one.
// Edges are the relative specifiers of `import … from`, `export … from`, bare `import '…'` and
// `import('…')` (packages are not edges). Type-only imports count: they vanish from the compiled
// JavaScript, but a module that names a higher module's types cannot be read, compiled or moved
// without it (docs/architecture.md, Layers).
import { readFileSync, readdirSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';

export interface ImportEdge {
  /** The imported file, relative to the tree's root ('kernels/copy/op.ts'). */
  to: string;
  /** Only `import type` / `export type` (no runtime edge). */
  typeOnly: boolean;
}

/** File (relative to the root, '/'-separated) → the files it imports. */
export type ImportGraph = Map<string, ImportEdge[]>;

const STATIC = /^[ \t]*(import|export)\s+(type\s+)?(?:[^;'"]*?\sfrom\s*)?['"](\.[^'"]*)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"](\.[^'"]*)['"]\s*\)/g;

/** The edges of one source text, with specifiers resolved against `file` (relative to the root). */
export function importsOf(file: string, text: string): ImportEdge[] {
  const resolve = (spec: string) => posix.normalize(posix.join(posix.dirname(file), spec)).replace(/\.js$/, '.ts');
  const edges: ImportEdge[] = [];
  for (const m of text.matchAll(STATIC)) edges.push({ to: resolve(m[3]), typeOnly: m[2] !== undefined });
  for (const m of text.matchAll(DYNAMIC)) edges.push({ to: resolve(m[1]), typeOnly: false });
  return edges;
}

/** Every .ts file under `root` (declaration files excepted) with its imports. */
export function readImportGraph(root: string): ImportGraph {
  const graph: ImportGraph = new Map();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const file = relative(root, path).split(sep).join('/');
        graph.set(file, importsOf(file, readFileSync(path, 'utf8')));
      }
    }
  };
  walk(root);
  return graph;
}

/** Imports of files that are not in the graph (a typo, or a file moved without its importers). */
export function danglingImports(graph: ImportGraph): string[] {
  const out: string[] = [];
  for (const [from, edges] of graph) for (const e of edges) if (!graph.has(e.to)) out.push(`${from} → ${e.to}`);
  return out;
}

/**
 * The strongly connected components of more than one node (or a node importing itself), each as
 * its members, sorted; Tarjan's algorithm, iterative.
 */
export function stronglyConnected(nodes: Iterable<string>, next: (n: string) => string[]): string[][] {
  const index = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], onStack = new Set<string>(), out: string[][] = [];
  let counter = 0;
  for (const start of nodes) {
    if (index.has(start)) continue;
    const work: { node: string; succ: string[]; i: number }[] = [];
    const open = (n: string) => {
      index.set(n, counter);
      low.set(n, counter++);
      stack.push(n);
      onStack.add(n);
      work.push({ node: n, succ: next(n), i: 0 });
    };
    open(start);
    while (work.length) {
      const top = work[work.length - 1];
      if (top.i < top.succ.length) {
        const w = top.succ[top.i++];
        if (!index.has(w)) open(w);
        else if (onStack.has(w)) low.set(top.node, Math.min(low.get(top.node)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.node)!));
      }
      if (low.get(top.node) === index.get(top.node)) {
        const members: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          members.push(w);
        } while (w !== top.node);
        if (members.length > 1 || next(top.node).includes(top.node)) out.push(members.sort());
      }
    }
  }
  return out;
}

/** A shortest cycle through `start` inside `members` (breadth-first), as a → b → … → a. */
function cycleThrough(start: string, members: Set<string>, next: (n: string) => string[]): string[] {
  const parent = new Map<string, string>();
  const queue = [start];
  for (let k = 0; k < queue.length; k++) {
    const n = queue[k];
    for (const w of next(n)) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let p: string | undefined = n; p !== undefined && p !== start; p = parent.get(p)) path.splice(1, 0, p);
        return [...path, start];
      }
      if (!parent.has(w)) {
        parent.set(w, n);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/**
 * Each cycle among nodes, as one line: a shortest cycle through the component's first member,
 * followed by the whole component when it holds more than that cycle.
 */
export function describeCycles(nodes: Iterable<string>, next: (n: string) => string[]): string[] {
  return stronglyConnected(nodes, next).map((members) => {
    const cycle = cycleThrough(members[0], new Set(members), next);
    const rest = members.length > cycle.length - 1 ? ` (all of: ${members.join(', ')})` : '';
    return cycle.join(' → ') + rest;
  });
}

/** Cycles between files. */
export function fileCycles(graph: ImportGraph): string[] {
  const next = (f: string) => [...new Set((graph.get(f) ?? []).map((e) => e.to))];
  return describeCycles(graph.keys(), next);
}

/**
 * Cycles between sibling folders (kernels/copy and kernels/reduce; device/cpu and device/webgpu):
 * an import from a file under folder A to a file under its sibling folder B is an edge A → B.
 */
export function folderCycles(graph: ImportGraph): string[] {
  const edges = new Map<string, Set<string>>();
  for (const [from, imports] of graph) {
    const a = from.split('/');
    for (const { to } of imports) {
      const b = to.split('/');
      let i = 0;
      while (i < a.length - 1 && i < b.length - 1 && a[i] === b[i]) i++;
      // Both paths go on past component i: two folders side by side.
      if (i >= a.length - 1 || i >= b.length - 1) continue;
      const fa = a.slice(0, i + 1).join('/') + '/', fb = b.slice(0, i + 1).join('/') + '/';
      if (!edges.has(fa)) edges.set(fa, new Set());
      edges.get(fa)!.add(fb);
    }
  }
  return describeCycles(edges.keys(), (f) => [...(edges.get(f) ?? [])]);
}

/** The layer a file belongs to: its top folder ('kernels'), or its own name for a file at the root ('index'). */
export function layerOf(file: string): string {
  const top = file.split('/')[0];
  return file.includes('/') ? top : top.replace(/\.ts$/, '');
}

/**
 * Imports that reach up: from a file of layer i to a file of layer j > i, in `layers` (lowest
 * first). A file in no layer is reported too.
 */
export function upwardImports(graph: ImportGraph, layers: readonly string[]): string[] {
  const rank = new Map(layers.map((l, i) => [l, i]));
  const out: string[] = [];
  const unplaced = new Set<string>();
  for (const [from, edges] of graph) {
    const lf = layerOf(from);
    if (!rank.has(lf)) unplaced.add(lf);
    for (const e of edges) {
      const lt = layerOf(e.to);
      if (rank.has(lf) && rank.has(lt) && rank.get(lt)! > rank.get(lf)!) {
        out.push(`${from} → ${e.to}${e.typeOnly ? ' (type only)' : ''}: ${lf} is below ${lt}`);
      }
    }
  }
  for (const l of unplaced) out.push(`${l} is in no layer (add it to the layer order and to docs/architecture.md)`);
  return out;
}

/** The folders of src/ in the order docs/architecture.md's Layers block lists them ('src/nn/ …'). */
export function documentedLayers(markdown: string): string[] {
  const section = markdown.split(/^## /m).find((s) => s.startsWith('Layers'));
  if (!section) throw new Error('docs/architecture.md has no "## Layers" section');
  const block = section.split('```')[1] ?? '';
  return [...block.matchAll(/^src\/([\w.-]+)/gm)].map((m) => m[1].replace(/\.ts$/, ''));
}
