#!/usr/bin/env bash
# Benchmark of the microsite against a baseline and the database's own ceiling.
#
# One run, all on loopback: a throwaway PostgreSQL (pinned to core 0, with wrk), the
# microsite as one process pinned to core 1, then
#   - wrk on GET / and GET /health: req/s, p50, p99 (32 connections, DURATION seconds)
#   - the service's RSS (all its processes) idle, after warm-up and after >= 100 000 requests
#   - pgbench running the same query as GET / from core 1: the database's ceiling
#   - a baseline (Flask + psycopg pool under gunicorn, 1 worker, 4 threads) on core 1
#   - the microsite again under a 0.25 vCPU CPU quota (cgroup), the lab's Fargate size
#
# Usage: bench/microsite.sh            (root or the postgres tools' owner; needs wrk, pgbench,
#                                       postgresql, python3 with venv; 2+ cores)
# Env:   DURATION (s per load run, default 10), CONNECTIONS (default 32), KEEP=1 to keep the
#        temp dir. It installs the Python packages it needs into a venv in its temp dir.
set -euo pipefail

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
LEAK_REQUESTS=100000
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
WORK=$(mktemp -d -t microsite-bench.XXXXXX)
PIDS=()
CGROUP=""

log() { printf '# %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

cleanup() {
    set +e
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    if [[ -n "${PG_DATA:-}" && -f "$PG_DATA/postmaster.pid" ]]; then
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1
    fi
    if [[ -n "$CGROUP" && -d "$CGROUP" ]]; then
        rmdir "$CGROUP" 2>/dev/null
    fi
    [[ "${KEEP:-0}" == 1 ]] && log "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

for tool in wrk pgbench taskset python3 curl; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install wrk postgresql util-linux python3-venv curl)"
done
[[ $(nproc) -ge 2 ]] || die "needs 2 cores: one for the service, one for PostgreSQL and wrk"

PG_BIN=$(pg_config --bindir 2>/dev/null || true)
[[ -x "$PG_BIN/initdb" ]] || PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x "$PG_BIN/initdb" ]] || die "initdb not found (apt-get install postgresql)"

if [[ $(id -u) -eq 0 ]]; then
    as_pg() { runuser -u postgres -- "$@"; }
    chown postgres "$WORK"
else
    as_pg() { "$@"; }
fi
chmod 755 "$WORK"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

psi_total() { awk -F'total=' '/^some/ {print $2}' /proc/pressure/cpu; }
PSI_START=""
[[ -r /proc/pressure/cpu ]] && PSI_START=$(psi_total)
T_START=$SECONDS

# -- Python environment ---------------------------------------------------------------
log "installing the microsite's and the baseline's packages into $WORK/venv"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q --disable-pip-version-check -r "$ROOT/microsite/requirements.txt" \
    flask gunicorn 'psycopg[binary]' psycopg-pool >"$WORK/pip.log" 2>&1 \
    || { cat "$WORK/pip.log" >&2; die "pip install failed"; }
PY="$WORK/venv/bin/python"

# -- PostgreSQL on core 0 --------------------------------------------------------------
PG_DATA="$WORK/pg/data"
PG_PORT=$(free_port)
PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
install -d -m 700 "$WORK/pg"
[[ $(id -u) -eq 0 ]] && chown postgres "$WORK/pg"
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
export LISTEN_HOST=127.0.0.1 PYTHONPATH="$ROOT/microsite"

wait_ready() {  # url, pid
    for _ in $(seq 200); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || die "process $2 exited before it was ready"
        sleep 0.1
    done
    die "$1 not ready"
}

rss_kib() {  # total VmRSS of a process and its descendants
    local total=0 pid
    for pid in $1 $(cat /proc/"$1"/task/*/children 2>/dev/null); do
        total=$((total + $(awk '/^VmRSS/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)))
    done
    echo "$total"
}

# wrk on core 0; prints "rps p50 p99 requests" (latencies in ms)
load() {  # url seconds [connections]
    taskset -c 0 wrk -t1 -c"${3:-$CONNECTIONS}" -d"$2"s --latency "$1" >"$WORK/wrk.out" 2>&1 \
        || { cat "$WORK/wrk.out" >&2; die "wrk failed"; }
    grep -q "Non-2xx" "$WORK/wrk.out" && { cat "$WORK/wrk.out" >&2; die "errors under load on $1"; }
    awk 'function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
         /Requests\/sec/ {rps=$2} $1=="50%" {p50=ms($2)} $1=="99%" {p99=ms($2)}
         /requests in/ {n=$1} END {printf "%.0f %.2f %.2f %d\n", rps, p50, p99, n}' "$WORK/wrk.out"
}

cpu_ticks() {  # user + system CPU time of a process and its children, in clock ticks
    local total=0 pid
    for pid in $1 $(cat /proc/"$1"/task/*/children 2>/dev/null); do
        total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    echo "$total"
}

# PREFIX url seconds [pid]: sets PREFIX_RPS, _P50, _P99, _N and, with a pid, PREFIX_CPU: the
# service's CPU time per request in microseconds (less sensitive to a busy machine than req/s)
measure() {
    local result before=0
    [[ -n "${4:-}" ]] && before=$(cpu_ticks "$4")
    result=$(load "$2" "$3") || exit 1
    read -r "${1}_RPS" "${1}_P50" "${1}_P99" "${1}_N" <<<"$result"
    if [[ -n "${4:-}" ]]; then
        printf -v "${1}_CPU" '%s' "$(awk -v t="$(( $(cpu_ticks "$4") - before ))" \
            -v hz="$(getconf CLK_TCK)" -v n="${result##* }" 'BEGIN {printf "%.0f", t * 1e6 / hz / n}')"
    fi
}

start_microsite() {
    taskset -c 1 "$PY" -m microsite >"$WORK/microsite.log" 2>&1 &
    SITE_PID=$!
    PIDS+=("$SITE_PID")
    wait_ready "http://127.0.0.1:$PORT/ready" "$SITE_PID"
}

# -- the microsite ---------------------------------------------------------------------
export PORT=$(free_port) DB_POOL_SIZE=${DB_POOL_SIZE:-8}
start_microsite
sleep 1
RSS_IDLE=$(rss_kib "$SITE_PID")
log "microsite pid $SITE_PID on core 1, port $PORT; warming up"
measure WARM "http://127.0.0.1:$PORT/" 2
RSS_WARM=$(rss_kib "$SITE_PID")
measure ROOT "http://127.0.0.1:$PORT/" "$DURATION" "$SITE_PID"
measure HEALTH "http://127.0.0.1:$PORT/health" "$DURATION" "$SITE_PID"
SERVED=$((ROOT_N + HEALTH_N))
while [[ $SERVED -lt $LEAK_REQUESTS ]]; do
    measure MORE "http://127.0.0.1:$PORT/" 5
    SERVED=$((SERVED + MORE_N))
done
RSS_LOADED=$(rss_kib "$SITE_PID")

# -- the same query in pgbench, from core 1: the database's ceiling ----------------------
"$PY" -c 'from microsite.db import SQL_OVERVIEW; print(" ".join(SQL_OVERVIEW.split()) + ";")' \
    >"$WORK/query.sql"
taskset -c 1 pgbench -n -h 127.0.0.1 -p "$PG_PORT" -U bench -M prepared -c "$DB_POOL_SIZE" -j 1 \
    -T "$DURATION" -f "$WORK/query.sql" microsite >"$WORK/pgbench.out" 2>&1 \
    || { cat "$WORK/pgbench.out" >&2; die "pgbench failed"; }
PGBENCH_TPS=$(awk '/^tps/ {printf "%.0f", $3}' "$WORK/pgbench.out")

# -- 0.25 vCPU: a CPU quota of 25 ms per 100 ms on the service -------------------------
QUOTA_NOTE=""
if [[ -w /sys/fs/cgroup/cgroup.procs && -f /sys/fs/cgroup/cgroup.controllers ]] \
    && grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
    CGROUP=/sys/fs/cgroup/microsite-bench-$$
    grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control || echo +cpu >/sys/fs/cgroup/cgroup.subtree_control
    mkdir "$CGROUP" && echo "25000 100000" >"$CGROUP/cpu.max"
    QUOTA_NOTE="cgroup v2 cpu.max 25000/100000"
elif [[ -w /sys/fs/cgroup/cpu/cgroup.procs ]]; then
    CGROUP=/sys/fs/cgroup/cpu/microsite-bench-$$
    mkdir "$CGROUP" && echo 100000 >"$CGROUP/cpu.cfs_period_us" && echo 25000 >"$CGROUP/cpu.cfs_quota_us"
    QUOTA_NOTE="cgroup v1 cpu.cfs_quota_us 25000/100000"
fi
if [[ -n "$CGROUP" ]]; then
    echo "$SITE_PID" >"$CGROUP/cgroup.procs"
    measure Q_ROOT "http://127.0.0.1:$PORT/" "$DURATION"
    measure Q_HEALTH "http://127.0.0.1:$PORT/health" "$DURATION"
    RSS_QUOTA=$(rss_kib "$SITE_PID")
fi
kill -TERM "$SITE_PID"; wait "$SITE_PID" || true

# -- baseline: Flask + psycopg pool under gunicorn, 1 worker, 4 threads, core 1 ----------
cp "$WORK/query.sql" "$WORK/baseline.sql"
BASE_PORT=$(free_port)
BENCH_SQL_FILE="$WORK/baseline.sql" taskset -c 1 "$WORK/venv/bin/gunicorn" -w 1 --threads 4 \
    --chdir "$HERE" -b "127.0.0.1:$BASE_PORT" --log-level warning microsite_baseline:app \
    >"$WORK/baseline.log" 2>&1 &
BASE_PID=$!
PIDS+=("$BASE_PID")
wait_ready "http://127.0.0.1:$BASE_PORT/" "$BASE_PID"
sleep 1
BASE_RSS_IDLE=$(rss_kib "$BASE_PID")
measure WARM "http://127.0.0.1:$BASE_PORT/" 2
measure BASE "http://127.0.0.1:$BASE_PORT/" "$DURATION" "$BASE_PID"
measure BASE_H "http://127.0.0.1:$BASE_PORT/health" "$DURATION" "$BASE_PID"
kill -TERM "$BASE_PID"; wait "$BASE_PID" || true

# -- report ----------------------------------------------------------------------------
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k/1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a/b : 0)}'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%+.1f %%", (b > 0 ? 100*(a-b)/b : 0)}'; }

cat <<EOF

microsite benchmark: $(nproc) cores, $(uname -r), Python $("$PY" -c 'import platform; print(platform.python_version())'), PostgreSQL on core 0 with wrk, services on core 1
wrk: $CONNECTIONS connections, ${DURATION} s per run, 127.0.0.1 only; pool $DB_POOL_SIZE connections

                                 req/s     p50 ms    p99 ms   CPU us/req
microsite   GET /          $(printf '%10s %10s %9s %12s' "$ROOT_RPS" "$ROOT_P50" "$ROOT_P99" "$ROOT_CPU")
microsite   GET /health    $(printf '%10s %10s %9s %12s' "$HEALTH_RPS" "$HEALTH_P50" "$HEALTH_P99" "$HEALTH_CPU")
baseline    GET /          $(printf '%10s %10s %9s %12s' "$BASE_RPS" "$BASE_P50" "$BASE_P99" "$BASE_CPU")
baseline    GET /health    $(printf '%10s %10s %9s %12s' "$BASE_H_RPS" "$BASE_H_P50" "$BASE_H_P99" "$BASE_H_CPU")
pgbench     same query     $(printf '%10s' "$PGBENCH_TPS") tps ($DB_POOL_SIZE clients, prepared, core 1)
EOF
if [[ -n "$CGROUP" ]]; then
cat <<EOF
0.25 vCPU   GET /          $(printf '%10s %10s %9s' "$Q_ROOT_RPS" "$Q_ROOT_P50" "$Q_ROOT_P99")   ($QUOTA_NOTE)
0.25 vCPU   GET /health    $(printf '%10s %10s %9s' "$Q_HEALTH_RPS" "$Q_HEALTH_P50" "$Q_HEALTH_P99")
EOF
else
    echo "0.25 vCPU   not measured: no writable cgroup cpu controller here (run as root on cgroup v1 or v2)"
fi
cat <<EOF

GET / vs baseline:            $(ratio "$ROOT_RPS" "$BASE_RPS")x   (target >= 4x)
GET / vs pgbench ceiling:     $(ratio "$ROOT_RPS" "$PGBENCH_TPS")
microsite RSS idle:           $(mib "$RSS_IDLE")   (target < 40 MiB, all processes)
microsite RSS after warm-up:  $(mib "$RSS_WARM")
microsite RSS after $SERVED requests: $(mib "$RSS_LOADED")   ($(pct "$RSS_LOADED" "$RSS_IDLE") vs idle, $(pct "$RSS_LOADED" "$RSS_WARM") vs warm; target < +10 %)
EOF
[[ -n "$CGROUP" ]] && echo "microsite RSS after the 0.25 vCPU runs: $(mib "$RSS_QUOTA")"
echo "baseline RSS idle:            $(mib "$BASE_RSS_IDLE")"
echo "GET / CPU per request vs baseline: $(ratio "$BASE_CPU" "$ROOT_CPU")x less"
if [[ -n "$PSI_START" ]]; then
    psi_end=$(psi_total)
    echo "CPU pressure during the run: $(awk -v a="$PSI_START" -v b="$psi_end" -v t="$((SECONDS - T_START))" \
        'BEGIN {printf "%.0f", (b - a) / 1e4 / t}') % of the time some task waited for a CPU (PSI; wrk and PostgreSQL share core 0, so ~40 % is this bench itself; more means other load made the figures noisy)"
fi
