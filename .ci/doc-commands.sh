#!/usr/bin/env bash
# Docs as tests: runs every shell command of README.md and of the Docs/*.md blocks marked
# runnable, each in a scratch directory of its file, with a time limit, and fails on a non-zero
# exit or a missing promised error. The convention (Docs/DocTests.md):
#
# - README.md: every ```sh block runs. Docs/*.md: a block runs when its info string is `sh run`
#   (```sh run); plain ```sh blocks are shown, not run.
# - A command that must fail says so in a comment line right above it:
#       # exits 1 with "SRAM overflow"
#   and passes only if it exits with that code and its stderr contains the text.
# - `swift run [-c release] [flags…] PRODUCT args` runs BIN_DIR/PRODUCT args (the release
#   binaries .ci/run built; flags only change speed); `.build*/release/PRODUCT` and a bare
#   `attention-io …` likewise.
#   `swift build` and `swift test` lines are skipped (.ci/run runs them itself).
#   `bench` gets --quick (`bench --kernels`: --reps 1) so it stays short.
# - Lines `NAME=value` set a variable for the later commands of the same file. Commands of one file
#   run in order in one scratch directory (with Examples/ and Docs/ linked in), so a later command may read
#   what an earlier one wrote.
#
#   .ci/doc-commands.sh [BIN_DIR]      (default .build/release; TIME_LIMIT seconds per command, 300)
set -uo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
bin_dir="$(cd "${1:-.build/release}" && pwd)"
limit="${TIME_LIMIT:-300}"
scratch_root="$(mktemp -d)"
trap 'rm -rf "$scratch_root"' EXIT

trim() { local s="$1"; s="${s#"${s%%[![:space:]]*}"}"; printf '%s' "${s%"${s##*[![:space:]]}"}"; }

# The runnable commands of one Markdown file, one per line: LINE, EXPECT, COMMAND separated by \037, where
# EXPECT is empty or CODE:MESSAGE. Backslash continuations are joined.
extract() {
  local file="$1" all_sh="$2"
  awk -v all_sh="$all_sh" '
    /^```/ {
      if (inblock) { inblock = 0; next }
      info = substr($0, 4); gsub(/^[ \t]+|[ \t]+$/, "", info)
      if ((all_sh && info == "sh") || info == "sh run") { inblock = 1; expect = ""; cmd = "" }
      next
    }
    !inblock { next }
    {
      line = $0
      if (cmd == "") {
        if (line ~ /^[ \t]*$/) next
        if (line ~ /^[ \t]*#/) {
          if (match(line, /exits [0-9]+ with "[^"]*"/)) {
            spec = substr(line, RSTART + 6, RLENGTH - 6)
            code = spec; sub(/ .*/, "", code)
            msg = spec; sub(/^[0-9]+ with "/, "", msg); sub(/"$/, "", msg)
            expect = code ":" msg
          }
          next
        }
        start = NR
      }
      if (line ~ /\\$/) { cmd = cmd substr(line, 1, length(line) - 1) " "; next }
      cmd = cmd line
      printf "%d\037%s\037%s\n", start, expect, cmd
      cmd = ""; expect = ""
    }
  ' "$file"
}

# The command as it runs here (see the header), or empty to skip it.
rewrite() {
  local cmd; cmd="$(trim "$1")"
  case "$cmd" in
    "swift test"*|"swift build"*|"swift package"*) return 0 ;;
  esac
  if [[ "$cmd" == "swift run"* ]]; then
    local rest; rest="$(trim "${cmd#swift run}")"
    while [[ "$rest" == -* ]]; do
      case "$rest" in
        -c\ *|--configuration\ *|--build-path\ *|-Xswiftc\ *|-Xcc\ *|-Xlinker\ *)
          rest="$(trim "${rest#* }")"; rest="$(trim "${rest#* }")" ;;
        *) rest="$(trim "${rest#* }")" ;;
      esac
    done
    local product="${rest%% *}"
    cmd="$bin_dir/$product${rest#"$product"}"
  fi
  if [[ "$cmd" == "attention-io "* ]]; then cmd="$bin_dir/$cmd"; fi
  cmd="$(sed -E "s#(^|[ ;&|(])\\.build[^/ ]*/(release|debug)/#\\1$bin_dir/#g" <<< "$cmd")"
  if [[ "$cmd" =~ attention-io\ bench ]] && [[ "$cmd" != *--quick* ]]; then
    if [[ "$cmd" == *--kernels* ]]; then [[ "$cmd" == *--reps* ]] || cmd="$cmd --reps 1"; else cmd="$cmd --quick"; fi
  fi
  printf '%s' "$cmd"
}

failures=0; count=0; skipped=0
files=(README.md Docs/*.md)
for file in "${files[@]}"; do
  all_sh=0; [ "$file" = README.md ] && all_sh=1
  scratch="$scratch_root/$(basename "$file" .md)"
  mkdir -p "$scratch"
  ln -s "$root/Examples" "$scratch/Examples"
  ln -s "$root/Docs" "$scratch/Docs"
  variables=""
  while IFS=$'\037' read -r line expect command; do
    run="$(rewrite "$command")"
    if [ -z "$run" ]; then
      skipped=$((skipped + 1)); echo "skip        $file:$line  $command (.ci/run runs it)"; continue
    fi
    count=$((count + 1))
    start=$(date +%s%N)
    (cd "$scratch" && timeout "$limit" bash -c "set -o pipefail; $variables"$'\n'"$run") > "$scratch/.stdout" 2> "$scratch/.stderr" < /dev/null
    code=$?
    tenths=$(( ($(date +%s%N) - start) / 100000000 )); seconds="$((tenths / 10)).$((tenths % 10))"
    if [[ "$(trim "$command")" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] && [[ "$(trim "$command")" != *" "*attention-io* ]]; then
      variables+="$run"$'\n'
    fi
    if [ -n "$expect" ]; then
      want="${expect%%:*}"; message="${expect#*:}"
      if [ "$code" = "$want" ] && grep -qF -- "$message" "$scratch/.stderr"; then
        echo "ok   ${seconds}s  $file:$line  $command  (fails as documented: exit $code, \"$message\")"
      else
        failures=$((failures + 1))
        echo "FAIL ${seconds}s  $file:$line  $command"
        echo "     promised exit $want with \"$message\"; got exit $code: $(head -c 300 "$scratch/.stderr")"
      fi
    elif [ "$code" = 0 ]; then
      echo "ok   ${seconds}s  $file:$line  $command"
    else
      failures=$((failures + 1))
      [ "$code" = 124 ] && echo "FAIL ${seconds}s  $file:$line  $command  (over the ${limit} s limit)" \
        || echo "FAIL ${seconds}s  $file:$line  $command  (exit $code)"
      tail -n 5 "$scratch/.stderr" | sed 's/^/     /'
    fi
  done < <(extract "$file" "$all_sh")
done
echo "doc-commands: $count commands run, $skipped skipped, $failures failed"
[ "$failures" -eq 0 ]
