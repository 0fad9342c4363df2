#pragma once

#include <garage/api/admin/detail/reply.hpp>
#include <garage/api/admin/impl/cluster.hpp>
#include <garage/model/helper.hpp>
#include <garage/util/encoding.hpp>
#include <garage/util/time.hpp>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <openssl/crypto.h>

#include <string_view>

namespace garage::api::admin {

namespace detail {

namespace json = boost::json;
namespace beast_http = boost::beast::http;

/// Constant-time comparison of a presented token with the configured one.
inline bool token_matches(std::string_view given, std::string_view expected)
{
    while (!given.empty() && (given.back() == ' ' || given.back() == '\t')) {
        given.remove_suffix(1);
    }
    return given.size() == expected.size() && CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0;
}

/// The bearer-token check of every endpoint but `/health`, `/check` and `/metrics`.
inline std::optional<reply> check_admin_token(admin_settings const& s, std::string_view auth)
{
    if (!s.admin_token) {
        return error_reply(403, "AccessDenied",
                           "Admin token isn't configured, admin API access is disabled for security.");
    }
    if (!auth.starts_with("Bearer ")) {
        return error_reply(403, "AccessDenied", "Authorization token must be provided");
    }
    if (!token_matches(auth.substr(7), *s.admin_token)) {
        return error_reply(403, "AccessDenied", "Invalid authorization token");
    }
    return std::nullopt;
}

inline json::object permissions_json(model::bucket_key_perm const& p)
{
    return {{"read", p.allow_read}, {"write", p.allow_write}, {"owner", p.allow_owner}};
}

template <class Model>
util::result<json::value> key_info(Model& m, model::access_key const& k, bool show_secret)
{
    auto const* p = k.params();
    json::object o;
    o["name"] = p->name.get();
    o["accessKeyId"] = k.key_id;
    if (show_secret) {
        o["secretAccessKey"] = p->secret_key;
    } else {
        o["secretAccessKey"] = nullptr;
    }
    o["permissions"] = json::object{{"createBucket", p->allow_create_bucket.get()}};
    json::array buckets;
    for (auto const& entry : p->authorized_buckets.items()) {
        if (!entry.value.is_any()) {
            continue;
        }
        auto b = model::get_bucket(m, entry.key);
        if (!b) {
            return b.error();
        }
        if (!*b) {
            continue;
        }
        json::array global, local;
        for (auto const& a : (*b)->params()->aliases.items()) {
            if (a.value) {
                global.emplace_back(a.key);
            }
        }
        for (auto const& a : p->local_aliases.items()) {
            if (a.value && *a.value == entry.key) {
                local.emplace_back(a.key);
            }
        }
        buckets.emplace_back(json::object{{"id", entry.key.to_hex()},
                                          {"globalAliases", std::move(global)},
                                          {"localAliases", std::move(local)},
                                          {"permissions", permissions_json(entry.value)}});
    }
    o["buckets"] = std::move(buckets);
    return json::value(std::move(o));
}

template <class Model>
util::result<json::value> bucket_info(Model& m, model::bucket const& b)
{
    auto const* p = b.params();
    json::object o;
    o["id"] = b.id.to_hex();
    json::array global;
    for (auto const& a : p->aliases.items()) {
        if (a.value) {
            global.emplace_back(a.key);
        }
    }
    o["globalAliases"] = std::move(global);
    auto const& web = p->website_config.get();
    o["websiteAccess"] = web.has_value();
    if (web) {
        json::object wc{{"indexDocument", web->index_document}};
        wc["errorDocument"] = web->error_document ? json::value(*web->error_document) : json::value(nullptr);
        o["websiteConfig"] = std::move(wc);
    } else {
        o["websiteConfig"] = nullptr;
    }
    json::array keys;
    for (auto const& entry : b.authorized_keys()) {
        auto k = model::get_key(m, entry.key);
        if (!k) {
            return k.error();
        }
        json::array local;
        std::string name;
        if (*k) {
            name = (*k)->params()->name.get();
            for (auto const& a : (*k)->params()->local_aliases.items()) {
                if (a.value && *a.value == b.id) {
                    local.emplace_back(a.key);
                }
            }
        }
        if (!entry.value.is_any() && local.empty()) {
            continue;
        }
        keys.emplace_back(json::object{{"accessKeyId", entry.key},
                                       {"name", name},
                                       {"permissions", permissions_json(entry.value)},
                                       {"bucketLocalAliases", std::move(local)}});
    }
    o["keys"] = std::move(keys);
    std::int64_t objects = 0, bytes = 0, unfinished = 0, mpu_uploads = 0, mpu_parts = 0, mpu_bytes = 0;
    if (auto c = m.object_counter().get(b.id, table::empty_key{}); c && *c) {
        objects = (*c)->get("objects").value_or(0);
        bytes = (*c)->get("bytes").value_or(0);
        unfinished = (*c)->get("unfinished_uploads").value_or(0);
    }
    if (auto c = m.mpu_counter().get(b.id, table::empty_key{}); c && *c) {
        mpu_uploads = (*c)->get("uploads").value_or(0);
        mpu_parts = (*c)->get("parts").value_or(0);
        mpu_bytes = (*c)->get("bytes").value_or(0);
    }
    o["objects"] = objects;
    o["bytes"] = bytes;
    o["unfinishedUploads"] = unfinished;
    o["unfinishedMultipartUploads"] = mpu_uploads;
    o["unfinishedMultipartUploadParts"] = mpu_parts;
    o["unfinishedMultipartUploadBytes"] = mpu_bytes;
    auto const& q = p->quotas.get();
    json::object quotas;
    quotas["maxSize"] = q.max_size ? json::value(*q.max_size) : json::value(nullptr);
    quotas["maxObjects"] = q.max_objects ? json::value(*q.max_objects) : json::value(nullptr);
    o["quotas"] = std::move(quotas);
    return json::value(std::move(o));
}

/// A bucket named by `?id=` (hex) or `?globalAlias=`.
template <class Model>
util::result<model::bucket> find_bucket(Model& m, boost::urls::params_view const& q)
{
    std::optional<util::uuid> id;
    if (auto it = q.find("id"); it != q.end()) {
        auto parsed = util::uuid::from_hex(std::string((*it).value));
        if (!parsed) {
            return util::failure(model::error::no_such_bucket,
                                 "Bucket not found: " + std::string((*it).value));
        }
        id = *parsed;
    } else if (auto a = q.find("globalAlias"); a != q.end()) {
        auto r = model::resolve_global_alias(m, std::string((*a).value));
        if (!r) {
            return r.error();
        }
        id = *r;
        if (!id) {
            return util::failure(model::error::no_such_bucket,
                                 "Bucket not found: " + std::string((*a).value));
        }
    } else {
        return util::failure(util::error::config_invalid_value, "missing `id` or `globalAlias`");
    }
    auto b = model::get_bucket(m, *id);
    if (!b) {
        return b.error();
    }
    if (!*b) {
        return util::failure(model::error::no_such_bucket, "Bucket not found: " + id->to_hex());
    }
    return std::move(**b);
}

/// A key named by `?id=` (exact) or `?search=` (prefix of the id, or the name).
template <class Model>
util::result<model::access_key> find_key(Model& m, boost::urls::params_view const& q)
{
    if (auto it = q.find("id"); it != q.end()) {
        auto k = model::get_key(m, std::string((*it).value));
        if (!k) {
            return k.error();
        }
        if (!*k) {
            return util::failure(model::error::no_such_key, "Key not found: " + std::string((*it).value));
        }
        return std::move(**k);
    }
    if (auto it = q.find("search"); it != q.end()) {
        auto const pattern = std::string((*it).value);
        auto found = m.key_table().get_range(table::empty_key{}, std::nullopt,
                                             model::key_filter(model::key_match{pattern}), 2);
        if (!found) {
            return found.error();
        }
        if (found->size() != 1) {
            return util::failure(model::error::no_such_key,
                                 (found->empty() ? "No key matches " : "Several keys match ") + pattern);
        }
        return std::move(found->front());
    }
    return util::failure(util::error::config_invalid_value, "missing `id` or `search`");
}

inline std::optional<bool> json_bool(json::object const& o, std::string_view k)
{
    if (auto const* v = o.if_contains(k); v && v->is_bool()) {
        return v->as_bool();
    }
    return std::nullopt;
}

inline std::optional<std::string> json_string(json::object const& o, std::string_view k)
{
    if (auto const* v = o.if_contains(k); v && v->is_string()) {
        return std::string(v->as_string());
    }
    return std::nullopt;
}

inline model::bucket_key_perm json_perm(json::object const& o)
{
    model::bucket_key_perm p;
    if (auto const* v = o.if_contains("permissions"); v && v->is_object()) {
        p.allow_read = json_bool(v->as_object(), "read").value_or(false);
        p.allow_write = json_bool(v->as_object(), "write").value_or(false);
        p.allow_owner = json_bool(v->as_object(), "owner").value_or(false);
    }
    return p;
}

/// `GET /metrics`: the Prometheus text, behind `metrics_token` when one is configured.
inline reply serve_metrics(admin_settings const& s, admin_node_access const& node, std::string_view auth)
{
    if (s.metrics_token) {
        if (!auth.starts_with("Bearer ")) {
            return error_reply(403, "AccessDenied", "Authorization token must be provided");
        }
        if (!token_matches(auth.substr(7), *s.metrics_token)) {
            return error_reply(403, "AccessDenied", "Invalid authorization token");
        }
    }
    if (node.metrics == nullptr) {
        return error_reply(400, "InvalidRequest", "Garage was built without the metrics feature");
    }
    reply r;
    r.text = node.metrics->render();
    r.content_type = std::string(metrics::content_type);
    return r;
}

/// A worker as `GET /v1/worker` lists it.
inline json::object worker_json(util::worker_info const& w)
{
    json::object o;
    o["id"] = w.id;
    o["name"] = w.name;
    o["state"] = std::string(util::to_string(w.state));
    o["errors"] = w.errors;
    o["consecutiveErrors"] = w.consecutive_errors;
    o["lastError"] = w.last_error ? json::value(*w.last_error) : json::value(nullptr);
    if (w.last_error_msec != 0) {
        auto const now = util::now_msec();
        o["lastErrorSecsAgo"] = now > w.last_error_msec ? (now - w.last_error_msec) / 1000 : 0;
    } else {
        o["lastErrorSecsAgo"] = nullptr;
    }
    auto opt = [](auto const& v) { return v ? json::value(*v) : json::value(nullptr); };
    o["queueLength"] = opt(w.status.queue_length);
    o["persistentErrors"] = opt(w.status.persistent_errors);
    o["tranquility"] = opt(w.status.tranquility);
    o["progress"] = opt(w.status.progress);
    json::array free;
    for (auto const& f : w.status.freeform) {
        free.emplace_back(f);
    }
    o["freeform"] = std::move(free);
    return o;
}

/// `GET /v1/stats`, `GET /v1/worker`, `GET|POST /v1/worker/var` (after the admin token check).
inline reply serve_node(admin_node_access const& node, std::string_view method, std::string const& path,
                        boost::urls::params_view const& q, json::object const& in)
{
    if (path == "/v1/stats" && method == "GET") {
        if (node.metrics == nullptr) {
            return error_reply(400, "InvalidRequest", "Garage was built without the metrics feature");
        }
        // the figures of /metrics, as JSON (histogram buckets left out: their sum and count stay)
        json::array families;
        for (auto const& f : node.metrics->collect()) {
            json::array samples;
            for (auto const& smp : f.samples) {
                if (smp.suffix == "_bucket") {
                    continue;
                }
                json::object labels;
                for (auto const& [k, v] : smp.labels) {
                    labels[k] = v;
                }
                samples.emplace_back(json::object{
                    {"suffix", smp.suffix}, {"labels", std::move(labels)}, {"value", smp.value}});
            }
            families.emplace_back(json::object{{"name", f.name},
                                               {"type", std::string(metrics::to_string(f.type))},
                                               {"help", f.help},
                                               {"samples", std::move(samples)}});
        }
        return {200, json::object{{"metrics", std::move(families)}}};
    }
    if (path == "/v1/worker" && method == "GET") {
        if (node.workers == nullptr) {
            return error_reply(400, "InvalidRequest", "This node does not expose its workers");
        }
        json::array out;
        for (auto const& w : node.workers->list()) {
            out.emplace_back(worker_json(w));
        }
        return {200, std::move(out)};
    }
    if (path == "/v1/worker/var" && method == "GET") {
        if (!node.get_worker_vars) {
            return error_reply(400, "InvalidRequest", "This node has no worker variables");
        }
        std::optional<std::string> only;
        if (auto it = q.find("name"); it != q.end()) {
            only = std::string((*it).value);
        }
        json::object out;
        for (auto const& [k, v] : node.get_worker_vars()) {
            if (!only || *only == k) {
                out[k] = v;
            }
        }
        if (only && out.empty()) {
            return error_reply(400, "InvalidRequest", "Unknown worker variable: " + *only);
        }
        return {200, std::move(out)};
    }
    if (path == "/v1/worker/var" && method == "POST") {
        if (!node.set_worker_var) {
            return error_reply(400, "InvalidRequest", "This node has no worker variables");
        }
        auto const* name = in.if_contains("name");
        auto const* value = in.if_contains("value");
        if (name == nullptr || !name->is_string() || value == nullptr ||
            !(value->is_string() || value->is_number())) {
            return error_reply(400, "InvalidRequest",
                               "Expected {\"name\": string, \"value\": string or number}");
        }
        std::string const v = value->is_string() ? std::string(value->as_string()) : json::serialize(*value);
        auto const n = std::string(name->as_string());
        if (auto r = node.set_worker_var(n, v); !r) {
            return error_reply(400, "InvalidRequest", r.error().message);
        }
        json::object out;
        for (auto const& [k, val] : node.get_worker_vars
                                        ? node.get_worker_vars()
                                        : std::vector<std::pair<std::string, std::string>>{}) {
            if (k == n) {
                out[k] = val;
            }
        }
        return {200, std::move(out)};
    }
    return error_reply(404, "NoSuchEndpoint", "Unknown admin endpoint: " + std::string(method) + " " + path);
}

/// Routes and serves one admin request (synchronous: the model's operations are short).
template <class Model>
reply serve(Model& m, admin_settings const& s, admin_node_access const& node, std::string_view method,
            boost::urls::url_view const& url, std::string_view auth, std::string const& body)
{
    auto const path = std::string(url.path());
    auto const q = url.params();
    if (path == "/metrics" && method == "GET") {
        return serve_metrics(s, node, auth);
    }
    if (path == "/health" && method == "GET") {
        return {200, json::value("Garage is fully operational")};
    }
    if (path == "/check" && method == "GET") {
        auto it = q.find("domain");
        if (it == q.end()) {
            return error_reply(400, "InvalidRequest", "No domain query string found");
        }
        auto domain = std::string((*it).value);
        // Garage's order: under the S3 root domain any bucket is served; under the web root
        // domain, or as a whole domain, only a bucket with website access.
        std::string bucket = domain;
        bool needs_website = true;
        for (auto const* root : {&s.s3_root_domain, &s.web_root_domain}) {
            auto r = *root;
            while (!r.empty() && r.front() == '.') {
                r.erase(0, 1);
            }
            if (!r.empty() && domain.size() > r.size() + 1 && domain.ends_with("." + r)) {
                bucket = domain.substr(0, domain.size() - r.size() - 1);
                needs_website = root == &s.web_root_domain;
                break;
            }
        }
        auto id = model::resolve_global_alias(m, bucket);
        if (id && *id) {
            auto b = model::get_bucket(m, **id);
            if (b && *b && (!needs_website || (*b)->params()->website_config.get())) {
                return {200, json::value("Domain '" + domain + "' is managed by Garage")};
            }
        }
        return error_reply(400, "InvalidRequest", "Domain '" + domain + "' is not managed by Garage");
    }
    if (auto refused = check_admin_token(s, auth)) {
        return std::move(*refused);
    }
    json::object in;
    if (!body.empty()) {
        boost::system::error_code ec;
        auto v = json::parse(body, ec);
        if (ec) {
            return error_reply(400, "InvalidRequest", "Invalid JSON body: " + ec.message());
        }
        if (v.is_object()) {
            in = std::move(v.as_object());
        } else if (!v.is_null()) {
            return error_reply(400, "InvalidRequest", "Expected a JSON object");
        }
    }
    auto ok = [](util::result<json::value> r) -> reply {
        if (!r) {
            return from_failure(r.error());
        }
        return {200, std::move(*r)};
    };

    if (path == "/v1/health" && method == "GET") {
        return {200, json::object{{"status", "healthy"},
                                  {"knownNodes", 1},
                                  {"connectedNodes", 1},
                                  {"storageNodes", 1},
                                  {"storageNodesOk", 1},
                                  {"partitions", 256},
                                  {"partitionsQuorum", 256},
                                  {"partitionsAllOk", 256}}};
    }
    if (path == "/v1/stats" || path.starts_with("/v1/worker")) {
        return serve_node(node, method, path, q, in);
    }
    if (path == "/v1/key" && method == "GET" && q.find("id") == q.end() && q.find("search") == q.end()) {
        auto keys = model::list_keys(m);
        if (!keys) {
            return from_failure(keys.error());
        }
        json::array out;
        for (auto const& k : *keys) {
            out.emplace_back(json::object{{"id", k.key_id}, {"name", k.params()->name.get()}});
        }
        return {200, std::move(out)};
    }
    if (path == "/v1/key" && method == "GET") {
        auto k = find_key(m, q);
        if (!k) {
            return from_failure(k.error());
        }
        auto show = q.find("showSecretKey");
        return ok(key_info(m, *k, show != q.end() && (*show).value == "true"));
    }
    if (path == "/v1/key" && method == "POST" && q.find("id") == q.end()) {
        auto k = model::access_key::create(json_string(in, "name").value_or("Unnamed key"));
        if (auto r = m.key_table().insert(k); !r) {
            return from_failure(r.error());
        }
        return ok(key_info(m, k, true));
    }
    if (path == "/v1/key/import" && method == "POST") {
        auto id = json_string(in, "accessKeyId");
        auto secret = json_string(in, "secretAccessKey");
        if (!id || !secret) {
            return error_reply(400, "InvalidRequest", "accessKeyId and secretAccessKey are required");
        }
        if (auto existing = model::get_key(m, *id); existing && *existing) {
            return error_reply(409, "KeyAlreadyExists", "Key " + *id + " already exists");
        }
        auto k = model::access_key::import(*id, *secret, json_string(in, "name").value_or("Imported key"));
        if (!k) {
            return from_failure(k.error());
        }
        if (auto r = m.key_table().insert(*k); !r) {
            return from_failure(r.error());
        }
        return ok(key_info(m, *k, false));
    }
    if (path == "/v1/key" && method == "POST") {
        auto k = find_key(m, q);
        if (!k) {
            return from_failure(k.error());
        }
        auto* p = k->params_mut();
        if (auto name = json_string(in, "name")) {
            p->name.update(*name);
        }
        if (auto const* a = in.if_contains("allow");
            a && a->is_object() && json_bool(a->as_object(), "createBucket")) {
            p->allow_create_bucket.update(true);
        }
        if (auto const* d = in.if_contains("deny");
            d && d->is_object() && json_bool(d->as_object(), "createBucket")) {
            p->allow_create_bucket.update(false);
        }
        if (auto r = m.key_table().insert(*k); !r) {
            return from_failure(r.error());
        }
        return ok(key_info(m, *k, false));
    }
    if (path == "/v1/key" && method == "DELETE") {
        auto k = find_key(m, q);
        if (!k) {
            return from_failure(k.error());
        }
        if (auto r = model::delete_key(m, k->key_id); !r) {
            return from_failure(r.error());
        }
        return {204, std::nullopt};
    }

    if (path == "/v1/bucket" && method == "GET" && q.find("id") == q.end() &&
        q.find("globalAlias") == q.end()) {
        auto buckets = model::list_buckets(m);
        if (!buckets) {
            return from_failure(buckets.error());
        }
        json::array out;
        for (auto const& b : *buckets) {
            json::array global, local;
            for (auto const& a : b.params()->aliases.items()) {
                if (a.value) {
                    global.emplace_back(a.key);
                }
            }
            for (auto const& a : b.params()->local_aliases.items()) {
                if (a.value) {
                    local.emplace_back(json::object{{"accessKeyId", a.key.key_id}, {"alias", a.key.name}});
                }
            }
            out.emplace_back(json::object{{"id", b.id.to_hex()},
                                          {"globalAliases", std::move(global)},
                                          {"localAliases", std::move(local)}});
        }
        return {200, std::move(out)};
    }
    if (path == "/v1/bucket" && method == "GET") {
        auto b = find_bucket(m, q);
        if (!b) {
            return from_failure(b.error());
        }
        return ok(bucket_info(m, *b));
    }
    if (path == "/v1/bucket" && method == "POST") {
        auto global = json_string(in, "globalAlias");
        std::optional<std::pair<std::string, std::string>> local;
        model::bucket_key_perm local_perm;
        if (auto const* l = in.if_contains("localAlias"); l && l->is_object()) {
            auto key = json_string(l->as_object(), "accessKeyId");
            auto alias = json_string(l->as_object(), "alias");
            if (!key || !alias) {
                return error_reply(400, "InvalidRequest", "localAlias needs accessKeyId and alias");
            }
            local.emplace(*key, *alias);
            if (auto const* a = l->as_object().if_contains("allow"); a && a->is_object()) {
                local_perm = json_perm(json::object{{"permissions", *a}});
            }
        }
        auto id = model::create_bucket(m, global);
        if (!id) {
            return from_failure(id.error());
        }
        if (local) {
            if (auto r = model::set_local_alias(m, *id, local->first, local->second); !r) {
                return from_failure(r.error());
            }
            if (local_perm.is_any()) {
                if (auto r = model::set_bucket_key_permissions(m, *id, local->first, local_perm); !r) {
                    return from_failure(r.error());
                }
            }
        }
        auto b = model::get_bucket(m, *id);
        if (!b || !*b) {
            return error_reply(500, "InternalError", "bucket vanished after creation");
        }
        return ok(bucket_info(m, **b));
    }
    if (path == "/v1/bucket" && method == "PUT") {
        auto b = find_bucket(m, q);
        if (!b) {
            return from_failure(b.error());
        }
        auto* p = b->params_mut();
        if (auto const* w = in.if_contains("websiteAccess"); w && w->is_object()) {
            auto const& wo = w->as_object();
            if (json_bool(wo, "enabled").value_or(false)) {
                model::website_config wc;
                auto index = json_string(wo, "indexDocument");
                if (!index || index->empty()) {
                    return error_reply(400, "InvalidRequest",
                                       "indexDocument is required to enable website access");
                }
                wc.index_document = *index;
                wc.error_document = json_string(wo, "errorDocument");
                p->website_config.update(wc);
            } else {
                p->website_config.update(std::nullopt);
            }
        }
        if (auto const* qv = in.if_contains("quotas"); qv && qv->is_object()) {
            model::bucket_quotas quotas;
            if (auto const* ms = qv->as_object().if_contains("maxSize"); ms && ms->is_number()) {
                quotas.max_size = ms->to_number<std::uint64_t>();
            }
            if (auto const* mo = qv->as_object().if_contains("maxObjects"); mo && mo->is_number()) {
                quotas.max_objects = mo->to_number<std::uint64_t>();
            }
            p->quotas.update(quotas);
        }
        if (auto r = m.bucket_table().insert(*b); !r) {
            return from_failure(r.error());
        }
        return ok(bucket_info(m, *b));
    }
    if (path == "/v1/bucket" && method == "DELETE") {
        auto b = find_bucket(m, q);
        if (!b) {
            return from_failure(b.error());
        }
        if (auto r = model::delete_bucket(m, b->id); !r) {
            return from_failure(r.error());
        }
        return {204, std::nullopt};
    }
    if ((path == "/v1/bucket/allow" || path == "/v1/bucket/deny") && method == "POST") {
        auto bid = json_string(in, "bucketId");
        auto key = json_string(in, "accessKeyId");
        if (!bid || !key) {
            return error_reply(400, "InvalidRequest", "bucketId and accessKeyId are required");
        }
        auto id = util::uuid::from_hex(*bid);
        if (!id) {
            return error_reply(404, "NoSuchBucket", "Bucket not found: " + *bid);
        }
        auto k = model::get_key(m, *key);
        if (!k) {
            return from_failure(k.error());
        }
        if (!*k) {
            return error_reply(404, "NoSuchKey", "Key not found: " + *key);
        }
        auto perm = (*k)->bucket_permissions(*id);
        auto const req = json_perm(in);
        bool const allow = path.ends_with("allow");
        perm.allow_read = allow ? (perm.allow_read || req.allow_read) : (perm.allow_read && !req.allow_read);
        perm.allow_write =
            allow ? (perm.allow_write || req.allow_write) : (perm.allow_write && !req.allow_write);
        perm.allow_owner =
            allow ? (perm.allow_owner || req.allow_owner) : (perm.allow_owner && !req.allow_owner);
        if (auto r = model::set_bucket_key_permissions(m, *id, *key, perm); !r) {
            return from_failure(r.error());
        }
        auto b = model::get_bucket(m, *id);
        if (!b || !*b) {
            return error_reply(404, "NoSuchBucket", "Bucket not found: " + *bid);
        }
        return ok(bucket_info(m, **b));
    }
    if ((path == "/v1/bucket/alias/global" || path == "/v1/bucket/alias/local") &&
        (method == "PUT" || method == "DELETE")) {
        auto b = find_bucket(m, q);
        if (!b) {
            return from_failure(b.error());
        }
        auto alias = q.find("alias");
        if (alias == q.end()) {
            return error_reply(400, "InvalidRequest", "missing `alias`");
        }
        auto const name = std::string((*alias).value);
        util::result<void> r;
        if (path.ends_with("global")) {
            r = method == "PUT" ? model::set_global_alias(m, b->id, name)
                                : model::unset_global_alias(m, b->id, name);
        } else {
            auto key = q.find("accessKeyId");
            if (key == q.end()) {
                return error_reply(400, "InvalidRequest", "missing `accessKeyId`");
            }
            auto const k = std::string((*key).value);
            r = method == "PUT" ? model::set_local_alias(m, b->id, k, name)
                                : model::unset_local_alias(m, b->id, k, name);
        }
        if (!r) {
            return from_failure(r.error());
        }
        auto nb = model::get_bucket(m, b->id);
        if (!nb || !*nb) {
            return error_reply(404, "NoSuchBucket", "Bucket not found");
        }
        return ok(bucket_info(m, **nb));
    }
    if (path.starts_with("/v1/layout") || path == "/v1/connect" || path == "/v1/status") {
        return error_reply(501, "NotImplemented",
                           "Not implemented yet: " + path + " (arrives with the cluster layer)");
    }
    if (path.starts_with("/v0/")) {
        return error_reply(400, "InvalidRequest", "v0/ endpoint is no longer supported: " + path);
    }
    return error_reply(404, "NoSuchEndpoint", "Unknown admin endpoint: " + std::string(method) + " " + path);
}

} // namespace detail

inline std::string_view admin_endpoint_name(std::string_view method, std::string_view target)
{
    auto const qpos = target.find('?');
    auto const path = target.substr(0, qpos);
    auto const query = qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1);
    auto has = [query](std::string_view p) {
        std::size_t pos = 0;
        while (pos <= query.size()) {
            auto const end = std::min(query.find('&', pos), query.size());
            auto const part = query.substr(pos, end - pos);
            if (part.substr(0, part.find('=')) == p) {
                return true;
            }
            pos = end + 1;
        }
        return false;
    };
    bool const get = method == "GET", post = method == "POST", put = method == "PUT",
               del = method == "DELETE";
    if (method == "OPTIONS") {
        return "Options";
    }
    if (path == "/health" && get) {
        return "Health";
    }
    if (path == "/metrics" && get) {
        return "Metrics";
    }
    if (path == "/check" && get) {
        return "CheckDomain";
    }
    std::string_view p = path;
    if (p.starts_with("/v1/")) {
        p.remove_prefix(3);
    } else if (p.starts_with("/v0/")) {
        p.remove_prefix(3);
    } else {
        return "Unknown";
    }
    struct entry {
        std::string_view path;
        std::string_view method;
        std::string_view name;
    };
    static constexpr entry table[] = {
        {"/status", "GET", "GetClusterStatus"},
        {"/health", "GET", "GetClusterHealth"},
        {"/connect", "POST", "ConnectClusterNodes"},
        {"/layout", "GET", "GetClusterLayout"},
        {"/layout", "POST", "UpdateClusterLayout"},
        {"/layout/apply", "POST", "ApplyClusterLayout"},
        {"/layout/revert", "POST", "RevertClusterLayout"},
        {"/key/import", "POST", "ImportKey"},
        {"/key", "DELETE", "DeleteKey"},
        {"/bucket", "POST", "CreateBucket"},
        {"/bucket", "PUT", "UpdateBucket"},
        {"/bucket", "DELETE", "DeleteBucket"},
        {"/bucket/allow", "POST", "BucketAllowKey"},
        {"/bucket/deny", "POST", "BucketDenyKey"},
        {"/bucket/alias/global", "PUT", "GlobalAliasBucket"},
        {"/bucket/alias/global", "DELETE", "GlobalUnaliasBucket"},
        {"/bucket/alias/local", "PUT", "LocalAliasBucket"},
        {"/bucket/alias/local", "DELETE", "LocalUnaliasBucket"},
        {"/stats", "GET", "GetStats"},
        {"/worker", "GET", "ListWorkers"},
        {"/worker/var", "GET", "GetWorkerVariable"},
        {"/worker/var", "POST", "SetWorkerVariable"},
    };
    for (auto const& e : table) {
        if (e.path == p && e.method == method) {
            return e.name;
        }
    }
    if (p == "/key") {
        if (get) {
            return has("id") || has("search") ? "GetKeyInfo" : "ListKeys";
        }
        if (post) {
            return has("id") ? "UpdateKey" : "CreateKey";
        }
    }
    if (p == "/bucket" && get) {
        return has("id") || has("globalAlias") ? "GetBucketInfo" : "ListBuckets";
    }
    (void)put;
    (void)del;
    return "Unknown";
}

template <class Model>
admin_api_server<Model>::admin_api_server(Model& model, admin_settings settings, admin_node_access node)
    : model_(model), settings_(std::move(settings)), node_(std::move(node))
{
}

template <class Model>
boost::asio::awaitable<detail::reply>
admin_api_server<Model>::serve_cluster(std::string_view method, std::string path, std::string_view auth,
                                       std::string body)
{
    if (auto refused = detail::check_admin_token(settings_, auth)) {
        co_return std::move(*refused);
    }
    boost::json::value in;
    if (!body.empty()) {
        boost::system::error_code ec;
        in = boost::json::parse(body, ec);
        if (ec) {
            co_return detail::error_reply(400, "InvalidRequest", "Invalid JSON body: " + ec.message());
        }
    }
    auto& mgr = *node_.layout;
    auto& sys = *node_.system;
    if (path == "/v1/status" && method == "GET") {
        co_return detail::cluster_status(mgr, sys, node_.garage_version, node_.rpc_address);
    }
    if (path == "/v1/health" && method == "GET") {
        co_return detail::cluster_health(sys);
    }
    if (path == "/v1/connect" && method == "POST") {
        co_return co_await detail::cluster_connect(sys, in);
    }
    if (path == "/v1/layout" && method == "GET") {
        co_return detail::reply{200, detail::layout_json(*mgr.snapshot())};
    }
    if (path == "/v1/layout" && method == "POST") {
        co_return detail::update_layout(mgr, in);
    }
    if (path == "/v1/layout/apply" && method == "POST") {
        co_return detail::apply_layout(mgr, in);
    }
    if (path == "/v1/layout/revert" && method == "POST") {
        co_return detail::revert_layout(mgr);
    }
    co_return detail::error_reply(404, "NoSuchEndpoint",
                                  "Unknown admin endpoint: " + std::string(method) + " " + path);
}

template <class Model>
boost::asio::awaitable<void> admin_api_server<Model>::handle(http::exchange& ex)
{
    namespace beast_http = boost::beast::http;
    auto const& req = ex.request();
    http::string_response res{beast_http::status::ok, 11};
    auto const target = std::string(req.target());
    detail::reply rep;
    auto parsed = boost::urls::parse_origin_form(target);
    if (!parsed) {
        rep = detail::error_reply(400, "InvalidRequest", "Invalid request target");
    } else if (req.method() == beast_http::verb::options) {
        res.result(beast_http::status::no_content);
        res.set(beast_http::field::allow, "OPTIONS, GET, POST");
        res.set(beast_http::field::access_control_allow_methods, "OPTIONS, GET, POST");
        res.set(beast_http::field::access_control_allow_origin, "*");
        co_await ex.respond(std::move(res));
        co_return;
    } else {
        auto body = co_await ex.read_all(1 << 20);
        auto const path = std::string(parsed->path());
        auto const method = std::string_view(req.method_string());
        bool const cluster = node_.layout != nullptr && node_.system != nullptr &&
                             (path == "/v1/status" || path == "/v1/health" || path == "/v1/connect" ||
                              path.starts_with("/v1/layout"));
        if (!body) {
            rep = detail::error_reply(400, "InvalidRequest", body.error().message);
        } else if (cluster) {
            rep = co_await serve_cluster(method, path,
                                         std::string_view(req[beast_http::field::authorization]), *body);
        } else {
            util::write_capture cap;
            {
                util::write_capture_scope scope(cap);
                rep = detail::serve(model_, settings_, node_, std::string_view(req.method_string()), *parsed,
                                    std::string_view(req[beast_http::field::authorization]), *body);
            }
            if (cluster_ != nullptr && !cap.empty()) {
                // keys and buckets are on every node: the write answers once a quorum has it
                if (auto r = co_await cluster_->replicate(std::move(cap)); !r) {
                    rep = detail::error_reply(500, "InternalError",
                                              "written here, not replicated: " + r.error().message);
                }
            }
        }
    }
    res.result(static_cast<beast_http::status>(rep.status));
    if (rep.status >= 400 && rep.body && rep.body->is_object()) {
        auto& o = rep.body->as_object();
        o["path"] = parsed ? std::string(parsed->path()) : target;
        o["region"] = settings_.region;
    }
    if (rep.text) {
        res.set(beast_http::field::content_type, rep.content_type);
        res.body() = std::move(*rep.text);
    } else if (rep.body) {
        if (rep.body->is_string() && rep.status < 400) {
            res.set(beast_http::field::content_type, "text/plain");
            res.body() = std::string(rep.body->as_string()) + "\n";
        } else {
            res.set(beast_http::field::content_type, "application/json");
            res.body() = boost::json::serialize(*rep.body);
        }
    }
    co_await ex.respond(std::move(res));
}

} // namespace garage::api::admin
