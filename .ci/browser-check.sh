#!/usr/bin/env bash
# The HTML lessons in a real browser: writes each lesson with the release binary, loads it in
# headless Chromium with "#autoplay" (the player steps through every frame, then records
# data-final-frame="FRAME/COUNT" on <body>), and fails on any console message or script error, or
# a frame counter that does not reach the last step.
#
#   .ci/browser-check.sh [BIN_DIR]        (default .build/release; Chromium: Debian's `chromium`)
#
# With SCREENSHOT=FILE.png it also saves a picture of the default lesson at frame 150 (the one in
# Docs/Teaching.md: SCREENSHOT=Docs/lesson.png .ci/browser-check.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(cd "${1:-.build/release}" && pwd)/attention-io"
browser="$(command -v chromium || command -v chromium-browser || true)"
[ -n "$browser" ] || { echo "browser-check: chromium is not installed (apt-get install chromium)" >&2; exit 1; }
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
flags=(--headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars --user-data-dir="$scratch/profile")

# name|trace arguments
lessons=(
  "flash|--algorithm flash"
  "tiny-sram|--algorithm flash --device teaching"
  "standard|--algorithm standard"
  "flash2|--algorithm flash2"
  "flash-alone|--algorithm flash --compare none --seq-len 32 --sram-bytes 1024"
  "flash-backward|--algorithm flash --pass backward"
  "block-sparse-backward|--algorithm block-sparse --mask causal --pass backward --compare flash --seq-len 32 --sram-bytes 1024"
  "split-kv-decode|--algorithm split-kv-decode --batch 2"
)
failures=0
for entry in "${lessons[@]}"; do
  name="${entry%%|*}"
  # shellcheck disable=SC2086
  "$bin" trace ${entry#*|} --format html --out "$scratch/$name.html" > /dev/null
  start=$(date +%s)
  if ! timeout 120 "$browser" "${flags[@]}" --enable-logging=stderr --v=0 --virtual-time-budget=600000 \
      --dump-dom "file://$scratch/$name.html#autoplay" > "$scratch/$name.dom" 2> "$scratch/$name.log"; then
    echo "FAIL $name: chromium did not finish (see below)"; tail -5 "$scratch/$name.log"; failures=$((failures + 1)); continue
  fi
  body="$(grep -o '<body[^>]*>' "$scratch/$name.dom" | head -1 || true)"
  final="$(sed -n 's/.*data-final-frame="\([0-9]*\/[0-9]*\)".*/\1/p' <<< "$body")"
  errors="$(sed -n 's/.*data-errors="\([^"]*\)".*/\1/p' <<< "$body")"
  console="$(grep 'CONSOLE' "$scratch/$name.log" || true)"
  if [ -z "$final" ] || [ "${final%/*}" != "${final#*/}" ] || [ "${final#*/}" = 0 ]; then
    echo "FAIL $name: the frame counter did not reach the last step (got '${final:-nothing}')"; failures=$((failures + 1))
  elif [ -n "$errors" ] || [ -n "$console" ]; then
    echo "FAIL $name: console output or script errors:"; echo "${errors}${console}" | head -5; failures=$((failures + 1))
  else
    echo "ok   $name: played frame $final in $(( $(date +%s) - start )) s"
  fi
done
if [ -n "${SCREENSHOT:-}" ]; then
  "$browser" "${flags[@]}" --window-size=1200,1000 --virtual-time-budget=5000 --screenshot="$(pwd)/$SCREENSHOT" \
    "file://$scratch/flash.html#frame=150" 2> /dev/null
  echo "wrote $SCREENSHOT"
fi
[ "$failures" -eq 0 ] || { echo "browser-check: $failures lesson(s) failed" >&2; exit 1; }
echo "browser-check: ${#lessons[@]} lessons played to the end with no console output"
