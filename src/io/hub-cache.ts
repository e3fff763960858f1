// Models and datasets by Hugging Face id (`org/name`, `org/name@revision`), from the local hub cache
// as huggingface_hub lays it out: <cache>/models--org--name/refs/<revision> holds a commit hash, and
// <cache>/models--org--name/snapshots/<commit>/ the repository's files (datasets--org--name/… for
// datasets). The cache is HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. An existing
// local path always wins over an id reading of the same text. What the cache lacks is downloaded into
// it by @huggingface/hub's snapshotDownload (the same layout), unless HF_HUB_OFFLINE=1.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export type RepoKind = 'model' | 'dataset';

/** The hub cache folder the environment names. */
export function hubCacheDir(env: Record<string, string | undefined> = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  return join(env.HF_HOME || join(homedir(), '.cache', 'huggingface'), 'hub');
}

/** `org/name` or `org/name@revision` as a repository id and revision (default main), or null when the text is not one. */
export function parseRepoId(text: string): { repo: string; revision: string } | null {
  const m = /^([A-Za-z0-9][\w.-]*\/[\w.-]+)(?:@([\w./-]+))?$/.exec(text);
  if (!m || m[1].endsWith('.jsonl') || m[1].endsWith('.parquet') || m[1].endsWith('.json')) return null;
  return { repo: m[1], revision: m[2] ?? 'main' };
}

/** The snapshot folder of `repo` at `revision` in the cache; an error naming the path looked at when it is not there. */
export function snapshotInCache(kind: RepoKind, repo: string, revision: string, cache = hubCacheDir()): string {
  const root = join(cache, `${kind}s--${repo.replace(/\//g, '--')}`);
  const fetch = `${kind === 'dataset' ? 'huggingface-cli download --repo-type dataset' : 'huggingface-cli download'} ${repo}${revision !== 'main' ? ` --revision ${revision}` : ''}`;
  if (!existsSync(root)) {
    throw new Error(`${kind} '${repo}' is not in the Hugging Face cache: no ${root} (the cache is HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub); fetch it with \`${fetch}\` where the network allows`);
  }
  let commit = revision;
  if (!/^[0-9a-f]{40}$/.test(revision)) {
    const ref = join(root, 'refs', revision);
    if (!existsSync(ref)) throw new Error(`${kind} '${repo}': revision '${revision}' is not in the cache (no ${ref}); fetch it with \`${fetch}\``);
    commit = readFileSync(ref, 'utf8').trim();
  }
  const snapshot = join(root, 'snapshots', commit);
  if (!existsSync(snapshot) || !statSync(snapshot).isDirectory()) {
    throw new Error(`${kind} '${repo}@${revision}': commit ${commit} has no snapshot in the cache (no ${snapshot}); fetch it with \`${fetch}\``);
  }
  return snapshot;
}

/**
 * A --model / --data value as a local path: the path itself when it exists (or when it is not an
 * `org/name` id), else the cached snapshot of that id.
 */
export function resolveHubPath(text: string, kind: RepoKind, env: Record<string, string | undefined> = process.env): string {
  if (!text || existsSync(text)) return text;
  const id = parseRepoId(text);
  if (!id) return text;
  return snapshotInCache(kind, id.repo, id.revision, hubCacheDir(env));
}

/**
 * resolveHubPath, downloading a repository the cache lacks into it first (HF_TOKEN for gated ones),
 * unless HF_HUB_OFFLINE=1. A failed download is an error naming the cache path looked at.
 */
export async function fetchHubPath(text: string, kind: RepoKind, env: Record<string, string | undefined> = process.env): Promise<string> {
  try {
    return resolveHubPath(text, kind, env);
  } catch (notCached) {
    const id = parseRepoId(text)!;
    if (env.HF_HUB_OFFLINE === '1' || env.HF_HUB_OFFLINE === 'true') throw new Error(`${(notCached as Error).message} (HF_HUB_OFFLINE is set: nothing is downloaded)`);
    process.stderr.write(`${kind} ${id.repo}@${id.revision}: not in ${hubCacheDir(env)}, downloading…\n`);
    try {
      const { snapshotDownload } = await import('@huggingface/hub');
      return await snapshotDownload({
        repo: { type: kind, name: id.repo }, revision: id.revision, cacheDir: hubCacheDir(env),
        ...(env.HF_TOKEN ? { accessToken: env.HF_TOKEN } : {}),
      });
    } catch (e) {
      throw new Error(`${(notCached as Error).message}; downloading it failed too: ${(e as Error).message}`);
    }
  }
}
