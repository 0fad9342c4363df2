#include <garage/layout/system.hpp>

#include <garage/layout/error.hpp>
#include <garage/rpc/endpoint.hpp>
#include <garage/util/persister.hpp>
#include <garage/util/time.hpp>
#include <garage/util/worker.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <spdlog/spdlog.h>

#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>

namespace garage::layout {
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

std::string short_id(util::node_id const& id)
{
    return id.to_hex().substr(0, 16);
}

/// One entry of `<metadata_dir>/peer_list`.
struct peer_list_entry {
    util::node_id id;
    std::string ip;
    std::uint16_t port = 0;

    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(id, ip, port);
    }
};

/// The content of `<metadata_dir>/peer_list`: a format number, then the entries.
struct peer_list_file {
    std::vector<peer_list_entry> peers;

    template <class Archive>
    void serialize(Archive& ar)
    {
        std::uint32_t format = 1;
        ar(format);
        if (format != 1) {
            throw cereal::Exception("unknown peer_list format " + std::to_string(format));
        }
        ar(peers);
    }
};

std::optional<disk_space> statvfs_of(std::filesystem::path const& p, unsigned long* fsid = nullptr)
{
    struct statvfs s {};
    if (p.empty() || ::statvfs(p.c_str(), &s) != 0) {
        return std::nullopt;
    }
    if (fsid != nullptr) {
        *fsid = s.f_fsid;
    }
    return disk_space{static_cast<std::uint64_t>(s.f_bavail) * s.f_frsize,
                      static_cast<std::uint64_t>(s.f_blocks) * s.f_frsize};
}

std::string host_name()
{
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) {
        return "unknown";
    }
    return buf;
}

} // namespace

std::string_view to_string(health_status s) noexcept
{
    switch (s) {
    case health_status::healthy:
        return "healthy";
    case health_status::degraded:
        return "degraded";
    case health_status::unavailable:
        break;
    }
    return "unavailable";
}

system_options system_options::from_config(util::config const& config)
{
    system_options o;
    o.metadata_dir = config.metadata_dir;
    for (auto const& d : config.data_dir) {
        o.data_dirs.push_back(d.path);
    }
    o.bootstrap_peers = config.bootstrap_peers;
    o.rpc_timeout = std::min(config.rpc_timeout_msec, o.rpc_timeout);
    return o;
}

struct system::state : std::enable_shared_from_this<state> {
    state(rpc::network& n, rpc::peering& p, layout_manager& l, system_options o)
        : net(n), peering(p), layout(l), opts(std::move(o)), self(n.id()),
          peer_list(opts.metadata_dir / "peer_list"), hostname(opts.hostname.value_or(host_name())),
          status_wake(n.get_executor()), discovery_wake(n.get_executor())
    {
    }

    rpc::network& net;
    rpc::peering& peering;
    layout_manager& layout;
    system_options opts;
    util::node_id self;
    util::persister<peer_list_file> peer_list;
    std::string hostname;
    std::vector<rpc::node_address> bootstrap;

    mutable std::mutex mutex;
    std::map<util::node_id, std::pair<std::uint64_t, node_status>> statuses; // at_msec, status
    mutable std::mutex peer_list_mutex; // serialises saves of the peer list

    std::atomic<bool> stopped{false};
    util::async_notify status_wake;
    util::async_notify discovery_wake;

    rpc::call_options call_opts() const { return {rpc::priority::high, opts.rpc_timeout}; }

    node_status local_status() const
    {
        node_status s;
        s.hostname = hostname;
        s.replication_factor = layout.replication_factor();
        s.digest = layout.snapshot()->digest();
        s.metadata_disk = statvfs_of(opts.metadata_dir);
        std::set<unsigned long> seen;
        for (auto const& d : opts.data_dirs) {
            unsigned long fsid = 0;
            if (auto space = statvfs_of(d, &fsid); space && seen.insert(fsid).second) {
                if (!s.data_disk) {
                    s.data_disk = disk_space{};
                }
                s.data_disk->available += space->available;
                s.data_disk->total += space->total;
            }
        }
        return s;
    }

    util::result<void> handle_status(util::node_id const& from, node_status const& status)
    {
        if (status.replication_factor != layout.replication_factor()) {
            auto msg = "node " + short_id(from) + " (" + status.hostname + ") has replication factor " +
                       std::to_string(status.replication_factor) + ", this node " +
                       std::to_string(layout.replication_factor()) +
                       ": every node of a cluster must have the same replication factor";
            spdlog::error("system: {}", msg);
            return util::failure(error::invalid_parameter, std::move(msg));
        }
        spdlog::debug("system: status of node {} ({}), layout version {}", short_id(from), status.hostname,
                      status.digest.current_version);
        {
            std::lock_guard lock(mutex);
            statuses[from] = {util::now_msec(), status};
        }
        layout.on_peer_digest(from, status.digest);
        return {};
    }

    static net::awaitable<util::result<empty_message>> serve_status(std::shared_ptr<state> st,
                                                                    util::node_id from, node_status status)
    {
        auto r = st->handle_status(from, status);
        if (!r) {
            co_return r.error();
        }
        co_return empty_message{};
    }

    static net::awaitable<util::result<known_nodes_message>> serve_known_nodes(std::shared_ptr<state> st)
    {
        known_nodes_message out;
        out.nodes = known_nodes(*st);
        co_return out;
    }

    static std::vector<known_node> known_nodes(state const& st);

    static net::awaitable<util::result<empty_message>> serve_connect(std::shared_ptr<state> st,
                                                                     connect_request req)
    {
        auto r = co_await connect(st, std::move(req.node));
        if (!r) {
            co_return r.error();
        }
        co_return empty_message{};
    }

    /// Resolves a host name or IP literal.
    static net::awaitable<util::result<std::vector<tcp::endpoint>>>
    resolve(std::shared_ptr<state> st, std::string host, std::uint16_t port)
    {
        tcp::resolver resolver(st->net.get_executor());
        auto [ec, results] = co_await resolver.async_resolve(
            host, std::to_string(port), tcp::resolver::numeric_service, net::as_tuple(net::use_awaitable));
        if (ec) {
            co_return util::failure(util::error::io_error,
                                    "Unable to resolve \"" + host + "\": " + ec.message());
        }
        std::vector<tcp::endpoint> out;
        for (auto const& e : results) {
            if (std::find(out.begin(), out.end(), e.endpoint()) == out.end()) {
                out.push_back(e.endpoint());
            }
        }
        if (out.empty()) {
            co_return util::failure(util::error::io_error, "Unable to resolve \"" + host + "\": no address");
        }
        co_return out;
    }

    /// Connects to one of `addresses` of `id`; on success peering keeps the node connected.
    static net::awaitable<util::result<util::node_id>> connect_to(std::shared_ptr<state> st, util::node_id id,
                                                                  std::vector<tcp::endpoint> addresses)
    {
        std::string errors;
        util::error_code last;
        for (auto const& ep : addresses) {
            auto r = co_await st->net.connect(ep, id);
            if (r) {
                st->peering.add_peer(id, ep);
                co_return id;
            }
            last = r.error().code;
            errors += (errors.empty() ? "" : "; ") + ep.address().to_string() + ":" +
                      std::to_string(ep.port()) + ": " + r.error().message;
        }
        co_return util::failure(last, "Could not connect to node " + short_id(id) + " (" + errors + ")");
    }

    static net::awaitable<util::result<util::node_id>> connect(std::shared_ptr<state> st, std::string spec)
    {
        auto address = rpc::node_address::parse(spec);
        if (!address) {
            co_return util::failure(address.error().code,
                                    "Unable to parse node specification: " + address.error().message);
        }
        if (address->id == st->self) {
            co_return st->self;
        }
        auto endpoints = co_await resolve(st, address->host, address->port);
        if (!endpoints) {
            co_return endpoints.error();
        }
        co_return co_await connect_to(st, address->id, std::move(*endpoints));
    }

    std::size_t up_count() const
    {
        std::size_t n = 1; // this node
        for (auto const& p : peering.peers()) {
            n += p.up ? 1 : 0;
        }
        return n;
    }

    static net::awaitable<bool> discover(std::shared_ptr<state> st)
    {
        auto const snap = st->layout.snapshot();
        auto const connected = st->up_count();
        bool const not_configured = !snap->is_check_ok();
        bool const no_peers = connected < st->layout.replication_factor();
        bool const bad_peers = connected != snap->all_nodes().size();
        bool attempted = false;
        if (not_configured || no_peers || bad_peers) {
            spdlog::info("system: doing a discovery step (not configured: {}, too few peers: {}, unexpected "
                         "peers: {})",
                         not_configured, no_peers, bad_peers);
            attempted = true;
            for (auto const& b : st->bootstrap) {
                if (b.id == st->self || st->net.is_connected(b.id)) {
                    continue;
                }
                auto eps = co_await resolve(st, b.host, b.port);
                if (!eps) {
                    spdlog::warn("system: bootstrap peer {}: {}", b.to_string(), eps.error().message);
                    continue;
                }
                if (auto r = co_await connect_to(st, b.id, std::move(*eps)); !r) {
                    spdlog::warn("system: bootstrap peer {}: {}", b.to_string(), r.error().message);
                }
            }
            auto saved = st->peer_list.load();
            if (saved && *saved) {
                for (auto const& e : (*saved)->peers) {
                    util::error_code ec;
                    auto ip = net::ip::make_address(e.ip, ec);
                    if (ec || e.id == st->self || st->net.is_connected(e.id)) {
                        continue;
                    }
                    tcp::endpoint const ep(ip, e.port);
                    st->peering.add_peer(e.id, ep);
                    std::vector<tcp::endpoint> one{ep}; // named: no braced list inside co_await (g++ 12)
                    if (auto r = co_await connect_to(st, e.id, std::move(one)); !r) {
                        spdlog::info("system: saved peer {}: {}", short_id(e.id), r.error().message);
                    }
                }
            }
        }
        if (auto r = st->save_peer_list(); !r) {
            spdlog::warn("system: cannot save the peer list: {}", r.error().message);
        }
        co_return attempted;
    }

    util::result<void> save_peer_list() const
    {
        std::lock_guard lock(peer_list_mutex);
        std::map<util::node_id, peer_list_entry> entries;
        for (auto const& p : peering.peers()) {
            if (p.up && p.address) {
                entries[p.id] = {p.id, p.address->address().to_string(), p.address->port()};
            }
        }
        if (auto prev = peer_list.load(); prev && *prev) {
            for (auto const& e : (*prev)->peers) {
                entries.emplace(e.id, e);
            }
        }
        peer_list_file file;
        for (auto& [id, e] : entries) {
            file.peers.push_back(std::move(e));
        }
        return peer_list.save(file);
    }

    static net::awaitable<void> advertise_status(std::shared_ptr<state> st)
    {
        auto const status = st->local_status();
        for (auto const& peer : st->net.connected_peers()) {
            auto r = co_await rpc::call<advertise_status_endpoint>(st->net, peer, status, st->call_opts());
            if (!r && r.error().code != rpc::error::shutting_down) {
                spdlog::warn("system: advertising our status to node {} failed: {}", short_id(peer),
                             r.error().message);
            }
        }
    }

    static net::awaitable<void> status_loop(std::shared_ptr<state> st)
    {
        while (!st->stopped.load()) {
            co_await advertise_status(st);
            try {
                co_await st->status_wake.wait_for(st->opts.status_interval);
            } catch (std::exception const&) {
                break;
            }
        }
    }

    static net::awaitable<void> discovery_loop(std::shared_ptr<state> st)
    {
        while (!st->stopped.load()) {
            co_await discover(st);
            try {
                co_await st->discovery_wake.wait_for(st->opts.discovery_interval);
            } catch (std::exception const&) {
                break;
            }
        }
    }
};

util::result<std::unique_ptr<system>> system::open(rpc::network& net, rpc::peering& peering,
                                                   layout_manager& layout, system_options options)
{
    std::vector<rpc::node_address> bootstrap;
    for (auto const& text : options.bootstrap_peers) {
        auto a = rpc::node_address::parse(text);
        if (!a) {
            return util::failure(a.error().code,
                                 "bootstrap_peers: invalid entry \"" + text +
                                     "\" (expected <hex node id>@<host>:<port>): " + a.error().message);
        }
        bootstrap.push_back(std::move(*a));
    }
    auto st = std::make_shared<state>(net, peering, layout, std::move(options));
    st->bootstrap = std::move(bootstrap);
    auto saved = st->peer_list.load();
    if (!saved) {
        spdlog::warn("system: ignoring the saved peer list: {}", saved.error().message);
    } else if (*saved) {
        for (auto const& e : (*saved)->peers) {
            util::error_code ec;
            auto ip = net::ip::make_address(e.ip, ec);
            if (!ec && e.port != 0) {
                peering.add_peer(e.id, tcp::endpoint(ip, e.port));
            }
        }
    }
    // Plain lambdas returning the coroutines of `state`: the frames own the state, not the
    // handler closures.
    rpc::serve<advertise_status_endpoint>(
        net, [st](util::node_id from, node_status s) { return state::serve_status(st, from, std::move(s)); });
    rpc::serve<connect_endpoint>(
        net, [st](util::node_id, connect_request req) { return state::serve_connect(st, std::move(req)); });
    rpc::serve<get_known_nodes_endpoint>(
        net, [st](util::node_id, empty_message) { return state::serve_known_nodes(st); });
    return std::unique_ptr<system>(new system(std::move(st)));
}

system::system(std::shared_ptr<state> st) : state_(std::move(st)) {}

system::~system()
{
    stop();
    state_->net.remove_handler(advertise_status_endpoint::path);
    state_->net.remove_handler(connect_endpoint::path);
    state_->net.remove_handler(get_known_nodes_endpoint::path);
}

node_status system::local_status() const
{
    return state_->local_status();
}

std::vector<known_node> system::known_nodes() const
{
    return state::known_nodes(*state_);
}

std::vector<known_node> system::state::known_nodes(state const& st)
{
    auto const now = util::now_msec();
    std::vector<known_node> out;
    known_node me;
    me.id = st.self;
    me.is_self = true;
    me.up = true;
    me.last_seen_secs_ago = 0;
    me.status = st.local_status();
    out.push_back(std::move(me));
    std::map<util::node_id, std::pair<std::uint64_t, node_status>> statuses;
    {
        std::lock_guard lock(st.mutex);
        statuses = st.statuses;
    }
    std::set<util::node_id> listed{st.self};
    for (auto const& p : st.peering.peers()) {
        known_node k;
        k.id = p.id;
        k.address = p.address;
        k.up = p.up;
        if (p.last_seen_msec > 0) {
            k.last_seen_secs_ago = (now > p.last_seen_msec ? now - p.last_seen_msec : 0) / 1000;
        }
        if (auto it = statuses.find(p.id); it != statuses.end()) {
            k.status = it->second.second;
        }
        listed.insert(p.id);
        out.push_back(std::move(k));
    }
    for (auto const& [id, s] : statuses) {
        if (listed.insert(id).second) {
            known_node k;
            k.id = id;
            k.up = st.net.is_connected(id);
            k.last_seen_secs_ago = (now > s.first ? now - s.first : 0) / 1000;
            k.status = s.second;
            out.push_back(std::move(k));
        }
    }
    return out;
}

cluster_health system::health() const
{
    auto const snap = state_->layout.snapshot();
    auto const quorum = write_quorum(state_->layout.replication_factor(), util::consistency_mode::consistent);
    auto const nodes = known_nodes();
    std::set<util::node_id> up;
    for (auto const& n : nodes) {
        if (n.up) {
            up.insert(n.id);
        }
    }
    auto const is_up = [&](util::node_id const& id) { return up.contains(id); };

    cluster_health h;
    h.known_nodes = nodes.size();
    h.connected_nodes = up.size();
    auto const& storage = snap->all_storage_nodes();
    h.storage_nodes = storage.size();
    h.storage_nodes_ok = static_cast<std::size_t>(std::count_if(storage.begin(), storage.end(), is_up));
    h.partitions = partition_count;
    for (std::size_t p = 0; p < partition_count; ++p) {
        bool has_quorum = true;
        bool all_ok = true;
        for (auto const& v : snap->versions()) {
            auto const set = v.nodes_of(static_cast<partition_id>(p));
            auto const ok = static_cast<std::size_t>(std::count_if(set.begin(), set.end(), is_up));
            has_quorum = has_quorum && ok >= quorum;
            all_ok = all_ok && ok == set.size() && !set.empty();
        }
        h.partitions_quorum += has_quorum ? 1 : 0;
        h.partitions_all_ok += all_ok ? 1 : 0;
    }
    if (h.partitions_all_ok == h.partitions && h.storage_nodes_ok == h.storage_nodes) {
        h.status = health_status::healthy;
    } else if (h.partitions_quorum == h.partitions) {
        h.status = health_status::degraded;
    } else {
        h.status = health_status::unavailable;
    }
    return h;
}

std::vector<rpc::node_address> const& system::bootstrap_peers() const noexcept
{
    return state_->bootstrap;
}

net::awaitable<void> system::advertise_status()
{
    return state::advertise_status(state_);
}

net::awaitable<bool> system::discover()
{
    return state::discover(state_);
}

net::awaitable<util::result<util::node_id>> system::connect(std::string node)
{
    return state::connect(state_, std::move(node));
}

util::result<void> system::save_peer_list() const
{
    return state_->save_peer_list();
}

net::awaitable<void> system::run()
{
    auto st = state_;
    net::co_spawn(st->net.get_executor(), state::discovery_loop(st), net::detached);
    co_await state::status_loop(st);
}

void system::stop()
{
    state_->stopped.store(true);
    state_->status_wake.notify();
    state_->discovery_wake.notify();
}

} // namespace garage::layout
