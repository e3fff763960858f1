// relpo's file formats: Hugging Face safetensors (read and write).
export { readSafetensorsHeader, parseSafetensorsHeader, parseSafetensorsBytesHeader, bytesReader, type SafetensorsReader, type SafetensorsHeader, type SafetensorsTensorInfo } from './safetensors/header.js';
export { loadSafetensors, loadSafetensorsBytes, loadSafetensorsFrom, type LoadSafetensorsOptions } from './safetensors/load.js';
export { saveSafetensors } from './safetensors/save.js';
export { safetensorsBytes } from './safetensors/serialize.js';
export { SafetensorsError } from './safetensors/errors.js';
export { SAFETENSORS_DTYPE_BITS, LOADABLE_DTYPES, type SafetensorsDType } from './safetensors/dtypes.js';
export {
  loadCheckpoint, readCheckpointIndex, readCheckpointConfig, readJsonObject, readSourceJson, readSourceJsonValue, sourceHas, CheckpointError, CheckpointFiles,
  type CheckpointIndex, type CheckpointSource,
} from './checkpoint.js';
export { saveCheckpoint, type SaveCheckpointOptions } from './checkpoint-save.js';
export { loadTokenizer, TokenizerError, type TextTokenizer } from './tokenizer.js';
export { ChatTemplate, readChatTemplate, type ChatMessage } from './chat-template.js';
export { hubCacheDir, parseRepoId, snapshotInCache, resolveHubPath, fetchHubPath, type RepoKind } from './hub-cache.js';
export { memorySource, isFileSource, FileSourceError, type FileSource, type MemoryFile } from './file-source.js';
export { urlSource, type UrlSourceOptions } from './url-source.js';
export { folderSource } from './folder-source.js';
export { ProgressBar, type Progress, type ProgressDisplay } from './progress.js';
export {
  saveFilesToOpfs, opfsSource, removeOpfsFolder, saveFilesToIndexedDb, indexedDbSource, removeFromIndexedDb, downloadBytes,
} from './browser-storage.js';
