#!/usr/bin/env bash
# Prepares the GPU check (bench/gpu-check.sh) on this Debian machine: builds graft-cli and the
# op tests, copies them into a pack folder, downloads the Debian packages their libraries come
# from (everything `ldd` lists beyond glibc, found with dpkg -S), and prints the one-line command
# to run on the GPU machine, which has neither Debian packages nor a network.
#
#   bench/gpu-pack.sh [PACK_DIR]        (default: gpu-pack in the source tree, git-ignored)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
pack=${1:-$src/gpu-pack}
build=${GRAFT_BUILD_DIR:-$src/build}

if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$src" -Dwerror=true
fi
ninja -C "$build"

rm -rf "$pack"
mkdir -p "$pack/bin" "$pack/debs"
cp "$build/cli/graft-cli" "$pack/bin/"
# The op tests once each (gpu-check.sh sets GRAFT_KERNELS itself), and the GPU kernels' own.
find "$build/tests" -maxdepth 1 -type f -executable -name 'test-op-*' \
     \( ! -name '*-gpu-kernels' -o -name test-op-gpu-kernels \) -exec cp {} "$pack/bin/" \;
# Keep the pack out of git when it lives in the source tree.
if [ -d "$src/.git" ] || [ -f "$src/.git" ]; then
  exclude=$(git -C "$src" rev-parse --git-path info/exclude)
  rel=${pack#"$src"/}
  if [ "$rel" != "$pack" ] && ! grep -qx "/$rel/" "$exclude" 2>/dev/null; then
    echo "/$rel/" >> "$exclude"
  fi
fi

# The Debian package of every library the binaries load, glibc's (libc6) left out: the GPU
# machine has its own C library, and Debian 12's binaries need glibc 2.36 or newer.
owner() {
  local real; real=$(readlink -f "$1")
  dpkg -S "$real" 2>/dev/null || dpkg -S "${real#/usr}" 2>/dev/null || dpkg -S "/usr$real" 2>/dev/null || true
}
pkgs=$(for b in "$pack"/bin/*; do ldd "$b" | awk '$3 ~ /^\// { print $3 }'; done | sort -u |
       while read -r lib; do owner "$lib" | head -n1 | cut -d: -f1; done | sort -u | grep -vx 'libc6' || true)
echo "$pkgs" | tr ' ' '\n' | sed '/^$/d' > "$pack/packages.txt"
(cd "$pack/debs" && xargs -a ../packages.txt apt-get download -q 2>&1) | { grep -v -e unsandboxed -e "^Get:" -e "^Fetched" || true; } >&2

echo "Packed $(ls "$pack/bin" | wc -l) programs and $(ls "$pack/debs" | wc -l) packages ($(du -sh "$pack" | cut -f1)) into $pack:"
sed 's/^/  /' "$pack/packages.txt"
rel=${pack#"$src"/}
echo
echo "On the GPU machine (device tool: carry [\"$rel\"]), from the source tree:"
echo "  bash bench/gpu-check.sh $rel"
