#pragma once
// The block endpoints of the admin API (`/v1/block/errors`, `/v1/block/info`,
// `/v1/block/retry-now`, `/v1/block/purge`) and the repairs (`/v1/repair`), over the node's
// block store (admin_block_access) and the model's tables, in the shapes of Garage v2's
// `ListBlockErrors`, `GetBlockInfo`, `RetryBlockResync`, `PurgeBlocks` and
// `LaunchRepairOperation` (Garage v1 has these only in its CLI, over RPC). Included by
// impl/admin_api.hpp.

#include <garage/api/admin/detail/reply.hpp>
#include <garage/block/error.hpp>
#include <garage/block/repair.hpp>
#include <garage/model/block_ref.hpp>
#include <garage/model/mpu.hpp>
#include <garage/model/object.hpp>
#include <garage/model/repair.hpp>
#include <garage/model/version.hpp>
#include <garage/table/schema.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/encoding.hpp>
#include <garage/util/time.hpp>

#include <boost/json.hpp>
#include <boost/url/params_view.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace garage::api::admin {

template <storage::storage_backend Storage>
admin_block_access block_access(block::block_manager<Storage>& m, util::background_runner* runner,
                                std::shared_ptr<block::block_worker_control> control)
{
    admin_block_access a;
    auto* mp = &m;
    a.list_errors = [mp] { return mp->list_errors(); };
    a.get_rc = [mp](util::hash32 const& h) { return mp->get_rc(h); };
    a.has_block = [mp](util::hash32 const& h) { return mp->has_block(h); };
    a.clear_backoff = [mp](util::hash32 const& h) { return mp->clear_backoff(h); };
    if (runner != nullptr) {
        a.repair_blocks = [mp, runner]() -> util::result<std::size_t> {
            return block::spawn_block_repair(*mp, *runner);
        };
        a.rebalance = [mp, runner]() -> util::result<std::size_t> {
            return block::spawn_block_rebalance(*mp, *runner);
        };
    }
    if (control) {
        a.scrub = [control](block::block_worker_control::scrub_command const& c) -> util::result<void> {
            using k = block::block_worker_control::command;
            switch (c.kind) {
            case k::start:
                control->scrub_start();
                break;
            case k::pause:
                control->scrub_pause(c.pause_for);
                break;
            case k::resume:
                control->scrub_resume();
                break;
            case k::cancel:
                control->scrub_cancel();
                break;
            case k::set_tranquility:
                control->scrub_set_tranquility(c.tranquility);
                break;
            }
            return {};
        };
    }
    return a;
}

template <class Model, storage::storage_backend Storage>
std::function<util::result<std::size_t>(std::string_view what)>
model_repairs(Model& m, block::block_manager<Storage>& blocks, util::background_runner& runner,
              model::model_cluster<Model>* cluster)
{
    auto* mp = &m;
    auto* bp = &blocks;
    auto* rp = &runner;
    return [mp, bp, rp, cluster](std::string_view what) -> util::result<std::size_t> {
        if (what == "block-rc" || what == "blockRc") {
            block::block_rc_repair_options o;
            o.referenced = [mp](std::optional<util::hash32> const& after, std::size_t max) {
                return model::referenced_blocks(*mp, after, max);
            };
            return block::spawn_block_rc_repair(*bp, *rp, std::move(o));
        }
        auto r = model::parse_model_repair(what);
        if (!r) {
            return util::failure(util::error::config_invalid_value,
                                 "Unknown repair operation: " + std::string(what));
        }
        return model::spawn_model_repair(*mp, *rp, *r, cluster);
    };
}

namespace detail {

namespace bjson = boost::json;

/// How long Garage's `repair scrub pause` pauses a scrub.
inline constexpr std::chrono::hours scrub_pause_duration{24};
/// The most block references looked at per block (Garage's limit).
inline constexpr std::size_t block_refs_limit = 10000;

inline reply missing_block_hook(std::string_view what)
{
    return error_reply(501, "NotImplemented",
                       "This node does not give the admin API access to its block store (" +
                           std::string(what) + ")");
}

/// A full 64-digit hexadecimal block hash.
inline std::optional<util::hash32> parse_block_hash(std::string_view hex)
{
    if (hex.size() != 64) {
        return std::nullopt;
    }
    auto h = util::hash32::from_hex(hex);
    if (!h) {
        return std::nullopt;
    }
    return *h;
}

/// The block hashes of a JSON array of hex strings; the first malformed one is named in the error.
inline util::result<std::vector<util::hash32>> parse_block_hashes(bjson::array const& arr)
{
    std::vector<util::hash32> out;
    for (auto const& v : arr) {
        auto const* s = v.if_string();
        std::optional<util::hash32> h;
        if (s != nullptr) {
            h = parse_block_hash(std::string_view(*s));
        }
        if (!h) {
            return util::failure(util::error::config_invalid_value,
                                 "invalid hash: " + (s ? std::string(*s) : bjson::serialize(v)));
        }
        out.push_back(*h);
    }
    return out;
}

/** The block named by `prefix`: a full hash, or a unique prefix (at least 4 hexadecimal
    digits) of the hash of a block with references in the `block_ref` table (Garage's
    `find_block_hash_by_prefix`). */
template <class Model>
util::result<util::hash32> find_block_by_prefix(Model& m, std::string prefix)
{
    std::transform(prefix.begin(), prefix.end(), prefix.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (auto full = parse_block_hash(prefix)) {
        return *full;
    }
    if (prefix.size() < 4) {
        return util::failure(util::error::config_invalid_value,
                             "Please specify at least 4 characters of the block hash");
    }
    auto const bytes = util::from_hex(prefix.substr(0, prefix.size() & ~std::size_t(1)));
    if (!bytes || prefix.find_first_not_of("0123456789abcdef") != std::string::npos) {
        return util::failure(util::error::config_invalid_value, "invalid hash prefix: " + prefix);
    }
    std::optional<util::hash32> found;
    std::string from = *bytes;
    while (true) {
        auto page = m.block_ref_table().scan_encoded(from, std::nullopt, 256);
        if (!page) {
            return page.error();
        }
        for (auto const& [key, value] : *page) {
            (void)value;
            if (key.size() < 32 || !key.starts_with(*bytes)) {
                page->clear();
                break;
            }
            auto h = util::hash32::from_bytes(std::string_view(key).substr(0, 32));
            if (!h || !h->to_hex().starts_with(prefix)) {
                continue;
            }
            if (found && *found != *h) {
                return util::failure(util::error::config_invalid_value,
                                     "Several blocks match prefix `" + prefix + "`");
            }
            found = *h;
        }
        if (page->size() < 256) {
            break;
        }
        from = page->back().first + std::string(1, '\0');
    }
    if (!found) {
        return util::failure(model::error::no_such_key, "No matching block found");
    }
    return *found;
}

/// The resync state of a block in error, with times relative to now.
inline bjson::object block_error_json(block::resync_error_info const& e, std::uint64_t now)
{
    return {{"blockHash", e.hash.to_hex()},
            {"refcount", e.refcount},
            {"errorCount", e.error_count},
            {"lastTryMsec", e.last_try_msec},
            {"nextTryMsec", e.next_try_msec},
            {"lastTrySecsAgo", now > e.last_try_msec ? (now - e.last_try_msec) / 1000 : 0},
            {"nextTryInSecs", e.next_try_msec > now ? (e.next_try_msec - now + 999) / 1000 : 0}};
}

/// `GET /v1/block/info?hash=`: reference count, presence, resync error, versions using it.
template <class Model>
reply block_info(Model& m, admin_block_access const& b, std::string const& prefix)
{
    if (!b.get_rc || !b.has_block || !b.list_errors) {
        return missing_block_hook("reference counts and resync errors");
    }
    auto h = find_block_by_prefix(m, prefix);
    if (!h) {
        if (h.error().is(util::condition::not_found)) {
            return error_reply(404, "NoSuchBlock", h.error().message);
        }
        return error_reply(400, "InvalidRequest", h.error().message);
    }
    auto rc = b.get_rc(*h);
    if (!rc) {
        return from_failure(rc.error());
    }
    auto errors = b.list_errors();
    if (!errors) {
        return from_failure(errors.error());
    }
    auto const now = util::now_msec();
    bjson::value resync_error = nullptr;
    for (auto const& e : *errors) {
        if (e.hash == *h) {
            resync_error = block_error_json(e, now);
        }
    }
    auto refs = m.block_ref_table().get_range(*h, std::nullopt, std::nullopt, block_refs_limit);
    if (!refs) {
        return from_failure(refs.error());
    }
    bjson::array versions;
    for (auto const& br : *refs) {
        bjson::object o{{"versionId", br.version.to_hex()}, {"refDeleted", br.deleted.get()}};
        auto v = m.version_table().get(br.version, table::empty_key{});
        if (!v) {
            return from_failure(v.error());
        }
        o["garbageCollected"] = !v->has_value();
        o["versionDeleted"] = v->has_value() ? bjson::value((*v)->deleted.get()) : bjson::value(nullptr);
        bjson::value backlink = nullptr;
        if (v->has_value()) {
            if (auto const* ob = std::get_if<model::object_backlink>(&(*v)->backlink)) {
                backlink = bjson::object{
                    {"object", bjson::object{{"bucketId", ob->bucket_id.to_hex()}, {"key", ob->key}}}};
            } else if (auto const* mb = std::get_if<model::mpu_backlink>(&(*v)->backlink)) {
                auto u = m.mpu_table().get(mb->upload_id, table::empty_key{});
                if (!u) {
                    return from_failure(u.error());
                }
                bjson::object up{{"uploadId", mb->upload_id.to_hex()},
                                 {"uploadDeleted", u->has_value() && (*u)->deleted.get()},
                                 {"uploadGarbageCollected", !u->has_value()}};
                up["bucketId"] =
                    u->has_value() ? bjson::value((*u)->bucket_id.to_hex()) : bjson::value(nullptr);
                up["key"] = u->has_value() ? bjson::value((*u)->key) : bjson::value(nullptr);
                backlink = bjson::object{{"upload", std::move(up)}};
            }
        }
        o["backlink"] = std::move(backlink);
        versions.emplace_back(std::move(o));
    }
    char const* state = rc->get_state() == block::rc_value::state::present     ? "present"
                        : rc->get_state() == block::rc_value::state::deletable ? "deletable"
                                                                               : "absent";
    return {200, bjson::object{{"blockHash", h->to_hex()},
                               {"refcount", rc->count()},
                               {"rcState", state},
                               {"deletableAtMsec", rc->deletable_at() ? bjson::value(*rc->deletable_at())
                                                                      : bjson::value(nullptr)},
                               {"present", b.has_block(*h)},
                               {"resyncError", std::move(resync_error)},
                               {"versions", std::move(versions)}}};
}

/// What a purge deleted (Garage's counts).
struct purge_counts {
    std::uint64_t block_refs = 0;
    std::uint64_t versions = 0;
    std::uint64_t objects = 0;
    std::uint64_t uploads = 0;
};

/** The owner of a version being purged: its upload is deleted, and its object gets a delete
    marker if the version is the object's current content (Garage's
    `handle_block_purge_version_backlink`). */
template <class Model>
util::result<void> purge_backlink(Model& m, model::version const& v, purge_counts& n)
{
    util::uuid bucket_id;
    std::string key;
    util::uuid object_version_id = v.uuid;
    if (auto const* ob = std::get_if<model::object_backlink>(&v.backlink)) {
        bucket_id = ob->bucket_id;
        key = ob->key;
    } else {
        auto const& upload_id = std::get<model::mpu_backlink>(v.backlink).upload_id;
        auto u = m.mpu_table().get(upload_id, table::empty_key{});
        if (!u) {
            return u.error();
        }
        if (!*u) {
            return {};
        }
        if (!(*u)->deleted.get()) {
            auto tomb =
                model::multipart_upload::tombstone(upload_id, (*u)->timestamp, (*u)->bucket_id, (*u)->key);
            if (auto r = m.mpu_table().insert(tomb); !r) {
                return r;
            }
            ++n.uploads;
        }
        bucket_id = (*u)->bucket_id;
        key = (*u)->key;
        object_version_id = upload_id;
    }
    auto o = m.object_table().get(bucket_id, key);
    if (!o) {
        return o.error();
    }
    if (!*o) {
        return {};
    }
    auto const* cur = (*o)->last_complete();
    if (cur == nullptr || cur->uuid != object_version_id) {
        return {};
    }
    model::object deleted(bucket_id, key,
                          {model::object_version{util::gen_uuid(), cur->timestamp + 1,
                                                 model::version_complete{model::delete_marker{}}}});
    if (auto r = m.object_table().insert(deleted); !r) {
        return r;
    }
    ++n.objects;
    return {};
}

/// `POST /v1/block/purge`: deletes every object, upload, version and block reference using the blocks.
template <class Model>
reply purge_blocks(Model& m, std::vector<util::hash32> const& hashes)
{
    purge_counts n;
    for (auto const& h : hashes) {
        auto refs = m.block_ref_table().get_range(h, std::nullopt, std::nullopt, block_refs_limit);
        if (!refs) {
            return from_failure(refs.error());
        }
        for (auto const& br : *refs) {
            auto v = m.version_table().get(br.version, table::empty_key{});
            if (!v) {
                return from_failure(v.error());
            }
            if (*v) {
                if (auto r = purge_backlink(m, **v, n); !r) {
                    return from_failure(r.error());
                }
                if (!(*v)->deleted.get()) {
                    if (auto r =
                            m.version_table().insert(model::version::tombstone((*v)->uuid, (*v)->backlink));
                        !r) {
                        return from_failure(r.error());
                    }
                    ++n.versions;
                }
            }
            if (!br.deleted.get()) {
                if (auto r = m.block_ref_table().insert(model::block_ref::tombstone(br.block, br.version));
                    !r) {
                    return from_failure(r.error());
                }
                ++n.block_refs;
            }
        }
    }
    return {200, bjson::object{{"blocksPurged", hashes.size()},
                               {"blockRefsPurged", n.block_refs},
                               {"versionsDeleted", n.versions},
                               {"objectsDeleted", n.objects},
                               {"uploadsDeleted", n.uploads}}};
}

/// `/v1/block/...` (after the admin token check).
template <class Model>
reply serve_block(Model& m, admin_block_access const& b, std::string_view method, std::string const& path,
                  boost::urls::params_view const& q, bjson::value const& in)
{
    if (path == "/v1/block/errors" && method == "GET") {
        if (!b.list_errors) {
            return missing_block_hook("resync errors");
        }
        auto errors = b.list_errors();
        if (!errors) {
            return from_failure(errors.error());
        }
        auto const now = util::now_msec();
        bjson::array out;
        for (auto const& e : *errors) {
            out.emplace_back(block_error_json(e, now));
        }
        return {200, std::move(out)};
    }
    if (path == "/v1/block/info" && method == "GET") {
        auto it = q.find("hash");
        if (it == q.end()) {
            return error_reply(400, "InvalidRequest", "missing `hash`");
        }
        return block_info(m, b, std::string((*it).value));
    }
    if (path == "/v1/block/retry-now" && method == "POST") {
        if (!b.clear_backoff || !b.list_errors) {
            return missing_block_hook("resync queue");
        }
        auto const* o = in.if_object();
        bool const all = o && o->if_contains("all") && o->at("all").is_bool() && o->at("all").as_bool();
        auto const* list = o ? o->if_contains("blockHashes") : nullptr;
        if (all && list && list->is_array() && !list->as_array().empty()) {
            return error_reply(400, "InvalidRequest", "--all was specified, cannot also specify blocks");
        }
        std::vector<util::hash32> hashes;
        if (all) {
            auto errors = b.list_errors();
            if (!errors) {
                return from_failure(errors.error());
            }
            for (auto const& e : *errors) {
                hashes.push_back(e.hash);
            }
        } else if (list && list->is_array()) {
            auto parsed = parse_block_hashes(list->as_array());
            if (!parsed) {
                return error_reply(400, "InvalidRequest", parsed.error().message);
            }
            hashes = std::move(*parsed);
        } else {
            return error_reply(400, "InvalidRequest", "Expected {\"all\": true} or {\"blockHashes\": [...]}");
        }
        for (auto const& h : hashes) {
            if (auto r = b.clear_backoff(h); !r) {
                if (r.error().code == block::error::block_not_found) {
                    return error_reply(404, "NoSuchBlock", r.error().message);
                }
                return from_failure(r.error());
            }
        }
        return {200, bjson::object{{"count", hashes.size()}}};
    }
    if (path == "/v1/block/purge" && method == "POST") {
        bjson::array const* list = in.if_array();
        if (auto const* o = in.if_object(); o && o->if_contains("blockHashes")) {
            list = o->at("blockHashes").if_array();
        }
        if (list == nullptr) {
            return error_reply(400, "InvalidRequest", "Expected a JSON array of block hashes");
        }
        auto hashes = parse_block_hashes(*list);
        if (!hashes) {
            return error_reply(400, "InvalidRequest", hashes.error().message);
        }
        return purge_blocks(m, *hashes);
    }
    return error_reply(404, "NoSuchEndpoint", "Unknown admin endpoint: " + std::string(method) + " " + path);
}

/** `POST /v1/repair` with `{"repairType": ...}`: Garage's repair names (`tables`, `blocks`,
    `versions`, `mpu`, `block-refs`, `block-rc`, `aliases`, `rebalance`, `scrub`) or Garage v2's
    (`multipartUploads`, `blockRefs`, `blockRc`); the scrub command as `{"repairType": "scrub",
    "scrubCommand": "start|pause|resume|cancel|set-tranquility", "tranquility": n}` or Garage
    v2's `{"repairType": {"scrub": "start"}}`. Each repair but `tables` and `scrub` starts a
    background worker (listed by `GET /v1/worker`) and answers its id. A repair whose hook this
    node did not give answers `501` naming what is missing. */
inline reply launch_repair(admin_node_access const& node, bjson::value const& in)
{
    auto const* o = in.if_object();
    auto const* rt = o ? o->if_contains("repairType") : nullptr;
    if (rt == nullptr) {
        return error_reply(400, "InvalidRequest", "Expected {\"repairType\": ...}");
    }
    std::string what;
    std::string scrub_cmd;
    if (rt->is_string()) {
        what = std::string(rt->as_string());
        if (auto const* sc = o->if_contains("scrubCommand"); sc && sc->is_string()) {
            scrub_cmd = std::string(sc->as_string());
        }
    } else if (auto const* ro = rt->if_object(); ro && ro->size() == 1 && ro->begin()->value().is_string()) {
        what = std::string(ro->begin()->key());
        scrub_cmd = std::string(ro->begin()->value().as_string());
    } else {
        return error_reply(400, "InvalidRequest", "`repairType` must be a string");
    }
    if (what == "multipartUploads") {
        what = "mpu";
    } else if (what == "blockRefs") {
        what = "block-refs";
    } else if (what == "blockRc") {
        what = "block-rc";
    }
    auto launched = [](std::string msg) { return reply{200, bjson::object{{"message", std::move(msg)}}}; };
    if (what == "tables") {
        if (!node.sync_tables) {
            return error_reply(501, "NotImplemented",
                               "repair tables: this node's tables are not replicated, so there is no Merkle "
                               "sync pass to launch (needs the replicated tables' syncer, table::syncer, "
                               "wired into the server)");
        }
        if (auto r = node.sync_tables(); !r) {
            return from_failure(r.error());
        }
        return launched("Full sync of every table launched");
    }
    if (what == "blocks") {
        if (!node.blocks.repair_blocks) {
            return missing_block_hook("block repair worker");
        }
        auto id = node.blocks.repair_blocks();
        if (!id) {
            return from_failure(id.error());
        }
        return launched("Block repair launched (worker " + std::to_string(*id) + ")");
    }
    if (what == "rebalance") {
        if (!node.blocks.rebalance) {
            return missing_block_hook("block rebalance worker");
        }
        auto id = node.blocks.rebalance();
        if (!id) {
            return from_failure(id.error());
        }
        return launched("Block rebalance launched (worker " + std::to_string(*id) + ")");
    }
    if (what == "scrub") {
        if (!node.blocks.scrub) {
            return missing_block_hook("scrub worker");
        }
        using k = block::block_worker_control::command;
        block::block_worker_control::scrub_command c;
        if (scrub_cmd == "start") {
            c.kind = k::start;
        } else if (scrub_cmd == "pause") {
            c.kind = k::pause;
            c.pause_for = scrub_pause_duration;
        } else if (scrub_cmd == "resume") {
            c.kind = k::resume;
        } else if (scrub_cmd == "cancel") {
            c.kind = k::cancel;
        } else if (scrub_cmd == "set-tranquility" || scrub_cmd == "setTranquility") {
            auto const* t = o->if_contains("tranquility");
            boost::system::error_code ec;
            std::uint64_t v = 0;
            if (t && t->is_number()) {
                v = t->to_number<std::uint64_t>(ec);
            }
            if (t == nullptr || !t->is_number() || ec || v > 0xffffffffu) {
                return error_reply(400, "InvalidRequest", "set-tranquility needs `tranquility`, an integer");
            }
            c.kind = k::set_tranquility;
            c.tranquility = static_cast<std::uint32_t>(v);
        } else {
            return error_reply(400, "InvalidRequest",
                               "`scrubCommand` must be start, pause, resume, cancel or set-tranquility");
        }
        if (auto r = node.blocks.scrub(c); !r) {
            return from_failure(r.error());
        }
        return launched("Scrub command sent: " + scrub_cmd);
    }
    if (what == "versions" || what == "mpu" || what == "block-refs" || what == "block-rc" ||
        what == "aliases") {
        if (!node.repair_model) {
            return error_reply(501, "NotImplemented",
                               "repair " + what +
                                   ": this node gave the admin API no model repair workers "
                                   "(admin_node_access::repair_model)");
        }
        auto id = node.repair_model(what);
        if (!id) {
            return from_failure(id.error());
        }
        return launched("Repair of " + what + " launched (worker " + std::to_string(*id) + ")");
    }
    return error_reply(400, "InvalidRequest", "Unknown repair operation: " + what);
}

} // namespace detail

} // namespace garage::api::admin
