#pragma once
// The cluster endpoints of the admin API (`/v1/status`, `/v1/health`, `/v1/connect`,
// `/v1/layout`, `/v1/layout/apply`, `/v1/layout/revert`) over the node's layout manager and
// membership services, with Garage v1's JSON field names (GARAGE-REFERENCE §3).

#include <garage/api/admin/detail/reply.hpp>
#include <garage/layout/error.hpp>
#include <garage/layout/manager.hpp>
#include <garage/layout/system.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace garage::api::admin::detail {

namespace cjson = boost::json;

/// `{zone, capacity, tags}` of a role (capacity null for a gateway).
inline cjson::object role_json(layout::node_role const& r)
{
    cjson::array tags;
    for (auto const& t : r.tags) {
        tags.emplace_back(t);
    }
    return {{"zone", r.zone},
            {"capacity", r.capacity ? cjson::value(*r.capacity) : cjson::value(nullptr)},
            {"tags", std::move(tags)}};
}

/// Garage's `GetClusterLayoutResponse`: version, roles, stagedRoleChanges.
inline cjson::object layout_json(layout::layout_helper const& h)
{
    auto const& cur = h.current();
    cjson::array roles;
    for (auto const& e : cur.roles.items()) {
        if (e.value.role) {
            auto o = role_json(*e.value.role);
            o.emplace("id", e.key.to_hex());
            roles.emplace_back(std::move(o));
        }
    }
    cjson::array staged;
    for (auto const& e : h.history().staging.get().roles.items()) {
        auto const* now = cur.roles.get(e.key);
        if (now != nullptr && *now == e.value) {
            continue; // staged, then applied: no change left
        }
        if (e.value.role) {
            auto o = role_json(*e.value.role);
            o.emplace("id", e.key.to_hex());
            staged.emplace_back(std::move(o));
        } else {
            staged.emplace_back(cjson::object{{"id", e.key.to_hex()}, {"remove", true}});
        }
    }
    auto zr = [](layout::zone_redundancy z) -> cjson::value {
        if (z.is_maximum()) {
            return "maximum";
        }
        return cjson::object{{"atLeast", z.value()}};
    };
    auto const& staged_params = h.history().staging.get().parameters.get();
    return {{"version", cur.version},
            {"roles", std::move(roles)},
            {"parameters", cjson::object{{"zoneRedundancy", zr(cur.parameters.redundancy)}}},
            {"stagedRoleChanges", std::move(staged)},
            {"stagedParameters",
             staged_params == cur.parameters
                 ? cjson::value(nullptr)
                 : cjson::value(cjson::object{{"zoneRedundancy", zr(staged_params.redundancy)}})}};
}

/// A refused layout operation: 400 with the layer's message (Garage's wording).
inline reply layout_failure(util::failure const& f)
{
    if (f.code.category() == layout::layout_category() || f.is(util::condition::bad_request)) {
        return error_reply(400, "InvalidRequest", f.message);
    }
    return from_failure(f);
}

/// `GET /v1/status`.
inline reply cluster_status(layout::layout_manager const& mgr, layout::system const& sys,
                            std::string_view version, std::string_view self_address)
{
    auto const snap = mgr.snapshot();
    auto const& cur = snap->current();
    cjson::array nodes;
    auto disk = [](std::optional<layout::disk_space> const& d) -> cjson::value {
        if (!d) {
            return nullptr;
        }
        return cjson::object{{"available", d->available}, {"total", d->total}};
    };
    for (auto const& n : sys.known_nodes()) {
        cjson::object o;
        o["id"] = n.id.to_hex();
        auto const* r = cur.role_of(n.id);
        o["role"] = r ? cjson::value(role_json(*r)) : cjson::value(nullptr);
        o["addr"] =
            n.address
                ? cjson::value(n.address->address().to_string() + ":" + std::to_string(n.address->port()))
                : cjson::value(nullptr);
        if (n.is_self && !n.address && !self_address.empty()) {
            o["addr"] = self_address;
        }
        o["hostname"] = n.status ? cjson::value(n.status->hostname) : cjson::value(nullptr);
        o["isUp"] = n.up;
        o["lastSeenSecsAgo"] =
            n.last_seen_secs_ago ? cjson::value(*n.last_seen_secs_ago) : cjson::value(nullptr);
        bool draining = false;
        for (auto const& v : snap->versions()) {
            if (&v != &cur && v.role_of(n.id) != nullptr && r == nullptr) {
                draining = true;
            }
        }
        o["draining"] = draining;
        o["dataPartition"] = n.status ? disk(n.status->data_disk) : cjson::value(nullptr);
        o["metadataPartition"] = n.status ? disk(n.status->metadata_disk) : cjson::value(nullptr);
        nodes.emplace_back(std::move(o));
    }
    return {200, cjson::object{{"node", mgr.local_node().to_hex()},
                               {"garageVersion", std::string(version)},
                               {"garageFeatures", cjson::array{"k2v", "lmdb", "metrics"}},
                               {"rustVersion", "n/a (C++20)"},
                               {"dbEngine", "LMDB"},
                               {"layoutVersion", cur.version},
                               {"nodes", std::move(nodes)}}};
}

/// `GET /v1/health`.
inline reply cluster_health(layout::system const& sys)
{
    auto const h = sys.health();
    return {200, cjson::object{{"status", std::string(layout::to_string(h.status))},
                               {"knownNodes", h.known_nodes},
                               {"connectedNodes", h.connected_nodes},
                               {"storageNodes", h.storage_nodes},
                               {"storageNodesOk", h.storage_nodes_ok},
                               {"partitions", h.partitions},
                               {"partitionsQuorum", h.partitions_quorum},
                               {"partitionsAllOk", h.partitions_all_ok}}};
}

/// `POST /v1/connect` with `["<id>@<addr>", ...]`: one `{success, error}` per entry.
inline boost::asio::awaitable<reply> cluster_connect(layout::system& sys, cjson::value const& body)
{
    if (!body.is_array()) {
        co_return error_reply(400, "InvalidRequest", "Expected a JSON array of \"<node id>@<address>\"");
    }
    cjson::array out;
    for (auto const& v : body.as_array()) {
        if (!v.is_string()) {
            out.emplace_back(cjson::object{{"success", false}, {"error", "expected a string"}});
            continue;
        }
        auto r = co_await sys.connect(std::string(v.as_string()));
        if (r) {
            out.emplace_back(cjson::object{{"success", true}, {"error", nullptr}});
        } else {
            out.emplace_back(cjson::object{{"success", false}, {"error", r.error().message}});
        }
    }
    co_return reply{200, std::move(out)};
}

/// `POST /v1/layout` with `[{id, zone, capacity, tags}]` or `[{id, remove: true}]`.
inline reply update_layout(layout::layout_manager& mgr, cjson::value const& body)
{
    // Garage v1: an array of role changes. Also accepted (Garage v2's form):
    // `{"roles": [...], "parameters": {"zoneRedundancy": "maximum" | {"atLeast": n}}}`.
    cjson::array const empty;
    cjson::array const* changes = body.if_array();
    if (auto const* o = body.if_object()) {
        if (!o->contains("roles") && !o->contains("parameters")) {
            return error_reply(400, "InvalidRequest",
                               "Expected a JSON array of role changes, or {roles, parameters}");
        }
        changes = &empty;
        if (auto const* r = o->if_contains("roles")) {
            changes = r->if_array();
        }
        if (auto const* p = o->if_contains("parameters"); p && !p->is_null()) {
            auto const* zr = p->is_object() ? p->as_object().if_contains("zoneRedundancy") : nullptr;
            std::optional<layout::zone_redundancy> z;
            if (zr && zr->is_string() && zr->as_string() == "maximum") {
                z = layout::zone_redundancy::maximum();
            } else if (auto const* al =
                           zr && zr->is_object() ? zr->as_object().if_contains("atLeast") : nullptr;
                       al && al->is_number()) {
                boost::system::error_code ec;
                auto const n = al->to_number<std::uint64_t>(ec);
                if (!ec) {
                    z = layout::zone_redundancy::at_least(n);
                }
            }
            if (!z) {
                return error_reply(400, "InvalidRequest",
                                   "`parameters.zoneRedundancy` must be \"maximum\" or {\"atLeast\": n}");
            }
            if (auto r = mgr.stage_zone_redundancy(*z); !r) {
                return layout_failure(r.error());
            }
        }
    }
    if (changes == nullptr) {
        return error_reply(400, "InvalidRequest", "Expected a JSON array of role changes");
    }
    for (auto const& v : *changes) {
        auto const* o = v.if_object();
        auto const* idv = o ? o->if_contains("id") : nullptr;
        if (idv == nullptr || !idv->is_string()) {
            return error_reply(400, "InvalidRequest", "Each role change needs an `id` string");
        }
        auto id = util::node_id::from_hex(std::string_view(idv->as_string()));
        if (!id) {
            return error_reply(400, "InvalidRequest", "Invalid node id: " + std::string(idv->as_string()));
        }
        util::result<void> r;
        if (auto const* rm = o->if_contains("remove"); rm && rm->is_bool() && rm->as_bool()) {
            r = mgr.stage_remove(*id);
        } else {
            layout::assign_options a;
            if (auto const* z = o->if_contains("zone"); z && z->is_string()) {
                a.zone = std::string(z->as_string());
            }
            if (auto const* c = o->if_contains("capacity"); c && !c->is_null()) {
                if (!c->is_number()) {
                    return error_reply(400, "InvalidRequest", "`capacity` must be a number or null");
                }
                boost::system::error_code ec;
                auto const cap = c->to_number<std::uint64_t>(ec);
                if (ec) {
                    return error_reply(400, "InvalidRequest", "`capacity` must be a non-negative integer");
                }
                a.capacity = cap;
            } else {
                a.gateway = true;
            }
            if (auto const* t = o->if_contains("tags"); t && t->is_array()) {
                std::vector<std::string> tags;
                for (auto const& tv : t->as_array()) {
                    if (tv.is_string()) {
                        tags.emplace_back(tv.as_string());
                    }
                }
                a.tags = std::move(tags);
            }
            r = mgr.stage_assign(std::span<util::node_id const>(&*id, 1), a);
        }
        if (!r) {
            return layout_failure(r.error());
        }
    }
    return {200, layout_json(*mgr.snapshot())};
}

/// `POST /v1/layout/apply` with `{version}`.
inline reply apply_layout(layout::layout_manager& mgr, cjson::value const& body)
{
    std::optional<std::uint64_t> version;
    if (auto const* o = body.if_object()) {
        if (auto const* v = o->if_contains("version"); v && v->is_number()) {
            boost::system::error_code ec;
            auto const n = v->to_number<std::uint64_t>(ec);
            if (ec) {
                return error_reply(400, "InvalidRequest", "`version` must be a non-negative integer");
            }
            version = n;
        }
    }
    auto r = mgr.apply(version);
    if (!r) {
        return layout_failure(r.error());
    }
    cjson::array msg;
    for (auto const& line : *r) {
        msg.emplace_back(line);
    }
    return {200, cjson::object{{"message", std::move(msg)}, {"layout", layout_json(*mgr.snapshot())}}};
}

/// `POST /v1/layout/revert`.
inline reply revert_layout(layout::layout_manager& mgr)
{
    if (auto r = mgr.revert(); !r) {
        return layout_failure(r.error());
    }
    return {200, layout_json(*mgr.snapshot())};
}

/** `GET /v1/layout/history` (Garage v2's `GetClusterLayoutHistory`; v1 has none): the live and
    old versions, newest first, with their status (`current`, `draining`: still live,
    `historical`: kept for finding old data) and node counts, and the three trackers of every
    node with a role in a live version (an absent node counts as being at `minStored`). */
inline reply layout_history_json(layout::layout_helper const& h)
{
    auto const& hist = h.history();
    auto const min_stored = hist.min_stored();
    auto const current = hist.current().version;
    cjson::array versions;
    auto add = [&](layout::layout_version const& v) {
        std::uint64_t storage = 0, gateway = 0;
        for (auto const& e : v.roles.items()) {
            if (e.value.role) {
                ++(e.value.role->capacity ? storage : gateway);
            }
        }
        char const* status = v.version == current      ? "current"
                             : v.version >= min_stored ? "draining"
                                                       : "historical";
        versions.emplace_back(cjson::object{{"version", v.version},
                                            {"status", status},
                                            {"storageNodes", storage},
                                            {"gatewayNodes", gateway}});
    };
    for (auto it = hist.versions.rbegin(); it != hist.versions.rend(); ++it) {
        add(*it);
    }
    for (auto it = hist.old_versions.rbegin(); it != hist.old_versions.rend(); ++it) {
        add(*it);
    }
    auto const all = hist.all_nodes();
    cjson::object trackers;
    for (auto const& n : all) {
        trackers[n.to_hex()] = cjson::object{{"ack", hist.trackers.ack.get(n, min_stored)},
                                             {"sync", hist.trackers.sync.get(n, min_stored)},
                                             {"syncAck", hist.trackers.sync_ack.get(n, min_stored)}};
    }
    return {200, cjson::object{{"currentVersion", current},
                               {"minStored", min_stored},
                               {"minAck", hist.trackers.ack.min_among(all, min_stored)},
                               {"versions", std::move(versions)},
                               {"updateTrackers", std::move(trackers)}}};
}

/** `POST /v1/layout/skip-dead-nodes` with `{version, allowMissingData}` (Garage v2's
    `ClusterLayoutSkipDeadNodes`; in v1 only the CLI does it): raises the `ack` tracker of the
    nodes that are down (of every node with `allowMissingData`, which also raises every
    `sync` tracker) to `version`. Answers `{message: [one line per raised tracker]}`, or 400
    with Garage's message when nothing could be done. */
inline reply skip_dead_nodes(layout::layout_manager& mgr, layout::system const& sys, cjson::value const& body)
{
    auto const* o = body.if_object();
    auto const* v = o ? o->if_contains("version") : nullptr;
    if (v == nullptr || !v->is_number()) {
        return error_reply(400, "InvalidRequest", "Expected {\"version\": n, \"allowMissingData\": bool}");
    }
    boost::system::error_code ec;
    auto const version = v->to_number<std::uint64_t>(ec);
    if (ec) {
        return error_reply(400, "InvalidRequest", "`version` must be a non-negative integer");
    }
    bool allow_missing = false;
    if (auto const* a = o->if_contains("allowMissingData"); a && a->is_bool()) {
        allow_missing = a->as_bool();
    }
    auto const known = sys.known_nodes();
    auto is_up = [&known](util::node_id const& n) {
        for (auto const& k : known) {
            if (k.id == n) {
                return k.up;
            }
        }
        return false;
    };
    auto r = mgr.skip_dead_nodes(version, is_up, allow_missing);
    if (!r) {
        return layout_failure(r.error());
    }
    cjson::array lines;
    for (auto const& l : *r) {
        lines.emplace_back(l);
    }
    return {200, cjson::object{{"message", std::move(lines)}}};
}

} // namespace garage::api::admin::detail
