#!/usr/bin/env bash
# Installs what building and testing need on a fresh Debian 12 machine (run as root). Idempotent: it only
# installs what is missing.
set -euo pipefail

packages=(gcc make libc6-dev libcap-dev libaio-dev libnl-3-dev util-linux iproute2 python3 python3-protobuf criu)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
    if [ -x /opt/swift/usr/bin/swift ]; then
        echo "setup: swift is at /opt/swift/usr/bin; add it to PATH" >&2
    else
        echo "setup: no Swift toolchain found (need Swift 6)" >&2
        exit 1
    fi
fi
