#include <garage/layout/history.hpp>

#include <garage/layout/error.hpp>

#include <algorithm>
#include <set>

namespace garage::layout {

// ---- update_tracker ----

bool update_tracker::set_max(util::node_id const& node, std::uint64_t value)
{
    auto [it, inserted] = values.emplace(node, value);
    if (inserted) {
        return true;
    }
    if (it->second < value) {
        it->second = value;
        return true;
    }
    return false;
}

std::uint64_t update_tracker::get(util::node_id const& node, std::uint64_t min_version) const
{
    auto const it = values.find(node);
    return it == values.end() ? min_version : it->second;
}

std::uint64_t update_tracker::min_among(std::span<util::node_id const> nodes, std::uint64_t min_version) const
{
    if (nodes.empty()) {
        return min_version;
    }
    std::uint64_t m = get(nodes.front(), min_version);
    for (auto const& n : nodes) {
        m = std::min(m, get(n, min_version));
    }
    return m;
}

bool update_tracker::merge(update_tracker const& other)
{
    bool changed = false;
    for (auto const& [node, v] : other.values) {
        changed = set_max(node, v) || changed;
    }
    return changed;
}

bool update_trackers::merge(update_trackers const& other)
{
    bool const a = ack.merge(other.ack);
    bool const s = sync.merge(other.sync);
    bool const sa = sync_ack.merge(other.sync_ack);
    return a || s || sa;
}

// ---- layout_history: accessors ----

layout_history layout_history::make(std::size_t replication_factor)
{
    layout_history h;
    h.versions.push_back(layout_version::make_empty(replication_factor));
    h.staging = crdt::lww<layout_staging>::raw(
        0, layout_staging{crdt::lww<layout_parameters>(h.current().parameters), {}});
    return h;
}

std::vector<util::node_id> layout_history::all_nodes() const
{
    std::set<util::node_id> s;
    for (auto const& v : versions) {
        s.insert(v.node_ids.begin(), v.node_ids.end());
    }
    return {s.begin(), s.end()};
}

std::vector<util::node_id> layout_history::all_storage_nodes() const
{
    std::set<util::node_id> s;
    for (auto const& v : versions) {
        s.insert(v.node_ids.begin(), v.node_ids.begin() + static_cast<std::ptrdiff_t>(v.storage_node_count));
    }
    return {s.begin(), s.end()};
}

crdt::lww_map<util::node_id, role_value> layout_history::planned_roles() const
{
    auto roles = current().roles;
    roles.merge(staging.get().roles);
    return roles;
}

// ---- staging ----

util::result<void> layout_history::stage_assign(std::span<util::node_id const> nodes,
                                                assign_options const& opts)
{
    if (opts.capacity && opts.gateway) {
        return util::failure(
            error::invalid_role,
            "-c and -g are mutually exclusive, please configure node either with c>0 to act as a "
            "storage node or with -g to act as a gateway node");
    }
    if (opts.capacity && *opts.capacity == 0) {
        return util::failure(error::invalid_role, "Invalid capacity value: 0");
    }
    if (opts.zone && opts.zone->empty()) {
        return util::failure(error::invalid_role, "The zone must not be empty");
    }
    auto roles = planned_roles();
    auto changes = staging.get().roles;
    for (auto const& replaced : opts.replace) {
        auto const* v = roles.get(replaced);
        if (v == nullptr || !v->role) {
            return util::failure(error::unknown_node, "Cannot replace node " +
                                                          replaced.to_hex().substr(0, 16) +
                                                          " as it is not currently in planned layout");
        }
        auto delta = roles.update_mutator(replaced, role_value{});
        changes.merge(delta);
        roles.merge(delta);
    }
    for (auto const& node : nodes) {
        node_role role;
        auto const* v = roles.get(node);
        if (v != nullptr && v->role) {
            auto const& old = *v->role;
            role.zone = opts.zone.value_or(old.zone);
            role.capacity = opts.capacity ? opts.capacity : (opts.gateway ? std::nullopt : old.capacity);
            role.tags = opts.tags.value_or(old.tags);
        } else {
            if (!opts.capacity && !opts.gateway) {
                return util::failure(error::invalid_role,
                                     "Please specify a capacity with the -c flag, or set node "
                                     "explicitly as gateway with -g");
            }
            if (!opts.zone) {
                return util::failure(error::invalid_role, "Please specify a zone with the -z flag");
            }
            role.zone = *opts.zone;
            role.capacity = opts.capacity;
            role.tags = opts.tags.value_or(std::vector<std::string>{});
        }
        auto delta = roles.update_mutator(node, role_value{std::move(role)});
        changes.merge(delta);
        roles.merge(delta);
    }
    staging.get_mut().roles = std::move(changes);
    return {};
}

util::result<void> layout_history::stage_remove(util::node_id const& node)
{
    auto const roles = planned_roles();
    auto const* v = roles.get(node);
    if (v == nullptr || !v->role) {
        return util::failure(error::unknown_node,
                             "Node " + node.to_hex().substr(0, 16) + " has no role in the planned layout");
    }
    staging.get_mut().roles.merge(roles.update_mutator(node, role_value{}));
    return {};
}

util::result<void> layout_history::stage_zone_redundancy(zone_redundancy z)
{
    if (!z.is_maximum()) {
        if (z.value() > current().replication_factor) {
            return util::failure(error::invalid_parameter,
                                 "The zone redundancy must be smaller or equal to the replication factor (" +
                                     std::to_string(current().replication_factor) + ").");
        }
        if (z.value() < 1) {
            return util::failure(error::invalid_parameter, "The zone redundancy must be at least 1.");
        }
    }
    staging.get_mut().parameters.update(layout_parameters{z});
    return {};
}

bool layout_history::has_staged_changes() const
{
    auto const& cur = current();
    for (auto const& e : staging.get().roles.items()) {
        auto const* v = cur.roles.get(e.key);
        if (v == nullptr ? e.value.role.has_value() : !(*v == e.value)) {
            return true;
        }
    }
    return staging.get().parameters.get() != cur.parameters;
}

util::result<std::pair<layout_version, report>> layout_history::preview() const
{
    return current().next_version(staging.get());
}

util::result<report> layout_history::apply_staged_changes(std::optional<std::uint64_t> version)
{
    if (!version) {
        return util::failure(
            error::missing_version,
            "Please pass the new layout version number to ensure that you are writing the correct "
            "version of the cluster layout. To know the correct value of the new layout version, "
            "invoke `garage layout show` and review the proposed changes.");
    }
    if (*version != current().version + 1) {
        return util::failure(error::stale_version, "Invalid new layout version " + std::to_string(*version) +
                                                       " (expected " + std::to_string(current().version + 1) +
                                                       ")");
    }
    auto next = preview();
    if (!next) {
        return next.error();
    }
    versions.push_back(std::move(next->first));
    cleanup_old_versions();
    staging.update(layout_staging{staging.get().parameters, {}});
    return std::move(next->second);
}

void layout_history::revert_staged_changes()
{
    staging.update(layout_staging{crdt::lww<layout_parameters>(current().parameters), {}});
}

// ---- transitions ----

merge_outcome layout_history::merge(layout_history const& other)
{
    merge_outcome out;
    if (other.versions.empty()) {
        return out;
    }
    if (current().version < other.min_stored()) {
        if (!(*this == other)) {
            *this = other;
            out.changed = true;
        }
        return out;
    }
    for (auto const& v : other.versions) {
        if (v.version == current().version + 1) {
            versions.push_back(v);
            out.changed = true;
        } else if (auto it = std::find_if(versions.begin(), versions.end(),
                                          [&](layout_version const& x) { return x.version == v.version; });
                   it != versions.end()) {
            if (!(*it == v)) {
                out.inconsistent_versions.push_back(v.version);
            }
        }
        // else: older than our oldest live version, ignored.
    }
    out.changed = trackers.merge(other.trackers) || out.changed;
    auto const before = staging;
    staging.merge(other.staging);
    out.changed = out.changed || !(staging == before);
    return out;
}

util::result<std::vector<std::string>>
layout_history::skip_dead_nodes(std::uint64_t version, std::function<bool(util::node_id const&)> const& is_up,
                                bool allow_missing_data)
{
    if (versions.size() == 1) {
        return util::failure(
            error::invalid_parameter,
            "This command cannot be called when there is only one live cluster layout version");
    }
    auto const min_v = min_stored();
    if (version <= min_v || version > current().version) {
        std::string allowed;
        for (auto v = min_v + 1; v <= current().version; ++v) {
            allowed += (allowed.empty() ? "" : " ") + std::to_string(v);
        }
        return util::failure(error::invalid_parameter,
                             "Invalid version, you may use the following version numbers: " + allowed);
    }
    std::vector<std::string> lines;
    for (auto const& node : all_nodes()) {
        auto const id = node.to_hex().substr(0, 16);
        if (allow_missing_data || !is_up(node)) {
            if (trackers.ack.set_max(node, version)) {
                lines.push_back("Increased the ACK tracker for node " + id);
            }
        }
        if (allow_missing_data) {
            if (trackers.sync.set_max(node, version)) {
                lines.push_back("Increased the SYNC tracker for node " + id);
            }
        }
    }
    if (lines.empty()) {
        if (!allow_missing_data) {
            return util::failure(
                error::nothing_to_do,
                "Nothing was done, try passing the `--allow-missing-data` flag to force progress "
                "even when not enough nodes can complete a metadata sync.");
        }
        return util::failure(error::nothing_to_do,
                             "Sorry, there is nothing I can do for you. Please wait "
                             "patiently. If you ask for help, please send the output of the "
                             "`garage layout history` command.");
    }
    return lines;
}

void layout_history::keep_current_version_only()
{
    while (versions.size() > 1) {
        old_versions.push_back(std::move(versions.front()));
        versions.erase(versions.begin());
    }
    while (old_versions.size() > old_version_count) {
        old_versions.erase(old_versions.begin());
    }
}

void layout_history::cleanup_old_versions()
{
    // Invalid versions before a valid current one are dropped.
    if (versions.size() > 1 && current().check()) {
        while (versions.size() > 1 && !versions.front().check()) {
            versions.erase(versions.begin());
        }
    }
    // Versions every node of the current version has seen synchronised everywhere retire.
    auto const& current_nodes = current().node_ids;
    auto const sync_ack_min = trackers.sync_ack.min_among(current_nodes, min_stored());
    while (versions.size() > 1 && min_stored() < sync_ack_min) {
        old_versions.push_back(std::move(versions.front()));
        versions.erase(versions.begin());
    }
    while (old_versions.size() > old_version_count) {
        old_versions.erase(old_versions.begin());
    }
}

void layout_history::clamp_update_trackers(std::span<util::node_id const> nodes)
{
    auto const min_v = min_stored();
    for (auto const& n : nodes) {
        trackers.ack.set_max(n, min_v);
        trackers.sync.set_max(n, min_v);
        trackers.sync_ack.set_max(n, min_v);
    }
}

std::uint64_t layout_history::sync_map_min_with_quorum(std::size_t write_quorum,
                                                       std::span<util::node_id const> all_storage_nodes) const
{
    if (versions.size() == 1) {
        return current().version;
    }
    auto const min_v = min_stored();
    auto const global_min = trackers.sync.min_among(all_storage_nodes, min_v);
    if (write_quorum >= current().replication_factor) {
        // No write succeeds without every node: wait for all of them.
        return global_min;
    }
    auto current_min = current().version;
    std::set<std::vector<util::node_id>> done;
    for (std::size_t p = 0; p < partition_count; ++p) {
        for (auto const& v : versions) {
            if (v.version == current().version) {
                continue; // the current version holds what was written to it
            }
            auto set = v.nodes_of(static_cast<partition_id>(p));
            if (set.empty()) {
                continue;
            }
            std::sort(set.begin(), set.end());
            if (!done.insert(set).second) {
                continue;
            }
            std::vector<std::uint64_t> values;
            for (auto const& n : set) {
                values.push_back(trackers.sync.get(n, min_v));
            }
            std::sort(values.begin(), values.end());
            auto const q = std::min(write_quorum, values.size());
            // The highest version that a write quorum of this set has synchronised.
            auto const set_min = values[values.size() - q];
            current_min = std::min(current_min, set_min);
            if (current_min <= global_min) {
                return global_min;
            }
        }
    }
    return current_min;
}

} // namespace garage::layout
