// Evaluation: text generation (greedy and sampled) from the policy.
import '../models/index.js';
export { generateIds, generateText, pickToken, type GenerateOptions } from './generate.js';
