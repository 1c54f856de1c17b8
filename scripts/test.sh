#!/usr/bin/env bash
# The project's test command (CI runs exactly this): set up, build, unit tests, a bounded fuzz run of
# the image reader, and the ZDTM suite in flavors h and ns.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
bash scripts/setup.sh
swift build --build-tests
swift test
bash scripts/fuzz-images.sh "${FUZZ_SECONDS:-60}"
.build/debug/zdtm run -a -f h,ns -p 2 --keep-going
