// Timing kernels on a WebGPU device: warm-up, then batches of launches between syncs, medians.
import * as r from '../src/index.js';
import type { WebGPUDevice } from '../src/device/webgpu/webgpu-device.js';

export interface Timing {
  /** Median milliseconds per launch. */
  medianMs: number;
  minMs: number;
  samples: number;
}

export interface TimeOptions {
  /** Batches timed; the median is over these. */
  reps?: number;
  /** Launches queued per batch, so that per-submit overhead is amortised on fast devices. */
  inner?: number;
  /** Stop early when the total time spent passes this many ms (slow devices). */
  budgetMs?: number;
}

/**
 * Times `launch` (which queues one kernel and returns its outputs). Warm-up runs as many launches
 * as a timed batch: the buffer pool reuses a freed buffer only after the next submit, so the first
 * pass over a new size allocates fresh buffers and would otherwise be timed.
 */
export async function timeLaunch(device: WebGPUDevice, launch: () => r.Tensor | r.Tensor[], opts: TimeOptions = {}): Promise<Timing> {
  const { reps = 7, budgetMs = 20_000 } = opts;
  let inner = opts.inner ?? 0;
  const batch = async (n: number) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) r.tidy(() => void launch());
    await device.sync();
    return (performance.now() - t0) / n;
  };
  const first = await batch(1);
  if (!inner) inner = Math.max(1, Math.min(50, Math.floor(50 / Math.max(first, 1e-3))));
  await batch(inner);
  const samples: number[] = [];
  const start = performance.now();
  for (let i = 0; i < reps; i++) {
    samples.push(await batch(inner));
    if (performance.now() - start > budgetMs) break;
  }
  samples.sort((a, b) => a - b);
  return { medianMs: samples[Math.floor(samples.length / 2)], minMs: samples[0], samples: samples.length };
}

/** A file-name-safe name for the adapter. */
export function adapterSlug(description: string): string {
  return description.replace(/^webgpu:\s*/, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}
