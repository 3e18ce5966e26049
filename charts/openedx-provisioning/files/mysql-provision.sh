# The instance's database and user on the shared MySQL server, as the server's admin: created when missing, then
# set to the current password and connection limit (a rotation, a new limit). Idempotent.
set -eu
export MYSQL_PWD="$(cat "$CREDENTIALS/admin-password")"
ca="$CREDENTIALS/ca.pem"
mysql --host="$SERVER_HOST" --port="$SERVER_PORT" --user="$(cat "$CREDENTIALS/admin-username")" \
  --connect-timeout=20 --ssl-mode="$SSL_MODE" $([ -f "$ca" ] && echo "--ssl-ca=$ca") <<SQL
CREATE DATABASE IF NOT EXISTS \`$DATABASE\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$APP_USER'@'%' IDENTIFIED BY '$(cat "$CREDENTIALS/app-password")'
  WITH MAX_USER_CONNECTIONS $MAX_CONNECTIONS;
ALTER USER '$APP_USER'@'%' IDENTIFIED BY '$(cat "$CREDENTIALS/app-password")'
  WITH MAX_USER_CONNECTIONS $MAX_CONNECTIONS;
GRANT ALL PRIVILEGES ON \`$DATABASE\`.* TO '$APP_USER'@'%';
SQL
echo "database $DATABASE and user $APP_USER (at most $MAX_CONNECTIONS connections) are provisioned"
