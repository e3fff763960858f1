// The JSONL files relpo generate and relpo judge append to as they go, so that a stopped run
// resumes where it was: the ids already written.
import { existsSync, readFileSync } from 'node:fs';

/** The parsed lines of a JSONL file we wrote, each checked to have an `id`; [] when it does not exist. */
export function readJsonlLines<T extends { id: unknown }>(path: string): T[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n');
  const out: T[] = [];
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    let v: T;
    try {
      v = JSON.parse(line) as T;
    } catch {
      throw new Error(`${path}:${i + 1}: not a JSON line (a run stopped while writing it?): remove the line and run again to redo it`);
    }
    if (v === null || typeof v !== 'object' || !('id' in v)) throw new Error(`${path}:${i + 1}: a line without an "id"; is this a file relpo wrote?`);
    out.push(v);
  }
  return out;
}

/** The ids of the lines of a JSONL file we wrote. */
export function readJsonlIds(path: string): Set<number> {
  return new Set(readJsonlLines<{ id: number }>(path).map((x) => x.id));
}
