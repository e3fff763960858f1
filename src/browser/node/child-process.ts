// node:child_process in the browser build: RELPO_GPU_SELECT (read only where there is a `process`)
// lists the Vulkan devices in a child process; a page's navigator.gpu picks its own adapter.

export function spawnSync(..._args: unknown[]): never {
  throw new Error('child_process.spawnSync (RELPO_GPU_SELECT) needs Node: in a browser, navigator.gpu picks the adapter');
}
