#!/bin/sh
# Fuzzes the image reader with libFuzzer for a bounded time.
#   scripts/fuzz-images.sh [SECONDS]        (default 60)
# Builds in .build-fuzz (separate from the normal .build), starting from the
# committed seed corpus Tests/fuzz/images-corpus; new inputs go to a scratch
# copy so the committed corpus stays small. Exit status is non-zero on a crash,
# and the crashing input is left in .build-fuzz/artifacts/.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
scratch="$root/.build-fuzz"
cd "$root"
mkdir -p "$scratch"
swift build -c release --scratch-path "$scratch" --target ImagesFuzz \
	-Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >"$scratch/build.log" 2>&1 || {
	cat "$scratch/build.log" >&2
	exit 1
}
bin="$scratch/release"
objs=$(find "$bin/ImagesFuzz.build" "$bin/Images.build" "$bin/SwiftProtobuf.build" \
	"$bin/SystemPackage.build" "$bin/CSystem.build" -name '*.o' 2>/dev/null)
swiftc -sanitize=fuzzer,address $objs -o "$scratch/fuzz-images"
corpus="$scratch/corpus"
rm -rf "$corpus"
mkdir -p "$corpus" "$scratch/artifacts"
cp "$root"/Tests/fuzz/images-corpus/* "$corpus/"
"$scratch/fuzz-images" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 \
	-artifact_prefix="$scratch/artifacts/" -print_final_stats=1 "$corpus"
