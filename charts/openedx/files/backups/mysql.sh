#!/bin/bash
# The instance's MySQL database, with the mysql image's own client tools:
#   mysql.sh dump      $WORK/parts/mysql.sql.gz: one consistent snapshot (--single-transaction), no lock held
#   mysql.sh restore   $BACKUP/mysql.sql.gz into the database, after dropping its tables and views
#   mysql.sh verify    restore into a scratch server started in this container, then $COUNTS/mysql.counts
# Connection: MYSQL_HOST, MYSQL_PORT, MYSQL_DATABASE, MYSQL_USERNAME, MYSQL_PASSWORD, MYSQL_TLS (true: the
# server's certificate is verified against MYSQL_CA_FILE when set). The password goes to an option file, never on
# a command line. (The clients also read MYSQL_HOST from the environment: every command names its host.)
set -euo pipefail
umask 077

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

dump() {
  local options=(--single-transaction --quick --no-tablespaces --routines --triggers --hex-blob
                 --default-character-set=utf8mb4)
  # MySQL's mysqldump writes GTID_PURGED (which restoring needs SUPER for) unless told not to; MariaDB's has no
  # such option.
  if mysqldump --help | grep -q -- '--set-gtid-purged'; then options+=(--set-gtid-purged=OFF); fi
  mkdir -p "$WORK/parts"
  mysqldump --defaults-extra-file="$(client_file)" "${options[@]}" "$MYSQL_DATABASE" | gzip > "$WORK/parts/mysql.sql.gz"
  echo "mysql: dumped $MYSQL_DATABASE ($(stat -c %s "$WORK/parts/mysql.sql.gz") bytes compressed)"
}

restore() {
  local client
  client="$(client_file)"
  # A restore replaces the database: what the dump does not hold must not survive it.
  mysql --defaults-extra-file="$client" --batch --skip-column-names "$MYSQL_DATABASE" > "$WORK/drop.sql" <<'SQL'
SELECT CONCAT('DROP ', IF(table_type = 'VIEW', 'VIEW', 'TABLE'), ' IF EXISTS `', REPLACE(table_name, '`', '``'), '`;')
FROM information_schema.tables WHERE table_schema = DATABASE();
SQL
  { echo "SET FOREIGN_KEY_CHECKS = 0;"; cat "$WORK/drop.sql"; } | mysql --defaults-extra-file="$client" "$MYSQL_DATABASE"
  # Views, triggers and routines name the user who made them (DEFINER): restored as this database's user instead,
  # who may be another one (another server, a Tutor installation), and may not act as someone else.
  gunzip -c "$BACKUP/mysql.sql.gz" | sed -E '/^(\/\*!|CREATE)/s/DEFINER=`[^`]*`@`[^`]*`//g' \
    | mysql --defaults-extra-file="$client" --default-character-set=utf8mb4 "$MYSQL_DATABASE"
  echo "mysql: restored $BACKUP/mysql.sql.gz into $MYSQL_DATABASE"
}

count() {
  local client
  client="$(client_file)"
  mysql --defaults-extra-file="$client" --batch --skip-column-names "$MYSQL_DATABASE" > "$WORK/count.sql" <<'SQL'
SELECT CONCAT('SELECT ', QUOTE(table_name), ', COUNT(*) FROM `', REPLACE(table_name, '`', '``'), '`;')
FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name;
SQL
  mkdir -p "$COUNTS"
  mysql --defaults-extra-file="$client" --batch --skip-column-names "$MYSQL_DATABASE" < "$WORK/count.sql" \
    > "$COUNTS/mysql.counts"
}

verify() {
  # A throwaway server of the same version: the restore is proven without touching the instance's server. It has
  # no network and no grant tables: only this container reaches it, through its socket. Everything it writes is
  # in the work volume (the image's own directories belong to another user, and the root filesystem is read-only).
  local data="$WORK/scratch-mysql" socket="$WORK/scratch-mysql.sock" server=mysqld
  mkdir -p "$data"
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
  mysql --no-defaults --host=localhost --socket="$socket" -e "CREATE DATABASE scratch CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
  local scratch=(MYSQL_HOST=localhost MYSQL_PORT=0 MYSQL_SOCKET="$socket" MYSQL_USERNAME=scratch MYSQL_PASSWORD=""
                 MYSQL_DATABASE=scratch MYSQL_TLS=false)
  # The script itself again (mounted read-only, not executable), with the scratch server's connection.
  env "${scratch[@]}" bash "$0" restore
  env "${scratch[@]}" bash "$0" count
  echo "mysql: counted $(wc -l < "$COUNTS/mysql.counts") tables in the scratch server"
}

case "${1:-}" in
  dump | restore | count | verify) "$1" ;;
  *) echo "usage: mysql.sh dump|restore|count|verify" >&2; exit 2 ;;
esac
