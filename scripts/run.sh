#!/usr/bin/env bash
# The project's main job: set up, build, check the kernel, run the whole ZDTM suite (every test is
# started, checkpointed, restored and checks itself) in flavors h, ns and uns.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
bash scripts/setup.sh
swift build
.build/debug/criu check
.build/debug/zdtm run -a -f h,ns,uns -p 2 --keep-going --report .build-zdtm/report
