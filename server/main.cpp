// The `garage` command: `garage server` runs a node; the other verbs (Garage's `key` and
// `bucket` families, `status`) manage a running node through its admin API.

#include <server/admin_client.hpp>
#include <server/node.hpp>

#include <garage/layout/role.hpp>
#include <garage/rpc/node_key.hpp>
#include <garage/util/config.hpp>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/core.h>
#include <spdlog/cfg/env.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string_view>
#include <vector>

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

/// The value of a sample of `/v1/stats` (the figures of `/metrics`), by family and label values.
std::optional<double> figure(json::value const& stats, std::string_view name,
                             std::vector<std::pair<std::string, std::string>> const& labels = {},
                             std::string_view suffix = "")
{
    for (auto const& f : stats.at("metrics").as_array()) {
        if (f.at("name").as_string() != name) {
            continue;
        }
        for (auto const& smp : f.at("samples").as_array()) {
            if (smp.at("suffix").as_string() != suffix) {
                continue;
            }
            bool match = true;
            for (auto const& [k, v] : labels) {
                auto const* l = smp.at("labels").as_object().if_contains(k);
                if (l == nullptr || l->as_string() != v) {
                    match = false;
                }
            }
            if (match) {
                return smp.at("value").to_number<double>();
            }
        }
    }
    return std::nullopt;
}

std::string fig(std::optional<double> v)
{
    if (!v) {
        return "-";
    }
    return fmt::format("{}", static_cast<std::int64_t>(*v));
}

/// The label values of a family's samples (e.g. every `table_name`).
std::vector<std::string> label_values(json::value const& stats, std::string_view name, std::string_view label)
{
    std::vector<std::string> out;
    for (auto const& f : stats.at("metrics").as_array()) {
        if (f.at("name").as_string() != name) {
            continue;
        }
        for (auto const& smp : f.at("samples").as_array()) {
            if (auto const* l = smp.at("labels").as_object().if_contains(label)) {
                out.emplace_back(l->as_string());
            }
        }
    }
    return out;
}

void print_stats(json::value const& st)
{
    fmt::print("Garage version: {}\n", label_values(st, "garage_build_info", "version").empty()
                                           ? "?"
                                           : label_values(st, "garage_build_info", "version").front());
    fmt::print("Replication factor: {}\n\n", fig(figure(st, "garage_replication_factor")));
    fmt::print("Table stats:\n  {:<16} {:>10} {:>10} {:>10}\n", "Table", "Items", "MklTodo", "GcTodo");
    for (auto const& t : label_values(st, "table_size", "table_name")) {
        fmt::print("  {:<16} {:>10} {:>10} {:>10}\n", t, fig(figure(st, "table_size", {{"table_name", t}})),
                   fig(figure(st, "table_merkle_updater_todo_queue_length", {{"table_name", t}})),
                   fig(figure(st, "table_gc_todo_queue_length", {{"table_name", t}})));
    }
    fmt::print("\nBlock manager stats:\n");
    fmt::print("  number of RC entries (~= number of blocks): {}\n", fig(figure(st, "block_rc_size")));
    fmt::print("  resync queue length: {}\n", fig(figure(st, "block_resync_queue_length")));
    fmt::print("  blocks with resync errors: {}\n", fig(figure(st, "block_resync_errored_blocks")));
    if (auto r = figure(st, "block_bytes_read")) {
        fmt::print("  bytes read: {}\n", fig(r));
    }
    if (auto w = figure(st, "block_bytes_written")) {
        fmt::print("  bytes written: {}\n", fig(w));
    }
    fmt::print("\nStorage:\n");
    for (auto const* vol : {"data", "metadata"}) {
        auto avail = figure(st, "garage_local_disk_avail", {{"volume", vol}});
        auto total = figure(st, "garage_local_disk_total", {{"volume", vol}});
        if (avail && total && *total > 0) {
            fmt::print("  {:<9} {:.1f} GB available of {:.1f} GB ({:.1f}%)\n", vol, *avail / 1e9,
                       *total / 1e9, 100.0 * *avail / *total);
        }
    }
    fmt::print("\nCluster: healthy {}, available {}, storage nodes {}/{}, partitions with quorum {}/{}\n",
               fig(figure(st, "cluster_healthy")), fig(figure(st, "cluster_available")),
               fig(figure(st, "cluster_storage_nodes_ok")), fig(figure(st, "cluster_storage_nodes")),
               fig(figure(st, "cluster_partitions_quorum")), fig(figure(st, "cluster_partitions")));
    for (auto const* api : {"s3", "admin"}) {
        auto const counter = fmt::format("api_{}_request_counter", api);
        auto endpoints = label_values(st, counter, "api_endpoint");
        if (endpoints.empty()) {
            continue;
        }
        fmt::print("\nAPI {} requests:\n  {:<28} {:>10} {:>10}\n", api, "Endpoint", "Requests", "Errors");
        for (auto const& e : endpoints) {
            double errors = 0;
            for (auto const& f : st.at("metrics").as_array()) {
                if (f.at("name").as_string() != fmt::format("api_{}_error_counter", api)) {
                    continue;
                }
                for (auto const& smp : f.at("samples").as_array()) {
                    if (smp.at("labels").at("api_endpoint").as_string() == e) {
                        errors += smp.at("value").to_number<double>();
                    }
                }
            }
            fmt::print("  {:<28} {:>10} {:>10}\n", e, fig(figure(st, counter, {{"api_endpoint", e}})),
                       fig(errors));
        }
    }
}

std::string opt_str(json::value const& v)
{
    return v.is_null() ? "-" : str(v);
}

void print_workers(json::value const& workers, bool busy_only, bool errors_only)
{
    fmt::print("{:<4} {:<10} {:<32} {:>5} {:>7} {:>6} {:>6}  {}\n", "TID", "State", "Name", "Tranq", "Queue",
               "Errors", "Consec", "Last error");
    for (auto const& w : workers.as_array()) {
        auto const state = str(w.at("state"));
        if (busy_only && state != "busy" && state != "throttled") {
            continue;
        }
        if (errors_only && w.at("errors").to_number<std::uint64_t>() == 0) {
            continue;
        }
        auto const last =
            w.at("lastErrorSecsAgo").is_null() ? std::string("-") : str(w.at("lastErrorSecsAgo")) + "s ago";
        fmt::print("{:<4} {:<10} {:<32} {:>5} {:>7} {:>6} {:>6}  {}\n", str(w.at("id")), state,
                   str(w.at("name")), opt_str(w.at("tranquility")), opt_str(w.at("queueLength")),
                   str(w.at("errors")), str(w.at("consecutiveErrors")), last);
    }
}

void print_worker_info(json::value const& workers, std::size_t tid)
{
    for (auto const& w : workers.as_array()) {
        if (w.at("id").to_number<std::size_t>() != tid) {
            continue;
        }
        fmt::print("Task id: {}\nWorker name: {}\nWorker state: {}\n", tid, str(w.at("name")),
                   str(w.at("state")));
        fmt::print("Errors: {}\nConsecutive errors: {}\n", str(w.at("errors")),
                   str(w.at("consecutiveErrors")));
        if (!w.at("lastError").is_null()) {
            fmt::print("Last error: {} ({}s ago)\n", str(w.at("lastError")),
                       opt_str(w.at("lastErrorSecsAgo")));
        }
        fmt::print("Tranquility: {}\nQueue length: {}\nPersistent errors: {}\nProgress: {}\n",
                   opt_str(w.at("tranquility")), opt_str(w.at("queueLength")),
                   opt_str(w.at("persistentErrors")), opt_str(w.at("progress")));
        for (auto const& f : w.at("freeform").as_array()) {
            fmt::print("  {}\n", str(f));
        }
        return;
    }
    fail("No worker with TID " + std::to_string(tid));
}

/// Prints tab-separated rows as aligned columns (two spaces between columns), as Garage does.
void print_table(std::vector<std::string> const& rows)
{
    std::vector<std::vector<std::string>> cells;
    std::vector<std::size_t> width;
    for (auto const& r : rows) {
        std::vector<std::string> c;
        std::size_t pos = 0;
        while (true) {
            auto const tab = r.find('\t', pos);
            c.push_back(r.substr(pos, tab == std::string::npos ? std::string::npos : tab - pos));
            if (tab == std::string::npos) {
                break;
            }
            pos = tab + 1;
        }
        for (std::size_t k = 0; k < c.size(); ++k) {
            if (width.size() <= k) {
                width.push_back(0);
            }
            width[k] = std::max(width[k], c[k].size());
        }
        cells.push_back(std::move(c));
    }
    for (auto const& c : cells) {
        std::string line;
        for (std::size_t k = 0; k < c.size(); ++k) {
            line += c[k];
            if (k + 1 < c.size()) {
                line += std::string(width[k] - c[k].size() + 2, ' ');
            }
        }
        fmt::print("{}\n", line);
    }
}

std::string short_id(json::value const& id)
{
    return str(id).substr(0, 16);
}

std::string capacity_text(json::value const& cap)
{
    return cap.is_null() ? std::string("gateway") : layout::format_bytes(cap.to_number<std::uint64_t>());
}

std::string tags_text(json::value const& tags)
{
    std::string out = "[";
    if (tags.is_array()) {
        for (auto const& t : tags.as_array()) {
            out += (out.size() > 1 ? "," : "") + str(t);
        }
    }
    return out + "]";
}

/// `garage status`: the nodes (Garage's tables), then the cluster health.
void print_status(json::value const& st, json::value const& health)
{
    std::vector<std::string> healthy{"ID\tHostname\tAddress\tTags\tZone\tCapacity\tDataAvail"};
    std::vector<std::string> failed{"ID\tHostname\tAddress\tTags\tZone\tCapacity\tLast seen"};
    for (auto const& n : st.at("nodes").as_array()) {
        auto const& role = n.at("role");
        std::string const addr = n.at("addr").is_null() ? "N/A" : str(n.at("addr"));
        std::string const host = n.at("hostname").is_null() ? "?" : str(n.at("hostname"));
        std::string const role_cols = role.is_null()
                                          ? "\tNO ROLE ASSIGNED\t"
                                          : tags_text(role.at("tags")) + "\t" + str(role.at("zone")) + "\t" +
                                                capacity_text(role.at("capacity"));
        if (n.at("isUp").as_bool()) {
            std::string avail = "N/A";
            if (auto const& d = n.at("dataPartition"); d.is_object()) {
                auto const a = d.at("available").to_number<double>(), t = d.at("total").to_number<double>();
                avail = fmt::format("{} ({:.1f}%)", layout::format_bytes(static_cast<std::uint64_t>(a)),
                                    t > 0 ? 100.0 * a / t : 0.0);
            }
            healthy.push_back(short_id(n.at("id")) + "\t" + host + "\t" + addr + "\t" + role_cols + "\t" +
                              avail);
        } else if (!role.is_null()) {
            std::string const seen = n.at("lastSeenSecsAgo").is_null()
                                         ? "never seen"
                                         : str(n.at("lastSeenSecsAgo")) + " seconds ago";
            failed.push_back(short_id(n.at("id")) + "\t" + host + "\t" + addr + "\t" + role_cols + "\t" +
                             seen);
        }
    }
    fmt::print("==== HEALTHY NODES ====\n");
    print_table(healthy);
    if (failed.size() > 1) {
        fmt::print("\n==== FAILED NODES ====\n");
        print_table(failed);
    }
    fmt::print("\nCluster status: {}\nStorage nodes: {}/{}\nPartitions with quorum: {}/{}\n",
               str(health.at("status")), str(health.at("storageNodesOk")), str(health.at("storageNodes")),
               str(health.at("partitionsQuorum")), str(health.at("partitions")));
}

/// `garage layout show`: the current roles, the staged changes.
void print_layout(json::value const& l)
{
    fmt::print("==== CURRENT CLUSTER LAYOUT ====\n");
    std::vector<std::string> rows{"ID\tTags\tZone\tCapacity"};
    for (auto const& r : l.at("roles").as_array()) {
        rows.push_back(short_id(r.at("id")) + "\t" + tags_text(r.at("tags")) + "\t" + str(r.at("zone")) +
                       "\t" + capacity_text(r.at("capacity")));
    }
    if (rows.size() == 1) {
        fmt::print(
            "No nodes currently have a role in the cluster.\nSee `garage status` to view available nodes.\n");
    } else {
        print_table(rows);
    }
    auto zr = [](json::value const& p) {
        auto const& z = p.at("zoneRedundancy");
        return z.is_string() ? str(z) : str(z.at("atLeast"));
    };
    if (auto const* p = l.as_object().if_contains("parameters")) {
        fmt::print("\nZone redundancy: {}\n", zr(*p));
    }
    fmt::print("\nCurrent cluster layout version: {}\n", str(l.at("version")));
    auto const& staged = l.at("stagedRoleChanges").as_array();
    auto const* staged_params = l.as_object().if_contains("stagedParameters");
    bool const params = staged_params != nullptr && !staged_params->is_null();
    if (params) {
        fmt::print("\n==== STAGED PARAMETERS ====\nZone redundancy: {}\n", zr(*staged_params));
    }
    if (staged.empty() && params) {
        fmt::print("\nTo apply the changes, use `garage layout apply --version {}`.\n",
                   l.at("version").to_number<std::uint64_t>() + 1);
        return;
    }
    if (staged.empty()) {
        fmt::print("\nNo staged role changes.\n");
        return;
    }
    fmt::print("\n==== STAGED ROLE CHANGES ====\n");
    std::vector<std::string> srows{"ID\tTags\tZone\tCapacity"};
    for (auto const& r : staged) {
        if (auto const* rm = r.as_object().if_contains("remove"); rm && rm->is_bool() && rm->as_bool()) {
            srows.push_back(short_id(r.at("id")) + "\tREMOVED");
        } else {
            srows.push_back(short_id(r.at("id")) + "\t" + tags_text(r.at("tags")) + "\t" + str(r.at("zone")) +
                            "\t" + capacity_text(r.at("capacity")));
        }
    }
    print_table(srows);
    fmt::print("\nTo review the assignment, apply the changes with `garage layout apply --version {}`.\n"
               "You can also revert all proposed changes with `garage layout revert`.\n",
               l.at("version").to_number<std::uint64_t>() + 1);
}

/// A duration in seconds as Garage's CLI prints it, roughly: `42s`, `3m 5s`, `2h 1m`, `4d 3h`.
std::string duration_text(std::uint64_t secs)
{
    if (secs < 60) {
        return fmt::format("{}s", secs);
    }
    if (secs < 3600) {
        return fmt::format("{}m {}s", secs / 60, secs % 60);
    }
    if (secs < 86400) {
        return fmt::format("{}h {}m", secs / 3600, (secs % 3600) / 60);
    }
    return fmt::format("{}d {}h", secs / 86400, (secs % 86400) / 3600);
}

/// `garage layout history`: the versions, then the trackers when several versions are live.
void print_layout_history(json::value const& h)
{
    fmt::print("==== LAYOUT HISTORY ====\n");
    std::vector<std::string> rows{"Version\tStatus\tStorage nodes\tGateway nodes"};
    std::size_t live = 0;
    for (auto const& v : h.at("versions").as_array()) {
        rows.push_back("#" + str(v.at("version")) + "\t" + str(v.at("status")) + "\t" +
                       str(v.at("storageNodes")) + "\t" + str(v.at("gatewayNodes")));
        live += v.at("status").as_string() != "historical";
    }
    print_table(rows);
    fmt::print("\n");
    auto const current = h.at("currentVersion").to_number<std::uint64_t>();
    if (live > 1) {
        fmt::print("==== UPDATE TRACKERS ====\n"
                   "Several layout versions are currently live in the cluster, and data is being migrated.\n"
                   "This is the internal data that Garage stores to know which nodes have what data.\n\n");
        std::vector<std::string> trows{"Node\tAck\tSync\tSync_ack"};
        for (auto const& [id, t] : h.at("updateTrackers").as_object()) {
            trows.push_back(std::string(id).substr(0, 16) + "\t#" + str(t.at("ack")) + "\t#" +
                            str(t.at("sync")) + "\t#" + str(t.at("syncAck")));
        }
        std::sort(trows.begin() + 1, trows.end());
        print_table(trows);
        fmt::print(
            "\nIf some nodes are not catching up to the latest layout version in the update trackers,\n"
            "it might be because they are offline or unable to complete a sync successfully.\n");
        if (h.at("minAck").to_number<std::uint64_t>() < current) {
            fmt::print("You may force progress using `garage layout skip-dead-nodes --version {}`\n",
                       current);
        } else {
            fmt::print("You may force progress using `garage layout skip-dead-nodes --version {} "
                       "--allow-missing-data`.\n",
                       current);
        }
    } else {
        fmt::print("Your cluster is currently in a stable state with a single live layout version.\n"
                   "No metadata migration is in progress. Note that the migration of data blocks is not "
                   "tracked,\nso you might want to keep old nodes online until their data directories become "
                   "empty.\n");
    }
}

/// `garage block list-errors`.
void print_block_errors(json::value const& errors)
{
    std::vector<std::string> rows{"Hash\tRC\tErrors\tLast error\tNext try"};
    for (auto const& e : errors.as_array()) {
        auto const next = e.at("nextTryInSecs").to_number<std::uint64_t>();
        rows.push_back(str(e.at("blockHash")) + "\t" + str(e.at("refcount")) + "\t" +
                       str(e.at("errorCount")) + "\t" +
                       duration_text(e.at("lastTrySecsAgo").to_number<std::uint64_t>()) + " ago\tin " +
                       (next == 0 ? std::string("asap") : duration_text(next)));
    }
    print_table(rows);
}

/// `garage block info`.
void print_block_info(json::value const& b)
{
    fmt::print("Block hash: {}\nRefcount: {}\n", str(b.at("blockHash")), str(b.at("refcount")));
    fmt::print("Stored on this node: {}\n", b.at("present").as_bool() ? "yes" : "no");
    if (auto const& e = b.at("resyncError"); e.is_object()) {
        auto const next = e.at("nextTryInSecs").to_number<std::uint64_t>();
        fmt::print("Resync errors: {}, last try {} ago, next try in {}\n", str(e.at("errorCount")),
                   duration_text(e.at("lastTrySecsAgo").to_number<std::uint64_t>()),
                   next == 0 ? std::string("asap") : duration_text(next));
    }
    fmt::print("\n");
    std::vector<std::string> rows{"Version\tBucket\tKey\tMPU\tDeleted"};
    std::uint64_t nondeleted = 0;
    for (auto const& v : b.at("versions").as_array()) {
        auto const& bl = v.at("backlink");
        if (v.at("garbageCollected").as_bool()) {
            rows.push_back(str(v.at("versionId")) + "\t\t\t\tyes");
            continue;
        }
        bool const deleted = v.at("versionDeleted").as_bool();
        nondeleted += !deleted;
        if (auto const* o = bl.as_object().if_contains("object")) {
            rows.push_back(str(v.at("versionId")) + "\t" + str(o->at("bucketId")) + "\t" + str(o->at("key")) +
                           "\t\t" + (deleted ? "true" : "false"));
        } else if (auto const* u = bl.as_object().if_contains("upload")) {
            rows.push_back(str(v.at("versionId")) + "\t" + str(u->at("bucketId")) + "\t" + str(u->at("key")) +
                           "\t" + str(u->at("uploadId")) + "\t" + (deleted ? "true" : "false"));
        }
    }
    print_table(rows);
    if (b.at("refcount").to_number<std::uint64_t>() != nondeleted) {
        fmt::print(
            "\nWarning: refcount does not match number of non-deleted versions, you should try `garage "
            "repair block-rc`.\n");
    }
}

/// A node named by a unique prefix of its hex id, among the known nodes and the layout's roles.
std::string find_node(server::admin_client const& c, std::string const& prefix)
{
    std::vector<std::string> ids;
    auto add = [&](json::value const& id) {
        auto const s = str(id);
        if (s.starts_with(prefix) && std::find(ids.begin(), ids.end(), s) == ids.end()) {
            ids.push_back(s);
        }
    };
    auto const st = must(c.call("GET", "/v1/status"));
    for (auto const& n : st.at("nodes").as_array()) {
        add(n.at("id"));
    }
    auto const l = must(c.call("GET", "/v1/layout"));
    for (auto const* f : {"roles", "stagedRoleChanges"}) {
        for (auto const& r : l.at(f).as_array()) {
            add(r.at("id"));
        }
    }
    if (prefix.empty() || ids.empty()) {
        fail("0 nodes match '" + prefix + "'");
    }
    if (ids.size() > 1) {
        fail("Several nodes match '" + prefix + "'");
    }
    return ids.front();
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

    auto* node_cmd = app.add_subcommand("node", "Operations on this node");
    node_cmd->require_subcommand(1);
    auto* node_id_cmd =
        node_cmd->add_subcommand("id", "Print this node's identifier (<id>@<rpc_public_addr>)");
    bool node_id_quiet = false;
    node_id_cmd->add_flag("-q,--quiet", node_id_quiet, "Print only the identifier");

    std::string connect_spec;
    auto* node_connect_cmd = node_cmd->add_subcommand(
        "connect", "Connect to Garage node that is currently isolated from the system");
    node_connect_cmd->add_option("node", connect_spec, "Node id and address: <id>@<ip>:<port>")->required();

    auto* layout_cmd =
        app.add_subcommand("layout", "Operations on the assignment of node roles in the cluster layout");
    layout_cmd->require_subcommand(1);
    auto* layout_show = layout_cmd->add_subcommand(
        "show", "Show roles currently assigned to nodes and changes staged for commit");
    std::vector<std::string> assign_nodes, assign_tags;
    std::string assign_zone, assign_capacity, remove_node, redundancy;
    bool assign_gateway = false, revert_yes = false;
    std::optional<std::uint64_t> apply_version;
    auto* layout_assign = layout_cmd->add_subcommand("assign", "Assign role to Garage node");
    layout_assign
        ->add_option("node_ids", assign_nodes,
                     "Node(s) to which to assign role (prefix of hexadecimal node id)")
        ->required();
    layout_assign->add_option("-z,--zone", assign_zone, "Location (zone or datacenter) of the node");
    layout_assign->add_option("-c,--capacity", assign_capacity,
                              "Storage capacity, in bytes (supported suffixes: B, KB, MB, GB, TB, PB)");
    layout_assign->add_flag("-g,--gateway", assign_gateway, "Gateway-only node");
    layout_assign->add_option("-t,--tag", assign_tags, "Optional tags to add to node");
    auto* layout_remove = layout_cmd->add_subcommand("remove", "Remove role from Garage cluster node");
    layout_remove
        ->add_option("node_id", remove_node, "Node whose role to remove (prefix of hexadecimal node id)")
        ->required();
    auto* layout_apply = layout_cmd->add_subcommand("apply", "Apply staged changes to cluster layout");
    layout_apply->add_option("--version", apply_version,
                             "Version number of new configuration: this command will fail if it is not "
                             "exactly 1 + the previous configuration's version");
    auto* layout_config = layout_cmd->add_subcommand("config", "Change parameters of the cluster layout");
    layout_config->add_option("-r,--redundancy", redundancy, "Zone redundancy: a number, or \"maximum\"")
        ->required();
    auto* layout_revert = layout_cmd->add_subcommand("revert", "Revert staged changes to cluster layout");
    layout_revert->add_flag("--yes", revert_yes,
                            "The revert operation will not be ran unless this flag is added");
    auto* layout_history =
        layout_cmd->add_subcommand("history", "View the history of layouts in the cluster");
    std::uint64_t skip_version = 0;
    bool skip_allow_missing = false;
    auto* layout_skip = layout_cmd->add_subcommand(
        "skip-dead-nodes", "Skip dead nodes when awaiting for a new layout version to be synchronized");
    layout_skip
        ->add_option("--version", skip_version,
                     "Version number of the layout to assume is currently up-to-date. This will generally "
                     "be the current layout version")
        ->required();
    layout_skip->add_flag(
        "--allow-missing-data", skip_allow_missing,
        "Allow the skip even if a quorum of nodes could not be found for the data among the "
        "remaining nodes");

    auto* block_cmd = app.add_subcommand("block", "Low-level debug operations on data blocks");
    block_cmd->require_subcommand(1);
    std::string block_hash;
    std::vector<std::string> block_hashes;
    bool block_all = false, block_yes = false;
    auto* block_list_errors =
        block_cmd->add_subcommand("list-errors", "List all blocks that currently have a resync error");
    auto* block_info = block_cmd->add_subcommand("info", "Get detailed information about a single block");
    block_info->add_option("hash", block_hash, "Hash of the block (or a prefix of at least 4 digits)")
        ->required();
    auto* block_retry = block_cmd->add_subcommand("retry-now", "Retry now the resync of one or many blocks");
    block_retry->add_flag("--all", block_all, "Retry all blocks that have a resync error");
    block_retry->add_option("blocks", block_hashes, "Hashes of the blocks to retry to resync now");
    auto* block_purge = block_cmd->add_subcommand("purge", "Delete all objects referencing a missing block");
    block_purge->add_flag("--yes", block_yes, "Mandatory to confirm operation");
    block_purge->add_option("blocks", block_hashes, "Hashes of the blocks to purge")->required();

    auto* repair_cmd = app.add_subcommand("repair", "Start repair of node data");
    repair_cmd->require_subcommand(1);
    repair_cmd->fallthrough(); // `garage repair tables --yes` as well as `garage repair --yes tables`
    bool repair_yes = false, repair_all_nodes = false;
    repair_cmd->add_flag("--yes", repair_yes, "Confirm the launch of the repair operation");
    repair_cmd->add_flag("-a,--all-nodes", repair_all_nodes,
                         "Launch repair operation on all nodes (one node here)");
    std::vector<std::pair<CLI::App*, std::string>> repairs;
    for (auto const& [name, help] : std::vector<std::pair<std::string, std::string>>{
             {"tables", "Do a full sync of metadata tables"},
             {"blocks", "Repair (resync/rebalance) the set of stored blocks in the cluster"},
             {"versions", "Repropagate object deletions to the version table"},
             {"mpu", "Repropagate object deletions to the multipart upload table"},
             {"block-refs", "Repropagate version deletions to the block ref table"},
             {"block-rc", "Recalculate block reference counters"},
             {"aliases", "Fix inconsistency in bucket aliases (WARNING: EXPERIMENTAL)"},
             {"rebalance", "Rebalance data blocks among HDDs on individual nodes"}}) {
        repairs.emplace_back(repair_cmd->add_subcommand(name, help), name);
    }
    auto* repair_scrub = repair_cmd->add_subcommand("scrub", "Verify integrity of all blocks on disc");
    repair_scrub->require_subcommand(1);
    repair_scrub->fallthrough();
    std::uint32_t scrub_tranquility = 0;
    std::vector<std::pair<CLI::App*, std::string>> scrubs;
    for (auto const& [name, help] : std::vector<std::pair<std::string, std::string>>{
             {"start", "Start scrub"},
             {"pause", "Pause scrub (it will resume automatically after 24 hours)"},
             {"resume", "Resume paused scrub"},
             {"cancel", "Cancel scrub in progress"},
             {"set-tranquility", "Set tranquility level for in-progress and future scrubs"}}) {
        auto* sc = repair_scrub->add_subcommand(name, help);
        sc->fallthrough();
        if (name == "set-tranquility") {
            sc->add_option("tranquility", scrub_tranquility, "Tranquility level")->required();
        }
        scrubs.emplace_back(sc, name);
    }

    auto* stats_cmd =
        app.add_subcommand("stats", "Show node statistics: tables, blocks, requests (as /metrics)");
    bool stats_all_nodes = false;
    stats_cmd->add_flag("-a,--all-nodes", stats_all_nodes,
                        "Gather statistics from all nodes (one node here)");
    auto* worker_cmd = app.add_subcommand("worker", "Manage background workers");
    worker_cmd->require_subcommand(1);
    bool worker_busy = false, worker_errors = false, worker_all_nodes = false;
    std::size_t worker_tid = 0;
    std::string worker_var, worker_value;
    auto* worker_list = worker_cmd->add_subcommand("list", "List all workers on the node");
    worker_list->add_flag("-b,--busy", worker_busy, "Show only busy workers");
    worker_list->add_flag("-e,--errors", worker_errors, "Show only workers with errors");
    auto* worker_info = worker_cmd->add_subcommand("info", "Get detailed information about a worker");
    worker_info->add_option("tid", worker_tid, "Worker id (TID)")->required();
    auto* worker_get = worker_cmd->add_subcommand("get", "Get a worker variable (or all)");
    worker_get->add_flag("-a,--all-nodes", worker_all_nodes, "On all nodes (one node here)");
    worker_get->add_option("variable", worker_var, "Variable name");
    auto* worker_set = worker_cmd->add_subcommand("set", "Set a worker variable");
    worker_set->add_flag("-a,--all-nodes", worker_all_nodes, "On all nodes (one node here)");
    worker_set->add_option("variable", worker_var, "Variable name")->required();
    worker_set->add_option("value", worker_value, "New value")->required();

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

    if (*node_id_cmd) {
        // Read from metadata_dir (created with the key on the node's first start, or here).
        auto key = must(rpc::node_key::load_or_create(cfg.metadata_dir));
        auto const addr = cfg.rpc_public_addr.value_or(cfg.rpc_bind_addr.to_string());
        auto const id = rpc::format_node_id(key.id(), addr);
        if (node_id_quiet) {
            fmt::print("{}\n", id);
        } else {
            fmt::print("{}\n\nTo instruct a node to connect to this node, run:\n"
                       "    garage node connect {}\n\n"
                       "You may need to adjust the address if the node is behind NAT or a proxy.\n",
                       id, id);
        }
        return 0;
    }

    if (*server_cmd) {
        spdlog::set_level(spdlog::level::info);
        // SPDLOG_LEVEL=warn (as Garage's RUST_LOG) silences the per-request lines, e.g. for benchmarks
        spdlog::cfg::load_env_levels();
        auto n = util::result<std::unique_ptr<server::node>>(server::node::open(cfg, single_node));
        if (!n) {
            fail(n.error().message);
        }
        (*n)->run();
        return 0;
    }

    server::admin_client c(cfg);
    if (*status_cmd) {
        print_status(must(c.call("GET", "/v1/status")), must(c.call("GET", "/v1/health")));
        return 0;
    }
    if (*node_connect_cmd) {
        json::value body = json::array{json::value(connect_spec)};
        auto r = must(c.call("POST", "/v1/connect", &body));
        auto const& e = r.as_array().at(0);
        if (!e.at("success").as_bool()) {
            fail("Could not connect to " + connect_spec + ": " + str(e.at("error")));
        }
        fmt::print("Success.\n");
        return 0;
    }
    if (*layout_cmd) {
        if (*layout_show) {
            print_layout(must(c.call("GET", "/v1/layout")));
        } else if (*layout_assign) {
            json::array changes;
            for (auto const& n : assign_nodes) {
                auto const id = find_node(c, n);
                json::object o{{"id", id}};
                // Fields not given keep the node's current (or staged) value, as in Garage.
                auto const l = must(c.call("GET", "/v1/layout"));
                json::object const* cur = nullptr;
                for (auto const* f : {"roles", "stagedRoleChanges"}) {
                    for (auto const& r : l.at(f).as_array()) {
                        if (str(r.at("id")) == id && !r.as_object().contains("remove")) {
                            cur = &r.as_object();
                        }
                    }
                }
                if (!assign_zone.empty()) {
                    o["zone"] = assign_zone;
                } else if (cur) {
                    o["zone"] = cur->at("zone");
                } else {
                    fail("Please specify a zone with the -z flag");
                }
                if (assign_gateway && !assign_capacity.empty()) {
                    fail("-c and -g are mutually exclusive, please configure node either with c>0 to act as "
                         "a storage node or with -g to act as a gateway node");
                }
                if (assign_gateway) {
                    o["capacity"] = nullptr;
                } else if (!assign_capacity.empty()) {
                    o["capacity"] = must(util::parse_capacity(assign_capacity));
                } else if (cur) {
                    o["capacity"] = cur->at("capacity");
                } else {
                    fail("Please specify a capacity with the -c flag, or set node explicitly as gateway with "
                         "-g");
                }
                if (!assign_tags.empty()) {
                    json::array tags;
                    for (auto const& t : assign_tags) {
                        tags.emplace_back(t);
                    }
                    o["tags"] = std::move(tags);
                } else {
                    o["tags"] = cur ? cur->at("tags") : json::value(json::array{});
                }
                changes.emplace_back(std::move(o));
            }
            json::value body = std::move(changes);
            (void)must(c.call("POST", "/v1/layout", &body));
            fmt::print("Role changes are staged but not yet committed.\n"
                       "Use `garage layout show` to view staged role changes,\n"
                       "and `garage layout apply` to enact staged changes.\n");
        } else if (*layout_remove) {
            json::value body = json::array{json::object{{"id", find_node(c, remove_node)}, {"remove", true}}};
            (void)must(c.call("POST", "/v1/layout", &body));
            fmt::print("Role removal is staged but not yet committed.\n"
                       "Use `garage layout show` to view staged role changes,\n"
                       "and `garage layout apply` to enact staged changes.\n");
        } else if (*layout_apply) {
            json::object o;
            if (apply_version) {
                o["version"] = *apply_version;
            }
            json::value body = std::move(o);
            auto r = must(c.call("POST", "/v1/layout/apply", &body));
            for (auto const& line : r.at("message").as_array()) {
                fmt::print("{}\n", str(line));
            }
            fmt::print("New cluster layout with updated role assignment has been applied in cluster.\n"
                       "Data will now be moved around between nodes accordingly.\n");
        } else if (*layout_config) {
            auto const z = must(layout::parse_zone_redundancy(redundancy));
            json::value zr =
                z.is_maximum() ? json::value("maximum") : json::value(json::object{{"atLeast", z.value()}});
            json::value body =
                json::object{{"roles", json::array{}}, {"parameters", {{"zoneRedundancy", zr}}}};
            (void)must(c.call("POST", "/v1/layout", &body));
            fmt::print("The zone redundancy parameter has been set to '{}'.\n", layout::to_string(z));
        } else if (*layout_history) {
            print_layout_history(must(c.call("GET", "/v1/layout/history")));
        } else if (*layout_skip) {
            json::value body = {{"version", skip_version}, {"allowMissingData", skip_allow_missing}};
            auto r = must(c.call("POST", "/v1/layout/skip-dead-nodes", &body));
            for (auto const& line : r.at("message").as_array()) {
                fmt::print("{}\n", str(line));
            }
            fmt::print("Success.\n");
        } else if (*layout_revert) {
            if (!revert_yes) {
                fail("Please add the --yes flag to run the layout revert operation");
            }
            (void)must(c.call("POST", "/v1/layout/revert"));
            fmt::print("All proposed role changes in cluster layout have been canceled.\n");
        }
        return 0;
    }
    if (*block_cmd) {
        if (*block_list_errors) {
            print_block_errors(must(c.call("GET", "/v1/block/errors")));
        } else if (*block_info) {
            print_block_info(must(c.call("GET", "/v1/block/info?hash=" + block_hash)));
        } else if (*block_retry) {
            if (block_all == !block_hashes.empty()) {
                fail(block_all ? "--all was specified, cannot also specify blocks"
                               : "Specify the blocks to retry, or --all");
            }
            json::value body;
            if (block_all) {
                body = {{"all", true}};
            } else {
                json::array hs;
                for (auto const& h : block_hashes) {
                    hs.emplace_back(h);
                }
                body = {{"blockHashes", std::move(hs)}};
            }
            auto r = must(c.call("POST", "/v1/block/retry-now", &body));
            fmt::print("{} blocks returned in queue for a retry now (check logs to see results)\n",
                       str(r.at("count")));
        } else if (*block_purge) {
            if (!block_yes) {
                fail("Pass the --yes flag to confirm block purge operation.");
            }
            json::array hs;
            for (auto const& h : block_hashes) {
                hs.emplace_back(h);
            }
            json::value body = std::move(hs);
            auto r = must(c.call("POST", "/v1/block/purge", &body));
            fmt::print(
                "Purged {} blocks: marked {} block refs, {} versions, {} objects and {} multipart uploads "
                "as deleted\n",
                str(r.at("blocksPurged")), str(r.at("blockRefsPurged")), str(r.at("versionsDeleted")),
                str(r.at("objectsDeleted")), str(r.at("uploadsDeleted")));
        }
        return 0;
    }
    if (*repair_cmd) {
        if (!repair_yes) {
            fail("Please provide the --yes flag to initiate repair operations.");
        }
        json::object body;
        for (auto const& [sub, name] : repairs) {
            if (*sub) {
                body["repairType"] = name;
            }
        }
        for (auto const& [sub, name] : scrubs) {
            if (*sub) {
                body["repairType"] = "scrub";
                body["scrubCommand"] = name;
                if (name == "set-tranquility") {
                    body["tranquility"] = scrub_tranquility;
                }
            }
        }
        json::value v = std::move(body);
        auto r = must(c.call("POST", "/v1/repair", &v));
        fmt::print("{}\n", str(r.at("message")));
        return 0;
    }
    if (*stats_cmd) {
        print_stats(must(c.call("GET", "/v1/stats")));
        return 0;
    }
    if (*worker_cmd) {
        if (*worker_list) {
            print_workers(must(c.call("GET", "/v1/worker")), worker_busy, worker_errors);
        } else if (*worker_info) {
            print_worker_info(must(c.call("GET", "/v1/worker")), worker_tid);
        } else if (*worker_get) {
            auto vars =
                must(c.call("GET", "/v1/worker/var" + (worker_var.empty() ? "" : "?name=" + worker_var)));
            for (auto const& [k, v] : vars.as_object()) {
                fmt::print("{:<28} {}\n", std::string(k), str(v));
            }
        } else if (*worker_set) {
            json::value body = {{"name", worker_var}, {"value", worker_value}};
            auto vars = must(c.call("POST", "/v1/worker/var", &body));
            for (auto const& [k, v] : vars.as_object()) {
                fmt::print("{:<28} {}\n", std::string(k), str(v));
            }
        }
        return 0;
    }
    if (*key) {
        if (*key_list) {
            fmt::print("{:<28} {}\n", "ID", "Name");
            auto const keys = must(c.call("GET", "/v1/key"));
            for (auto const& k : keys.as_array()) {
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
            auto const buckets = must(c.call("GET", "/v1/bucket"));
            for (auto const& b : buckets.as_array()) {
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
