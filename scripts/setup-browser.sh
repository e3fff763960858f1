#!/usr/bin/env bash
# Set-up for the browser tests (docs/browser.md), after scripts/setup.sh: Debian's Chromium, which
# puppeteer-core drives headless with WebGPU on its own software Vulkan (SwiftShader). Nothing is
# downloaded at test time. Safe to run again. Needs root (or sudo) for apt.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

if ! command -v chromium >/dev/null; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium >/dev/null
fi
echo "setup-browser: $(chromium --version 2>/dev/null | sed -n 1p)"
