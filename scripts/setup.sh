#!/usr/bin/env bash
# Set-up on a fresh Debian bookworm machine: the Vulkan software driver that WebGPU runs on when
# there is no GPU, and the npm packages. Safe to run again. Needs root (or sudo) for apt.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

# Dawn (the `webgpu` package) runs on Mesa's lavapipe (Vulkan on the CPU) where no GPU exists,
# and refuses bookworm's Mesa 22: take Mesa 25 from bookworm-backports.
mesa_version() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true; }
if ! dpkg --compare-versions "$(mesa_version)" ge 25; then
  sources=/etc/apt/sources.list.d/debian.sources
  if [ ! -f "$sources" ]; then
    echo "setup: $sources not found; add bookworm-backports to your apt sources, then run this again" >&2
    exit 1
  fi
  grep -q bookworm-backports "$sources" || $SUDO sed -i 's/^Suites: bookworm bookworm-updates$/Suites: bookworm bookworm-updates bookworm-backports/' "$sources"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null
fi
echo "setup: mesa-vulkan-drivers $(mesa_version)"

npm ci --no-audit --no-fund
