import test from 'ava';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as r from '../../src/index.js';
import { cpu, values } from '../helpers/devices.js';

/** A two-shard checkpoint folder as transformers writes one; returns its path. */
async function shardedFolder(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'relpo-ckpt-'));
  const t = (v: number[], shape: number[]) => r.tensor(v, shape, { device: cpu });
  await r.saveSafetensors(join(dir, 'model-00001-of-00002.safetensors'), { 'model.embed_tokens.weight': t([1, 2, 3, 4, 5, 6], [3, 2]), 'model.norm.weight': t([7, 8], [2]) });
  await r.saveSafetensors(join(dir, 'model-00002-of-00002.safetensors'), { 'lm_head.weight': t([9, 10, 11, 12, 13, 14], [3, 2]) });
  const weightMap = {
    'model.embed_tokens.weight': 'model-00001-of-00002.safetensors',
    'model.norm.weight': 'model-00001-of-00002.safetensors',
    'lm_head.weight': 'model-00002-of-00002.safetensors',
  };
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 56 }, weight_map: weightMap }));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'llama', hidden_size: 2, vocab_size: 3 }));
  return dir;
}

test('a sharded folder loads across shards, in the order asked for; config.json reads', async (t) => {
  const dir = await shardedFolder();
  const index = await r.readCheckpointIndex(dir);
  t.deepEqual(index.files, ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
  const all = await r.loadCheckpoint(dir, { device: cpu });
  t.deepEqual([...all.keys()], ['model.embed_tokens.weight', 'model.norm.weight', 'lm_head.weight']);
  t.deepEqual(await values(all.get('lm_head.weight')!), [9, 10, 11, 12, 13, 14]);
  const some = await r.loadCheckpoint(dir, { device: cpu, names: ['lm_head.weight', 'model.norm.weight'] });
  t.deepEqual([...some.keys()], ['lm_head.weight', 'model.norm.weight']);
  t.deepEqual(await values(some.get('model.norm.weight')!), [7, 8]);
  t.deepEqual(await r.readCheckpointConfig(dir), { model_type: 'llama', hidden_size: 2, vocab_size: 3 });
});

test('a single model.safetensors is a checkpoint too', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'relpo-ckpt-'));
  await r.saveSafetensors(join(dir, 'model.safetensors'), { w: r.tensor([1, 2], [2], { device: cpu }) });
  const got = await r.loadCheckpoint(dir, { device: cpu });
  t.deepEqual(await values(got.get('w')!), [1, 2]);
});

test('bad folders get errors that name the file and the tensor', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'relpo-ckpt-'));
  await t.throwsAsync(r.loadCheckpoint(empty, { device: cpu }), { message: /holds neither model\.safetensors nor model\.safetensors\.index\.json/ });
  await t.throwsAsync(r.readCheckpointConfig(empty), { message: /config\.json: cannot be read/ });

  const dir = await shardedFolder();
  await t.throwsAsync(r.loadCheckpoint(dir, { device: cpu, names: ['model.layers.0.mlp.up_proj.weight'] }), { message: /has no tensor 'model\.layers\.0\.mlp\.up_proj\.weight' \(it has 3, e\.g\. model\.embed_tokens\.weight/ });

  const indexPath = join(dir, 'model.safetensors.index.json');
  writeFileSync(indexPath, '{ "weight_map": ');
  await t.throwsAsync(r.readCheckpointIndex(dir), { message: /model\.safetensors\.index\.json: is not valid JSON/ });
  writeFileSync(indexPath, JSON.stringify({ weight_map: { a: '../secret.safetensors' } }));
  await t.throwsAsync(r.readCheckpointIndex(dir), { message: /tensor 'a': shard "\.\.\/secret\.safetensors" is not a file name inside the folder/ });
  writeFileSync(indexPath, JSON.stringify({ weight_map: { a: 'model-00003-of-00002.safetensors' } }));
  await t.throwsAsync(r.readCheckpointIndex(dir), { message: /lists shard 'model-00003-of-00002\.safetensors', which is not in/ });
  // The index says a shard holds a tensor it does not: the shard's file and the tensor are named.
  writeFileSync(indexPath, JSON.stringify({ weight_map: { 'lm_head.weight': 'model-00001-of-00002.safetensors', 'model.norm.weight': 'model-00001-of-00002.safetensors' } }));
  const err = await t.throwsAsync(r.loadCheckpoint(dir, { device: cpu }));
  t.regex(err!.message, /model-00001-of-00002\.safetensors/);
  t.regex(err!.message, /lm_head\.weight/);
  t.is(readdirSync(dir).length, 4, 'nothing written or removed');
});

// Serial: the other tests of this file allocate on the same device concurrently.
test.serial('a failed load disposes what it had loaded', async (t) => {
  const dir = await shardedFolder();
  // The first shard loads; the second is truncated to a few bytes.
  writeFileSync(join(dir, 'model-00002-of-00002.safetensors'), Buffer.from([1, 2, 3]));
  const before = cpu.memory().liveBuffers;
  await t.throwsAsync(r.loadCheckpoint(dir, { device: cpu }), { message: /model-00002-of-00002\.safetensors/ });
  t.is(cpu.memory().liveBuffers, before);
});
