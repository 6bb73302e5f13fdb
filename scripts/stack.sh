#!/usr/bin/env bash
# Runs the whole system on one machine: Kafka, Redis and the four services.
#   scripts/stack.sh up      docker compose when a Docker engine answers, else native processes
#   scripts/stack.sh down    stops what `up` started
#   scripts/stack.sh status
# Ports: KAFKA_PORT (9092), REDIS_PORT (6379), INTAKE_PORT 8001, CLASSIFIER_PORT 8002,
# CAPACITY_PORT 8003, NOTIFIER_PORT 8004, MAIL_PORT 8025 (the development mail sink the notifier
# sends email to). STACK_MODE=native|compose forces a mode. STACK_RUN_DIR (.run/stack) holds a native
# stack's data, logs and pids, so a second stack (the load benchmark's) can run beside the default one.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
RUN="${STACK_RUN_DIR:-$ROOT/.run/stack}"
SERVICES=(intake classifier capacity notifier)
KAFKA_PORT="${KAFKA_PORT:-9092}"
REDIS_PORT="${REDIS_PORT:-6379}"
MAIL_PORT="${MAIL_PORT:-8025}"
declare -A PORT=([intake]="${INTAKE_PORT:-8001}" [classifier]="${CLASSIFIER_PORT:-8002}"
                 [capacity]="${CAPACITY_PORT:-8003}" [notifier]="${NOTIFIER_PORT:-8004}")
declare -A DB=([intake]=0 [classifier]=1 [capacity]=2 [notifier]=3)

mode() {
  if [ -n "${STACK_MODE:-}" ]; then echo "$STACK_MODE"; return; fi
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then echo compose; else echo native; fi
}

# Kafka users: a super user (admin) and one per service, with passwords made on first use.
kafka_users() {
  mkdir -p "$ROOT/.run"
  if [ ! -f "$ROOT/.run/kafka-users" ]; then
    (umask 077; for user in admin "${SERVICES[@]}"; do
      echo "$user=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"; done > "$ROOT/.run/kafka-users")
  fi
  tr '\n' ' ' < "$ROOT/.run/kafka-users"
}

kafka_password() { grep "^$1=" "$ROOT/.run/kafka-users" | cut -d= -f2-; }

# What docker-compose.yml reads from the environment: the dev key, the secrets key, the Kafka passwords.
export_compose_env() {
  kafka_users >/dev/null
  DEV_API_KEY="$(dev_key)"; NOTIFIER_SECRETS_KEY="$(secrets_key)"; export DEV_API_KEY NOTIFIER_SECRETS_KEY
  FORM_API_KEY="$(form_key)"; LINK_SECRET="$(link_secret)"; export FORM_API_KEY LINK_SECRET
  for user in admin "${SERVICES[@]}"; do export "KAFKA_${user^^}_PASSWORD=$(kafka_password "$user")"; done
}

dev_key() {
  mkdir -p "$ROOT/.run"
  [ -f "$ROOT/.run/dev-api-key" ] || python3 -c 'import secrets; print("dev-" + secrets.token_urlsafe(18))' > "$ROOT/.run/dev-api-key"
  cat "$ROOT/.run/dev-api-key"
}

# The notifier's deployment key, which seals webhook secrets on the log: made once per checkout and kept
# with the stack (a rebuild needs the key that sealed them); a production deployment sets its own.
secrets_key() {
  mkdir -p "$ROOT/.run"
  [ -f "$ROOT/.run/notifier-secrets-key" ] || (umask 077; python3 -c 'import base64, secrets; print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())' > "$ROOT/.run/notifier-secrets-key")
  cat "$ROOT/.run/notifier-secrets-key"
}

# The request form's submit-only key (intake's /pages/request posts with it; it reads nothing) and the secret
# that signs the links to a request in notices (intake and the notifier): made once per checkout.
form_key() {
  mkdir -p "$ROOT/.run"
  [ -f "$ROOT/.run/form-api-key" ] || python3 -c 'import secrets; print("form-" + secrets.token_urlsafe(18))' > "$ROOT/.run/form-api-key"
  cat "$ROOT/.run/form-api-key"
}

link_secret() {
  mkdir -p "$ROOT/.run"
  [ -f "$ROOT/.run/link-secret" ] || (umask 077; python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > "$ROOT/.run/link-secret")
  cat "$ROOT/.run/link-secret"
}

wait_ready() {
  local name="$1" url="$2"
  for _ in $(seq 1 120); do
    curl -fsS "$url/readyz" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "stack: $name did not become ready at $url; see its log" >&2
  return 1
}

native_up() {
  bash scripts/bootstrap.sh
  local key; key="$(dev_key)"
  bash scripts/redis.sh start "$RUN/redis" "$REDIS_PORT"
  KAFKA_SCRAM_USERS="$(kafka_users)" bash scripts/kafka.sh start "$RUN/kafka" "$KAFKA_PORT"
  KAFKA_ACLS_BOOTSTRAP="127.0.0.1:$KAFKA_PORT" KAFKA_ACLS_ADMIN_PASSWORD="$(kafka_password admin)" \
    .venv/bin/python -m shared.kafka_acls
  mkdir -p "$RUN/logs"
  mail_sink_up
  for svc in "${SERVICES[@]}"; do native_start "$svc"; done
  for svc in "${SERVICES[@]}"; do wait_ready "$svc" "http://127.0.0.1:${PORT[$svc]}"; done
}

# The environment of one service in the native stack.
native_env() {
  local svc="$1" upper="${1^^}" key; key="$(dev_key)"
  echo "PYTHONPATH=$ROOT:$ROOT/services/$svc"
  echo "${upper}_PORT=${PORT[$svc]}"
  echo "${upper}_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT"
  echo "${upper}_KAFKA_USERNAME=$svc"
  echo "${upper}_KAFKA_PASSWORD=$(kafka_password "$svc")"
  echo "${upper}_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/${DB[$svc]}"
  echo "${upper}_API_KEYS={\"$key\": {\"tool\": \"dev\", \"role\": \"ops\"}, \"$(form_key)\": {\"tool\": \"request-form\", \"role\": \"requester_tool\", \"lanes\": [\"customer\", \"sales\", \"business_unit\", \"executive\", \"legal\"], \"submit_only\": true}}"
  case "$svc" in
    intake) echo "INTAKE_FORM_KEY=$(form_key)"; echo "INTAKE_LINK_SECRET=$(link_secret)"
            echo "INTAKE_CLASSIFIER_PUBLIC_URL=http://127.0.0.1:${PORT[classifier]}" ;;
    classifier) echo "CLASSIFIER_CORS_ORIGINS=[\"http://127.0.0.1:${PORT[intake]}\"]"
                echo "CLASSIFIER_CAPACITY_PUBLIC_URL=http://127.0.0.1:${PORT[capacity]}" ;;
    capacity) echo "CAPACITY_CLASSIFIER_PUBLIC_URL=http://127.0.0.1:${PORT[classifier]}" ;;
    notifier) echo "NOTIFIER_LINK_SECRET=$(link_secret)"
              echo "NOTIFIER_INTAKE_PUBLIC_URL=http://127.0.0.1:${PORT[intake]}"
              echo "NOTIFIER_CAPACITY_PUBLIC_URL=http://127.0.0.1:${PORT[capacity]}" ;;
  esac
  # The notifier mails the local sink and may deliver webhooks to receivers on this machine (a demo).
  # The demo's people (data/stories.json) write from northwind-analytics.com: on the recipient allow-list.
  if [ "$svc" = notifier ]; then
    echo "NOTIFIER_SMTP_HOST=127.0.0.1"
    echo "NOTIFIER_SMTP_PORT=$MAIL_PORT"
    echo "NOTIFIER_ALLOW_PRIVATE_TARGETS=true"
    echo 'NOTIFIER_RECIPIENT_DOMAINS=["northwind-analytics.com"]'
    echo "NOTIFIER_SECRETS_KEY=$(secrets_key)"
  fi
}

native_start() {
  local svc="$1" pidfile="$RUN/$1.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then return 0; fi
  mapfile -t envs < <(native_env "$svc")
  # The door first: intake answers a POST at normal CPU priority, the pipeline behind it runs niced, so
  # a burst queues on Kafka instead of in the door's answers (README, "Configuration").
  local nice=0
  case "$svc" in classifier|capacity|notifier) nice="${STACK_PIPELINE_NICE:-10}" ;; esac
  env "${envs[@]}" nohup nice -n "$nice" .venv/bin/python -m "$svc" >>"$RUN/logs/$svc.log" 2>&1 &
  echo $! > "$pidfile"
}

native_stop() {
  local pidfile="$RUN/$1.pid"
  [ -f "$pidfile" ] || return 0
  local pid; pid="$(cat "$pidfile")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true  # never leave a survivor beside the next start
  rm -f "$pidfile"
}

# Wipe one service's Redis state and replay it from Kafka. Capacity keeps running (its planner takes
# a lock); the others are stopped first, rebuilt, and started again.
rebuild() {
  local svc="${1:?usage: stack.sh rebuild intake|classifier|capacity|notifier}"
  [ -n "${PORT[$svc]:-}" ] || { echo "stack: no service $svc" >&2; exit 2; }
  if [ "$(mode)" = compose ]; then
    echo "stack: rebuilding $svc (compose mode)"
    export_compose_env
    [ "$svc" = capacity ] || docker compose stop "$svc"
    local ok=0
    docker compose run --rm --no-deps "$svc" python -m "$svc.rebuild" || ok=$?
    docker compose start "$svc"
    [ "$ok" = 0 ] || { echo "stack: the rebuild of $svc failed (see above); $svc was started again, its Redis perhaps partly rebuilt: fix the cause and rebuild again" >&2; exit "$ok"; }
    return
  fi
  echo "stack: rebuilding $svc (native mode)"
  [ "$svc" = capacity ] || native_stop "$svc"
  mapfile -t envs < <(native_env "$svc")
  local ok=0
  env "${envs[@]}" .venv/bin/python -m "$svc.rebuild" || ok=$?
  native_start "$svc"
  [ "$ok" = 0 ] || { echo "stack: the rebuild of $svc failed (see above); $svc was started again, its Redis perhaps partly rebuilt: fix the cause and rebuild again" >&2; exit "$ok"; }
  wait_ready "$svc" "http://127.0.0.1:${PORT[$svc]}"
  echo "stack: $svc rebuilt and running"
}

mail_sink_up() {
  # A development SMTP server (aiosmtpd) that prints every message it accepts to its log.
  local pidfile="$RUN/mail.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then return 0; fi
  nohup .venv/bin/python -u -m aiosmtpd -n -l "127.0.0.1:$MAIL_PORT" >"$RUN/logs/mail.log" 2>&1 &
  echo $! > "$pidfile"
}

native_down() {
  [ -f "$RUN/mail.pid" ] && { kill "$(cat "$RUN/mail.pid")" 2>/dev/null || true; rm -f "$RUN/mail.pid"; }
  for svc in "${SERVICES[@]}"; do
    native_stop "$svc"
  done
  bash scripts/kafka.sh stop "$RUN/kafka"
  bash scripts/redis.sh stop "$RUN/redis"
}

compose_up() {
  export_compose_env
  docker compose up -d --build --wait
}

banner() {
  local key; key="$(cat "$ROOT/.run/dev-api-key")"
  cat <<MSG

The system is up ($(mode) mode: $( [ "$(mode)" = compose ] && echo "a Docker engine answered; STACK_MODE=native make up runs native processes instead" || echo "no Docker engine answered; STACK_MODE=compose make up uses docker compose" )).
  intake      http://127.0.0.1:${PORT[intake]}/docs       requests: the one door
  classifier  http://127.0.0.1:${PORT[classifier]}/docs       OKRs and classification
  capacity    http://127.0.0.1:${PORT[capacity]}/docs       backlog and policy
  dashboard   http://127.0.0.1:${PORT[capacity]}/dashboard  the board in lane colours, live (paste the key below)
  ask         http://127.0.0.1:${PORT[intake]}/pages/request   the request form for people (no key needed)
  follow      http://127.0.0.1:${PORT[intake]}/pages/mine      my requests (a tool's key, or the link in each notice)
  notifier    http://127.0.0.1:${PORT[notifier]}/docs       what each person was told
  Kafka 127.0.0.1:${KAFKA_PORT} (SASL/SCRAM-SHA-256, users in .run/kafka-users)   Redis 127.0.0.1:${REDIS_PORT}   logs: .run/stack/logs/
  mail sink   127.0.0.1:${MAIL_PORT}   every email the notifier sends: .run/stack/logs/mail.log (compose: bash scripts/stack.sh compose logs mailsink)
Development API key (role ops): $key   (make demo publishes the sample OKRs and the brief's stories)

Submit a first request:
  curl -s -X POST http://127.0.0.1:${PORT[intake]}/v1/requests \\
    -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \\
    -H "Idempotency-Key: \$(date +%s%N)" \\
    -d '{"title":"Landing page for one account","description":"A page for Halvorsen Logistics","work_type":"landing_page","requester":{"id":"u-2201","name":"Dave Morrison","email":"dave@example.com","team":"Sales","type":"sales"},"size":"M"}'
Then follow it (id from the answer):
  curl -s -H "Authorization: Bearer $key" http://127.0.0.1:${PORT[intake]}/v1/requests/<id>
  curl -s -H "Authorization: Bearer $key" 'http://127.0.0.1:${PORT[notifier]}/v1/notifications?request_id=<id>'
MSG
}

case "${1:-}" in
  up)
    if [ "$(mode)" = compose ]; then compose_up; else native_up; fi
    banner ;;
  down)
    if [ "$(mode)" = compose ]; then export_compose_env; docker compose down; else native_down; fi ;;
  status)
    for svc in "${SERVICES[@]}"; do
      printf '%-11s ' "$svc"; curl -fsS "http://127.0.0.1:${PORT[$svc]}/readyz" 2>/dev/null || printf 'down'; echo
    done ;;
  rebuild)
    rebuild "${2:-}" ;;
  compose)  # docker compose with the variables make up generated (compose refuses to run without them)
    shift; export_compose_env; docker compose "$@" ;;
  *) echo "usage: $0 up | down | status | rebuild SERVICE | compose ARGS..." >&2; exit 2 ;;
esac
