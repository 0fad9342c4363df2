#include <garage/layout/show.hpp>

#include <garage/layout/detail/format_table.hpp>

#include <algorithm>
#include <cstdio>

namespace garage::layout {
namespace {

std::string short_id(util::node_id const& id)
{
    return id.to_hex().substr(0, 16);
}

void append_table(report& out, std::vector<std::string> const& rows)
{
    for (auto& line : detail::format_table(rows)) {
        out.push_back(std::move(line));
    }
}

} // namespace

report format_layout(layout_version const& v, std::string const& empty_msg)
{
    report out;
    std::vector<std::string> table{"ID\tTags\tZone\tCapacity\tUsable capacity"};
    for (auto const& e : v.roles.items()) {
        if (!e.value.role) {
            continue;
        }
        auto const& r = *e.value.role;
        std::string row =
            short_id(e.key) + "\t" + r.tags_string() + "\t" + r.zone + "\t" + r.capacity_string();
        if (r.capacity && *r.capacity > 0) {
            auto const used = v.partitions_of_node(e.key) * v.partition_size;
            char pct[32];
            std::snprintf(pct, sizeof pct, "%.1f",
                          100.0 * static_cast<double>(used) / static_cast<double>(*r.capacity));
            row += "\t" + format_bytes(used) + " (" + pct + "%)";
        }
        table.push_back(std::move(row));
    }
    if (table.size() == 1) {
        out.push_back(empty_msg);
        return out;
    }
    append_table(out, table);
    out.push_back("");
    out.push_back("Zone redundancy: " + to_string(v.parameters.redundancy));
    return out;
}

report format_staged_changes(layout_history const& h)
{
    report out;
    auto const& cur = h.current();
    auto const& st = h.staging.get();
    std::vector<std::string> table{"ID\tTags\tZone\tCapacity"};
    for (auto const& e : st.roles.items()) {
        auto const* now = cur.roles.get(e.key);
        if (now != nullptr ? *now == e.value : !e.value.role) {
            continue;
        }
        if (e.value.role) {
            auto const& r = *e.value.role;
            table.push_back(short_id(e.key) + "\t" + r.tags_string() + "\t" + r.zone + "\t" +
                            r.capacity_string());
        } else {
            table.push_back(short_id(e.key) + "\tREMOVED");
        }
    }
    bool const params = st.parameters.get() != cur.parameters;
    if (table.size() == 1 && !params) {
        return out;
    }
    out.push_back("==== STAGED ROLE CHANGES ====");
    if (table.size() > 1) {
        append_table(out, table);
        out.push_back("");
    }
    if (params) {
        out.push_back("Zone redundancy: " + to_string(st.parameters.get().redundancy));
    }
    return out;
}

report format_history(layout_history const& h)
{
    report out;
    auto const min_stored = h.min_stored();
    out.push_back("==== LAYOUT HISTORY ====");
    std::vector<std::string> table{"Version\tStatus\tStorage nodes\tGateway nodes"};
    auto row = [&](layout_version const& v) {
        char const* status = v.version == h.current().version ? "current"
                             : v.version >= min_stored        ? "draining"
                                                              : "historical";
        auto const storage = v.storage_node_count;
        table.push_back("#" + std::to_string(v.version) + "\t" + status + "\t" + std::to_string(storage) +
                        "\t" + std::to_string(v.node_ids.size() - storage));
    };
    std::for_each(h.versions.rbegin(), h.versions.rend(), row);
    std::for_each(h.old_versions.rbegin(), h.old_versions.rend(), row);
    append_table(out, table);
    out.push_back("");
    if (h.versions.size() > 1) {
        out.push_back("==== UPDATE TRACKERS ====");
        out.push_back(
            "Several layout versions are currently live in the cluster, and data is being migrated.");
        out.push_back("This is the internal data that Garage stores to know which nodes have what data.");
        out.push_back("");
        std::vector<std::string> trackers{"Node\tAck\tSync\tSync_ack"};
        auto const nodes = h.all_nodes();
        for (auto const& n : nodes) {
            trackers.push_back(short_id(n) + "\t#" + std::to_string(h.trackers.ack.get(n, min_stored)) +
                               "\t#" + std::to_string(h.trackers.sync.get(n, min_stored)) + "\t#" +
                               std::to_string(h.trackers.sync_ack.get(n, min_stored)));
        }
        append_table(out, trackers);
        out.push_back("");
        out.push_back(
            "If some nodes are not catching up to the latest layout version in the update trackers,");
        out.push_back("it might be because they are offline or unable to complete a sync successfully.");
        auto const v = std::to_string(h.current().version);
        if (h.trackers.ack.min_among(nodes, min_stored) < h.current().version) {
            out.push_back("You may force progress using `garage layout skip-dead-nodes --version " + v + "`");
        } else {
            out.push_back("You may force progress using `garage layout skip-dead-nodes --version " + v +
                          " --allow-missing-data`.");
        }
    } else {
        out.push_back("Your cluster is currently in a stable state with a single live layout version.");
        out.push_back(
            "No metadata migration is in progress. Note that the migration of data blocks is not tracked,");
        out.push_back(
            "so you might want to keep old nodes online until their data directories become empty.");
    }
    return out;
}

} // namespace garage::layout
