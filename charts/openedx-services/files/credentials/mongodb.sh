# Sets the application user's password to the credentials file's, as root over the pod's loopback. Run by the
# `credentials-sync` container at every start of the pod (a rotation changes the pod template, so the pod restarts):
# idempotent, and it only updates the user the init script created, never creating one of its own. Retries until
# the server takes it: on the first start the image is still creating the users.
set -eu
until mongosh --nodb --quiet --eval '
const read = (key) => require("fs").readFileSync(process.env.CREDENTIALS + "/" + key, "utf8").trim();
const env = process.env;
const uri = "mongodb://" + encodeURIComponent(env.MONGODB_ROOT_USERNAME) + ":" +
  encodeURIComponent(read("mongodb-root-password")) + "@127.0.0.1:27017/?authSource=admin";
new Mongo(uri).getDB(env.MONGODB_AUTH_SOURCE).updateUser(env.MONGODB_USERNAME, {pwd: read("mongodb-password")});
'; do
  echo "the server does not take the password yet: retrying in 5 s" >&2
  sleep 5
done
echo "the password of $MONGODB_USERNAME is the credentials Secret's"
touch "$SYNCED"
