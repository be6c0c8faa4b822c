#!/usr/bin/env bash
# The README's HTTP load test: the sample regulations replicated to about 60 MB (each copy with
# its own note, so its own ids), imported into a fresh data directory, served by
# `gongwen serve`, and loaded by wrk with the known-item queries (pasted fragments and titles)
# at 64 and at 4 connections. wrk shares the machine's cores with the server.
#
#   bash benches/wrk.sh            (GONGWEN_WRK_MB=60, GONGWEN_WRK_SECONDS=20)
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${GONGWEN_WRK_MB:-60}
seconds=${GONGWEN_WRK_SECONDS:-20}
samples=../shared/samples/documents
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ -d "$samples" ] || { echo "notice: $samples is absent; no load test" >&2; exit 0; }

cargo build --release --quiet
GONGWEN_BENCH_QUERIES_ONLY=1 cargo bench --quiet --bench search >/dev/null

work=target/bench-data/wrk-${mb}mb
if [ ! -f "$work/.complete" ]; then
  rm -rf "$work" && mkdir -p "$work/corpus"
  bytes=0 copy=0
  while [ "$bytes" -lt $((mb * 1000000)) ]; do
    for f in "$samples"/*.md; do
      out="$work/corpus/$(printf %04d "$copy")-$(basename "$f")"
      { cat "$f"; printf '\n（汇编副本第%d号）\n' "$copy"; } >"$out"
      bytes=$((bytes + $(stat -c %s "$out")))
    done
    copy=$((copy + 1))
  done
  target/release/gongwen import --data "$work/data" "$work/corpus" >/dev/null
  touch "$work/.complete"
fi

port=$((20000 + RANDOM % 20000))
target/release/gongwen serve --data "$work/data" --addr "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/api/health" >/dev/null && break
  sleep 0.2
done
curl -s "http://127.0.0.1:$port/api/stats"; echo
url="http://127.0.0.1:$port"
wrk -t2 -c64 -d2s -s benches/wrk-search.lua "$url" >/dev/null
for connections in 64 4; do
  echo "== wrk -t2 -c$connections -d${seconds}s --latency"
  wrk -t2 -c"$connections" -d"${seconds}s" --latency -s benches/wrk-search.lua "$url"
done
