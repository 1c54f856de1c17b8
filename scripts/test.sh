#!/usr/bin/env bash
# The project's test command: set up, build, run the unit tests. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
bash scripts/setup.sh
swift build --build-tests
swift test
