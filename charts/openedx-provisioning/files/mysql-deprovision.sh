# The instance's database and user dropped from the shared MySQL server, as its admin: the instance was removed
# from a stack whose data is not kept. Idempotent.
set -eu
export MYSQL_PWD="$(cat "$CREDENTIALS/admin-password")"
ca="$CREDENTIALS/ca.pem"
mysql --host="$SERVER_HOST" --port="$SERVER_PORT" --user="$(cat "$CREDENTIALS/admin-username")" \
  --connect-timeout=20 --ssl-mode="$SSL_MODE" $([ -f "$ca" ] && echo "--ssl-ca=$ca") <<SQL
DROP DATABASE IF EXISTS \`$DATABASE\`;
DROP USER IF EXISTS '$APP_USER'@'%';
SQL
echo "database $DATABASE and user $APP_USER are dropped"
