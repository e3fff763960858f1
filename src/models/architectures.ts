// The registry of model architectures: config.json's model_type (or a transformers class name in its
// architectures list) → how to build the model. loadPretrainedCausalLM picks the builder from it;
// registerArchitecture adds one (builtin-architectures.ts registers LLaMA, Mistral, Qwen2, Gemma-2).
import type { CausalLM } from './causal-lm.js';
import type { DecoderInitOptions } from './decoder-blocks.js';

export interface ArchitectureEntry {
  /** transformers' class names of this architecture (config.json's "architectures"), e.g. ['Qwen2ForCausalLM']. */
  architectures: string[];
  /** A model with random (or, with initStd 0, zero-filled) weights, from a config.json's fields. */
  build(config: Record<string, unknown>, opts: DecoderInitOptions): CausalLM;
}

export interface RegisteredArchitecture extends ArchitectureEntry {
  modelType: string;
}

const registry = new Map<string, RegisteredArchitecture>();

/** Registers an architecture under its config.json model_type; refuses a model_type already taken. */
export function registerArchitecture(modelType: string, entry: ArchitectureEntry): void {
  if (!modelType) throw new Error('registerArchitecture: model_type must be a non-empty string');
  if (registry.has(modelType)) throw new Error(`registerArchitecture: model_type '${modelType}' is already registered (unregisterArchitecture('${modelType}') first to replace it)`);
  registry.set(modelType, { ...entry, modelType });
}

export function unregisterArchitecture(modelType: string): boolean {
  return registry.delete(modelType);
}

/** Every registered architecture, in registration order. */
export function listArchitectures(): RegisteredArchitecture[] {
  return [...registry.values()];
}

/**
 * The architecture a config.json describes: by its model_type, else by the first of its
 * architectures that a registered entry names. An unknown one is an error listing what is registered.
 */
export function architectureOf(config: Record<string, unknown>, where = 'config.json'): RegisteredArchitecture {
  const modelType = config['model_type'];
  const byType = typeof modelType === 'string' ? registry.get(modelType) : undefined;
  if (byType) return byType;
  const names = Array.isArray(config['architectures']) ? (config['architectures'] as unknown[]).map(String) : [];
  for (const name of names) {
    const entry = listArchitectures().find((a) => a.architectures.includes(name));
    if (entry) return entry;
  }
  const known = listArchitectures().map((a) => `${a.modelType} (${a.architectures.join(', ')})`).join('; ');
  throw new Error(`${where}: model_type ${JSON.stringify(modelType ?? null)} / architectures ${JSON.stringify(names)} is not a registered architecture; relpo has: ${known}. Add one with registerArchitecture (docs/models.md)`);
}

/** Builds the model a config describes (random weights, seeded), through the registry. */
export function createCausalLM(config: Record<string, unknown>, opts: DecoderInitOptions = {}): CausalLM {
  return architectureOf(config).build(config, opts);
}
