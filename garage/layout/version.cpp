#include <garage/layout/version.hpp>

#include <garage/layout/assignment.hpp>
#include <garage/layout/detail/format_table.hpp>
#include <garage/layout/error.hpp>
#include <garage/layout/staging.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

namespace garage::layout {
namespace {

std::string percent(double x)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", x);
    return buf;
}

std::string short_id(util::node_id const& id)
{
    return id.to_hex().substr(0, 16);
}

util::failure invalid(std::string msg)
{
    return util::failure(error::invalid_layout, std::move(msg));
}

} // namespace

layout_version layout_version::make_empty(std::size_t replication_factor)
{
    layout_version v;
    v.replication_factor = replication_factor;
    v.parameters.redundancy = zone_redundancy::maximum();
    return v;
}

node_role const* layout_version::role_of(util::node_id const& node) const
{
    auto const* v = roles.get(node);
    return (v != nullptr && v->role) ? &*v->role : nullptr;
}

std::vector<util::node_id> layout_version::nodes_of(partition_id p) const
{
    std::vector<util::node_id> out;
    if (!is_ready() || p >= partition_count) {
        return out;
    }
    out.reserve(replication_factor);
    for (std::size_t i = 0; i < replication_factor; ++i) {
        out.push_back(node_ids[ring[p * replication_factor + i]]);
    }
    return out;
}

std::size_t layout_version::partitions_of_node(util::node_id const& node) const
{
    auto const it = std::find(node_ids.begin(), node_ids.end(), node);
    if (it == node_ids.end()) {
        return 0;
    }
    auto const idx = static_cast<std::size_t>(it - node_ids.begin());
    return static_cast<std::size_t>(
        std::count_if(ring.begin(), ring.end(), [&](std::uint8_t x) { return x == idx; }));
}

std::size_t layout_version::storage_zone_count() const
{
    std::set<std::string_view> zones;
    for (auto const& e : roles.items()) {
        if (e.value.role && !e.value.role->is_gateway()) {
            zones.insert(e.value.role->zone);
        }
    }
    return zones.size();
}

std::size_t layout_version::effective_zone_redundancy() const
{
    return parameters.redundancy.effective(storage_zone_count(), replication_factor);
}

util::result<void> layout_version::check() const
{
    auto const rf = replication_factor;
    if (rf == 0) {
        return invalid("the replication factor is 0");
    }
    if (ring.size() != partition_count * rf) {
        return invalid("ring_assignment_data has incorrect length " + std::to_string(ring.size()) +
                       " instead of " + std::to_string(partition_count * rf));
    }
    // node_ids: exactly the nodes with a role, storage nodes first.
    std::vector<util::node_id> expected;
    for (auto const& e : roles.items()) {
        if (e.value.role) {
            expected.push_back(e.key);
        }
    }
    auto sorted = node_ids;
    std::sort(sorted.begin(), sorted.end());
    if (sorted != expected) {
        return invalid("node_id_vec does not contain the correct set of nodes");
    }
    if (storage_node_count > node_ids.size()) {
        return invalid("storage node count exceeds the node list");
    }
    for (std::size_t i = 0; i < node_ids.size(); ++i) {
        bool const storage = !role_of(node_ids[i])->is_gateway();
        if (storage != (i < storage_node_count)) {
            return invalid("storage nodes are not first in node_id_vec");
        }
    }
    for (auto x : ring) {
        if (x >= storage_node_count) {
            return invalid("ring_assignment_data contains id of a gateway node or an invalid id " +
                           std::to_string(x));
        }
    }
    auto const redundancy = effective_zone_redundancy();
    std::vector<std::size_t> usage(storage_node_count, 0);
    for (std::size_t p = 0; p < partition_count; ++p) {
        std::set<std::uint8_t> nodes;
        std::set<std::string_view> zones;
        for (std::size_t i = 0; i < rf; ++i) {
            auto const n = ring[p * rf + i];
            nodes.insert(n);
            zones.insert(role_of(node_ids[n])->zone);
            ++usage[n];
        }
        if (nodes.size() != rf) {
            return invalid("partition does not contain " + std::to_string(rf) + " unique node ids");
        }
        if (zones.size() < redundancy) {
            return invalid("nodes of partition are in less than " + std::to_string(redundancy) +
                           " distinct zones");
        }
    }
    for (std::size_t n = 0; n < storage_node_count; ++n) {
        auto const cap = *role_of(node_ids[n])->capacity;
        if (usage[n] * partition_size > cap) {
            return invalid("node usage (" + std::to_string(usage[n] * partition_size) +
                           ") is bigger than node capacity (" + std::to_string(cap) + ")");
        }
    }
    return {};
}

util::result<void> layout_version::check_optimal() const
{
    if (auto c = check(); !c) {
        return c;
    }
    std::map<std::string_view, std::size_t> zone_ids;
    assignment_problem pb;
    pb.replication_factor = replication_factor;
    for (std::size_t n = 0; n < storage_node_count; ++n) {
        auto const* r = role_of(node_ids[n]);
        auto const [it, inserted] = zone_ids.emplace(r->zone, zone_ids.size());
        pb.nodes.push_back({*r->capacity, it->second});
    }
    pb.zone_count = zone_ids.size();
    pb.zone_redundancy = effective_zone_redundancy();
    auto const s = optimal_partition_size(pb);
    if (!s) {
        return invalid("could not calculate optimal partition size: " + s.error().message);
    }
    if (*s != partition_size) {
        return invalid("partition_size (" + std::to_string(partition_size) +
                       ") is different than optimal value (" + std::to_string(*s) + ")");
    }
    return {};
}

util::result<std::pair<layout_version, report>>
layout_version::next_version(layout_staging const& staging) const
{
    layout_version next = *this;
    next.version = version + 1;
    auto merged = roles;
    merged.merge(staging.roles);
    next.roles = {};
    for (auto const& e : merged.items()) {
        if (e.value.role) {
            next.roles.merge_raw(e.key, e.timestamp, e.value);
        }
    }
    next.parameters = staging.parameters.get();
    auto msg = next.compute_assignment();
    if (!msg) {
        return msg.error();
    }
    return std::pair{std::move(next), std::move(*msg)};
}

util::result<report> layout_version::compute_assignment()
{
    // (1) The new node list: storage nodes first, in id order, then gateways.
    std::vector<util::node_id> ids;
    std::size_t storage = 0;
    for (auto const& e : roles.items()) {
        if (e.value.role && !e.value.role->is_gateway()) {
            ids.push_back(e.key);
            ++storage;
        }
    }
    for (auto const& e : roles.items()) {
        if (e.value.role && e.value.role->is_gateway()) {
            ids.push_back(e.key);
        }
    }
    if (storage > max_storage_nodes) {
        return util::failure(error::too_many_nodes,
                             "There are more than " + std::to_string(max_storage_nodes) +
                                 " non-gateway nodes in the new layout. This is not allowed.");
    }

    // (2) The previous assignment, renumbered; pairs with nodes that left are dropped.
    auto const rf = replication_factor;
    bool const has_previous = !ring.empty();
    if (has_previous && ring.size() != partition_count * rf) {
        return util::failure(error::invalid_layout,
                             "The old assignment does not have a size corresponding to the "
                             "old replication factor or the number of partitions.");
    }
    std::map<util::node_id, std::size_t> new_index;
    for (std::size_t i = 0; i < storage; ++i) {
        new_index.emplace(ids[i], i);
    }
    std::vector<std::vector<std::size_t>> previous;
    if (has_previous) {
        previous.resize(partition_count);
        for (std::size_t p = 0; p < partition_count; ++p) {
            for (std::size_t i = 0; i < rf; ++i) {
                auto const idx = ring[p * rf + i];
                if (idx >= node_ids.size()) {
                    continue;
                }
                if (auto it = new_index.find(node_ids[idx]); it != new_index.end()) {
                    previous[p].push_back(it->second);
                }
            }
        }
    }

    // (3) Zones, numbered in order of first appearance among storage nodes.
    std::vector<std::string> zone_names;
    std::map<std::string, std::size_t> zone_ids;
    assignment_problem pb;
    pb.replication_factor = rf;
    for (std::size_t i = 0; i < storage; ++i) {
        auto const& r = *roles.get(ids[i])->role;
        auto const [it, inserted] = zone_ids.emplace(r.zone, zone_names.size());
        if (inserted) {
            zone_names.push_back(r.zone);
        }
        pb.nodes.push_back({*r.capacity, it->second});
    }
    pb.zone_count = zone_names.size();
    pb.zone_redundancy = parameters.redundancy.effective(zone_names.size(), rf);
    pb.previous = previous;

    auto result = layout::compute_assignment(pb);
    if (!result) {
        return result.error();
    }

    // (4) The report.
    report msg;
    msg.push_back("==== COMPUTATION OF A NEW PARTITION ASSIGNATION ====");
    msg.push_back("");
    msg.push_back("Partitions are replicated " + std::to_string(rf) + " times on at least " +
                  std::to_string(pb.zone_redundancy) + " distinct zones.");
    msg.push_back("");
    if (has_previous) {
        msg.push_back("Optimal partition size:                     " + format_bytes(result->partition_size) +
                      " (" + format_bytes(partition_size) + " in previous layout)");
    } else {
        msg.push_back("Optimal partition size:                     " + format_bytes(result->partition_size));
    }
    if (result->partition_size < 100) {
        msg.push_back(
            "WARNING: The partition size is low (< 100), make sure the capacities of your nodes are "
            "correct and are of at least a few MB");
    }
    std::uint64_t total_cap = 0;
    for (auto const& n : pb.nodes) {
        total_cap += n.capacity;
    }
    std::uint64_t const used_cap = result->partition_size * partition_count * rf;
    double const percent_cap = 100.0 * static_cast<double>(used_cap) / static_cast<double>(total_cap);
    msg.push_back("Usable capacity / total cluster capacity:   " + format_bytes(used_cap) + " / " +
                  format_bytes(total_cap) + " (" + percent(percent_cap) + " %)");
    msg.push_back("Effective capacity (replication factor " + std::to_string(rf) +
                  "):  " + format_bytes(used_cap / rf));
    if (percent_cap < 80.0) {
        msg.push_back("");
        msg.push_back("If the percentage is too low, it might be that the cluster topology and redundancy "
                      "constraints are forcing the use of nodes/zones with small storage capacities.");
        msg.push_back(
            "You might want to move storage capacity between zones or relax the redundancy constraint.");
        msg.push_back("See the detailed statistics below and look for saturated nodes/zones.");
    }
    std::vector<std::size_t> stored(storage, 0);
    std::vector<std::size_t> fresh(storage, 0);
    std::vector<std::size_t> unique_in_zone(zone_names.size(), 0);
    for (std::size_t p = 0; p < partition_count; ++p) {
        std::set<std::size_t> zones_of_p;
        for (auto n : result->partitions[p]) {
            ++stored[n];
            zones_of_p.insert(pb.nodes[n].zone);
            bool const was =
                has_previous && std::find(previous[p].begin(), previous[p].end(), n) != previous[p].end();
            if (!was) {
                ++fresh[n];
            }
        }
        for (auto z : zones_of_p) {
            ++unique_in_zone[z];
        }
    }
    msg.push_back("");
    if (has_previous) {
        msg.push_back("A total of " + std::to_string(result->moves) +
                      " new copies of partitions need to be transferred.");
        msg.push_back("");
    }
    std::vector<std::string> table;
    for (std::size_t z = 0; z < zone_names.size(); ++z) {
        table.push_back(zone_names[z] + "\tTags\tPartitions\tCapacity\tUsable capacity");
        std::size_t replicated = 0;
        std::uint64_t cap_z = 0;
        for (std::size_t n = 0; n < storage; ++n) {
            if (pb.nodes[n].zone != z) {
                continue;
            }
            replicated += stored[n];
            cap_z += pb.nodes[n].capacity;
            auto const avail = stored[n] * result->partition_size;
            table.push_back(
                "  " + short_id(ids[n]) + "\t" + roles.get(ids[n])->role->tags_string() + "\t" +
                std::to_string(stored[n]) + " (" + std::to_string(fresh[n]) + " new)\t" +
                format_bytes(pb.nodes[n].capacity) + "\t" + format_bytes(avail) + " (" +
                percent(100.0 * static_cast<double>(avail) / static_cast<double>(pb.nodes[n].capacity)) +
                "%)");
        }
        auto const avail_z = replicated * result->partition_size;
        table.push_back("  TOTAL\t\t" + std::to_string(replicated) + " (" +
                        std::to_string(unique_in_zone[z]) + " unique)\t" + format_bytes(cap_z) + "\t" +
                        format_bytes(avail_z) + " (" +
                        percent(100.0 * static_cast<double>(avail_z) / static_cast<double>(cap_z)) + "%)");
        table.push_back("");
    }
    for (auto& line : detail::format_table(table)) {
        msg.push_back(std::move(line));
    }

    // (5) Commit.
    node_ids = std::move(ids);
    storage_node_count = storage;
    partition_size = result->partition_size;
    ring.clear();
    ring.reserve(partition_count * rf);
    for (auto const& nodes : result->partitions) {
        for (auto n : nodes) {
            ring.push_back(static_cast<std::uint8_t>(n));
        }
    }
    if (auto c = check(); !c) {
        return util::failure(error::invalid_layout, "Layout check returned an error: " + c.error().message);
    }
    return msg;
}

} // namespace garage::layout
