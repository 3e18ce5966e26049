# Sets the application user's password to the credentials file's, as root over the server's socket. Run by the
# `credentials-sync` container at every start of the pod (a rotation changes the pod template, so the pod restarts):
# idempotent, and it only alters the user the image created on first start, never creating one of its own.
# It also creates each of MYSQL_EXTRA_DATABASES (space-separated: the plugins' databases) when missing and grants
# the user ALL on it; the list is in the pod template, so a change restarts the pod. Nothing is ever dropped: a
# database left out of the list keeps its data (and the grant) for a plugin enabled again.
# Retries until the server takes it: on the first start the image is still creating the user.
set -eu
statements() {
  printf "ALTER USER '%s'@'%%' IDENTIFIED BY '%s';\n" "$MYSQL_USER" "$(cat "$CREDENTIALS/mysql-password")"
  for database in ${MYSQL_EXTRA_DATABASES:-}; do
    printf 'CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;\n' "$database"
    printf "GRANT ALL PRIVILEGES ON \`%s\`.* TO '%s'@'%%';\n" "$database" "$MYSQL_USER"
  done
}
# The names go into root's SQL: MySQL identifiers only (the chart's schema says so too).
for database in ${MYSQL_EXTRA_DATABASES:-}; do
  [[ "$database" =~ ^[A-Za-z0-9_]{1,64}$ ]] || { echo "not a database name: $database" >&2; exit 1; }
done
until statements | MYSQL_PWD="$(cat "$CREDENTIALS/mysql-root-password")" \
    mysql --socket="$MYSQL_SOCKET" --user=root --batch; do
  echo "the server does not take the password yet: retrying in 5 s" >&2
  sleep 5
done
echo "the password of $MYSQL_USER is the credentials Secret's"
if [ -n "${MYSQL_EXTRA_DATABASES:-}" ]; then echo "$MYSQL_USER has ALL on $MYSQL_EXTRA_DATABASES"; fi
touch "$SYNCED"
