// safetensors as bytes in memory (no file system): safetensorsBytes writes the bytes saveSafetensors
// writes to disk, and loadSafetensorsBytes reads what loadSafetensors reads, torch's golden file
// included.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as r from '../../src/index.js';
import { loadSafetensors, loadSafetensorsBytes, safetensorsBytes, saveSafetensors, SafetensorsError } from '../../src/io/index.js';
import { cpu, randomValues, values } from '../helpers/devices.js';

const GOLDEN = new URL('../../../test/io/golden/mixed.safetensors', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'relpo-st-bytes-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const sample = () => ({
  'model.layers.0.weight': r.tensor(randomValues(15, 1, -3, 3), [3, 5], { device: cpu }),
  ids: r.tensor([0, -1, 2147483647, -2147483648, 5], [5], { device: cpu, dtype: 'int32' }),
  '10': r.tensor([1.5], [], { device: cpu }),
  '9': r.tensor([], [0, 4], { device: cpu }),
  odd: r.tensor(randomValues(3, 3), [3], { device: cpu }), // later offsets are not 8-aligned
  f64: r.tensor([1 / 3, 1e-300, -2.5], [3], { device: cpu, dtype: 'float64' }),
});

test('safetensorsBytes: the bytes saveSafetensors writes, bit for bit', async (t) => {
  const tensors = sample();
  const path = join(dir, 'a.safetensors');
  await saveSafetensors(path, tensors, { format: 'pt', note: 'é ✓' });
  const bytes = await safetensorsBytes(tensors, { format: 'pt', note: 'é ✓' });
  t.deepEqual(Buffer.from(bytes), readFileSync(path));
  await saveSafetensors(path, new Map());
  t.deepEqual(Buffer.from(await safetensorsBytes(new Map())), readFileSync(path));
  await t.throwsAsync(safetensorsBytes({ x: 3 as never }, undefined, 'adapter.safetensors'), { instanceOf: SafetensorsError, message: /^adapter\.safetensors: tensor 'x': is not a Tensor/ });
});

test('loadSafetensorsBytes: the tensors loadSafetensors loads (round trip and torch golden file)', async (t) => {
  const tensors = sample();
  const bytes = await safetensorsBytes(tensors);
  const back = await loadSafetensorsBytes(bytes, 'mem.safetensors', { device: cpu, dtype: 'float64' });
  for (const [name, x] of Object.entries(tensors)) {
    t.deepEqual(back.get(name)!.shape, x.shape, name);
    t.is(back.get(name)!.dtype, x.dtype === 'int32' ? 'int32' : 'float64', name);
    t.deepEqual(await values(back.get(name)!), await values(x), name);
  }
  const golden = readFileSync(GOLDEN);
  // A view into a larger buffer at an odd offset: the loader may not assume alignment.
  const shifted = new Uint8Array(golden.length + 3);
  shifted.set(golden, 3);
  const names = ['f32', 'f16', 'bf16', 'f64', 'i64', 'i32', 'scalar', 'empty'];
  const fromFile = await loadSafetensors(GOLDEN, { device: cpu, names });
  const fromBytes = await loadSafetensorsBytes(shifted.subarray(3), GOLDEN, { device: cpu, names });
  t.deepEqual([...fromBytes.keys()], names);
  for (const n of names) {
    t.deepEqual(fromBytes.get(n)!.shape, fromFile.get(n)!.shape, n);
    const [a, b] = [await values(fromBytes.get(n)!), await values(fromFile.get(n)!)];
    t.deepEqual(a.map((v) => (Number.isNaN(v) ? 'NaN' : v)), b.map((v) => (Number.isNaN(v) ? 'NaN' : v)), n);
  }
});

test('loadSafetensorsBytes: bad bytes are errors naming the file (and tensor)', async (t) => {
  const bytes = await safetensorsBytes({ w: r.tensor([1, 2, 3, 4], [2, 2], { device: cpu }) });
  const load = (b: Uint8Array, opts = {}) => loadSafetensorsBytes(b, 'https://host/m/model.safetensors', { device: cpu, ...opts });
  await t.throwsAsync(load(bytes.subarray(0, 5)), { instanceOf: SafetensorsError, message: /^https:\/\/host\/m\/model\.safetensors: the file is 5 bytes, shorter than the 8-byte header length/ });
  await t.throwsAsync(load(bytes.subarray(0, bytes.length - 4)), { message: /tensor 'w': data_offsets \[0, 16\] go past the end of the data buffer \(12 bytes\)/ });
  await t.throwsAsync(load(new TextEncoder().encode('<!doctype html><html>not found</html>')), { message: /model\.safetensors: the header length \d+ goes beyond the end of the file/ });
  await t.throwsAsync(load(bytes, { names: ['v'] }), { message: /no tensor named 'v' in this file; it has 'w'/ });
});
