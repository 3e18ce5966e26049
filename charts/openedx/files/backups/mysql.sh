#!/bin/bash
# The instance's MySQL databases, with the mysql image's own client tools. Each database is a part of the backup:
# the instance's own (MYSQL_DATABASE) is `mysql.sql.gz`, each of its plugins' (MYSQL_EXTRA_DATABASES,
# space-separated) is `mysql-<key>.sql.gz`, <key> being the database's name without the instance database's name
# and `_` in front: `notes` for the in-cluster server's `notes` and for a shared server's `openedx_campus_notes`, so a
# backup restores into another instance (a clone) or onto another server, whose databases are named otherwise.
#   mysql.sh dump      $WORK/parts/: each database one consistent snapshot (--single-transaction, no lock held), one
#                      after the other. A database of the list that does not exist fails it before anything is
#                      dumped: the backup of an instance never silently lacks one of its databases.
#   mysql.sh restore   each part of $BACKUP into its database, after dropping its tables and views. A database
#                      without a part (a plugin added since the backup) is left as it is; a part without a database
#                      (a plugin removed since) is not restored; each is said.
#   mysql.sh verify    each part restored into a database of its own in a scratch server started in this container,
#                      then the rows of each: $COUNTS/mysql.counts, $COUNTS/mysql-<key>.counts
# Connection: MYSQL_HOST, MYSQL_PORT, MYSQL_USERNAME, MYSQL_PASSWORD, MYSQL_TLS (true: the server's certificate is
# verified against MYSQL_CA_FILE when set). The password goes to an option file, never on a command line. (The
# clients also read MYSQL_HOST from the environment: every command names its host.)
set -euo pipefail
umask 077

MAIN_PART=mysql.sql.gz
IDENTIFIER='^[A-Za-z0-9_]{1,64}$'

client_file() {
  local file="$WORK/mysql-client.cnf" password="${MYSQL_PASSWORD//\\/\\\\}"
  printf '[client]\nhost=%s\nport=%s\nuser=%s\npassword="%s"\n' \
    "$MYSQL_HOST" "$MYSQL_PORT" "$MYSQL_USERNAME" "${password//\"/\\\"}" > "$file"
  if [ -n "${MYSQL_SOCKET:-}" ]; then printf 'socket=%s\n' "$MYSQL_SOCKET" >> "$file"; fi
  if [ "${MYSQL_TLS:-false}" = true ]; then
    if [ -n "${MYSQL_CA_FILE:-}" ]; then
      printf 'ssl-mode=VERIFY_CA\nssl-ca=%s\n' "$MYSQL_CA_FILE" >> "$file"
    else
      printf 'ssl-mode=REQUIRED\n' >> "$file"
    fi
  fi
  echo "$file"
}

fail() {
  echo "mysql: $*" >&2
  exit 1
}

# DATABASES and PARTS, index for index: the instance's database and each of MYSQL_EXTRA_DATABASES, with its part.
plan() {
  DATABASES=("$MYSQL_DATABASE") PARTS=("$MAIN_PART")
  local database key
  for database in ${MYSQL_EXTRA_DATABASES:-}; do
    key="${database#"${MYSQL_DATABASE}_"}"
    [[ "$database" =~ $IDENTIFIER && -n "$key" && "$database" != "$MYSQL_DATABASE" ]] ||
      fail "'$database' of MYSQL_EXTRA_DATABASES is not a database of its own"
    [[ " ${PARTS[*]} " != *" mysql-$key.sql.gz "* ]] ||
      fail "two databases of MYSQL_EXTRA_DATABASES would both be part mysql-$key.sql.gz"
    DATABASES+=("$database") PARTS+=("mysql-$key.sql.gz")
  done
}

# require_databases CLIENT CONSEQUENCE DATABASE...: fails naming the databases the server does not have (or that
# the user may not see: it sees its own only), and CONSEQUENCE.
require_databases() {
  local client="$1" consequence="$2" database missing=()
  shift 2
  mysql --defaults-extra-file="$client" --batch --skip-column-names \
    --execute='SELECT schema_name FROM information_schema.schemata' > "$WORK/schemas.txt"
  for database; do
    grep -qxF "$database" "$WORK/schemas.txt" || missing+=("$database")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    fail "database ${missing[*]} does not exist on $MYSQL_HOST, or $MYSQL_USERNAME has no privilege on it:" \
      "$consequence"
  fi
}

dump() {
  local options=(--single-transaction --quick --no-tablespaces --routines --triggers --hex-blob
                 --default-character-set=utf8mb4) client index part
  # MySQL's mysqldump writes GTID_PURGED (which restoring needs SUPER for) unless told not to; MariaDB's has no
  # such option.
  if mysqldump --help | grep -q -- '--set-gtid-purged'; then options+=(--set-gtid-purged=OFF); fi
  plan
  client="$(client_file)"
  # A plugin's database is created before the instance's Release is upgraded (by the in-cluster server's pod or
  # the provisioning Job): one missing is a fault to see, not a database to leave out.
  require_databases "$client" "nothing was dumped" "${DATABASES[@]}"
  mkdir -p "$WORK/parts"
  for index in "${!DATABASES[@]}"; do
    part="$WORK/parts/${PARTS[index]}"
    mysqldump --defaults-extra-file="$client" "${options[@]}" "${DATABASES[index]}" | gzip > "$part"
    echo "mysql: dumped ${DATABASES[index]} into ${PARTS[index]} ($(stat -c %s "$part") bytes compressed)"
  done
}

# restore_part CLIENT DATABASE PART: the dump $BACKUP/PART replaces DATABASE's tables and views.
restore_part() {
  local client="$1" database="$2" part="$3"
  # A restore replaces the database: what the dump does not hold must not survive it.
  mysql --defaults-extra-file="$client" --batch --skip-column-names "$database" > "$WORK/drop.sql" <<'SQL'
SELECT CONCAT('DROP ', IF(table_type = 'VIEW', 'VIEW', 'TABLE'), ' IF EXISTS `', REPLACE(table_name, '`', '``'), '`;')
FROM information_schema.tables WHERE table_schema = DATABASE();
SQL
  { echo "SET FOREIGN_KEY_CHECKS = 0;"; cat "$WORK/drop.sql"; } | mysql --defaults-extra-file="$client" "$database"
  # Views, triggers and routines name the user who made them (DEFINER): restored as this database's user instead,
  # who may be another one (another server, a Tutor installation), and may not act as someone else.
  gunzip -c "$BACKUP/$part" | sed -E '/^(\/\*!|CREATE)/s/DEFINER=`[^`]*`@`[^`]*`//g' \
    | mysql --defaults-extra-file="$client" --default-character-set=utf8mb4 "$database"
  echo "mysql: restored $part into $database"
}

restore() {
  local client index part database targets=() replaced=() kept=()
  plan
  [ -f "$BACKUP/$MAIN_PART" ] || fail "the backup holds no $MAIN_PART: nothing was restored"
  for index in "${!DATABASES[@]}"; do
    if [ -f "$BACKUP/${PARTS[index]}" ]; then
      targets+=("$index") replaced+=("${DATABASES[index]}")
    else
      kept+=("${DATABASES[index]}")
    fi
  done
  client="$(client_file)"
  # All there before any is replaced: never half an instance restored.
  require_databases "$client" "nothing was restored" "${replaced[@]}"
  for index in "${targets[@]}"; do restore_part "$client" "${DATABASES[index]}" "${PARTS[index]}"; done
  for part in "$BACKUP"/mysql-*.sql.gz; do
    [ -f "$part" ] || continue
    [[ " ${PARTS[*]} " == *" ${part##*/} "* ]] ||
      echo "mysql: ${part##*/} is not restored: no database of this instance is its (MYSQL_EXTRA_DATABASES)"
  done
  for database in "${kept[@]}"; do
    echo "mysql: $database is left as it is: the backup holds no dump of it"
  done
}

# count_part CLIENT DATABASE FILE: `<table> <rows>` per table of DATABASE into FILE.
count_part() {
  local client="$1" database="$2" file="$3"
  mysql --defaults-extra-file="$client" --batch --skip-column-names "$database" > "$WORK/count.sql" <<'SQL'
SELECT CONCAT('SELECT ', QUOTE(table_name), ', COUNT(*) FROM `', REPLACE(table_name, '`', '``'), '`;')
FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name;
SQL
  mysql --defaults-extra-file="$client" --batch --skip-column-names "$database" < "$WORK/count.sql" > "$file"
}

verify() {
  # A throwaway server of the same version: the restore is proven without touching the instance's server. It has
  # no network and no grant tables: only this container reaches it, through its socket. Everything it writes is
  # in the work volume (the image's own directories belong to another user, and the root filesystem is read-only).
  local data="$WORK/scratch-mysql" socket="$WORK/scratch-mysql.sock" server=mysqld
  # Every part of the backup, whatever the instance's databases are now: the backup is what is verified.
  local parts=("$MAIN_PART") part key
  for part in "$BACKUP"/mysql-*.sql.gz; do
    [ -f "$part" ] || continue
    key="${part##*/mysql-}" && key="${key%.sql.gz}"
    [[ "$key" =~ $IDENTIFIER ]] || fail "${part##*/} is not the name of a part"
    parts+=("${part##*/}")
  done
  [ -f "$BACKUP/$MAIN_PART" ] || fail "the backup holds no $MAIN_PART"
  mkdir -p "$data" "$COUNTS"
  if command -v mariadb-install-db > /dev/null; then
    mariadb-install-db --no-defaults --datadir="$data" --tmpdir="$WORK" --user="$(id -un)" > /dev/null
    server=mariadbd
  else
    mysqld --no-defaults --initialize-insecure --datadir="$data" --tmpdir="$WORK" --secure-file-priv="$WORK" \
      --user="$(id -un)"
  fi
  "$server" --no-defaults --datadir="$data" --socket="$socket" --skip-networking --skip-grant-tables \
    --user="$(id -un)" --tmpdir="$WORK" --secure-file-priv="$WORK" --skip-log-bin --innodb-buffer-pool-size=256M \
    --pid-file="$WORK/scratch-mysql.pid" \
    > "$WORK/scratch-mysql.log" 2>&1 &
  scratch_pid=$!
  trap 'kill "$scratch_pid" 2> /dev/null || true; wait "$scratch_pid" 2> /dev/null || true' EXIT
  for _ in $(seq 120); do
    if mysql --no-defaults --host=localhost --socket="$socket" -e 'SELECT 1' > /dev/null 2>&1; then break; fi
    kill -0 "$scratch_pid" 2> /dev/null || { cat "$WORK/scratch-mysql.log" >&2; exit 1; }
    sleep 1
  done
  local client tables=0 index
  client="$(MYSQL_HOST=localhost MYSQL_PORT=0 MYSQL_SOCKET="$socket" MYSQL_USERNAME=scratch MYSQL_PASSWORD="" \
    MYSQL_TLS=false client_file)"
  # A scratch database per part: scratch_0 for mysql.sql.gz, then one for each plugin's.
  for index in "${!parts[@]}"; do
    mysql --defaults-extra-file="$client" \
      -e "CREATE DATABASE scratch_$index CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    restore_part "$client" "scratch_$index" "${parts[index]}"
    count_part "$client" "scratch_$index" "$COUNTS/${parts[index]%.sql.gz}.counts"
    tables=$((tables + $(wc -l < "$COUNTS/${parts[index]%.sql.gz}.counts")))
  done
  echo "mysql: counted $tables tables in the scratch server (${parts[*]})"
}

case "${1:-}" in
  dump | restore | verify) "$1" ;;
  *) echo "usage: mysql.sh dump|restore|verify" >&2; exit 2 ;;
esac
