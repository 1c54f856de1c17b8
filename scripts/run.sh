#!/usr/bin/env bash
# The project's main job: set up, build, check the kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
bash scripts/setup.sh
swift build -c release
.build/release/criu check --all
