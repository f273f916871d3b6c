#!/usr/bin/env bash
# The distributed twin on one machine: a local Mosquitto (the bus) and PostgreSQL (Storage) on loopback, every block's
# service host and the gateway as local processes on the built dlls. Everything lives under one run folder, every
# process's pid is recorded there, and stop ends them by those pids only.
#
#   scripts/distributed.sh start [--no-build]   build the hosts (Release), start broker, database, services, gateway
#   scripts/distributed.sh stop                 stop what start started (services, then broker and database)
#   scripts/distributed.sh status               each process: pid, alive, health
#   scripts/distributed.sh env                  the run's variables (gateway URL, admin token, ports) as shell lines
#   scripts/distributed.sh kill NAME            kill -9 one process (e.g. acquisition-1, broker, postgres)
#   scripts/distributed.sh restart NAME         stop (TERM) and start one process again with the same settings
#
# Settings (environment): HEARTTWIN_RUN_DIR (default /tmp/hearttwin-distributed), HEARTTWIN_BASE_PORT (default 18080:
# gateway; +1..+8 the services; +9 the devices' MQTT (Connector); +10 the bus's Mosquitto; +11 PostgreSQL; +20.. extra
# replicas), HEARTTWIN_ACQUISITION_REPLICAS and HEARTTWIN_AGENT_REPLICAS (default 1), HEARTTWIN_PARTITIONS (16),
# HEARTTWIN_STORAGE (postgres|sqlite, default postgres), HEARTTWIN_ADMIN_TOKEN (default: generated once per run folder).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUN="${HEARTTWIN_RUN_DIR:-/tmp/hearttwin-distributed}"
BASE="${HEARTTWIN_BASE_PORT:-18080}"
ACQ_REPLICAS="${HEARTTWIN_ACQUISITION_REPLICAS:-1}"
AGENT_REPLICAS="${HEARTTWIN_AGENT_REPLICAS:-1}"
PARTITIONS="${HEARTTWIN_PARTITIONS:-16}"
STORAGE="${HEARTTWIN_STORAGE:-postgres}"
CONFIG="Release"
BLOCKS=(connector acquisition storage agent inference policy actuation sharing)
GATEWAY_PORT=$BASE
DEVICE_MQTT_PORT=$((BASE + 9))
BUS_PORT=$((BASE + 10))
PG_PORT=$((BASE + 11))

die() { echo "distributed: $*" >&2; exit 1; }

project_of() { # connector -> Connector
  local b=$1
  echo "${b^}"
}

dll_of() {
  local name=$1
  if [ "$name" = gateway ]; then
    echo "$ROOT/src/Hosts/HeartTwin.Gateway/bin/$CONFIG/net10.0/linux-x64/HeartTwin.Gateway.dll"
  else
    local p; p=$(project_of "$name")
    echo "$ROOT/src/Hosts/HeartTwin.$p.Host/bin/$CONFIG/net10.0/linux-x64/HeartTwin.$p.Host.dll"
  fi
}

# Every process of the run: name, block, replica index, replica count, HTTP port.
instances() {
  local i port
  echo "connector connector 0 1 $((BASE + 1))"
  for ((i = 0; i < ACQ_REPLICAS; i++)); do
    port=$((BASE + 2)); [ "$i" -gt 0 ] && port=$((BASE + 20 + i))
    echo "acquisition-$i acquisition $i $ACQ_REPLICAS $port"
  done
  echo "storage storage 0 1 $((BASE + 3))"
  for ((i = 0; i < AGENT_REPLICAS; i++)); do
    port=$((BASE + 4)); [ "$i" -gt 0 ] && port=$((BASE + 30 + i))
    echo "agent-$i agent $i $AGENT_REPLICAS $port"
  done
  echo "inference inference 0 1 $((BASE + 5))"
  echo "policy policy 0 1 $((BASE + 6))"
  echo "actuation actuation 0 1 $((BASE + 7))"
  echo "sharing sharing 0 1 $((BASE + 8))"
  echo "gateway gateway 0 1 $GATEWAY_PORT"
}

# Alive and not a zombie (a killed process whose parent has not reaped it yet still answers kill -0).
pid_alive() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
  local state
  state=$(sed -n 's/^[0-9]* (.*) \([A-Z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true)
  [ "$state" != Z ]
}
read_pid() { [ -f "$RUN/pids/$1.pid" ] && cat "$RUN/pids/$1.pid" || true; }

secrets() {
  mkdir -p "$RUN"
  if [ ! -f "$RUN/secrets" ]; then
    local token="${HEARTTWIN_ADMIN_TOKEN:-ht-admin-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
    local key; key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
    umask 077
    printf 'ADMIN_TOKEN=%s\nSIGNING_KEY=%s\n' "$token" "$key" > "$RUN/secrets"
  fi
  # shellcheck disable=SC1091
  . "$RUN/secrets"
}

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && { echo "$d"; return; }; done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return; }
  die "PostgreSQL is not installed (apt-get install -y postgresql)."
}

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_broker() {
  command -v mosquitto >/dev/null 2>&1 || die "mosquitto is not installed (apt-get install -y mosquitto)."
  local dir="$RUN/mosquitto"
  mkdir -p "$dir/data"
  cat > "$dir/mosquitto.conf" <<EOF
# The bus of the local distributed run: loopback only, persistent (QoS 1 sessions survive a broker restart).
listener $BUS_PORT 127.0.0.1
allow_anonymous true
persistence true
persistence_location $dir/data/
autosave_interval 5
max_queued_messages 100000
log_dest file $dir/mosquitto.log
EOF
  [ "$(id -u)" = 0 ] && chown -R mosquitto "$dir" 2>/dev/null || true
  setsid nohup mosquitto -c "$dir/mosquitto.conf" > "$RUN/logs/broker.out" 2>&1 < /dev/null &
  echo $! > "$RUN/pids/broker.pid"
  wait_port "$BUS_PORT" broker
}

start_postgres() {
  local bin dir="$RUN/postgres"
  bin=$(pg_bin)
  if [ ! -f "$dir/PG_VERSION" ]; then
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir" 2>/dev/null || true
    chmod 700 "$dir"
    as_pg "$bin/initdb" -D "$dir" -A trust -U postgres > "$RUN/logs/initdb.log" 2>&1 || die "initdb failed: see $RUN/logs/initdb.log"
  fi
  [ "$(id -u)" = 0 ] && touch "$RUN/logs/postgres.log" && chown postgres "$RUN/logs/postgres.log"
  as_pg "$bin/pg_ctl" -D "$dir" -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $dir" -l "$RUN/logs/postgres.log" -w start > /dev/null \
    || die "PostgreSQL did not start: see $RUN/logs/postgres.log"
  head -n 1 "$dir/postmaster.pid" > "$RUN/pids/postgres.pid"
  if ! as_pg psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='hearttwin'" | grep -q 1; then
    as_pg psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE hearttwin" > /dev/null
  fi
}

wait_port() { # port name
  local i
  for ((i = 0; i < 100; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  die "$2 does not listen on 127.0.0.1:$1 (see $RUN/logs/)"
}

# The environment of one service process (the configuration keys of docs/configuration.md).
service_env() { # name block index count port
  local name=$1 block=$2 index=$3 count=$4
  echo "ASPNETCORE_ENVIRONMENT=Production"
  echo "Auth__AdminToken=$ADMIN_TOKEN"
  echo "Auth__SigningKey=$SIGNING_KEY"
  echo "Messaging__Transport=Mqtt"
  echo "Messaging__Mqtt__Host=127.0.0.1"
  echo "Messaging__Mqtt__Port=$BUS_PORT"
  echo "Messaging__Mqtt__Partitions=$PARTITIONS"
  echo "Messaging__Mqtt__ServiceName=$block"
  echo "Messaging__Mqtt__ReplicaIndex=$index"
  echo "Messaging__Mqtt__ReplicaCount=$count"
  echo "HeartTwin__DataDirectory=$RUN/data/$name"
  echo "OTEL_SERVICE_NAME=hearttwin-$name"
  case "$block" in
    storage)
      if [ "$STORAGE" = postgres ]; then
        echo "Storage__Provider=Postgres"
        echo "Storage__ConnectionString=Host=127.0.0.1;Port=$PG_PORT;Database=hearttwin;Username=postgres"
      else
        echo "Storage__Provider=Sqlite"
      fi ;;
    connector)
      echo "Connector__MqttPort=$DEVICE_MQTT_PORT"
      echo "Connector__MqttAddress=127.0.0.1" ;;
    gateway)
      echo "ReverseProxy__Clusters__connector__Destinations__primary__Address=http://127.0.0.1:$((BASE + 1))"
      echo "ReverseProxy__Clusters__policy__Destinations__primary__Address=http://127.0.0.1:$((BASE + 6))"
      echo "ReverseProxy__Clusters__actuation__Destinations__primary__Address=http://127.0.0.1:$((BASE + 7))"
      echo "ReverseProxy__Clusters__sharing__Destinations__primary__Address=http://127.0.0.1:$((BASE + 8))" ;;
  esac
}

start_service() { # name block index count port
  local name=$1 block=$2 port=$5 dll
  dll=$(dll_of "$block")
  [ -f "$dll" ] || die "$dll is missing: run without --no-build, or build src/Hosts first."
  if pid_alive "$(read_pid "$name")"; then echo "  $name already running"; return; fi
  mkdir -p "$RUN/data/$name"
  service_env "$@" > "$RUN/env.d/$name"
  (
    set -a
    # shellcheck disable=SC1090
    . <(sed 's/^\([^=]*\)=\(.*\)$/\1='"'"'\2'"'"'/' "$RUN/env.d/$name")
    set +a
    cd "$RUN/data/$name"
    exec setsid nohup dotnet "$dll" --urls "http://127.0.0.1:$port" > "$RUN/logs/$name.log" 2>&1 < /dev/null
  ) &
  echo $! > "$RUN/pids/$name.pid"
}

wait_ready() { # name port
  local i
  # Up to 120 s: eleven .NET processes starting at once on a small, busy machine (CI runs other tests beside this).
  for ((i = 0; i < 1200; i++)); do
    if curl -fs -o /dev/null "http://127.0.0.1:$2/health/ready"; then return 0; fi
    pid_alive "$(read_pid "$1")" || die "$1 exited during start (scripts/distributed.sh stop ends the rest): $(tail -n 5 "$RUN/logs/$1.log")"
    sleep 0.1
  done
  die "$1 is not ready after 120 s (see $RUN/logs/$1.log)"
}

write_env() {
  cat > "$RUN/env" <<EOF
HEARTTWIN_GATEWAY_URL=http://127.0.0.1:$GATEWAY_PORT
HEARTTWIN_ADMIN_TOKEN=$ADMIN_TOKEN
HEARTTWIN_DEVICE_MQTT_PORT=$DEVICE_MQTT_PORT
HEARTTWIN_BUS_MQTT_PORT=$BUS_PORT
HEARTTWIN_POSTGRES_PORT=$PG_PORT
HEARTTWIN_RUN_DIR=$RUN
EOF
}

cmd_start() {
  local build=1
  [ "${1:-}" = "--no-build" ] && build=0
  case "$STORAGE" in postgres|sqlite) ;; *) die "HEARTTWIN_STORAGE must be postgres or sqlite";; esac
  if [ "$build" = 1 ]; then
    local b
    for b in "${BLOCKS[@]}"; do
      dotnet build "$ROOT/src/Hosts/HeartTwin.$(project_of "$b").Host/HeartTwin.$(project_of "$b").Host.csproj" -c "$CONFIG" -v q -nologo > "$RUN.build.log" 2>&1 \
        || die "building the $b host failed: see $RUN.build.log"
    done
    dotnet build "$ROOT/src/Hosts/HeartTwin.Gateway/HeartTwin.Gateway.csproj" -c "$CONFIG" -v q -nologo > "$RUN.build.log" 2>&1 \
      || die "building the gateway failed: see $RUN.build.log"
  fi
  mkdir -p "$RUN/pids" "$RUN/logs" "$RUN/env.d" "$RUN/data"
  secrets
  pid_alive "$(read_pid broker)" || start_broker
  if [ "$STORAGE" = postgres ] && ! pid_alive "$(read_pid postgres)"; then start_postgres; fi
  local name block index count port
  while read -r name block index count port; do
    start_service "$name" "$block" "$index" "$count" "$port"
  done < <(instances)
  while read -r name block index count port; do
    wait_ready "$name" "$port"
  done < <(instances)
  write_env
  echo "HeartTwin (distributed) is running from $RUN"
  echo "  Gateway      http://127.0.0.1:$GATEWAY_PORT   (API /api, FHIR /fhir)"
  echo "  Device MQTT  127.0.0.1:$DEVICE_MQTT_PORT (Connector)    Bus MQTT 127.0.0.1:$BUS_PORT (Mosquitto)"
  [ "$STORAGE" = postgres ] && echo "  PostgreSQL   127.0.0.1:$PG_PORT (database hearttwin)"
  echo "  Admin token  $ADMIN_TOKEN"
}

stop_pid() { # name [signal]
  local name=$1 pid i
  pid=$(read_pid "$name")
  if pid_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do pid_alive "$pid" || break; sleep 0.1; done
    pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$RUN/pids/$name.pid"
}

cmd_stop() {
  [ -d "$RUN/pids" ] || { echo "distributed: nothing to stop in $RUN"; return 0; }
  local name rest
  # The gateway first, the broker and the database last, so that services stop with their bus still there.
  for name in gateway $(ls "$RUN/pids" | sed -n 's/\.pid$//p' | grep -vx -e gateway -e broker -e postgres); do
    stop_pid "$name"
  done
  stop_pid broker
  if [ -f "$RUN/pids/postgres.pid" ]; then
    as_pg "$(pg_bin)/pg_ctl" -D "$RUN/postgres" -m fast -w stop > /dev/null 2>&1 || stop_pid postgres
    rm -f "$RUN/pids/postgres.pid"
  fi
  echo "distributed: stopped"
}

cmd_status() {
  [ -d "$RUN/pids" ] || { echo "distributed: not started ($RUN)"; return 1; }
  local name block index count port pid state health all=0
  for name in broker postgres; do
    [ -f "$RUN/pids/$name.pid" ] || continue
    pid=$(read_pid "$name"); state=down; pid_alive "$pid" && state=up || all=1
    printf '%-14s pid %-8s %s\n' "$name" "$pid" "$state"
  done
  while read -r name block index count port; do
    pid=$(read_pid "$name"); state=down; health=-
    if pid_alive "$pid"; then state=up; health=$(curl -s -m 2 "http://127.0.0.1:$port/health/ready" || echo unreachable); else all=1; fi
    printf '%-14s pid %-8s %-5s :%s  %s\n' "$name" "${pid:--}" "$state" "$port" "$health"
  done < <(instances)
  return $all
}

cmd_kill() {
  local name=${1:?name}
  local pid; pid=$(read_pid "$name")
  pid_alive "$pid" || die "$name is not running"
  kill -KILL "$pid"
  echo "distributed: killed $name (pid $pid)"
}

cmd_restart() {
  local name=${1:?name} found=0 block index count port n
  secrets
  mkdir -p "$RUN/pids" "$RUN/logs" "$RUN/env.d"
  case "$name" in
    broker) stop_pid broker; start_broker; return ;;
    postgres)
      as_pg "$(pg_bin)/pg_ctl" -D "$RUN/postgres" -m fast -w stop > /dev/null 2>&1 || true
      rm -f "$RUN/pids/postgres.pid"; start_postgres; return ;;
  esac
  while read -r n block index count port; do
    if [ "$n" = "$name" ]; then
      found=1; stop_pid "$n"; start_service "$n" "$block" "$index" "$count" "$port"; wait_ready "$n" "$port"
    fi
  done < <(instances)
  [ "$found" = 1 ] || die "no process named $name (see status)"
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) [ -f "$RUN/env" ] && cat "$RUN/env" || die "not started ($RUN)" ;;
  kill) shift; cmd_kill "$@" ;;
  restart) shift; cmd_restart "$@" ;;
  *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
