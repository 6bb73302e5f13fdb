#!/usr/bin/env bash
# Native single-node Apache Kafka (KRaft) for machines without a Docker engine.
#   scripts/kafka.sh jars                      fetch the broker's jars from Maven Central (once)
#   scripts/kafka.sh start DATA_DIR PORT       format on first start, start, wait for metadata
#   scripts/kafka.sh stop DATA_DIR
# With KAFKA_SCRAM_USERS="admin=<password> intake=<password> ..." the broker authenticates every client
# with SASL/SCRAM-SHA-256 and authorizes with ACLs (the users are created when the storage is formatted;
# `admin` is the super user that grants them: python -m shared.kafka_acls). Without it: plaintext, no ACLs.
# The jars land in .cache/kafka-<version>/libs (git-ignored).
set -euo pipefail
KAFKA_VERSION="${KAFKA_VERSION:-3.9.1}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LIBS="$ROOT/.cache/kafka-$KAFKA_VERSION/libs"

jars() {
  [ -f "$LIBS/.complete" ] && return 0
  command -v mvn >/dev/null || { echo "kafka.sh: Maven (mvn) and Java 17 are needed to fetch Kafka; install them (apt-get install maven openjdk-17-jre-headless)" >&2; exit 1; }
  local work; work="$(mktemp -d)"
  cat > "$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.governance</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
POM
  echo "kafka.sh: fetching Apache Kafka $KAFKA_VERSION jars from Maven Central (first use only)..." >&2
  mkdir -p "$LIBS"
  (cd "$work" && mvn -q -B -Dstyle.color=never dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIBS")
  rm -rf "$work"
  touch "$LIBS/.complete"
}

start() {
  umask 077  # server.properties holds passwords
  local dir="$1" port="$2" cport=$(( $2 + 1 ))
  jars
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if [ -f "$dir/kafka.pid" ] && kill -0 "$(cat "$dir/kafka.pid")" 2>/dev/null; then
    echo "kafka.sh: already running (pid $(cat "$dir/kafka.pid"))" >&2; return 0
  fi
  local listener=PLAINTEXT scram=() admin_password=""
  for user in ${KAFKA_SCRAM_USERS:-}; do
    scram+=(--add-scram "SCRAM-SHA-256=[name=${user%%=*},password=${user#*=}]")
    [ "${user%%=*}" = admin ] && admin_password="${user#*=}"
  done
  if [ ${#scram[@]} -gt 0 ]; then
    [ -n "$admin_password" ] || { echo "kafka.sh: KAFKA_SCRAM_USERS needs an admin user" >&2; exit 1; }
    listener=SASL_PLAINTEXT
  fi
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=$listener://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=$listener://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=$listener
listener.security.protocol.map=$listener:$listener,CONTROLLER:$( [ "$listener" = SASL_PLAINTEXT ] && echo SASL_PLAINTEXT || echo PLAINTEXT )
log.dirs=$dir/data
num.partitions=6
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.cleaner.dedupe.buffer.size=1048577
auto.create.topics.enable=false
log.retention.ms=-1
PROPS
  if [ "$listener" = SASL_PLAINTEXT ]; then
    # Clients use SCRAM. The controller listener uses PLAIN (KRaft controllers cannot use SCRAM) with one
    # user, the broker itself, whose password exists only in this file: nobody else reaches the controller.
    cat >> "$dir/server.properties" <<PROPS
sasl.enabled.mechanisms=SCRAM-SHA-256
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-256
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_password";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="controller" password="$admin_password" user_controller="$admin_password";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin;User:controller
allow.everyone.if.no.acl.found=false
PROPS
  fi
  cat > "$dir/log4j.properties" <<LOG
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$dir/kafka.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
LOG
  local java_opts=(-Xms256m -Xmx512m -XX:+UseSerialGC -Dlog4j.configuration="file:$dir/log4j.properties")
  if [ ${#scram[@]} -gt 0 ] && [ -f "$dir/data/meta.properties" ] && [ ! -f "$dir/scram-users" ]; then
    echo "kafka.sh: $dir was formatted without Kafka users; stop it and remove it to start with authentication" >&2
    exit 1
  fi
  if [ ! -f "$dir/data/meta.properties" ]; then
    local cluster; cluster="$(java "${java_opts[@]}" -cp "$LIBS/*" kafka.tools.StorageTool random-uuid)"
    java "${java_opts[@]}" -cp "$LIBS/*" kafka.tools.StorageTool format -t "$cluster" -c "$dir/server.properties" \
      --ignore-formatted "${scram[@]}" >/dev/null
    [ ${#scram[@]} -eq 0 ] || touch "$dir/scram-users"
  fi
  nohup java "${java_opts[@]}" -cp "$LIBS/*" kafka.Kafka "$dir/server.properties" >"$dir/kafka.out" 2>&1 &
  echo $! > "$dir/kafka.pid"
  wait_ready "127.0.0.1:$port" "$dir" "$admin_password"
}

wait_ready() {
  # Ready means a client got cluster metadata, not merely that the port is open.
  local python="${PYTHON:-$ROOT/.venv/bin/python}"
  KAFKA_ADMIN_PASSWORD="${3:-}" "$python" - "$1" <<'PY' || { echo "kafka.sh: broker did not become ready; see $2/kafka.out and $2/kafka.log" >&2; exit 1; }
import asyncio, logging, os, sys, time
logging.disable(logging.CRITICAL)
from aiokafka.admin import AIOKafkaAdminClient

async def main(bootstrap: str) -> None:
    deadline = time.monotonic() + 90
    password = os.environ.get("KAFKA_ADMIN_PASSWORD")
    auth = ({"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-256",
             "sasl_plain_username": "admin", "sasl_plain_password": password} if password else {})
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000, **auth)
        try:
            await admin.start()
            await admin.describe_cluster()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
        finally:
            await admin.close()

asyncio.run(main(sys.argv[1]))
PY
}

stop() {
  local dir="$1"
  [ -f "$dir/kafka.pid" ] || return 0
  local pid; pid="$(cat "$dir/kafka.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/kafka.pid"
}

case "${1:-}" in
  jars) jars ;;
  start) start "$2" "$3" ;;
  stop) stop "$2" ;;
  *) echo "usage: $0 jars | start DATA_DIR PORT | stop DATA_DIR" >&2; exit 2 ;;
esac
