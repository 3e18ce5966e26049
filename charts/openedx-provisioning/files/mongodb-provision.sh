# The instance's user on the shared MongoDB service, as its admin: created when missing, else set to the current
# password. Amazon DocumentDB keeps every user in `admin`; the role limits it to the instance's database.
set -eu
exec mongosh --nodb --quiet --eval '
const env = process.env;
const read = (name) => require("fs").readFileSync(env.CREDENTIALS + "/" + name, "utf8").trim();
const ca = env.CREDENTIALS + "/ca.pem";
const params = new URLSearchParams({tls: "true", retryWrites: "false", authSource: "admin",
                                    ...(require("fs").existsSync(ca) ? {tlsCAFile: ca} : {})});
const uri = "mongodb://" + encodeURIComponent(read("admin-username")) + ":" + encodeURIComponent(read("admin-password")) +
  "@" + env.SERVER_HOST + ":" + env.SERVER_PORT + "/?" + params.toString();
const admin = new Mongo(uri).getDB("admin");
const roles = [{role: "readWrite", db: env.DATABASE}];
if (admin.getUser(env.APP_USER)) {
  admin.updateUser(env.APP_USER, {pwd: read("app-password"), roles: roles});
} else {
  admin.createUser({user: env.APP_USER, pwd: read("app-password"), roles: roles});
}
print("user", env.APP_USER, "may read and write", env.DATABASE);
'
