import test from 'ava';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as r from '../../src/index.js';
import type { Device, Tensor } from '../../src/index.js';
import { loadSafetensors, readSafetensorsHeader, saveSafetensors, SafetensorsError } from '../../src/io/index.js';
import { cpu, gpuOrSkip, randomValues, values } from '../helpers/devices.js';

/** Written by test/io/golden/make_safetensors_golden.py (torch tensors, header built by hand). */
const GOLDEN = new URL('../../../test/io/golden/mixed.safetensors', import.meta.url).pathname;

const dir = mkdtempSync(join(tmpdir(), 'relpo-safetensors-'));
test.after.always(async () => {
  rmSync(dir, { recursive: true, force: true });
  await r.shutdown();
});
let fileNo = 0;
const tmpFile = (stem: string) => join(dir, `${stem}-${fileNo++}.safetensors`);

/** A safetensors file from a header (object, or raw JSON text) and a data buffer, with no checks. */
function writeRaw(path: string, header: unknown, data: Uint8Array = new Uint8Array(0), headerLength?: number): string {
  const json = header instanceof Uint8Array ? Buffer.from(header) : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerLength ?? json.length));
  writeFileSync(path, Buffer.concat([len, json, data]));
  return path;
}

const f32Bytes = (v: number[]) => new Uint8Array(new Float32Array(v).buffer);
const bitsOf = (v: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(v).buffer));

async function sampleTensors(device: Device): Promise<Record<string, Tensor>> {
  return {
    'model.layers.0.weight': r.tensor(randomValues(15, 1, -3, 3), [3, 5], { device }),
    'model.embed_tokens.weight': r.tensor(randomValues(14, 2), [7, 2], { device }),
    ids: r.tensor([0, -1, 2147483647, -2147483648, 5], [5], { device, dtype: 'int32' }),
    // Integer-like names: a JS object would put them first; the file must still be sorted by name.
    '10': r.tensor([1.5], [], { device }),
    '9': r.tensor([], [0, 4], { device }),
    odd: r.tensor(randomValues(3, 3), [3], { device }), // 12 bytes: later offsets are not 8-aligned
  };
}

async function roundTrip(t: import('ava').ExecutionContext, device: Device) {
  const path = tmpFile(`roundtrip-${device.kind}`);
  const saved = await sampleTensors(device);
  await saveSafetensors(path, saved, { format: 'pt', note: 'é ✓' });
  const header = await readSafetensorsHeader(path);
  t.deepEqual([...header.tensors.keys()], ['10', '9', 'ids', 'model.embed_tokens.weight', 'model.layers.0.weight', 'odd']);
  t.is(header.dataStart % 8, 0, 'header padded to 8 bytes');
  t.deepEqual(header.metadata, { format: 'pt', note: 'é ✓' });
  t.is(header.tensors.get('ids')!.dtype, 'I32');
  t.is(header.tensors.get('odd')!.dtype, 'F32');
  // The raw JSON is sorted too, with __metadata__ first, and padded with spaces.
  const raw = readFileSync(path);
  const json = raw.subarray(8, header.dataStart).toString('utf8');
  t.regex(json, /^\{"__metadata__":\{[^}]*\},"10":.*"odd":\{[^}]*\}\} *$/);
  t.is(header.fileSize, header.dataStart + 4 * (15 + 14 + 5 + 1 + 0 + 3));

  const loaded = await loadSafetensors(path, { device });
  t.deepEqual([...loaded.keys()], [...header.tensors.keys()]);
  for (const [name, x] of Object.entries(saved)) {
    const y = loaded.get(name)!;
    t.is(y.device, device);
    t.deepEqual(y.shape, x.shape, name);
    t.is(y.dtype, x.dtype, name);
    t.is(y.name, name);
    t.deepEqual(await values(y), await values(x), name);
  }
  // Only what is asked for, in the order asked.
  const some = await loadSafetensors(path, { device, names: ['odd', 'ids'] });
  t.deepEqual([...some.keys()], ['odd', 'ids']);
  t.deepEqual(await values(some.get('odd')!), await values(saved.odd));
  for (const m of [loaded, some]) for (const x of m.values()) x.dispose();
  for (const x of Object.values(saved)) x.dispose();
}

test('safetensors: save → load round trip on the cpu device (sorted, padded, metadata, float64 too)', async (t) => {
  await roundTrip(t, cpu);
  // float64 is saved as F64 and loads back exactly as float64, or rounded to float32.
  const path = tmpFile('f64');
  const v = [1 / 3, 1e-300, -2.5, Math.PI];
  const map = new Map([['x', r.tensor(v, [2, 2], { device: cpu, dtype: 'float64' })]]);
  await saveSafetensors(path, map);
  t.is((await readSafetensorsHeader(path)).tensors.get('x')!.dtype, 'F64');
  t.deepEqual(await values((await loadSafetensors(path, { device: cpu, dtype: 'float64' })).get('x')!), v);
  const as32 = (await loadSafetensors(path, { device: cpu })).get('x')!;
  t.is(as32.dtype, 'float32');
  t.deepEqual(await values(as32), Array.from(Float32Array.from(v)));
});

test('safetensors: save → load round trip on webgpu', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return t.pass();
  await roundTrip(t, gpu);
  await t.throwsAsync(loadSafetensors(GOLDEN, { device: gpu, dtype: 'float64', names: ['f64'] }), { message: /webgpu device has no float64/ });
});

test('safetensors: readSafetensorsHeader reads names, dtypes, shapes, offsets and metadata only', async (t) => {
  const h = await readSafetensorsHeader(GOLDEN);
  // In storage order (the script writes the bytes in reverse header order; empty [0, 0] sorts first).
  t.deepEqual([...h.tensors.keys()], ['empty', 'scalar', 'u8', 'i32', 'i64_big', 'i64', 'f64_as_f32', 'f64', 'bf16_as_f32', 'bf16', 'f16_as_f32', 'f16', 'f32']);
  t.deepEqual(h.metadata, { format: 'pt', source: 'make_safetensors_golden.py' });
  t.deepEqual(h.tensors.get('f16'), { dtype: 'F16', shape: [8, 12], dataOffsets: [1151, 1343] });
  t.deepEqual(h.tensors.get('u8'), { dtype: 'U8', shape: [3], dataOffsets: [4, 7] });
  t.deepEqual(h.tensors.get('scalar')!.shape, []);
  t.is(h.dataStart, 8 + h.headerLength);
  t.is(h.dataStart % 8, 0);
  t.is(h.fileSize, h.dataStart + 1439);
  // Only the header is read: a file whose data is unreadable garbage still lists fine.
  const path = writeRaw(tmpFile('garbage'), { w: { dtype: 'U16', shape: [2, 2], data_offsets: [0, 8] } }, new Uint8Array(8).fill(0xff));
  t.deepEqual((await readSafetensorsHeader(path)).tensors.get('w'), { dtype: 'U16', shape: [2, 2], dataOffsets: [0, 8] });
});

test('safetensors: torch-written golden file loads with exact F16/BF16/F64 conversions', async (t) => {
  const m = await loadSafetensors(GOLDEN, { device: cpu, names: ['f32', 'f16', 'f16_as_f32', 'bf16', 'bf16_as_f32', 'f64', 'f64_as_f32', 'i64', 'i32', 'scalar', 'empty'] });
  const get = async (n: string) => values(m.get(n)!);
  const sameBits = (a: number[], b: number[], what: string) => {
    t.is(a.length, b.length);
    // NaN payloads may legitimately differ between converters; every other value must match bit for bit.
    const ab = bitsOf(a.map((x) => (Number.isNaN(x) ? NaN : x)));
    const bb = bitsOf(b.map((x) => (Number.isNaN(x) ? NaN : x)));
    t.deepEqual(ab, bb, what);
  };
  t.deepEqual(m.get('f16')!.shape, [8, 12]);
  t.is(m.get('f16')!.dtype, 'float32');
  sameBits(await get('f16'), await get('f16_as_f32'), 'F16 vs torch .float()');
  sameBits(await get('bf16'), await get('bf16_as_f32'), 'BF16 vs torch .float()');
  sameBits(await get('f64'), await get('f64_as_f32'), 'F64 → float32 rounding vs torch .float()');
  const f16 = await get('f16');
  t.deepEqual(f16.slice(0, 8), [0, -0, 1, -1, 65504, -65504, Infinity, -Infinity]);
  t.true(Number.isNaN(f16[8]));
  t.deepEqual(f16.slice(9, 13), [2 ** -14, 2 ** -24, -(2 ** -24), 1023 * 2 ** -24]);
  t.true(Object.is(f16[1], -0));
  t.deepEqual(await get('i64'), [0, 1, -1, 2147483647, -2147483648, 123456789, -987654321]);
  t.is(m.get('i64')!.dtype, 'int32');
  t.deepEqual(await m.get('i32')!.array(), [[7, -7, 2147483647], [-2147483648, 0, 42]]);
  t.deepEqual(await get('scalar'), [2.75]);
  t.deepEqual(m.get('scalar')!.shape, []);
  t.deepEqual(m.get('empty')!.shape, [0, 3]);
  t.is(m.get('f32')!.size, 24);
  const f64 = await loadSafetensors(GOLDEN, { device: cpu, dtype: 'float64', names: ['f64'] });
  t.deepEqual(await values(f64.get('f64')!), [1 / 3, -2.5, 1e-300, 1e300, 0.1, 123456789.123456789]);
  for (const x of [...m.values(), ...f64.values()]) x.dispose();
});

/** An independent reference: value = (−1)^s · 2^(e−bias) · (1 + f/2^mantBits), subnormal and special cases by the IEEE definitions. */
function halfValue(bits: number, expBits: number, mantBits: number): number {
  const sign = bits >> (expBits + mantBits) ? -1 : 1;
  const e = (bits >> mantBits) & ((1 << expBits) - 1);
  const f = bits & ((1 << mantBits) - 1);
  const bias = (1 << (expBits - 1)) - 1;
  if (e === (1 << expBits) - 1) return f === 0 ? sign * Infinity : NaN;
  if (e === 0) return sign * f * Math.pow(2, 1 - bias - mantBits);
  return sign * Math.pow(2, e - bias) * (1 + f / Math.pow(2, mantBits));
}

test('safetensors: every F16 and BF16 bit pattern converts exactly (subnormals, ±0, ±Inf, NaN)', async (t) => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const bytes = new Uint8Array(all.buffer);
  const path = writeRaw(
    tmpFile('all16'),
    { h: { dtype: 'F16', shape: [65536], data_offsets: [0, 131072] }, b: { dtype: 'BF16', shape: [256, 256], data_offsets: [131072, 262144] } },
    new Uint8Array([...bytes, ...bytes]),
  );
  const m = await loadSafetensors(path, { device: cpu });
  for (const [name, expBits, mantBits] of [['h', 5, 10], ['b', 8, 7]] as const) {
    const got = await values(m.get(name)!);
    let bad = -1;
    for (let i = 0; i < 65536; i++) {
      const want = Math.fround(halfValue(i, expBits, mantBits));
      if (want !== halfValue(i, expBits, mantBits) && !Number.isNaN(want)) throw new Error('reference is not a float32');
      if (!(Object.is(got[i], want) || (Number.isNaN(want) && Number.isNaN(got[i])))) {
        bad = i;
        break;
      }
    }
    t.is(bad, -1, `${name}: first mismatch at bit pattern 0x${bad.toString(16)}: got ${got[bad]}, want ${halfValue(bad, expBits, mantBits)}`);
  }
  // NaN payloads and signs survive (the conversion is on bits): 0x7e01 → 0x7fc02000, 0xfd00 → 0xffa00000.
  const h = m.get('h')!.storage.handle as Float32Array;
  t.is(new Uint32Array(h.buffer)[0x7e01], 0x7fc02000);
  t.is(new Uint32Array(h.buffer)[0xfd00], 0xffa00000);
  for (const x of m.values()) x.dispose();
});

// --- bad input: each gets an error naming the file and, where it applies, the tensor ---

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
async function rejects(t: import('ava').ExecutionContext, path: string, pattern: RegExp, tensor?: string, opts: Parameters<typeof loadSafetensors>[1] = {}) {
  const e = await t.throwsAsync(loadSafetensors(path, { device: cpu, ...opts }), { instanceOf: SafetensorsError });
  if (!e) return;
  t.regex(e.message, new RegExp(`^${esc(path)}: `), 'names the file');
  t.regex(e.message, pattern);
  t.is(e.tensor, tensor);
  if (tensor !== undefined) t.true(e.message.includes(`tensor '${tensor}'`), e.message);
}

const W = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };

test('safetensors: bad files are refused with clear errors', async (t) => {
  const bad = (stem: string, header: unknown, data?: Uint8Array, headerLength?: number) => writeRaw(tmpFile(stem), header, data, headerLength);
  const short = tmpFile('short');
  writeFileSync(short, new Uint8Array(5));
  await rejects(t, short, /the file is 5 bytes, shorter than the 8-byte header length/);
  await rejects(t, bad('long-header', { w: W }, f32Bytes([1, 2]), 1000), /header length 1000 goes beyond the end of the file \(\d+ bytes/);
  await rejects(t, bad('not-json', '{"w": {dtype: F32}}'), /header is not valid JSON/);
  await rejects(t, bad('not-utf8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), /the 4-byte header is not valid UTF-8/);
  await rejects(t, bad('array', '[1, 2]'), /must be a JSON object of tensor entries, not an array/);
  await rejects(t, bad('number', '42'), /must be a JSON object of tensor entries, not number/);
  await rejects(t, bad('entry-not-object', { w: 3 }), /entry must be an object/, 'w');
  for (const key of ['dtype', 'shape', 'data_offsets']) {
    const entry: Record<string, unknown> = { ...W };
    delete entry[key];
    await rejects(t, bad(`no-${key}`, { w: entry }, f32Bytes([1, 2])), new RegExp(`has no "${key}"`), 'w');
  }
  await rejects(t, bad('unknown-dtype', { w: { ...W, dtype: 'F128' } }, f32Bytes([1, 2])), /unknown dtype "F128" \(the format defines BOOL, .*F32/, 'w');
  await rejects(t, bad('bad-shape', { w: { ...W, shape: [2, -1] } }, f32Bytes([1, 2])), /shape must be an array of non-negative integers/, 'w');
  await rejects(t, bad('bad-offsets', { w: { ...W, data_offsets: [8, 0] } }, f32Bytes([1, 2])), /data_offsets must be \[begin, end\]/, 'w');
  await rejects(t, bad('size-mismatch', { w: { ...W, shape: [3] } }, f32Bytes([1, 2, 3])), /data_offsets \[0, 8\] span 8 bytes, but shape \[3\] of F32 needs 12/, 'w');
  // A truncated file: the last tensor's bytes are not all there.
  await rejects(
    t,
    bad('truncated', { a: W, b: { ...W, data_offsets: [8, 16] } }, f32Bytes([1, 2, 3])),
    /data_offsets \[8, 16\] go past the end of the data buffer \(12 bytes\): the file is truncated/,
    'b',
  );
  await rejects(
    t,
    bad('overlap', { a: { ...W, shape: [3], data_offsets: [0, 12] }, b: { ...W, data_offsets: [8, 16] } }, f32Bytes([1, 2, 3, 4])),
    /data_offsets \[8, 16\] overlap tensor 'a' at \[0, 12\]/,
    'b',
  );
  await rejects(t, bad('bad-metadata', { __metadata__: { n: 1 }, w: W }, f32Bytes([1, 2])), /"__metadata__" values must be strings; "n" is 1/);
  // Requested names that are not there: the error lists some that are.
  const many = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`t${i}`, { ...W, data_offsets: [8 * i, 8 * i + 8] }]));
  const manyPath = bad('many', many, f32Bytes(Array(16).fill(0)));
  await rejects(t, manyPath, /no tensor named 'missing' in this file; it has 't0', 't1', 't2', 't3', 't4', … \(8 in all\)/, undefined, { names: ['t1', 'missing'] });
  // Dtypes the format has but relpo does not load, and an I64 that does not fit int32.
  await rejects(t, GOLDEN, /dtype U8 cannot be loaded \(relpo loads F32, F16, BF16, F64, I64, I32\)/, 'u8', { names: ['f32', 'u8'] });
  await rejects(t, GOLDEN, /I64 value 2147483648 at flat index 2 .*does not fit in int32/, 'i64_big', { names: ['i64_big'] });
  // The header check alone catches the same problems.
  await t.throwsAsync(readSafetensorsHeader(manyPath.replace('many', 'nonexistent')), { code: 'ENOENT' });
  await t.throwsAsync(readSafetensorsHeader(short), { message: /shorter than the 8-byte header length/ });
  // A header padded with spaces (and gaps between tensors) is fine.
  const padded = bad('padded', JSON.stringify({ w: { ...W, data_offsets: [4, 12] } }) + '      ', f32Bytes([9, 1, 2]));
  t.deepEqual(await values((await loadSafetensors(padded, { device: cpu })).get('w')!), [1, 2]);
});

// --- atomic save ---

test('safetensors: a failing save leaves the previous file intact and no temporary file behind', async (t) => {
  const sub = mkdtempSync(join(dir, 'atomic-'));
  const path = join(sub, 'model.safetensors');
  await saveSafetensors(path, { w: r.tensor([1, 2, 3], [3], { device: cpu }) });
  const before = readFileSync(path);
  const unchanged = () => {
    t.deepEqual(readFileSync(path), before, 'previous file unchanged');
    t.deepEqual(readdirSync(sub), ['model.safetensors'], 'no temporary file left');
  };

  const disposed = r.tensor([4, 5], [2], { device: cpu });
  disposed.dispose();
  await t.throwsAsync(saveSafetensors(path, { a: r.tensor([1], [1], { device: cpu }), b: disposed }), { instanceOf: SafetensorsError, message: `${path}: tensor 'b': was disposed before it could be saved` });
  unchanged();
  await t.throwsAsync(saveSafetensors(path, { __metadata__: r.tensor([1], [1], { device: cpu }) }), { message: /"__metadata__" is reserved/ });
  unchanged();
  await t.throwsAsync(saveSafetensors(path, { w: r.tensor([1], [1], { device: cpu }) }, { n: 3 as unknown as string }), { message: /metadata values must be strings/ });
  unchanged();
  // A failure midway through writing (after the temporary file exists): the device fails a readback.
  const failing = r.tensor([7, 8], [2], { device: cpu });
  failing.data = async () => {
    throw new Error('device lost');
  };
  await t.throwsAsync(saveSafetensors(path, { a: r.tensor([1, 2], [2], { device: cpu }), z: failing }), { message: `${path}: tensor 'z': could not read its values: device lost` });
  unchanged();
  // A folder that does not exist: nothing is created.
  await t.throwsAsync(saveSafetensors(join(sub, 'missing', 'x.safetensors'), { w: r.tensor([1], [1], { device: cpu }) }), { instanceOf: SafetensorsError, message: /ENOENT/ });
  unchanged();
  // And a successful save replaces the file.
  await saveSafetensors(path, { v: r.tensor([9], [1], { device: cpu, dtype: 'int32' }) });
  t.deepEqual([...(await readSafetensorsHeader(path)).tensors.keys()], ['v']);
  t.deepEqual(readdirSync(sub), ['model.safetensors']);
});
