// `node dist/bench/probe-subgroup-matrix.js`: what Dawn's experimental subgroup matrices (cooperative
// matrices: tensor cores on NVIDIA) offer on this adapter, before any of it becomes a matmul rung.
// Prints the adapter's subgroup-matrix configurations, then, for each configuration this probe can
// feed (f32 inputs; f16 inputs where the adapter also has shader-f16), compiles a plain kernel (each
// subgroup accumulates a TR×TC block of result tiles, loading its tiles straight from the storage
// buffers), checks it against a float64 product of the same (rounded) inputs, and times it with
// timestamp queries at the bench's TinyLlama up-projection and 4096³. Writes
// bench/results/<adapter>-subgroup-matrix-probe.md. Needs Dawn's allow_unsafe_apis.
import { mkdirSync, writeFileSync } from 'node:fs';
import { adapterSlug, randnHost } from './harness.js';
import { describeAdapter } from '../src/device/webgpu/create.js';

interface Config { componentType: string; resultComponentType: string; M: number; N: number; K: number }
// Dawn's globals (GPUBufferUsage, ...) and the experimental names are not in @webgpu/types.
/* eslint-disable @typescript-eslint/no-explicit-any */
const lines: string[] = [];
const say = (s: string) => {
  lines.push(s);
  process.stdout.write(s + '\n');
};

const dawn = await import('webgpu');
Object.assign(globalThis, dawn.globals);
const gpu = dawn.create(['enable-dawn-features=allow_unsafe_apis', 'disable-dawn-features=timestamp_quantization']);
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) {
  say('no adapter');
  process.exit(1);
}
const info = adapter.info as any;
const description = describeAdapter(adapter.info);
say(`# Subgroup-matrix probe: ${description}`);
say('');
say(`${new Date().toISOString()}. Features: ${[...adapter.features].sort().join(' ')}.`);
say(`Subgroup sizes: ${info.subgroupMinSize}-${info.subgroupMaxSize}.`);
const configs: Config[] = [...(info.subgroupMatrixConfigs ?? [])].map((c: any) => ({ componentType: c.componentType, resultComponentType: c.resultComponentType, M: Number(c.M), N: Number(c.N), K: Number(c.K) }));
say(`Configurations (component → result, M×N×K): ${configs.map((c) => `${c.componentType}→${c.resultComponentType} ${c.M}×${c.N}×${c.K}`).join(', ') || 'none reported'}.`);
say('');
if (!adapter.features.has('chromium-experimental-subgroup-matrix' as GPUFeatureName)) {
  say('No chromium-experimental-subgroup-matrix feature: nothing to probe.');
  finish();
}
const hasF16 = adapter.features.has('shader-f16');
const features = ['chromium-experimental-subgroup-matrix', 'subgroups', 'timestamp-query', ...(hasF16 ? ['shader-f16'] : [])] as GPUFeatureName[];
const device = await adapter.requestDevice({
  requiredFeatures: features,
  requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize },
});

/** f32 → IEEE half bits (round to nearest even), for f16 inputs. */
function toHalfBits(x: number): number {
  const f = new Float32Array([x]), u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000, exp = ((u >>> 23) & 0xff) - 127 + 15, mant = u & 0x7fffff;
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) return sign | Math.round((mant | 0x800000) / 2 ** (14 - exp));
  const h = sign | (exp << 10) | (mant >>> 13), rest = mant & 0x1fff;
  return rest > 0x1000 || (rest === 0x1000 && (h & 1)) ? h + 1 : h;
}
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >>> 10) & 0x1f, m = h & 0x3ff;
  return e === 0 ? s * m * 2 ** -24 : e === 31 ? s * Infinity : s * (1 + m / 1024) * 2 ** (e - 15);
}

/** The kernel: 4 subgroups of 32 (2×2), each accumulating TR×TC result tiles of cfg.M×cfg.N. */
function source(cfg: Config, TR: number, TC: number, subgroupIdBuiltin: boolean): string {
  const T = cfg.componentType;
  const accs: string[] = [], body: string[] = [], stores: string[] = [];
  for (let i = 0; i < TR; i++) body.push(`let l${i} = subgroupMatrixLoad<L>(&a, (row0 + ${i * cfg.M}u) * K + k, false, K);`);
  for (let j = 0; j < TC; j++) body.push(`let r${j} = subgroupMatrixLoad<R>(&b, k * N + col0 + ${j * cfg.N}u, false, N);`);
  for (let i = 0; i < TR; i++) {
    for (let j = 0; j < TC; j++) {
      accs.push(`var acc${i}_${j} = A();`);
      body.push(`acc${i}_${j} = subgroupMatrixMultiplyAccumulate(l${i}, r${j}, acc${i}_${j});`);
      stores.push(`subgroupMatrixStore(&c, (row0 + ${i * cfg.M}u) * N + col0 + ${j * cfg.N}u, acc${i}_${j}, false, N);`);
    }
  }
  return `enable chromium_experimental_subgroup_matrix;
${T === 'f16' ? 'enable f16;' : ''}
diagnostic(off, chromium_experimental.subgroup_matrix_uniformity);
@group(0) @binding(0) var<storage, read> a: array<${T}>;
@group(0) @binding(1) var<storage, read> b: array<${T}>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> dims: vec4u;
alias L = subgroup_matrix_left<${T}, ${cfg.K}, ${cfg.M}>;
alias R = subgroup_matrix_right<${T}, ${cfg.N}, ${cfg.K}>;
alias A = subgroup_matrix_result<f32, ${cfg.N}, ${cfg.M}>;
@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3u, ${subgroupIdBuiltin ? '@builtin(subgroup_id) sg: u32' : '@builtin(local_invocation_index) li: u32'}) {
  ${subgroupIdBuiltin ? '' : 'let sg = li / 32u;'}
  let M = dims.x; let N = dims.y; let K = dims.z;
  let row0 = wid.y * ${2 * TR * cfg.M}u + (sg / 2u) * ${TR * cfg.M}u;
  let col0 = wid.x * ${2 * TC * cfg.N}u + (sg % 2u) * ${TC * cfg.N}u;
  ${accs.join(' ')}
  for (var k = 0u; k < K; k += ${cfg.K}u) {
    ${body.join('\n    ')}
  }
  ${stores.join('\n  ')}
}`;
}

function upload(data: ArrayBufferView, usage: number): GPUBuffer {
  const buf = device.createBuffer({ size: Math.ceil(data.byteLength / 4) * 4, usage: usage | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
  return buf;
}

async function run(code: string, cfg: Config, TR: number, TC: number, M: number, K: number, N: number, reps: number, check: boolean): Promise<{ ms: number; err?: number }> {
  const ha = randnHost(M * K, 1), hb = randnHost(K * N, 2);
  const f16 = cfg.componentType === 'f16';
  const ra = f16 ? Uint16Array.from(ha, toHalfBits) : ha, rb = f16 ? Uint16Array.from(hb, toHalfBits) : hb;
  const a = upload(ra, GPUBufferUsage.STORAGE), b = upload(rb, GPUBufferUsage.STORAGE);
  const c = device.createBuffer({ size: 4 * M * N, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const dims = upload(new Uint32Array([M, N, K, 0]), GPUBufferUsage.UNIFORM);
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code });
  const msgs = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}:${m.linePos} ${m.message}`);
  if (msgs.length) throw new Error(`compile: ${msgs.join('; ').slice(0, 400)}`);
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const group = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [a, b, c, dims].map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const pipeErr = await device.popErrorScope();
  if (pipeErr) throw new Error(`pipeline: ${pipeErr.message.slice(0, 400)}`);
  const grid = [N / (2 * TC * cfg.N), M / (2 * TR * cfg.M)];
  const query = device.createQuerySet({ type: 'timestamp', count: 2 });
  const stamps = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const readStamps = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encode = (n: number, timed: boolean) => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass(timed ? { timestampWrites: { querySet: query, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {});
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    for (let i = 0; i < n; i++) pass.dispatchWorkgroups(grid[0], grid[1]);
    pass.end();
    if (timed) {
      enc.resolveQuerySet(query, 0, 2, stamps, 0);
      enc.copyBufferToBuffer(stamps, 0, readStamps, 0, 16);
    }
    device.queue.submit([enc.finish()]);
  };
  let err: number | undefined;
  if (check) {
    encode(1, false);
    const out = device.createBuffer({ size: 4 * M * N, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(c, 0, out, 0, 4 * M * N);
    device.queue.submit([enc.finish()]);
    await out.mapAsync(GPUMapMode.READ);
    const got = new Float32Array(out.getMappedRange().slice(0));
    out.destroy();
    // float64 reference on the inputs as the kernel saw them (f16-rounded for f16).
    const va = f16 ? Float64Array.from(ra as Uint16Array, halfToFloat) : Float64Array.from(ha);
    const vb = f16 ? Float64Array.from(rb as Uint16Array, halfToFloat) : Float64Array.from(hb);
    let maxDiff = 0, maxRef = 0;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += va[i * K + k] * vb[k * N + j];
        maxDiff = Math.max(maxDiff, Math.abs(got[i * N + j] - s));
        maxRef = Math.max(maxRef, Math.abs(s));
      }
    }
    err = maxDiff / maxRef;
  }
  encode(reps, false);
  encode(reps, true);
  await readStamps.mapAsync(GPUMapMode.READ);
  const t = new BigUint64Array(readStamps.getMappedRange().slice(0));
  const ms = Number(t[1] - t[0]) / 1e6 / reps;
  readStamps.unmap();
  for (const x of [a, b, c, dims, stamps, readStamps]) x.destroy();
  query.destroy();
  return { ms, err };
}

say('| configuration | subgroup tiles | subgroup id | check 128×256×192: max err / max ref | TinyLlama up 512×2048×5632 GPU ms (TFLOP/s) | 4096³ GPU ms (TFLOP/s) |');
say('| --- | --- | --- | ---: | ---: | ---: |');
const fmt = (ms: number, flops: number) => `${ms.toFixed(3)} (${(flops / ms / 1e9).toFixed(1)})`;
for (const cfg of configs) {
  if (cfg.resultComponentType !== 'f32' || !(cfg.componentType === 'f32' || (cfg.componentType === 'f16' && hasF16))) {
    say(`| ${cfg.componentType}→${cfg.resultComponentType} ${cfg.M}×${cfg.N}×${cfg.K} | | | not probed (${cfg.componentType === 'f16' ? 'no shader-f16 on this adapter' : 'not f32/f16 inputs with f32 results'}) | | |`);
    continue;
  }
  for (const [TR, TC] of [[2, 2], [4, 2], [4, 4]]) {
    for (const builtin of [true, false]) {
      const label = `| ${cfg.componentType}→f32 ${cfg.M}×${cfg.N}×${cfg.K} | ${TR}×${TC} | ${builtin ? 'subgroup_id' : 'index / 32'} |`;
      // Every probed shape must be whole workgroup blocks (2TR·M × 2TC·N) and whole K steps.
      const fits = [[128, 192, 256], [512, 2048, 5632], [4096, 4096, 4096]].every(([m, k, n]) => m % (2 * TR * cfg.M) === 0 && n % (2 * TC * cfg.N) === 0 && k % cfg.K === 0);
      if (!fits) {
        say(`${label} shapes are not whole blocks | | |`);
        continue;
      }
      try {
        const code = source(cfg, TR, TC, builtin);
        const small = await run(code, cfg, TR, TC, 128, 192, 256, 1, true);
        const tl = await run(code, cfg, TR, TC, 512, 2048, 5632, 20, false);
        const big = await run(code, cfg, TR, TC, 4096, 4096, 4096, 10, false);
        say(`${label} ${small.err!.toExponential(1)} | ${fmt(tl.ms, 2 * 512 * 2048 * 5632)} | ${fmt(big.ms, 2 * 4096 ** 3)} |`);
      } catch (e) {
        say(`${label} failed: ${(e instanceof Error ? e.message : String(e)).replace(/\n/g, ' ').replace(/\|/g, '/')} | | |`);
      }
    }
  }
}
finish();

function finish(): never {
  const dir = new URL('../../bench/results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL(`${adapterSlug(description)}-subgroup-matrix-probe.md`, dir), lines.join('\n') + '\n');
  process.exit(0);
}
