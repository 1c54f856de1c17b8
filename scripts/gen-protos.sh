#!/bin/sh
# Regenerates Sources/Images/Generated from proto/*.proto.
# Needs protoc, protoc-gen-swift (PATH or $PROTOC_GEN_SWIFT) and python3 with
# the protobuf module (for the field-name table). CI never runs this; the
# output is committed.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/Sources/Images/Generated"
plugin=${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift || true)}
if [ -z "$plugin" ] || [ ! -x "$plugin" ]; then
	echo "gen-protos: protoc-gen-swift not found (set PROTOC_GEN_SWIFT)" >&2
	exit 1
fi
py=
for c in ${PYTHON:-} python3 /usr/bin/python3; do
	if "$c" -c 'import google.protobuf' 2>/dev/null; then py=$c; break; fi
done
if [ -z "$py" ]; then
	echo "gen-protos: no python3 with the protobuf module (set PYTHON)" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root/proto"
rm -f "$out"/*.pb.swift "$out"/ProtoSchema.swift
protoc -I. --plugin=protoc-gen-swift="$plugin" \
	--swift_opt=Visibility=Public --swift_out="$out" *.proto
protoc -I. --descriptor_set_out="$tmp/all.pb" --include_imports *.proto
$py "$root/scripts/gen-field-names.py" "$tmp/all.pb" > "$out/ProtoSchema.swift"
echo "gen-protos: wrote $(ls "$out" | wc -l) files to $out"
