# Sets the application user's password to the credentials file's, as root over the server's socket. Run by the
# `credentials-sync` container at every start of the pod (a rotation changes the pod template, so the pod restarts):
# idempotent, and it only alters the user the image created on first start, never creating one of its own.
# Retries until the server takes it: on the first start the image is still creating the user.
set -eu
until printf "ALTER USER '%s'@'%%' IDENTIFIED BY '%s';\n" "$MYSQL_USER" "$(cat "$CREDENTIALS/mysql-password")" |
    MYSQL_PWD="$(cat "$CREDENTIALS/mysql-root-password")" mysql --socket="$MYSQL_SOCKET" --user=root --batch; do
  echo "the server does not take the password yet: retrying in 5 s" >&2
  sleep 5
done
echo "the password of $MYSQL_USER is the credentials Secret's"
touch "$SYNCED"
