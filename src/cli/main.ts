#!/usr/bin/env node
// The `relpo` command.
import { readFileSync } from 'node:fs';
import * as r from '../index.js';
import { checkFlags, flagsGiven, formatHelp, parseFlags, type FlagSpec } from './args.js';
import { DEMO_FLAGS, runDemo } from './demo.js';
import { TRAIN_FLAGS, runTrain } from './train.js';
import { GENERATE_FLAGS, runGenerate } from './generate.js';
import { EVAL_FLAGS, runEval } from './eval.js';
import { JUDGE_FLAGS, runJudge } from './judge.js';
import { MERGE_FLAGS, runMerge } from './merge.js';
import { describeLoss } from './loss-flags.js';
import { PLOT_FLAGS, runPlot } from './plot.js';
import { EXPERIMENT_FLAGS, runExperimentCommand } from './experiment.js';

interface Command {
  about: string;
  flags: FlagSpec[];
  run(flags: Record<string, string | number | boolean>, given: ReadonlySet<string>): Promise<void>;
}

const COMMANDS: Record<string, Command> = {
  train: {
    about: 'Preference training from a JSONL dataset (built-in default: the toy dataset, a tiny random LLaMA, RPO); checkpoints and --resume.',
    flags: TRAIN_FLAGS,
    run: runTrain,
  },
  eval: {
    about: "A checkpoint's preference loss and metrics (reward accuracy, margins) on a dataset, against a reference or a LoRA adapter's base.",
    flags: EVAL_FLAGS,
    run: runEval,
  },
  generate: {
    about: 'Continue a prompt with a checkpoint (default: the one relpo train wrote), greedy or sampled; --data: complete a dataset\'s prompts for relpo judge.',
    flags: GENERATE_FLAGS,
    run: runGenerate,
  },
  judge: {
    about: "Win rate of completions (relpo generate --data) against the dataset's preferred answers or another model's, by a judge model behind an OpenAI-compatible API (the paper's prompts).",
    flags: JUDGE_FLAGS,
    run: runJudge,
  },
  merge: {
    about: 'Fold a LoRA adapter into its base model and save an ordinary checkpoint (PEFT merge_and_unload).',
    flags: MERGE_FLAGS,
    run: runMerge,
  },
  experiment: {
    about: "The paper's comparison in one command: arms of losses from one SFT start on one data order, judged; a table and charts (built-in: the miniature with an exact oracle judge).",
    flags: EXPERIMENT_FLAGS,
    run: runExperimentCommand,
  },
  plot: {
    about: "Draw a run's metrics.jsonl (loss, reward margin and accuracy, gradient norm, lr; evaluations as dots) as an SVG: relpo plot RUN_DIR.",
    flags: PLOT_FLAGS,
    run: runPlot,
  },
  demo: {
    about: 'Train a toy policy with a preference loss on the chosen device and check its gradients against the float64 CPU reference.',
    flags: DEMO_FLAGS,
    run: runDemo,
  },
  devices: {
    about: 'Say which devices exist and which one auto would pick.',
    flags: [],
    async run() {
      const gpu = await r.webgpuDevice();
      process.stdout.write(`cpu: ${r.cpuDevice().description}\n`);
      process.stdout.write(gpu ? `${gpu.description}\n  limits: maxStorageBufferBindingSize ${gpu.limits.maxStorageBufferBindingSize}, maxComputeWorkgroupStorageSize ${gpu.limits.maxComputeWorkgroupStorageSize}\n` : 'webgpu: no adapter found\n');
      process.stdout.write(`auto picks: ${gpu ? 'webgpu' : 'cpu'}${process.env.RELPO_DEVICE ? ` (RELPO_DEVICE=${process.env.RELPO_DEVICE} is set)` : ''}\n`);
    },
  },
  losses: {
    about: 'List the registered preference losses, the data they take and their defaults; --loss NAME: one loss\'s options, their defaults and meaning.',
    flags: [{ name: 'loss', help: "a loss (relpo's name or TRL's loss_type) whose options to describe", default: '' }],
    async run(flags) {
      if (flags.loss) {
        const name = String(flags.loss);
        process.stdout.write(describeLoss(r.listLosses().some((l) => l.name === name) ? name : r.lossOfTrlType(name).loss));
        return;
      }
      for (const l of r.listLosses()) {
        const data = [l.data.paired && 'paired', l.data.unpaired && 'unpaired'].filter(Boolean).join('+');
        process.stdout.write(`${l.name.padEnd(14)} ${data.padEnd(16)} ${JSON.stringify(l.defaults)}\n`);
      }
    },
  },
};

/** The version in relpo's package.json (two folders above this file once built: dist/src/cli). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.about}`);
  return `usage: relpo <command> [options]\n\nCommands:\n${rows.join('\n')}\n\nrelpo <command> --help shows a command's options; relpo --version its version. RELPO_DEVICE=webgpu|cpu|auto picks the device.\n`;
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`relpo ${packageVersion()}\n`);
    return;
  }
  const cmd = COMMANDS[name];
  if (!cmd) throw new Error(`relpo: unknown command '${name}'\n\n${usage()}`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(formatHelp(`usage: relpo ${name} [options]`, cmd.about, cmd.flags));
    return;
  }
  // `relpo plot RUN_DIR`, `relpo experiment CONFIG`: a first argument that is not a flag is the command's first flag's value.
  const args = rest.length > 0 && !rest[0].startsWith('--') && (name === 'plot' || name === 'experiment') ? [`--${cmd.flags[0].name}`, ...rest] : rest;
  const flags = parseFlags(args, cmd.flags, name);
  checkFlags(flags, cmd.flags, name);
  await cmd.run(flags, flagsGiven(args));
}

main(process.argv.slice(2))
  .catch((e: Error) => {
    process.stderr.write(`${e.message}\n`);
    process.exitCode = 1;
  })
  .finally(() => r.shutdown());
