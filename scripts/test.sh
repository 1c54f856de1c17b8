#!/usr/bin/env bash
# The project's test command (CI runs exactly this): set up, build, unit tests, a bounded fuzz run of
# the image reader, the ZDTM suite in flavors h and ns, and again in h with the release build of criu.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
bash scripts/setup.sh
swift build --build-tests
# Serial: restore code under test reaps with waitpid(-1) (as criu, every child is its own), which in one
# shared test process can take another suite's child (RestartTests once saw ECHILD for its victim).
swift test --no-parallel
bash scripts/fuzz-images.sh "${FUZZ_SECONDS:-60}"
.build/debug/zdtm run -a -f h,ns -p 2 --keep-going
# criu SIGKILLed at five moments of its injection (CRIU_FAULT 11-15): each task must come back by itself.
for f in 11 12 13 14 15; do
    .build/debug/zdtm run -t fpu00 -t avx00 -t sigpending00 -t sigaltstack00 -t maps00 -t pthread00 \
        -t pthread_sig00 -t sleeping01 -t write_read00 -t file_locks00 -t fork00 \
        -t clone_files00 -f h,ns -p 2 --keep-going --fault "$f"
done
# The binary users run: release, linked fully static (Package.swift). Same suite, flavor h.
swift build -c release --static-swift-stdlib --product criu
.build/debug/zdtm run --criu-bin .build/release/criu -a -f h -p 2 --keep-going
