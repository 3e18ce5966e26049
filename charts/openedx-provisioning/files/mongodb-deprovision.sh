# The instance's database and user dropped from the shared MongoDB service, as its admin: the instance was removed
# from a stack whose data is not kept. Idempotent.
set -eu
exec mongosh --nodb --quiet --eval '
const env = process.env;
const read = (name) => require("fs").readFileSync(env.CREDENTIALS + "/" + name, "utf8").trim();
const ca = env.CREDENTIALS + "/ca.pem";
const params = new URLSearchParams({tls: "true", retryWrites: "false", authSource: "admin",
                                    ...(require("fs").existsSync(ca) ? {tlsCAFile: ca} : {})});
const uri = "mongodb://" + encodeURIComponent(read("admin-username")) + ":" + encodeURIComponent(read("admin-password")) +
  "@" + env.SERVER_HOST + ":" + env.SERVER_PORT + "/?" + params.toString();
const client = new Mongo(uri);
client.getDB(env.DATABASE).dropDatabase();
const admin = client.getDB("admin");
if (admin.getUser(env.APP_USER)) {
  admin.dropUser(env.APP_USER);
}
print("database", env.DATABASE, "and user", env.APP_USER, "are dropped");
'
