# The instance's user (and database) on the shared MongoDB service, as its admin. Amazon DocumentDB keeps every
# user in `admin`; the role limits it to the instance's database. $ACTION:
#   provision     create the user when missing, else set the current password; idempotent
#   deprovision   drop the database and the user: the instance was removed from a stack whose data is not kept
set -eu
exec mongosh --nodb --quiet --eval '
const env = process.env;
const fs = require("fs");
const read = (name) => fs.readFileSync(env.CREDENTIALS + "/" + name, "utf8").trim();
const ca = env.CREDENTIALS + "/ca.pem";
const params = new URLSearchParams({tls: "true", retryWrites: "false", authSource: "admin",
                                    ...(fs.existsSync(ca) ? {tlsCAFile: ca} : {})});
const uri = "mongodb://" + encodeURIComponent(read("admin-username")) + ":" + encodeURIComponent(read("admin-password")) +
  "@" + env.SERVER_HOST + ":" + env.SERVER_PORT + "/?" + params.toString();
const client = new Mongo(uri);
const admin = client.getDB("admin");
const exists = admin.getUser(env.APP_USER) !== null;
if (env.ACTION === "provision") {
  const user = {pwd: read("app-password"), roles: [{role: "readWrite", db: env.DATABASE}]};
  if (exists) {
    admin.updateUser(env.APP_USER, user);
  } else {
    admin.createUser({user: env.APP_USER, ...user});
  }
  print("user", env.APP_USER, "may read and write", env.DATABASE);
} else if (env.ACTION === "deprovision") {
  client.getDB(env.DATABASE).dropDatabase();
  if (exists) {
    admin.dropUser(env.APP_USER);
  }
  print("database", env.DATABASE, "and user", env.APP_USER, "are dropped");
} else {
  throw new Error("unknown ACTION " + env.ACTION);
}
'
