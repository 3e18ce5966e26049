# The instance's database and user on the shared MySQL server, as the server's admin. $ACTION:
#   provision     create them when missing, then set the current password and connection limit (a rotation, a
#                 new limit); idempotent
#   deprovision   drop them: the instance was removed from a stack whose data is not kept; idempotent
set -eu
export MYSQL_PWD="$(cat "$CREDENTIALS/admin-password")"
ca="$CREDENTIALS/ca.pem"
run() {
  mysql --host="$SERVER_HOST" --port="$SERVER_PORT" --user="$(cat "$CREDENTIALS/admin-username")" \
    --connect-timeout=20 --ssl-mode="$SSL_MODE" $([ -f "$ca" ] && echo "--ssl-ca=$ca")
}
case "$ACTION" in
  provision)
    run <<SQL
CREATE DATABASE IF NOT EXISTS \`$DATABASE\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$APP_USER'@'%' IDENTIFIED BY '$(cat "$CREDENTIALS/app-password")'
  WITH MAX_USER_CONNECTIONS $MAX_CONNECTIONS;
ALTER USER '$APP_USER'@'%' IDENTIFIED BY '$(cat "$CREDENTIALS/app-password")'
  WITH MAX_USER_CONNECTIONS $MAX_CONNECTIONS;
GRANT ALL PRIVILEGES ON \`$DATABASE\`.* TO '$APP_USER'@'%';
SQL
    echo "database $DATABASE and user $APP_USER (at most $MAX_CONNECTIONS connections) are provisioned" ;;
  deprovision)
    run <<SQL
DROP DATABASE IF EXISTS \`$DATABASE\`;
DROP USER IF EXISTS '$APP_USER'@'%';
SQL
    echo "database $DATABASE and user $APP_USER are dropped" ;;
  *) echo "unknown ACTION $ACTION" >&2; exit 2 ;;
esac
