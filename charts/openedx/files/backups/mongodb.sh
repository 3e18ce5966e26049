#!/bin/bash
# The instance's MongoDB database, with the mongo image's own tools (mongodump, mongorestore, mongosh):
#   mongodb.sh dump      $WORK/parts/mongodb.archive.gz, and mongodump's report ($WORK/reports/mongodb.log: the
#                        documents it wrote, which the manifest records)
#   mongodb.sh restore   the archive of $BACKUP into the database, after dropping its collections; the database
#                        the archive was made from ($SOURCE_DATABASE, from the manifest) may have another name
#   mongodb.sh verify    restore into a scratch server started in this container, then $COUNTS/mongodb.counts
# Connection: MONGODB_HOST, MONGODB_PORT, MONGODB_DATABASE, MONGODB_USERNAME, MONGODB_PASSWORD,
# MONGODB_AUTH_SOURCE, MONGODB_TLS, MONGODB_CA_FILE, MONGODB_REPLICA_SET, MONGODB_RETRY_WRITES (false for Amazon
# DocumentDB). The connection string (with the password) goes to files the tools read (mongodump's --config, a file
# mongosh scripts open), never on a command line.
set -euo pipefail
umask 077

uri() {
  local options="authSource=${MONGODB_AUTH_SOURCE:-admin}"
  if [ "${MONGODB_TLS:-false}" = true ]; then
    options="$options&tls=true${MONGODB_CA_FILE:+&tlsCAFile=$MONGODB_CA_FILE}"
  fi
  if [ -n "${MONGODB_REPLICA_SET:-}" ]; then options="$options&replicaSet=$MONGODB_REPLICA_SET"; fi
  if [ "${MONGODB_RETRY_WRITES:-true}" = false ]; then options="$options&retryWrites=false"; fi
  local credentials=""
  if [ -n "${MONGODB_USERNAME:-}" ]; then credentials="$MONGODB_USERNAME:$MONGODB_PASSWORD@"; fi
  echo "mongodb://$credentials$MONGODB_HOST:$MONGODB_PORT/?$options"
}

config_file() {
  local file="$WORK/mongodb-tools.yaml"
  printf 'uri: "%s"\n' "$(uri)" > "$file"
  echo "$file"
}

# mongosh --eval SCRIPT, with `target`: the database MONGODB_DATABASE, connected through the URI in a file.
shell() {
  uri > "$WORK/mongodb-uri"
  mongosh --nodb --quiet --eval "
    const target = new Mongo(require('fs').readFileSync('$WORK/mongodb-uri', 'utf8').trim())
      .getDB('$MONGODB_DATABASE');
    $1"
}

dump() {
  mkdir -p "$WORK/parts" "$WORK/reports"
  mongodump --config="$(config_file)" --db="$MONGODB_DATABASE" --archive="$WORK/parts/mongodb.archive.gz" --gzip \
    2>&1 | tee "$WORK/reports/mongodb.log"
}

restore() {
  local archive="$BACKUP/mongodb.archive.gz" source
  if [ ! -f "$archive" ]; then echo "mongodb: the backup holds no MongoDB archive: left as it is"; return; fi
  # The database the archive was made from, as its manifest says (another instance's, or Tutor's `openedx`).
  source="$(mongosh --nodb --quiet --eval "
    const part = JSON.parse(require('fs').readFileSync('$BACKUP/manifest.json', 'utf8')).parts['mongodb.archive.gz'];
    print(part.database || '$MONGODB_DATABASE');")"
  # A restore replaces the database: collections the backup does not hold are dropped too.
  shell "target.getCollectionNames().forEach((name) => target.getCollection(name).drop());"
  mongorestore --config="$(config_file)" --archive="$archive" --gzip --nsInclude="$source.*" \
    --nsFrom="$source.*" --nsTo="$MONGODB_DATABASE.*" --drop --stopOnError
  echo "mongodb: restored $archive ($source) into $MONGODB_DATABASE"
}

count() {
  mkdir -p "$COUNTS"
  [ -f "$BACKUP/mongodb.archive.gz" ] || return 0
  shell "target.getCollectionNames().sort().forEach((name) => print(name, target.getCollection(name).countDocuments()));" \
    > "$COUNTS/mongodb.counts"
}

verify() {
  # A throwaway server of the same version, without authentication, reachable from this container only.
  local data="$WORK/scratch-mongodb"
  mkdir -p "$data"
  mongod --dbpath="$data" --bind_ip=127.0.0.1 --port="$SCRATCH_PORT" --unixSocketPrefix="$WORK" \
    --wiredTigerCacheSizeGB=0.25 \
    > "$WORK/scratch-mongodb.log" 2>&1 &
  scratch_pid=$!
  trap 'kill "$scratch_pid" 2> /dev/null || true; wait "$scratch_pid" 2> /dev/null || true' EXIT
  for _ in $(seq 120); do
    if mongosh --quiet "mongodb://127.0.0.1:$SCRATCH_PORT/" --eval 'db.runCommand({ping: 1})' > /dev/null 2>&1; then
      break
    fi
    kill -0 "$scratch_pid" 2> /dev/null || { cat "$WORK/scratch-mongodb.log" >&2; exit 1; }
    sleep 1
  done
  MONGODB_HOST=127.0.0.1 MONGODB_PORT="$SCRATCH_PORT" MONGODB_USERNAME="" MONGODB_TLS=false \
    MONGODB_REPLICA_SET="" restore
  MONGODB_HOST=127.0.0.1 MONGODB_PORT="$SCRATCH_PORT" MONGODB_USERNAME="" MONGODB_TLS=false \
    MONGODB_REPLICA_SET="" count
  echo "mongodb: counted the restored collections in the scratch server"
}

SCRATCH_PORT="${SCRATCH_PORT:-27018}"
case "${1:-}" in
  dump | restore | verify) "$1" ;;
  *) echo "usage: mongodb.sh dump|restore|verify" >&2; exit 2 ;;
esac
