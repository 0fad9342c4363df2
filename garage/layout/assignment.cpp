#include <garage/layout/assignment.hpp>

#include <garage/layout/error.hpp>
#include <garage/layout/role.hpp>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/push_relabel_max_flow.hpp>

#include <algorithm>
#include <functional>
#include <limits>
#include <queue>
#include <string>
#include <utility>

namespace garage::layout {
namespace {

using traits = boost::adjacency_list_traits<boost::vecS, boost::vecS, boost::directedS>;
using vertex = traits::vertex_descriptor;
using edge = traits::edge_descriptor;

/// One arc of the flow graph (forward arcs and their zero-capacity reverse arcs alike).
struct arc {
    long capacity = 0;
    long residual = 0;
    edge reverse;
    long cost = 0; ///< per unit of flow; the reverse arc has the opposite cost
};

using graph_type = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, boost::no_property, arc>;

/** The flow graph of one problem; its structure is fixed, capacities change per run.

    Vertices: source, sink, then per partition p: up(p), down(p), pz(p, z) for each zone,
    then one vertex per node.
*/
class flow_graph {
public:
    explicit flow_graph(assignment_problem const& pb)
        : pb_(pb), zones_(pb.zone_count), nodes_(pb.nodes.size()),
          g_(2 + partition_count * (2 + zones_) + nodes_)
    {
        auto const rf = static_cast<long>(pb.replication_factor);
        auto const red = static_cast<long>(pb.zone_redundancy);
        node_arcs_.resize(partition_count);
        for (std::size_t p = 0; p < partition_count; ++p) {
            add_arc(source(), up(p), red, 0);
            add_arc(source(), down(p), rf - red, 0);
            for (std::size_t z = 0; z < zones_; ++z) {
                add_arc(up(p), pz(p, z), 1, 0);
                add_arc(down(p), pz(p, z), rf, 0);
            }
            for (std::size_t n = 0; n < nodes_; ++n) {
                node_arcs_[p].push_back(add_arc(pz(p, pb.nodes[n].zone), node(n), 1, 0));
            }
        }
        for (std::size_t n = 0; n < nodes_; ++n) {
            sink_arcs_.push_back(add_arc(node(n), sink(), 0, 0));
        }
    }

    /// The flow every valid assignment carries: 256 × rf.
    long required_flow() const noexcept
    {
        return static_cast<long>(partition_count * pb_.replication_factor);
    }

    /// Sets node → sink capacities for a partition size.
    void set_partition_size(std::uint64_t size)
    {
        for (std::size_t n = 0; n < nodes_; ++n) {
            auto const parts = std::min<std::uint64_t>(pb_.nodes[n].capacity / size, partition_count);
            g_[sink_arcs_[n]].capacity = static_cast<long>(parts);
        }
    }

    /// Restricts (or not) the (partition, node) arcs to the pairs of the previous assignment.
    void restrict_to_previous(bool restrict)
    {
        for (std::size_t p = 0; p < partition_count; ++p) {
            for (std::size_t n = 0; n < nodes_; ++n) {
                bool const kept = was_there(p, n);
                g_[node_arcs_[p][n]].capacity = (!restrict || kept) ? 1 : 0;
            }
        }
    }

    /// Sets the costs: 0 to keep a previous (partition, node) pair, 1 for a new one.
    void set_move_costs()
    {
        for (std::size_t p = 0; p < partition_count; ++p) {
            for (std::size_t n = 0; n < nodes_; ++n) {
                long const c = was_there(p, n) ? 0 : 1;
                auto const e = node_arcs_[p][n];
                g_[e].cost = c;
                g_[g_[e].reverse].cost = -c;
            }
        }
    }

    /// A maximum flow from scratch (Boost.Graph push-relabel). @return Its value.
    long max_flow()
    {
        return boost::push_relabel_max_flow(g_, source(), sink(), get(&arc::capacity, g_),
                                            get(&arc::residual, g_), get(&arc::reverse, g_),
                                            get(boost::vertex_index, g_));
    }

    /** Lifts the restriction to previous pairs while keeping the current flow: the arcs that
        had capacity 0 get capacity 1 and residual 1. */
    void unrestrict_keeping_flow()
    {
        for (std::size_t p = 0; p < partition_count; ++p) {
            for (std::size_t n = 0; n < nodes_; ++n) {
                auto& a = g_[node_arcs_[p][n]];
                if (a.capacity == 0) {
                    a.capacity = 1;
                    a.residual = 1;
                }
            }
        }
    }

    /** Raises the flow from `value` to the maximum along successive shortest paths (by cost)
        of the residual graph, which keeps the flow of minimum cost when it starts so.
        @param value The value of the current flow, which must be of minimum cost.
        @return The value reached. */
    long augment_min_cost(long value)
    {
        auto const nv = num_vertices(g_);
        constexpr long inf = std::numeric_limits<long>::max() / 4;
        std::vector<long> potential(nv, 0);
        std::vector<long> dist(nv);
        std::vector<edge> pred(nv);
        std::vector<char> has_pred(nv);
        using item = std::pair<long, vertex>;
        while (value < required_flow()) {
            std::fill(dist.begin(), dist.end(), inf);
            std::fill(has_pred.begin(), has_pred.end(), 0);
            std::priority_queue<item, std::vector<item>, std::greater<>> queue;
            dist[source()] = 0;
            queue.emplace(0, source());
            while (!queue.empty()) {
                auto const [d, u] = queue.top();
                queue.pop();
                if (d != dist[u]) {
                    continue;
                }
                for (auto [it, end] = out_edges(u, g_); it != end; ++it) {
                    auto const& a = g_[*it];
                    if (a.residual <= 0) {
                        continue;
                    }
                    auto const v = target(*it, g_);
                    long const nd = d + a.cost + potential[u] - potential[v];
                    if (nd < dist[v]) {
                        dist[v] = nd;
                        pred[v] = *it;
                        has_pred[v] = 1;
                        queue.emplace(nd, v);
                    }
                }
            }
            if (dist[sink()] >= inf) {
                break;
            }
            long const cap = dist[sink()];
            for (std::size_t v = 0; v < nv; ++v) {
                potential[v] += std::min(dist[v], cap);
            }
            long bottleneck = required_flow() - value;
            for (vertex v = sink(); v != source(); v = boost::source(pred[v], g_)) {
                bottleneck = std::min(bottleneck, g_[pred[v]].residual);
            }
            for (vertex v = sink(); v != source(); v = boost::source(pred[v], g_)) {
                auto& a = g_[pred[v]];
                a.residual -= bottleneck;
                g_[a.reverse].residual += bottleneck;
            }
            value += bottleneck;
        }
        return value;
    }

    /// @return The nodes of each partition in the current flow, by node index.
    std::vector<std::vector<std::size_t>> extract() const
    {
        std::vector<std::vector<std::size_t>> out(partition_count);
        for (std::size_t p = 0; p < partition_count; ++p) {
            for (std::size_t n = 0; n < nodes_; ++n) {
                auto const& a = g_[node_arcs_[p][n]];
                if (a.capacity - a.residual > 0) {
                    out[p].push_back(n);
                }
            }
        }
        return out;
    }

private:
    bool was_there(std::size_t p, std::size_t n) const
    {
        if (pb_.previous.empty()) {
            return false;
        }
        auto const& prev = pb_.previous[p];
        return std::find(prev.begin(), prev.end(), n) != prev.end();
    }

    static constexpr vertex source() noexcept { return 0; }
    static constexpr vertex sink() noexcept { return 1; }
    vertex up(std::size_t p) const noexcept { return 2 + p * (2 + zones_); }
    vertex down(std::size_t p) const noexcept { return 3 + p * (2 + zones_); }
    vertex pz(std::size_t p, std::size_t z) const noexcept { return 4 + p * (2 + zones_) + z; }
    vertex node(std::size_t n) const noexcept { return 2 + partition_count * (2 + zones_) + n; }

    edge add_arc(vertex u, vertex v, long capacity, long cost)
    {
        auto const fwd = add_edge(u, v, g_).first;
        auto const rev = add_edge(v, u, g_).first;
        g_[fwd].capacity = capacity;
        g_[fwd].reverse = rev;
        g_[fwd].cost = cost;
        g_[rev].capacity = 0;
        g_[rev].reverse = fwd;
        g_[rev].cost = -cost;
        return fwd;
    }

    assignment_problem const& pb_;
    std::size_t zones_;
    std::size_t nodes_;
    graph_type g_;
    std::vector<std::vector<edge>> node_arcs_; ///< [partition][node]: pz(p, zone(n)) → node(n)
    std::vector<edge> sink_arcs_;              ///< [node]: node(n) → sink
};

std::uint64_t total_capacity(assignment_problem const& pb)
{
    std::uint64_t total = 0;
    for (auto const& n : pb.nodes) {
        total = (total > std::numeric_limits<std::uint64_t>::max() - n.capacity)
                    ? std::numeric_limits<std::uint64_t>::max()
                    : total + n.capacity;
    }
    return total;
}

util::result<std::uint64_t> optimal_size(assignment_problem const& pb, flow_graph& g)
{
    g.restrict_to_previous(false);
    g.set_partition_size(1);
    if (g.max_flow() < g.required_flow()) {
        return util::failure(error::insufficient_capacity,
                             "The storage capacity of the cluster is too small. It is impossible to store "
                             "partitions of size 1.");
    }
    // Invariant: lo is feasible, hi is not (hi × 256 × rf exceeds the total capacity).
    std::uint64_t lo = 1;
    std::uint64_t hi = total_capacity(pb) / (partition_count * pb.replication_factor) + 1;
    while (lo + 1 < hi) {
        auto const mid = lo + (hi - lo) / 2;
        g.set_partition_size(mid);
        if (g.max_flow() >= g.required_flow()) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

} // namespace

util::result<void> validate(assignment_problem const& pb)
{
    if (pb.replication_factor == 0) {
        return util::failure(error::invalid_parameter, "The replication factor must be at least 1.");
    }
    if (pb.nodes.size() > max_storage_nodes) {
        return util::failure(error::too_many_nodes,
                             "There are more than " + std::to_string(max_storage_nodes) +
                                 " non-gateway nodes in the new layout. This is not allowed.");
    }
    if (pb.nodes.size() < pb.replication_factor) {
        return util::failure(error::too_few_nodes, "The number of nodes with positive capacity (" +
                                                       std::to_string(pb.nodes.size()) +
                                                       ") is smaller than the replication factor (" +
                                                       std::to_string(pb.replication_factor) + ").");
    }
    if (pb.zone_redundancy == 0 || pb.zone_redundancy > pb.replication_factor) {
        return util::failure(error::invalid_parameter,
                             "The zone redundancy (" + std::to_string(pb.zone_redundancy) +
                                 ") must be between 1 and the replication factor (" +
                                 std::to_string(pb.replication_factor) + ").");
    }
    if (pb.zone_count < pb.zone_redundancy) {
        return util::failure(error::too_few_zones, "The number of zones with non-gateway nodes (" +
                                                       std::to_string(pb.zone_count) +
                                                       ") is smaller than the redundancy parameter (" +
                                                       std::to_string(pb.zone_redundancy) + ")");
    }
    std::vector<char> zone_used(pb.zone_count, 0);
    for (auto const& n : pb.nodes) {
        if (n.capacity == 0) {
            return util::failure(error::invalid_role, "Invalid capacity value: 0");
        }
        if (n.zone >= pb.zone_count) {
            return util::failure(error::invalid_parameter, "a node's zone index is out of range");
        }
        zone_used[n.zone] = 1;
    }
    if (std::find(zone_used.begin(), zone_used.end(), 0) != zone_used.end()) {
        return util::failure(error::invalid_parameter, "a zone has no storage node");
    }
    if (!pb.previous.empty()) {
        if (pb.previous.size() != partition_count) {
            return util::failure(error::invalid_parameter,
                                 "the previous assignment does not have 256 partitions");
        }
        for (auto const& p : pb.previous) {
            for (auto n : p) {
                if (n >= pb.nodes.size()) {
                    return util::failure(error::invalid_parameter,
                                         "the previous assignment names a node index out of range");
                }
            }
        }
    }
    return {};
}

bool partition_size_feasible(assignment_problem const& pb, std::uint64_t partition_size)
{
    if (partition_size == 0 || !validate(pb)) {
        return false;
    }
    flow_graph g(pb);
    g.restrict_to_previous(false);
    g.set_partition_size(partition_size);
    return g.max_flow() >= g.required_flow();
}

util::result<std::uint64_t> optimal_partition_size(assignment_problem const& pb)
{
    if (auto v = validate(pb); !v) {
        return v.error();
    }
    flow_graph g(pb);
    return optimal_size(pb, g);
}

util::result<assignment> compute_assignment(assignment_problem const& pb)
{
    if (auto v = validate(pb); !v) {
        return v.error();
    }
    flow_graph g(pb);
    auto size = optimal_size(pb, g);
    if (!size) {
        return size.error();
    }
    g.set_partition_size(*size);
    long value = 0;
    if (pb.previous.empty()) {
        g.restrict_to_previous(false);
        value = g.max_flow();
    } else {
        // A flow over previous pairs only costs 0, the minimum for its value; augmenting it
        // along cheapest paths keeps it of minimum cost up to the maximum.
        g.set_move_costs();
        g.restrict_to_previous(true);
        value = g.max_flow();
        g.unrestrict_keeping_flow();
        value = g.augment_min_cost(value);
    }
    if (value < g.required_flow()) {
        return util::failure(error::insufficient_capacity,
                             "the flow at the optimal partition size is not complete (internal error)");
    }

    assignment out;
    out.partition_size = *size;
    auto raw = g.extract();
    out.partitions.resize(partition_count);
    for (std::size_t p = 0; p < partition_count; ++p) {
        auto& dst = out.partitions[p];
        if (!pb.previous.empty()) {
            for (auto n : pb.previous[p]) {
                if (std::find(raw[p].begin(), raw[p].end(), n) != raw[p].end() &&
                    std::find(dst.begin(), dst.end(), n) == dst.end()) {
                    dst.push_back(n);
                }
            }
        }
        auto const kept = dst.size();
        for (auto n : raw[p]) {
            if (std::find(dst.begin(), dst.begin() + static_cast<std::ptrdiff_t>(kept), n) ==
                dst.begin() + static_cast<std::ptrdiff_t>(kept)) {
                dst.push_back(n);
            }
        }
        out.moves += dst.size() - kept;
    }
    return out;
}

} // namespace garage::layout
