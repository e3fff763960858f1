#!/usr/bin/env bash
# Runs the test suite, the demo and the full benchmark on a borrowed GPU machine that has no Node:
# the files it needs travel with the working tree, packed beforehand by bench/pack-for-gpu-machine.sh:
#   .devpack/node.xz              xz -9 of the node binary
#   .devpack/node_modules.tar.xz  node_modules for linux-x64 (no typescript, no other platforms)
#   .gl/*.deb                     libvulkan1 and the glvnd libraries NVIDIA's Vulkan driver needs
#   dist/                         npm run build
# Results go to $OUT (tests.tap, bench.txt, bench results, demo.txt).
# TESTS (ava file globs, default all), BENCH_ARGS (e.g. "--only matmul") and DEMO=0 narrow a run;
# TESTS=none skips the tests, SWEEP=1 adds the matmul tuning sweep (bench/matmul-sweep.ts; SWEEP_ARGS
# e.g. "--versions 8,11"), SWEEP_UNSAFE=1 reruns it with Dawn's robustness off, BENCH_UNSAFE="--only
# matmul" reruns those bench groups with robustness off, and SUBMITS="8 64" reruns the launch and
# matmul groups with each RELPO_DISPATCHES_PER_SUBMIT. Steps are in order of importance: the bench,
# the sweeps, the tests, the demo, the rest. PROBE=1 runs bench/probe-subgroup-matrix.ts
# (tensor cores through Dawn's experimental subgroup matrices) after the bench; GEN=1 times batched
# generation (bench/generation.ts).
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
mkdir -p /tmp/nodebin
python3 -c "import lzma,shutil; shutil.copyfileobj(lzma.open('.devpack/node.xz'), open('/tmp/nodebin/node','wb'))"
chmod +x /tmp/nodebin/node
export PATH=/tmp/nodebin:$PATH
python3 -c "import tarfile; tarfile.open('.devpack/node_modules.tar.xz').extractall('.')"
node --version
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader || true

node dist/src/cli/main.js devices 2>&1 | tee "$OUT/devices.txt"
# The adapter's features, experimental ones included (e.g. chromium-experimental-subgroup-matrix).
node -e "const d=require('webgpu');(async()=>{const a=await d.create(['enable-dawn-features=allow_unsafe_apis']).requestAdapter({powerPreference:'high-performance'});console.log('features:',[...a.features].sort().join(' '));console.log('workgroup storage',a.limits.maxComputeWorkgroupStorageSize,'invocations',a.limits.maxComputeInvocationsPerWorkgroup,'offset align',a.limits.minStorageBufferOffsetAlignment);process.exit(0)})()" 2>&1 | grep -v Warning | tee "$OUT/features.txt"
UNSAFE='enable-dawn-features=allow_unsafe_apis,disable_robustness'
timeout 240 node dist/bench/main.js --reps 5 ${BENCH_ARGS:-} 2>&1 | grep -v Warning | tee "$OUT/bench.txt"
cp bench/results/nvidia-* "$OUT/" 2>/dev/null || true
if [ "${PROBE:-0}" = 1 ]; then
  timeout 120 node dist/bench/probe-subgroup-matrix.js 2>&1 | grep -v Warning | tee "$OUT/probe.txt"
  cp bench/results/nvidia-*probe* "$OUT/" 2>/dev/null || true
fi
if [ "${GEN:-0}" = 1 ]; then
  # Batched against one-prompt-at-a-time generation (bench/generation.ts), tiny and SmolLM-135M shapes.
  for shape in tiny smollm; do timeout 180 node dist/bench/generation.js --shape $shape --base-dtypes float32,bfloat16,nf4 2>&1 | grep -v Warning | tee "$OUT/generation-$shape.txt"; done
fi
if [ "${SWEEP:-0}" = 1 ]; then
  timeout 120 node dist/bench/matmul-sweep.js ${SWEEP_ARGS:-} 2>&1 | grep -v Warning | tee "$OUT/sweep.txt"
  cp bench/results/nvidia-*sweep* "$OUT/" 2>/dev/null || true
fi
if [ "${SWEEP_UNSAFE:-0}" = 1 ]; then
  RELPO_DAWN_OPTIONS=$UNSAFE timeout 120 node dist/bench/matmul-sweep.js ${SWEEP_ARGS:-} --tag no-robustness 2>&1 | grep -v Warning | tee "$OUT/sweep-no-robustness.txt"
  cp bench/results/nvidia-*sweep* "$OUT/" 2>/dev/null || true
fi
if [ "${TESTS:-}" != none ]; then
  CI=true RELPO_REQUIRE_WEBGPU=1 timeout 120 node node_modules/ava/entrypoints/cli.mjs --tap ${TESTS:-} > "$OUT/tests.tap" 2>&1
  echo "tests exit $?"; grep -E '^# (tests|pass|fail|skip)|^not ok' "$OUT/tests.tap" | head -20
fi
if [ -n "${BENCH_UNSAFE:-}" ]; then
  RELPO_DAWN_OPTIONS=$UNSAFE timeout 120 node dist/bench/main.js --reps 5 $BENCH_UNSAFE --tag no-robustness 2>&1 | grep -v Warning | tee "$OUT/bench-no-robustness.txt"
  cp bench/results/nvidia-*no-robustness* "$OUT/" 2>/dev/null || true
fi
[ "${DEMO:-1}" = 0 ] || timeout 25 node dist/src/cli/main.js demo 2>&1 | grep -v '^train' | tee "$OUT/demo.txt"
for n in ${SUBMITS:-}; do
  RELPO_DISPATCHES_PER_SUBMIT=$n timeout 90 node dist/bench/main.js --reps 5 --only launch,matmul 2>&1 | grep -v Warning > "$OUT/bench-submit-$n.txt"
  for f in bench/results/nvidia-*-only-launch-matmul.md; do cp "$f" "$OUT/submit-$n-$(basename "$f")"; done
done
