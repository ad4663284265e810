#!/usr/bin/env bash
# A/B of two release pstn-lake binaries on landing, re-landing and sync (wall, CPU, peak RSS),
# alternating run by run so machine load hits both alike. Prints one line per run:
#   <what> <before|after> <wall s> <user s> <sys s> <peak RSS KB>
# Usage: bench/ab-writer.sh BEFORE_BIN AFTER_BIN PAGES_DIR [RUNS]
#   PAGES_DIR: from `pstn-lake simulate --write-pages PAGES_DIR --days 10 --calls-per-day 100000`
set -u
B=$1; A=$2; PAGES=$3; RUNS=${4:-3}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
export AZURE_TENANT_ID=00000000-0000-0000-0000-000000000001 AZURE_CLIENT_ID=00000000-0000-0000-0000-000000000002 AZURE_CLIENT_SECRET=sim-client-secret
bin() { if [ "$1" = before ]; then echo "$B"; else echo "$A"; fi; }
echo "# uptime: $(uptime)"
for i in $(seq "$RUNS"); do for v in before after; do
  rm -rf "$W/lake-$v"
  /usr/bin/time -f "land $v %e %U %S %M" "$(bin $v)" ingest "$PAGES/pstn_calls" --lake "$W/lake-$v" -q
done; done
for i in $(seq "$RUNS"); do for v in before after; do
  /usr/bin/time -f "reland $v %e %U %S %M" "$(bin $v)" ingest "$PAGES/pstn_calls" --lake "$W/lake-$v" -q
done; done
rm -rf "$W"/lake-*
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# One simulator (the after binary's) serves both, so both sync the same rows.
"$A" simulate --port "$PORT" --days 20 --calls-per-day 100000 --first-day 2026-01-01 -q >/dev/null 2>&1 &
SIM=$!; sleep 3
URL=http://127.0.0.1:$PORT
for i in $(seq "$RUNS"); do for v in before after; do
  rm -rf "$W/slake-$v" "$W/dlake-$v"
  /usr/bin/time -f "sync20 $v %e %U %S %M" "$(bin $v)" sync --graph-url "$URL" --login-url "$URL" --tables pstn_calls --from 2026-01-01 --to 2026-01-20 --lake "$W/slake-$v" -q
  /usr/bin/time -f "sync1 $v %e %U %S %M" "$(bin $v)" sync --graph-url "$URL" --login-url "$URL" --tables pstn_calls --from 2026-01-01 --to 2026-01-01 --lake "$W/dlake-$v" -q
done; done
kill $SIM
echo "# uptime: $(uptime)"
