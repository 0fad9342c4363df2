// The `garage` command: `garage server` runs a node; the other verbs (Garage's `key` and
// `bucket` families, `status`) manage a running node through its admin API.

#include <server/admin_client.hpp>
#include <server/node.hpp>

#include <garage/util/config.hpp>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>

namespace {

using namespace garage;
namespace json = boost::json;

[[noreturn]] void fail(std::string const& msg)
{
    fmt::print(stderr, "Error: {}\n", msg);
    std::exit(1);
}

template <class T>
T must(util::result<T> r)
{
    if (!r) {
        fail(r.error().message);
    }
    return std::move(*r);
}

std::string str(json::value const& v)
{
    return v.is_string() ? std::string(v.as_string()) : (v.is_null() ? std::string() : json::serialize(v));
}

std::string join(json::value const& arr)
{
    std::string out;
    if (arr.is_array()) {
        for (auto const& v : arr.as_array()) {
            out += (out.empty() ? "" : ", ") + str(v);
        }
    }
    return out;
}

void print_key(json::value const& k)
{
    fmt::print("Key name: {}\nKey ID: {}\n", str(k.at("name")), str(k.at("accessKeyId")));
    if (!k.at("secretAccessKey").is_null()) {
        fmt::print("Secret key: {}\n", str(k.at("secretAccessKey")));
    }
    fmt::print("Can create buckets: {}\n", k.at("permissions").at("createBucket").as_bool());
    fmt::print("\nKey-specific bucket aliases:\n");
    for (auto const& b : k.at("buckets").as_array()) {
        if (!b.at("localAliases").as_array().empty()) {
            fmt::print("  {}  {}\n", join(b.at("localAliases")), str(b.at("id")));
        }
    }
    fmt::print("\nAuthorized buckets:\n");
    for (auto const& b : k.at("buckets").as_array()) {
        auto const& p = b.at("permissions");
        fmt::print("  {}{}{}  {}  {}\n", p.at("read").as_bool() ? "R" : " ",
                   p.at("write").as_bool() ? "W" : " ", p.at("owner").as_bool() ? "O" : " ",
                   join(b.at("globalAliases")), str(b.at("id")));
    }
}

void print_bucket(json::value const& b)
{
    fmt::print("Bucket: {}\n\n", str(b.at("id")));
    fmt::print("Size: {} bytes\nObjects: {}\nUnfinished uploads: {}\n\n", str(b.at("bytes")),
               str(b.at("objects")), str(b.at("unfinishedUploads")));
    fmt::print("Website access: {}\n", b.at("websiteAccess").as_bool());
    fmt::print("Global aliases: {}\n", join(b.at("globalAliases")));
    auto const& q = b.at("quotas");
    fmt::print("Quotas: max size {}, max objects {}\n",
               q.at("maxSize").is_null() ? "none" : str(q.at("maxSize")),
               q.at("maxObjects").is_null() ? "none" : str(q.at("maxObjects")));
    fmt::print("\nAuthorized keys:\n");
    for (auto const& k : b.at("keys").as_array()) {
        auto const& p = k.at("permissions");
        fmt::print("  {}{}{}  {}  {}\n", p.at("read").as_bool() ? "R" : " ",
                   p.at("write").as_bool() ? "W" : " ", p.at("owner").as_bool() ? "O" : " ",
                   str(k.at("accessKeyId")), str(k.at("name")));
    }
}

/// A bucket named by global alias, or by id.
json::value find_bucket(server::admin_client const& c, std::string const& name)
{
    if (auto r = c.call("GET", "/v1/bucket?globalAlias=" + name); r) {
        return *r;
    }
    if (auto r = c.call("GET", "/v1/bucket?id=" + name); r) {
        return *r;
    }
    fail("Bucket not found: " + name);
}

json::value find_key(server::admin_client const& c, std::string const& pattern)
{
    return must(c.call("GET", "/v1/key?search=" + pattern));
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"Garage: an S3 object store for geo-distributed clusters (C++ re-implementation)"};
    app.require_subcommand(1);
    std::string config_path = "/etc/garage.toml";
    if (char const* env = std::getenv("GARAGE_CONFIG_FILE")) {
        config_path = env;
    }
    app.add_option("-c,--config", config_path, "Configuration file (env GARAGE_CONFIG_FILE)")
        ->capture_default_str();

    auto* server_cmd = app.add_subcommand("server", "Run the Garage server");
    bool single_node = false;
    server_cmd->add_flag("--single-node", single_node,
                         "Run as a single-node cluster (the layout is this node)");

    auto* status_cmd = app.add_subcommand("status", "Show the node's status and health");

    auto* key = app.add_subcommand("key", "Manage access keys");
    key->require_subcommand(1);
    std::string name, pattern, secret, new_name, bucket, key_pattern;
    bool show_secret = false, yes = false, create_bucket = false;
    auto* key_list = key->add_subcommand("list", "List keys");
    auto* key_create = key->add_subcommand("create", "Create a key");
    key_create->add_option("name", name, "Name of the key")->default_val("Unnamed key");
    auto* key_info = key->add_subcommand("info", "Show a key");
    key_info->add_option("key", pattern, "Key id or name")->required();
    key_info->add_flag("--show-secret", show_secret, "Show the secret key");
    auto* key_rename = key->add_subcommand("rename", "Rename a key");
    key_rename->add_option("key", pattern)->required();
    key_rename->add_option("new_name", new_name)->required();
    auto* key_delete = key->add_subcommand("delete", "Delete a key");
    key_delete->add_option("key", pattern)->required();
    key_delete->add_flag("--yes", yes, "Confirm");
    auto* key_import = key->add_subcommand("import", "Import an existing key");
    key_import->add_option("key_id", pattern)->required();
    key_import->add_option("secret_key", secret)->required();
    key_import->add_option("-n,--name", name, "Name")->default_val("Imported key");
    key_import->add_flag("--yes", yes, "Confirm");
    auto* key_allow = key->add_subcommand("allow", "Allow a key to create buckets");
    key_allow->add_option("key", pattern)->required();
    key_allow->add_flag("--create-bucket", create_bucket);
    auto* key_deny = key->add_subcommand("deny", "Deny a key the right to create buckets");
    key_deny->add_option("key", pattern)->required();
    key_deny->add_flag("--create-bucket", create_bucket);

    auto* bkt = app.add_subcommand("bucket", "Manage buckets");
    bkt->require_subcommand(1);
    bool read = false, write = false, owner = false, allow_web = false, deny_web = false;
    std::string index_doc = "index.html", error_doc, max_size, max_objects, local_key, new_alias;
    auto* b_list = bkt->add_subcommand("list", "List buckets");
    auto* b_create = bkt->add_subcommand("create", "Create a bucket");
    b_create->add_option("name", bucket)->required();
    auto* b_info = bkt->add_subcommand("info", "Show a bucket");
    b_info->add_option("name", bucket)->required();
    auto* b_delete = bkt->add_subcommand("delete", "Delete an empty bucket");
    b_delete->add_option("name", bucket)->required();
    b_delete->add_flag("--yes", yes, "Confirm");
    auto* b_allow = bkt->add_subcommand("allow", "Give a key permissions on a bucket");
    auto* b_deny = bkt->add_subcommand("deny", "Take permissions on a bucket from a key");
    for (auto* c : {b_allow, b_deny}) {
        c->add_option("bucket", bucket)->required();
        c->add_option("--key", key_pattern, "Key id or name")->required();
        c->add_flag("--read", read);
        c->add_flag("--write", write);
        c->add_flag("--owner", owner);
    }
    auto* b_alias = bkt->add_subcommand("alias", "Add an alias to a bucket");
    b_alias->add_option("bucket", bucket)->required();
    b_alias->add_option("new_name", new_alias)->required();
    b_alias->add_option("--local", local_key, "Make a local alias of this key");
    auto* b_unalias = bkt->add_subcommand("unalias", "Remove an alias");
    b_unalias->add_option("name", bucket)->required();
    b_unalias->add_option("--local", local_key, "Remove a local alias of this key");
    auto* b_website = bkt->add_subcommand("website", "Enable or disable website access");
    b_website->add_option("bucket", bucket)->required();
    b_website->add_flag("--allow", allow_web);
    b_website->add_flag("--deny", deny_web);
    b_website->add_option("-i,--index-document", index_doc)->capture_default_str();
    b_website->add_option("-e,--error-document", error_doc);
    auto* b_quotas = bkt->add_subcommand("set-quotas", "Set bucket quotas");
    b_quotas->add_option("bucket", bucket)->required();
    b_quotas->add_option("--max-size", max_size, "Size (e.g. 10G) or none");
    b_quotas->add_option("--max-objects", max_objects, "Count or none");

    CLI11_PARSE(app, argc, argv);

    auto cfg = must(util::read_config(config_path));

    if (*server_cmd) {
        spdlog::set_level(spdlog::level::info);
        (void)single_node; // one node is the whole layout until the cluster layer exists
        auto n = util::result<std::unique_ptr<server::node>>(server::node::open(cfg));
        if (!n) {
            fail(n.error().message);
        }
        (*n)->run();
        return 0;
    }

    server::admin_client c(cfg);
    if (*status_cmd) {
        auto h = must(c.call("GET", "/v1/health"));
        fmt::print(
            "==== HEALTHY NODES ====\nStatus: {}\nStorage nodes: {}/{}\nPartitions with quorum: {}/{}\n",
            str(h.at("status")), str(h.at("storageNodesOk")), str(h.at("storageNodes")),
            str(h.at("partitionsQuorum")), str(h.at("partitions")));
        return 0;
    }
    if (*key) {
        if (*key_list) {
            fmt::print("{:<28} {}\n", "ID", "Name");
            for (auto const& k : must(c.call("GET", "/v1/key")).as_array()) {
                fmt::print("{:<28} {}\n", str(k.at("id")), str(k.at("name")));
            }
        } else if (*key_create) {
            json::value body = {{"name", name}};
            print_key(must(c.call("POST", "/v1/key", &body)));
        } else if (*key_info) {
            auto k = find_key(c, pattern);
            print_key(must(c.call("GET", "/v1/key?id=" + str(k.at("accessKeyId")) +
                                             (show_secret ? "&showSecretKey=true" : ""))));
        } else if (*key_rename) {
            auto k = find_key(c, pattern);
            json::value body = {{"name", new_name}};
            print_key(must(c.call("POST", "/v1/key?id=" + str(k.at("accessKeyId")), &body)));
        } else if (*key_delete) {
            if (!yes) {
                fail("Add --yes flag to really perform this operation");
            }
            auto k = find_key(c, pattern);
            (void)must(c.call("DELETE", "/v1/key?id=" + str(k.at("accessKeyId"))));
            fmt::print("Access key {} has been deleted.\n", str(k.at("accessKeyId")));
        } else if (*key_import) {
            if (!yes) {
                fail("This command is intended to re-import keys that were previously generated by Garage. "
                     "If you want to create a new key, use `garage key create` instead. Add the --yes flag "
                     "if you really want to re-import a key.");
            }
            json::value body = {{"accessKeyId", pattern}, {"secretAccessKey", secret}, {"name", name}};
            print_key(must(c.call("POST", "/v1/key/import", &body)));
        } else if (*key_allow || *key_deny) {
            if (!create_bucket) {
                fail("Nothing to do: pass --create-bucket");
            }
            auto k = find_key(c, pattern);
            json::value body = {{*key_allow ? "allow" : "deny", {{"createBucket", true}}}};
            print_key(must(c.call("POST", "/v1/key?id=" + str(k.at("accessKeyId")), &body)));
        }
        return 0;
    }
    if (*bkt) {
        if (*b_list) {
            fmt::print("{:<66} {}\n", "ID", "Global aliases");
            for (auto const& b : must(c.call("GET", "/v1/bucket")).as_array()) {
                fmt::print("{:<66} {}\n", str(b.at("id")), join(b.at("globalAliases")));
            }
        } else if (*b_create) {
            json::value body = {{"globalAlias", bucket}};
            (void)must(c.call("POST", "/v1/bucket", &body));
            fmt::print("Bucket {} was created.\n", bucket);
        } else if (*b_info) {
            print_bucket(find_bucket(c, bucket));
        } else if (*b_delete) {
            if (!yes) {
                fail("Add --yes flag to really perform this operation");
            }
            auto b = find_bucket(c, bucket);
            (void)must(c.call("DELETE", "/v1/bucket?id=" + str(b.at("id"))));
            fmt::print("Bucket {} was deleted.\n", bucket);
        } else if (*b_allow || *b_deny) {
            auto b = find_bucket(c, bucket);
            auto k = find_key(c, key_pattern);
            json::value body = {{"bucketId", b.at("id")},
                                {"accessKeyId", k.at("accessKeyId")},
                                {"permissions", {{"read", read}, {"write", write}, {"owner", owner}}}};
            (void)must(c.call("POST", *b_allow ? "/v1/bucket/allow" : "/v1/bucket/deny", &body));
            auto info = must(c.call("GET", "/v1/key?id=" + str(k.at("accessKeyId"))));
            for (auto const& kb : info.at("buckets").as_array()) {
                if (kb.at("id") == b.at("id")) {
                    auto const& p = kb.at("permissions");
                    fmt::print("New permissions for {} on {}: read {}, write {}, owner {}.\n",
                               str(k.at("accessKeyId")), bucket, p.at("read").as_bool(),
                               p.at("write").as_bool(), p.at("owner").as_bool());
                    return 0;
                }
            }
            fmt::print("New permissions for {} on {}: none.\n", str(k.at("accessKeyId")), bucket);
        } else if (*b_alias) {
            auto b = find_bucket(c, bucket);
            std::string target = local_key.empty()
                                     ? "/v1/bucket/alias/global?id=" + str(b.at("id")) + "&alias=" + new_alias
                                     : "/v1/bucket/alias/local?id=" + str(b.at("id")) +
                                           "&accessKeyId=" + str(find_key(c, local_key).at("accessKeyId")) +
                                           "&alias=" + new_alias;
            (void)must(c.call("PUT", target));
            fmt::print("Alias {} now points to bucket {}\n", new_alias, str(b.at("id")));
        } else if (*b_unalias) {
            auto b = find_bucket(c, bucket);
            std::string target = local_key.empty()
                                     ? "/v1/bucket/alias/global?id=" + str(b.at("id")) + "&alias=" + bucket
                                     : "/v1/bucket/alias/local?id=" + str(b.at("id")) +
                                           "&accessKeyId=" + str(find_key(c, local_key).at("accessKeyId")) +
                                           "&alias=" + bucket;
            (void)must(c.call("DELETE", target));
            fmt::print("Alias {} no longer points to bucket {}\n", bucket, str(b.at("id")));
        } else if (*b_website) {
            if (allow_web == deny_web) {
                fail("You must specify exactly one flag, either --allow or --deny");
            }
            auto b = find_bucket(c, bucket);
            json::object web{{"enabled", allow_web}, {"indexDocument", index_doc}};
            if (!error_doc.empty()) {
                web["errorDocument"] = error_doc;
            }
            json::value body = {{"websiteAccess", web}};
            (void)must(c.call("PUT", "/v1/bucket?id=" + str(b.at("id")), &body));
            fmt::print("Website access {} for {}\n", allow_web ? "allowed" : "denied", bucket);
        } else if (*b_quotas) {
            auto b = find_bucket(c, bucket);
            json::object q = b.at("quotas").as_object();
            if (!max_size.empty()) {
                q["maxSize"] = max_size == "none" ? json::value(nullptr)
                                                  : json::value(must(util::parse_capacity(max_size)));
            }
            if (!max_objects.empty()) {
                q["maxObjects"] =
                    max_objects == "none" ? json::value(nullptr) : json::value(std::stoull(max_objects));
            }
            json::value body = {{"quotas", q}};
            (void)must(c.call("PUT", "/v1/bucket?id=" + str(b.at("id")), &body));
            fmt::print("Quotas updated for {}\n", bucket);
        }
        return 0;
    }
    return 0;
}
