#!/usr/bin/env bash
# Benchmark of the microsite beside a reference and a baseline, on a whole core and at the
# lab's Fargate size (0.25 vCPU), all in one run.
#
# All on loopback: a throwaway PostgreSQL (pinned to core 0, with wrk) and three services,
# each one process tree pinned to core 1, started once and kept running:
#   - microsite: this repository's service
#   - reference: granian's RSGI interface + asyncpg pool of 4 + orjson, no framework
#     (bench/microsite_reference.py), the fastest plain stack we know
#   - baseline:  Flask + psycopg pool under gunicorn, 1 worker, 4 threads
#     (bench/microsite_baseline.py), the usual stack
# Then ROUNDS rounds, interleaved so that the machine's other load falls on all of them
# alike: in each round, each service serves GET / for DURATION s on the whole core, then
# again inside a cgroup with a CPU quota of 25 ms per 100 ms (0.25 vCPU). Figures are the
# medians over the rounds: req/s, p50, p99, the service's CPU time per request (all its
# processes and threads) and, under the quota, the share of periods it was throttled.
# Also: GET /health once per service, RSS idle / after warm-up / after >= 100 000 requests,
# and pgbench running the same query (the database's ceiling).
#
# Usage: bench/microsite.sh            (root; needs wrk, pgbench, postgresql, python3 with
#                                       venv, a writable cgroup cpu controller; 2+ cores)
# Env:   DURATION (s per load run, default 6), ROUNDS (default 3), CONNECTIONS (default 32),
#        KEEP=1 to keep the temp dir, VENV=DIR to reuse a venv with the packages installed.
#        It installs the Python packages it needs into a venv in its temp dir.
set -euo pipefail

DURATION=${DURATION:-6}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
LEAK_REQUESTS=100000
SERVICES=(microsite reference baseline)
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
WORK=$(mktemp -d -t microsite-bench.XXXXXX)
declare -A PID=() URL=()
CGROUP=""
CG_ROOT=""
CG_CORE=""
CG_PEERS=""

log() { printf '# %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

cleanup() {
    set +e
    for name in "${!PID[@]}"; do
        kill -TERM "${PID[$name]}" 2>/dev/null && wait "${PID[$name]}" 2>/dev/null
    done
    if [[ -n "${PG_DATA:-}" && -f "$PG_DATA/postmaster.pid" ]]; then
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1
    fi
    if [[ -n "$CGROUP" ]]; then
        echo $$ >"$CG_ROOT/cgroup.procs"
        rmdir "$CGROUP" "$CG_CORE" "$CG_PEERS" 2>/dev/null
    fi
    [[ "${KEEP:-0}" == 1 ]] && log "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

for tool in wrk pgbench taskset python3 curl; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install wrk postgresql util-linux python3-venv curl)"
done
[[ $(nproc) -ge 2 ]] || die "needs 2 cores: one for the services, one for PostgreSQL and wrk"
[[ $(id -u) -eq 0 ]] || die "run as root: the 0.25 vCPU runs need a cgroup"

PG_BIN=$(pg_config --bindir 2>/dev/null || true)
[[ -x "$PG_BIN/initdb" ]] || PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x "$PG_BIN/initdb" ]] || die "initdb not found (apt-get install postgresql)"
as_pg() { runuser -u postgres -- "$@"; }
chown postgres "$WORK"
chmod 755 "$WORK"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
psi_total() { awk -F'total=' '/^some/ {print $2}' /proc/pressure/cpu; }
PSI_START=""
[[ -r /proc/pressure/cpu ]] && PSI_START=$(psi_total)
T_START=$SECONDS

# -- cgroups: the 0.25 vCPU quota, a whole core, and the peers (PostgreSQL, wrk) ---------
# The machine may run other work on the same cores. Each group gets a CPU weight 10 times
# the default, so that a service in its turn gets (nearly) its whole core or its whole
# 0.25 vCPU, and PostgreSQL and wrk their core, whatever else runs: the figures then
# describe the services, not the neighbours (WEIGHT=0 turns this off).
WEIGHT=${WEIGHT:-1}
if [[ -f /sys/fs/cgroup/cgroup.controllers ]] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
    grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control || echo +cpu >/sys/fs/cgroup/cgroup.subtree_control
    CG_ROOT=/sys/fs/cgroup
    weigh() { [[ $WEIGHT == 1 ]] && echo 1000 >"$1/cpu.weight"; true; }
    set_quota() { echo "25000 100000" >"$1/cpu.max"; }
    QUOTA_NOTE="cgroup v2 cpu.max 25000/100000"
elif [[ -w /sys/fs/cgroup/cpu/cgroup.procs ]]; then
    CG_ROOT=/sys/fs/cgroup/cpu
    weigh() { [[ $WEIGHT == 1 ]] && echo 10240 >"$1/cpu.shares"; true; }
    set_quota() { echo 100000 >"$1/cpu.cfs_period_us" && echo 25000 >"$1/cpu.cfs_quota_us"; }
    QUOTA_NOTE="cgroup v1 cpu.cfs_quota_us 25000/100000"
else
    die "no writable cgroup cpu controller (cgroup v1 or v2)"
fi
CGROUP=$CG_ROOT/microsite-bench-$$
CG_CORE=$CGROUP-core
CG_PEERS=$CGROUP-peers
mkdir "$CGROUP" "$CG_CORE" "$CG_PEERS"
set_quota "$CGROUP"
for group in "$CGROUP" "$CG_CORE" "$CG_PEERS"; do weigh "$group"; done
echo $$ >"$CG_PEERS/cgroup.procs"  # this script, and so wrk, pgbench and PostgreSQL

# -- Python environment ---------------------------------------------------------------
if [[ -n "${VENV:-}" ]]; then
    PY="$VENV/bin/python"
else
    log "installing the services' packages into $WORK/venv"
    python3 -m venv "$WORK/venv"
    "$WORK/venv/bin/pip" install -q --disable-pip-version-check -r "$ROOT/microsite/requirements.txt" \
        'granian>=2.5,<3' flask gunicorn 'psycopg[binary]' psycopg-pool >"$WORK/pip.log" 2>&1 \
        || { cat "$WORK/pip.log" >&2; die "pip install failed"; }
    PY="$WORK/venv/bin/python"
fi
BIN=$(dirname "$PY")

# -- PostgreSQL on core 0 --------------------------------------------------------------
PG_DATA="$WORK/pg/data"
PG_PORT=$(free_port)
PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
install -d -m 700 -o postgres "$WORK/pg"
printf '%s\n' "$PASSWORD" >"$WORK/pg/pw" && chmod 644 "$WORK/pg/pw"
as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U bench --auth-host=scram-sha-256 --auth-local=trust \
    --pwfile="$WORK/pg/pw" >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log" >&2; die "initdb failed"; }
as_pg taskset -c 0 "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$WORK/pg/log" -w -o \
    "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $WORK/pg -c fsync=off -c max_connections=50" \
    start >/dev/null || { cat "$WORK/pg/log" >&2; die "PostgreSQL did not start"; }
export PGPASSWORD=$PASSWORD
"$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U bench -d postgres -c "CREATE DATABASE microsite"
log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT, core 0"

export HOST=127.0.0.1 DB_PORT=$PG_PORT DB_NAME=microsite USER=bench PASSWORD ENVIRONMENT=bench
export LISTEN_HOST=127.0.0.1 PYTHONPATH="$ROOT/microsite" DB_POOL_SIZE=${DB_POOL_SIZE:-8}
"$PY" -c 'from microsite.db import SQL_OVERVIEW; print(" ".join(SQL_OVERVIEW.split()) + ";")' \
    >"$WORK/query.sql"
export BENCH_SQL_FILE="$WORK/query.sql"

# -- measuring -------------------------------------------------------------------------
wait_ready() {  # url, pid
    for _ in $(seq 300); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || die "process $2 exited before it was ready"
        sleep 0.1
    done
    die "$1 not ready"
}

tree() {  # a process and all its descendants
    local pid=$1 child
    echo "$pid"
    for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do tree "$child"; done
}

rss_kib() {  # total VmRSS of a process tree
    local total=0 pid
    for pid in $(tree "$1"); do
        total=$((total + $(awk '/^VmRSS/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)))
    done
    echo "$total"
}

cpu_ticks() {  # user + system CPU time of a process tree, in clock ticks
    local total=0 pid
    for pid in $(tree "$1"); do
        total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    echo "$total"
}

move_to() {  # cgroup-dir pid: every process of the tree (all their threads) into the group
    local pid
    for pid in $(tree "$2"); do echo "$pid" >"$1/cgroup.procs"; done
}

throttled() {  # cumulative "periods throttled" of the quota group
    awk '$1 == "nr_throttled" {print $2}' "$CGROUP/cpu.stat"
}

periods() {
    awk '$1 == "nr_periods" {print $2}' "$CGROUP/cpu.stat"
}

# wrk on core 0; prints "rps p50 p99 requests" (latencies in ms)
load() {  # url seconds
    # A 10 s timeout: a slow answer under the quota counts in the latencies, not as an error.
    taskset -c 0 wrk -t1 -c"$CONNECTIONS" -d"$2"s --timeout 10s --latency "$1" >"$WORK/wrk.out" 2>&1 \
        || { cat "$WORK/wrk.out" >&2; die "wrk failed"; }
    grep -q "Non-2xx" "$WORK/wrk.out" && { cat "$WORK/wrk.out" >&2; die "errors under load on $1"; }
    grep "Socket errors" "$WORK/wrk.out" | sed "s|^ *|# $1: |" >&2 || true
    awk 'function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
         /Requests\/sec/ {rps=$2} $1=="50%" {p50=ms($2)} $1=="99%" {p99=ms($2)}
         /requests in/ {n=$1} END {printf "%.0f %.2f %.2f %d\n", rps, p50, p99, n}' "$WORK/wrk.out"
}

# measure name mode url seconds: appends "rps p50 p99 cpu_us throttled%" to $WORK/r.name.mode
measure() {
    local before result cpu thr=0 p0 t0
    before=$(cpu_ticks "${PID[$1]}")
    [[ $2 == quota ]] && { p0=$(periods); t0=$(throttled); }
    result=$(load "$3" "$4") || exit 1
    read -r rps p50 p99 n <<<"$result"
    cpu=$(awk -v t="$(($(cpu_ticks "${PID[$1]}") - before))" -v hz="$(getconf CLK_TCK)" -v n="$n" \
        'BEGIN {printf "%.0f", t * 1e6 / hz / n}')
    [[ $2 == quota ]] && thr=$(awk -v p="$(($(periods) - p0))" -v t="$(($(throttled) - t0))" \
        'BEGIN {printf "%.0f", (p > 0 ? 100 * t / p : 0)}')
    echo "$rps $p50 $p99 $cpu $thr" >>"$WORK/r.$1.$2"
    SERVED=$n
}

median() {  # file column
    sort -g -k"$2","$2" "$1" | awk -v c="$2" '{v[NR] = $c} END {print v[int((NR + 1) / 2)]}'
}

range() {  # file column: "min-max"
    sort -g -k"$2","$2" "$1" | awk -v c="$2" 'NR == 1 {lo = $c} {hi = $c} END {print lo "-" hi}'
}

# -- the services, each pinned to core 1 -----------------------------------------------
start() {  # name port command...
    local name=$1 port=$2
    shift 2
    taskset -c 1 "$@" >"$WORK/$name.log" 2>&1 &
    PID[$name]=$!
    URL[$name]="http://127.0.0.1:$port"
    wait_ready "${URL[$name]}/health" "${PID[$name]}"
    wait_ready "${URL[$name]}/" "${PID[$name]}"
}

export PORT=$(free_port)
start microsite "$PORT" "$PY" -m microsite
port=$(free_port)
start reference "$port" "$BIN/granian" --interface rsgi --workers 1 --loop uvloop --no-ws \
    --host 127.0.0.1 --port "$port" --log-level warning --working-dir "$HERE" \
    microsite_reference:app
port=$(free_port)
start baseline "$port" "$BIN/gunicorn" -w 1 --threads 4 --chdir "$HERE" -b "127.0.0.1:$port" \
    --log-level warning microsite_baseline:app
sleep 1
declare -A RSS_IDLE=() RSS_WARM=()
for name in "${SERVICES[@]}"; do
    RSS_IDLE[$name]=$(rss_kib "${PID[$name]}")
    load "${URL[$name]}/" 2 >/dev/null
    RSS_WARM[$name]=$(rss_kib "${PID[$name]}")
done
log "services up on core 1: microsite ${PID[microsite]}, reference ${PID[reference]}, baseline ${PID[baseline]}"

# -- interleaved rounds ----------------------------------------------------------------
MICROSITE_SERVED=0
for round in $(seq "$ROUNDS"); do
    log "round $round/$ROUNDS"
    for name in "${SERVICES[@]}"; do
        move_to "$CG_CORE" "${PID[$name]}"
        measure "$name" core "${URL[$name]}/" "$DURATION"
        [[ $name == microsite ]] && MICROSITE_SERVED=$((MICROSITE_SERVED + SERVED))
        move_to "$CGROUP" "${PID[$name]}"
        measure "$name" quota "${URL[$name]}/" "$DURATION"
        [[ $name == microsite ]] && MICROSITE_SERVED=$((MICROSITE_SERVED + SERVED))
    done
done
for name in "${SERVICES[@]}"; do
    move_to "$CG_CORE" "${PID[$name]}"
    measure "$name" health "${URL[$name]}/health" "$DURATION"
    [[ $name == microsite ]] && MICROSITE_SERVED=$((MICROSITE_SERVED + SERVED))
done
while [[ $MICROSITE_SERVED -lt $LEAK_REQUESTS ]]; do
    load "${URL[microsite]}/" 5 >"$WORK/more"
    MICROSITE_SERVED=$((MICROSITE_SERVED + $(awk '{print $4}' "$WORK/more")))
done
RSS_LOADED=$(rss_kib "${PID[microsite]}")

# -- the same query in pgbench, from core 1: the database's ceiling ----------------------
taskset -c 1 pgbench -n -h 127.0.0.1 -p "$PG_PORT" -U bench -M prepared -c "$DB_POOL_SIZE" -j 1 \
    -T "$DURATION" -f "$WORK/query.sql" microsite >"$WORK/pgbench.out" 2>&1 \
    || { cat "$WORK/pgbench.out" >&2; die "pgbench failed"; }
PGBENCH_TPS=$(awk '/^tps/ {printf "%.0f", $3}' "$WORK/pgbench.out")

# -- report ----------------------------------------------------------------------------
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k/1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a/b : 0)}'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%+.1f %%", (b > 0 ? 100*(a-b)/b : 0)}'; }
row() {  # name mode label
    local f="$WORK/r.$1.$2"
    printf '%-10s %-22s %8s %8s %8s %8s' "$1" "$3" "$(median "$f" 1)" "$(median "$f" 2)" \
        "$(median "$f" 3)" "$(median "$f" 4)"
    [[ $2 == quota ]] && printf ' %6s%%' "$(median "$f" 5)"
    printf '   req/s %s\n' "$(range "$f" 1)"
}
m() { median "$WORK/r.$1.$2" "$3"; }

cat <<EOF

microsite benchmark: $(nproc) cores, $(uname -r), Python $("$PY" -c 'import platform; print(platform.python_version())'), PostgreSQL and wrk on core 0, each service alone on core 1 in its turn
wrk: $CONNECTIONS connections, ${DURATION} s per run, 127.0.0.1 only; $ROUNDS interleaved rounds, medians (and the range of req/s); microsite pool $DB_POOL_SIZE
0.25 vCPU: $QUOTA_NOTE; "thr" = share of 100 ms periods in which the service was throttled

                                     req/s   p50 ms   p99 ms CPU us/req   thr
EOF
for name in "${SERVICES[@]}"; do row "$name" core "GET /  whole core"; done
for name in "${SERVICES[@]}"; do row "$name" quota "GET /  0.25 vCPU"; done
for name in "${SERVICES[@]}"; do row "$name" health "GET /health  whole core"; done
echo "pgbench    same query, core 1   $(printf '%8s' "$PGBENCH_TPS") tps ($DB_POOL_SIZE clients, prepared)"
cat <<EOF

GET / microsite vs reference, whole core:  $(ratio "$(m microsite core 1)" "$(m reference core 1)")x req/s (target >= 1.5x), p99 $(m microsite core 3) vs $(m reference core 3) ms, CPU/req $(ratio "$(m microsite core 4)" "$(m reference core 4)")x
GET / microsite vs reference, 0.25 vCPU:   $(ratio "$(m microsite quota 1)" "$(m reference quota 1)")x req/s (target >= 1.5x), p99 $(m microsite quota 3) vs $(m reference quota 3) ms (target <=), CPU/req $(ratio "$(m microsite quota 4)" "$(m reference quota 4)")x
GET / microsite vs baseline:               $(ratio "$(m microsite core 1)" "$(m baseline core 1)")x whole core, $(ratio "$(m microsite quota 1)" "$(m baseline quota 1)")x 0.25 vCPU (target >= 4x)
GET / microsite vs pgbench ceiling:        $(ratio "$(m microsite core 1)" "$PGBENCH_TPS")
microsite 0.25 vCPU vs whole core:         $(ratio "$(m microsite quota 1)" "$(m microsite core 1)")x req/s; CPU/req $(m microsite quota 4) vs $(m microsite core 4) us (ideal: 0.25x req/s, same CPU/req)
microsite RSS idle:           $(mib "${RSS_IDLE[microsite]}")   (target < 40 MiB, all processes)
microsite RSS after warm-up:  $(mib "${RSS_WARM[microsite]}")
microsite RSS after $MICROSITE_SERVED requests: $(mib "$RSS_LOADED")   ($(pct "$RSS_LOADED" "${RSS_IDLE[microsite]}") vs idle, $(pct "$RSS_LOADED" "${RSS_WARM[microsite]}") vs warm; target < +10 %)
reference RSS idle / warm:    $(mib "${RSS_IDLE[reference]}") / $(mib "${RSS_WARM[reference]}")
baseline RSS idle / warm:     $(mib "${RSS_IDLE[baseline]}") / $(mib "${RSS_WARM[baseline]}")
EOF
if [[ -n "$PSI_START" ]]; then
    psi_end=$(psi_total)
    echo "CPU pressure during the run: $(awk -v a="$PSI_START" -v b="$psi_end" -v t="$((SECONDS - T_START))" \
        'BEGIN {printf "%.0f", (b - a) / 1e4 / t}') % of the time some task waited for a CPU (PSI; wrk and PostgreSQL share core 0, so ~40 % is this bench itself; more means other load made the figures noisy)"
fi
