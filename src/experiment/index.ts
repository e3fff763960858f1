// src/experiment: the paper's comparison in one command (relpo experiment): arms of losses trained
// from one SFT start on one data order, judged, tabulated; the synthetic task with an exact oracle.
export { syntheticTask, taskTokenizerJson, type SyntheticTask, type SyntheticTaskOptions, type TaskKind, type TaskPair } from './synthetic-task.js';
export { oracleJudge, ORACLE_TEMPLATE } from './oracle-judge.js';
export { resolveExperimentConfig, parseExperimentConfig, DEFAULT_EXPERIMENT, FULL_GRID, type ExperimentConfig, type ArmConfig, type TaskConfig } from './config.js';
export { sampledKl, type SampledKlOptions } from './kl.js';
export { dataViews, runArm, type ArmResult } from './arm.js';
export { armRow, tableMarkdown, winRateSvg, curvesSvg, type ArmRow } from './report.js';
export { runExperiment, collectRows, type RunExperimentOptions, type ExperimentReport } from './runner.js';
