#include <garage/rpc/peering.hpp>

#include <garage/util/when_all.hpp>

#include <garage/rpc/endpoint.hpp>
#include <garage/util/hasher.hpp>
#include <garage/util/time.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>

namespace garage::rpc {
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

struct ping_message {
    std::uint64_t sent_msec = 0;
    util::hash32 peer_list_hash;
    template <class Archive>
    void serialize(Archive& ar, std::uint32_t const /*version*/)
    {
        ar(sent_msec, peer_list_hash);
    }
};

struct peer_entry {
    util::node_id id;
    std::string ip;
    std::uint16_t port = 0;
    template <class Archive>
    void serialize(Archive& ar, std::uint32_t const /*version*/)
    {
        ar(id, ip, port);
    }
};

struct peer_list_message {
    std::vector<peer_entry> peers;
    template <class Archive>
    void serialize(Archive& ar, std::uint32_t const /*version*/)
    {
        ar(peers);
    }
};

struct ping_endpoint {
    static constexpr std::string_view path = "garage_net/peering.rs/Ping";
    using request_type = ping_message;
    using response_type = ping_message;
};

struct peer_list_endpoint {
    static constexpr std::string_view path = "garage_net/peering.rs/PeerList";
    using request_type = peer_list_message;
    using response_type = peer_list_message;
};

struct peer_record {
    peer_info info;
    std::chrono::steady_clock::time_point next_attempt{};
};

} // namespace

struct peering::state {
    util::node_id self;
    peering_options opts;
    rpc_helper* helper = nullptr;
    mutable std::mutex mutex;
    std::map<util::node_id, peer_record> peers;
    std::atomic<bool> stopped{false};

    void add(util::node_id const& id, tcp::endpoint const& address)
    {
        if (id == self) {
            return;
        }
        std::lock_guard lock(mutex);
        auto& rec = peers[id];
        rec.info.id = id;
        if (rec.info.address != address || rec.info.abandoned) {
            rec.info.address = address;
            rec.info.abandoned = false;
            rec.info.connect_failures = 0;
            rec.next_attempt = {};
        }
    }

    peer_list_message list() const
    {
        peer_list_message m;
        std::lock_guard lock(mutex);
        if (opts.public_address) {
            m.peers.push_back(
                {self, opts.public_address->address().to_string(), opts.public_address->port()});
        }
        for (auto const& [id, rec] : peers) {
            if (rec.info.address && !rec.info.abandoned) {
                m.peers.push_back({id, rec.info.address->address().to_string(), rec.info.address->port()});
            }
        }
        return m; // ordered by node id (self first when announced; std::map order otherwise)
    }

    util::hash32 hash() const
    {
        auto m = list();
        std::sort(m.peers.begin(), m.peers.end(), [](auto const& a, auto const& b) { return a.id < b.id; });
        std::string bytes;
        for (auto const& p : m.peers) {
            bytes.append(p.id.view());
            bytes.append(p.ip);
            bytes.push_back(':');
            bytes.append(std::to_string(p.port));
            bytes.push_back('\n');
        }
        return util::sha256sum(bytes);
    }

    void merge(peer_list_message const& m)
    {
        for (auto const& p : m.peers) {
            util::error_code ec;
            auto ip = net::ip::make_address(p.ip, ec);
            if (ec || p.port == 0 || p.id == self) {
                continue;
            }
            bool known = false;
            {
                std::lock_guard lock(mutex);
                auto it = peers.find(p.id);
                known = it != peers.end() && it->second.info.address;
            }
            if (!known) {
                add(p.id, tcp::endpoint(ip, p.port));
            }
        }
    }
};

peering::peering(network& net, rpc_helper* helper, peering_options options)
    : net_(net), state_(std::make_shared<state>())
{
    state_->self = net.id();
    state_->opts = std::move(options);
    state_->helper = helper;
    auto st = state_;
    serve<ping_endpoint>(
        net, [st](util::node_id, ping_message ping) -> net::awaitable<util::result<ping_message>> {
            ping.peer_list_hash = st->hash();
            co_return ping;
        });
    serve<peer_list_endpoint>(
        net,
        [st](util::node_id, peer_list_message theirs) -> net::awaitable<util::result<peer_list_message>> {
            st->merge(theirs);
            co_return st->list();
        });
}

peering::~peering()
{
    stop();
    net_.remove_handler(ping_endpoint::path);
    net_.remove_handler(peer_list_endpoint::path);
}

void peering::add_peer(util::node_id const& id, tcp::endpoint const& address)
{
    state_->add(id, address);
}

util::result<void> peering::add_peer(node_address const& address)
{
    util::error_code ec;
    auto ip = net::ip::make_address(address.host, ec);
    if (ec) {
        return util::failure(util::error::config_invalid_value,
                             "peer address \"" + address.host +
                                 "\" is not an IP address (DNS names are not supported yet)");
    }
    state_->add(address.id, tcp::endpoint(ip, address.port));
    return {};
}

std::vector<peer_info> peering::peers() const
{
    std::lock_guard lock(state_->mutex);
    std::vector<peer_info> out;
    out.reserve(state_->peers.size());
    for (auto const& [id, rec] : state_->peers) {
        out.push_back(rec.info);
    }
    return out;
}

util::hash32 peering::peer_list_hash() const
{
    return state_->hash();
}

net::awaitable<util::result<std::chrono::milliseconds>> peering::ping(util::node_id peer)
{
    auto st = state_;
    ping_message const msg{util::now_msec(), st->hash()};
    auto const start = std::chrono::steady_clock::now();
    call_options const options{priority::high, st->opts.ping_timeout};
    auto r = co_await call<ping_endpoint>(net_, peer, msg, options);
    auto const rtt =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    bool differs = false;
    {
        std::lock_guard lock(st->mutex);
        auto it = st->peers.find(peer);
        if (it != st->peers.end()) {
            auto& info = it->second.info;
            if (r) {
                info.up = true;
                info.failed_pings = 0;
                info.last_ping = rtt;
                info.last_seen_msec = util::now_msec();
            } else {
                ++info.failed_pings;
                if (info.failed_pings >= st->opts.failed_ping_threshold) {
                    info.up = false;
                }
            }
        }
    }
    if (!r) {
        co_return r.error();
    }
    if (st->helper != nullptr) {
        st->helper->record_ping(peer, rtt);
    }
    differs = r->peer_list_hash != st->hash();
    if (differs) {
        auto const ours = st->list();
        auto const theirs = co_await call<peer_list_endpoint>(net_, peer, ours, options);
        if (theirs) {
            st->merge(*theirs);
        }
    }
    co_return rtt;
}

net::awaitable<util::result<bool>> peering::visit(util::node_id id, std::optional<tcp::endpoint> address)
{
    auto st = state_;
    if (address) {
        auto r = co_await net_.connect(*address, id);
        std::lock_guard lock(st->mutex);
        auto& rec = st->peers[id];
        if (r) {
            rec.info.connect_failures = 0;
            rec.info.failed_pings = 0;
        } else {
            ++rec.info.connect_failures;
            rec.next_attempt = std::chrono::steady_clock::now() + st->opts.retry_interval;
            if (rec.info.connect_failures >= st->opts.max_retries) {
                rec.info.abandoned = true;
            }
            co_return false;
        }
    }
    auto r = co_await ping(id);
    if (!r) {
        bool down = false;
        {
            std::lock_guard lock(st->mutex);
            auto it = st->peers.find(id);
            down = it != st->peers.end() && !it->second.info.up;
        }
        if (down) {
            net_.disconnect(id); // reconnected by a later tick
        }
        co_return false;
    }
    co_return true;
}

net::awaitable<void> peering::tick()
{
    auto st = state_;
    auto const now = std::chrono::steady_clock::now();
    // Each node is visited concurrently: a node that does not answer (its ping or connection
    // waiting for the timeout) delays neither the others nor the next round.
    std::vector<net::awaitable<util::result<bool>>> visits;
    {
        std::lock_guard lock(st->mutex);
        for (auto& [id, rec] : st->peers) {
            if (net_.is_connected(id)) {
                visits.push_back(visit(id, std::nullopt));
            } else {
                rec.info.up = false;
                if (rec.info.address && !rec.info.abandoned && rec.next_attempt <= now) {
                    visits.push_back(visit(id, *rec.info.address));
                }
            }
        }
    }
    co_await util::when_all(std::move(visits));
    // Nodes that connected to us but that we did not know: learn them (without an address).
    for (auto const& id : net_.connected_peers()) {
        std::lock_guard lock(st->mutex);
        if (!st->peers.contains(id)) {
            st->peers[id].info.id = id;
        }
    }
}

net::awaitable<void> peering::run()
{
    auto st = state_;
    net::steady_timer timer(co_await net::this_coro::executor);
    while (!st->stopped.load()) {
        auto const start = std::chrono::steady_clock::now();
        co_await tick();
        timer.expires_at(start + st->opts.ping_interval); // a round every ping_interval
        auto [ec] = co_await timer.async_wait(net::as_tuple(net::use_awaitable));
        if (ec) {
            break;
        }
    }
}

void peering::stop()
{
    state_->stopped.store(true);
}

} // namespace garage::rpc
