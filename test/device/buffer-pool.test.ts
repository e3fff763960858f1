// The WebGPU buffer pool (src/device/webgpu/buffer-pool.ts): a buffer freed while the unsubmitted
// encoder may still read it is parked; a kernel's output may take it at once (its writes come after
// those reads in the encoder), an upload (queue.writeBuffer, which lands before the encoder's
// commands) only after the submit.
import test from 'ava';
import * as r from '../../src/index.js';
import { BufferPool, sizeClass } from '../../src/device/webgpu/buffer-pool.js';
import { StagingPool } from '../../src/device/webgpu/staging-pool.js';
import { gpuOrSkip, values } from '../helpers/devices.js';

/** A stand-in GPUDevice: buffers are plain objects with a size (the pools read nothing else). */
function fakeDevice(): { device: GPUDevice; created: () => number; destroyed: () => number } {
  let n = 0, gone = 0;
  const device = { createBuffer: ({ size }: { size: number }) => ({ size, id: ++n, destroy: () => void gone++ }) } as unknown as GPUDevice;
  return { device, created: () => n, destroyed: () => gone };
}

function fakePool(): { pool: BufferPool; created: () => number } {
  const { device, created } = fakeDevice();
  return { pool: new BufferPool(device, 0), created };
}

test('a parked buffer goes to the next kernel output of its size class, most recently freed first; an upload waits for the submit', (t) => {
  const { pool, created } = fakePool();
  const [a, b] = [pool.acquire(1000), pool.acquire(1000)];
  t.is(created(), 2);
  pool.release(a);
  pool.release(b);
  t.is(pool.acquire(1000), b, 'the most recently freed first');
  t.not(pool.acquire(1000, true), a, 'an upload does not take a parked buffer');
  t.is(created(), 3);
  t.is(pool.acquire(1000), a);
  t.is(pool.pooledBuffers, 0);
  pool.release(a);
  t.is(pool.acquire(100, false).size, sizeClass(100), 'another size class: a new buffer');
  pool.flush();
  t.is(pool.acquire(1000, true), a, 'after the submit an upload may take it');
  t.deepEqual([pool.liveBuffers, pool.pooledBuffers, pool.pooledBytes], [4, 0, 0]);
});

// Serial: it relies on what the pool holds between its own launches.
test.serial('webgpu: a buffer freed while a queued kernel reads it is reused by the next output but never by an upload', async (t) => {
  const gpu = await gpuOrSkip(t);
  if (!gpu) return;
  const A = [1, 2, 3, 4, 5, 6, 7, 8];
  const a = r.tensor(A, [8], { device: gpu });
  const negA = r.neg(a); // queued, reads a
  a.dispose(); // parked: the encoder has not been submitted
  const c = r.tensor([9, 9, 9, 9, 9, 9, 9, 9], [8], { device: gpu }); // an upload: must not land in a's buffer
  const twice = r.mul(negA, 2); // an output: may take a's buffer, written after neg read it
  t.deepEqual(Array.from(await values(negA)), A.map((v) => -v));
  t.deepEqual(Array.from(await values(twice)), A.map((v) => -2 * v));
  t.deepEqual(Array.from(await values(c)), new Array(8).fill(9));
  for (const x of [negA, c, twice]) x.dispose();
});

test('read-back buffers are reused by size class, kept up to a byte budget, and destroyed when the pool closes', (t) => {
  const { device, created, destroyed } = fakeDevice();
  const pool = new StagingPool(device, 10_000);
  const a = pool.acquire(32);
  t.is(a.size, sizeClass(32));
  pool.release(a);
  t.is(pool.acquire(20), a, 'the same size class: the kept buffer');
  const [b, c] = [pool.acquire(6000), pool.acquire(6000)];
  pool.release(b);
  pool.release(c);
  t.is(destroyed(), 1, 'past the budget a released buffer is destroyed');
  pool.release(a);
  pool.close();
  t.is(destroyed(), 3, 'close destroys what was kept');
  pool.release(pool.acquire(32));
  t.deepEqual([created(), destroyed()], [4, 4], 'after close nothing is kept');
});
