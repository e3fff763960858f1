// Bind group layouts read off a kernel's WGSL, and a cache of bind groups by the buffers they bind.
//
// Kernels declare `@group(0) @binding(0) var<storage, read> params: array<u32>` and then their
// inputs and outputs as storage buffers at bindings 1, 2, ... The device moves `params` to group 1
// (a dynamic offset into the params ring, params-ring.ts), so group 0 holds only tensors' buffers.
// In a training step or a benchmark loop the same ops run on buffers the pool hands out again in
// the same order, so most launches find their group-0 bind group already made: creating one costs
// 20-50 µs of host time in Dawn's Node binding, a lookup well under 1 µs.

/** The storage buffers a shader declares in group 0, in binding order: true for read_write. */
export function storageBindings(code: string): boolean[] {
  const writable: boolean[] = [];
  const decl = /@group\(0\)\s*@binding\((\d+)\)\s*var<storage,\s*(read|read_write)>/g;
  for (let m = decl.exec(code); m; m = decl.exec(code)) writable[Number(m[1])] = m[2] === 'read_write';
  for (let i = 0; i < writable.length; i++) {
    if (writable[i] === undefined) throw new Error(`WGSL declares group 0 bindings up to ${writable.length - 1} but not binding ${i}`);
  }
  return writable;
}

const PARAMS_DECL = /@group\(0\)\s*@binding\(0\)\s*var<storage,\s*read>\s*params\s*:/;

/** The shader with its `params` declaration moved to group 1, binding 0; throws if it has none. */
export function moveParamsToGroup1(code: string, name: string): string {
  if (!PARAMS_DECL.test(code)) throw new Error(`kernel '${name}' was given params but its WGSL does not declare @group(0) @binding(0) var<storage, read> params`);
  return code.replace(PARAMS_DECL, '@group(1) @binding(0) var<storage, read> params:');
}

/**
 * Group-0 layouts by signature ('r' or 'w' per binding), shared by every pipeline with that
 * signature, so that their bind groups are shared too.
 */
export class LayoutCache {
  private layouts = new Map<string, GPUBindGroupLayout>();
  readonly paramsLayout: GPUBindGroupLayout;

  constructor(private readonly device: GPUDevice) {
    this.paramsLayout = device.createBindGroupLayout({
      label: 'relpo params',
      entries: [{ binding: 0, visibility: 0x4 /* COMPUTE */, buffer: { type: 'read-only-storage', hasDynamicOffset: true } }],
    });
  }

  /** The layout for these bindings ('w' marks read_write), numbered from `first`. */
  layout(signature: string, first: number): GPUBindGroupLayout {
    const key = `${first}:${signature}`;
    let layout = this.layouts.get(key);
    if (!layout) {
      layout = this.device.createBindGroupLayout({
        label: `relpo ${key}`,
        entries: [...signature].map((c, i) => ({
          binding: first + i,
          visibility: 0x4 /* COMPUTE */,
          buffer: { type: c === 'w' ? ('storage' as const) : ('read-only-storage' as const) },
        })),
      });
      this.layouts.set(key, layout);
    }
    return layout;
  }
}

/** Bind groups by (layout, buffers). Clear it whenever a buffer it may hold is destroyed. */
export class BindGroupCache {
  private groups = new Map<string, GPUBindGroup>();
  private ids = new WeakMap<GPUBuffer, number>();
  private nextId = 1;
  hits = 0;
  misses = 0;

  /** Bounded: past this many entries the cache starts over (the pool's buffers cycle through far fewer). */
  constructor(private readonly device: GPUDevice, private readonly maxEntries = 8192) {}

  private id(buffer: GPUBuffer): number {
    let id = this.ids.get(buffer);
    if (id === undefined) this.ids.set(buffer, (id = this.nextId++));
    return id;
  }

  get(layoutKey: string, layout: GPUBindGroupLayout, first: number, buffers: GPUBuffer[]): GPUBindGroup {
    let key = layoutKey;
    for (const b of buffers) key += `,${this.id(b)}`;
    let group = this.groups.get(key);
    if (group) {
      this.hits++;
      return group;
    }
    this.misses++;
    if (this.groups.size >= this.maxEntries) this.groups.clear();
    group = this.device.createBindGroup({ layout, entries: buffers.map((buffer, i) => ({ binding: first + i, resource: { buffer } })) });
    this.groups.set(key, group);
    return group;
  }

  clear(): void {
    this.groups.clear();
  }
}
