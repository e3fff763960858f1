// What an adapter is, from its GPUAdapterInfo: a name for messages, and whether it is a software
// rasterizer (lavapipe/llvmpipe, SwiftShader) that runs kernels on the CPU. Kernels may tune for
// that: a CPU gains nothing from register blocking that a GPU needs, and its shader compiler
// (LLVM) takes seconds per large unrolled shader.

/** The adapter's vendor, architecture, device and description, deduplicated, in one line. */
export function adapterName(info: GPUAdapterInfo): string {
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((s) => s && s.length > 0);
  return [...new Set(parts)].join(' ') || 'unknown adapter';
}

/** Whether the adapter is a software rasterizer running on the CPU. */
export function isSoftwareAdapter(info: GPUAdapterInfo): boolean {
  return /llvmpipe|lavapipe|swiftshader|software/i.test(adapterName(info));
}
