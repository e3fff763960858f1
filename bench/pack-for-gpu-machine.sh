#!/usr/bin/env bash
# Packs what bench/on-gpu-machine.sh needs on a borrowed GPU machine that has no Node, into
# folders .gitignore names: .devpack/ (Node, node_modules) and .gl/ (the
# Vulkan loader and the glvnd libraries NVIDIA's Vulkan driver loads). Carry .devpack, .gl and dist.
# Run on a Debian bookworm x86-64 machine after `npm ci` and `npm run build`.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .devpack .gl
# Node only when it changed since the last pack (xz -9 of it takes minutes).
[ .devpack/node.xz -nt "$(command -v node)" ] || xz -T2 -9 -c "$(command -v node)" > .devpack/node.xz
# node_modules without TypeScript, type packages and other platforms' Dawn builds; of TF.js only the
# two bundles the bench loads (the rest of its packages are ~70 MB).
tar --exclude='node_modules/typescript' --exclude='node_modules/@types' \
    --exclude='node_modules/webgpu/dist/darwin-universal' --exclude='node_modules/webgpu/dist/win32-*' \
    --exclude='node_modules/webgpu/dist/linux-arm64' --exclude='node_modules/@tensorflow' --exclude='node_modules/long' \
    --exclude='node_modules/tokenizers/tokenizers.[!l]*.node' --exclude='node_modules/tokenizers/tokenizers.linux-[!x]*.node' \
    --exclude='node_modules/tokenizers/tokenizers.linux-x64-musl.node' \
    -cf /tmp/relpo-node_modules.tar node_modules
tar -rf /tmp/relpo-node_modules.tar \
    node_modules/@tensorflow/tfjs-core/package.json node_modules/@tensorflow/tfjs-core/dist/tf-core.node.js \
    node_modules/@tensorflow/tfjs-backend-webgpu/package.json node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.node.js
xz -T2 -6 -c /tmp/relpo-node_modules.tar > .devpack/node_modules.tar.xz
rm /tmp/relpo-node_modules.tar
if [ -n "$(ls .gl/*.deb 2>/dev/null)" ]; then du -sh .devpack .gl; exit 0; fi
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
mkdir -p /tmp/amd64/partial
apt-get $o update -qq
(cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
du -sh .devpack .gl
