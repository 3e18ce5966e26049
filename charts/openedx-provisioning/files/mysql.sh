# The instance's databases and user on the shared MySQL server, as the server's admin. $ACTION:
#   provision     create them when missing, then set the current password and connection limit (a rotation, a
#                 new limit) and grant the user ALL on each database; idempotent
#   deprovision   drop them: the instance was removed from a stack whose data is not kept; idempotent
# The databases: $DATABASE (the instance's) and $EXTRA_DATABASES (space-separated: its plugins').
set -eu
export MYSQL_PWD="$(cat "$CREDENTIALS/admin-password")"
ca="$CREDENTIALS/ca.pem"
databases="$DATABASE${EXTRA_DATABASES:+ $EXTRA_DATABASES}"
# The names go into the admin's SQL: MySQL identifiers only (the chart's schema says so too).
for database in $databases; do
  [[ "$database" =~ ^[A-Za-z0-9_]{1,64}$ ]] || { echo "not a database name: $database" >&2; exit 2; }
done
run() {
  mysql --host="$SERVER_HOST" --port="$SERVER_PORT" --user="$(cat "$CREDENTIALS/admin-username")" \
    --connect-timeout=20 --ssl-mode="$SSL_MODE" $([ -f "$ca" ] && echo "--ssl-ca=$ca")
}
case "$ACTION" in
  provision)
    {
      for database in $databases; do
        echo "CREATE DATABASE IF NOT EXISTS \`$database\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
      done
      cat <<SQL
CREATE USER IF NOT EXISTS '$APP_USER'@'%' IDENTIFIED BY '$(cat "$CREDENTIALS/app-password")'
  WITH MAX_USER_CONNECTIONS $MAX_CONNECTIONS;
ALTER USER '$APP_USER'@'%' IDENTIFIED BY '$(cat "$CREDENTIALS/app-password")'
  WITH MAX_USER_CONNECTIONS $MAX_CONNECTIONS;
SQL
      for database in $databases; do
        echo "GRANT ALL PRIVILEGES ON \`$database\`.* TO '$APP_USER'@'%';"
      done
    } | run
    echo "databases $databases and user $APP_USER (at most $MAX_CONNECTIONS connections) are provisioned" ;;
  deprovision)
    {
      for database in $databases; do echo "DROP DATABASE IF EXISTS \`$database\`;"; done
      echo "DROP USER IF EXISTS '$APP_USER'@'%';"
    } | run
    echo "databases $databases and user $APP_USER are dropped" ;;
  *) echo "unknown ACTION $ACTION" >&2; exit 2 ;;
esac
