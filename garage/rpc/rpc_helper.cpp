#include <garage/rpc/rpc_helper.hpp>

#include <garage/util/worker.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <set>

namespace garage::rpc {
namespace net = boost::asio;

namespace {

/// The shared state of one fan-out: answers arrive from the request coroutines, the caller
/// waits on `notify` and re-examines the counts.
struct fanout {
    explicit fanout(net::any_io_executor ex) : strand(net::make_strand(ex)), notify(ex) {}

    net::strand<net::any_io_executor> strand; // the requests run (and are cancelled) here
    std::mutex mutex;
    quorum_responses<raw_message> ok;
    std::vector<std::pair<util::node_id, util::failure>> failed;
    std::size_t in_flight = 0;
    std::vector<std::shared_ptr<net::cancellation_signal>> signals;
    util::async_notify notify;
    std::shared_ptr<void> hold; // request_strategy::hold_until_done: released with the last request
};

void launch(network& n, std::shared_ptr<fanout> const& st, util::node_id node, std::string const& path,
            raw_message request, call_options options)
{
    auto sig = std::make_shared<net::cancellation_signal>();
    {
        std::lock_guard lock(st->mutex);
        ++st->in_flight;
        st->signals.push_back(sig);
    }
    net::co_spawn(st->strand, n.call(node, path, std::move(request), options),
                  net::bind_cancellation_slot(
                      sig->slot(), [st, node, sig](std::exception_ptr e, util::result<raw_message> r) {
                          {
                              std::lock_guard lock(st->mutex);
                              --st->in_flight;
                              if (e) {
                                  st->failed.emplace_back(node,
                                                          util::failure(error::handler_failed, "exception"));
                              } else if (r) {
                                  st->ok.emplace_back(node, std::move(*r));
                              } else {
                                  st->failed.emplace_back(node, r.error());
                              }
                          }
                          st->notify.notify();
                      }));
}

void cancel_all(std::shared_ptr<fanout> const& st)
{
    net::post(st->strand, [st] {
        std::vector<std::shared_ptr<net::cancellation_signal>> sigs;
        {
            std::lock_guard lock(st->mutex);
            sigs = st->signals;
        }
        for (auto& s : sigs) {
            s->emit(net::cancellation_type::terminal);
        }
    });
}

util::failure quorum_failure(std::size_t quorum, std::size_t total, fanout& st)
{
    std::string msg = "quorum not reached: " + std::to_string(st.ok.size()) + " of " +
                      std::to_string(quorum) + " required successes (" + std::to_string(total) + " nodes)";
    for (auto const& [node, f] : st.failed) {
        msg += "; node " + node.to_hex().substr(0, 16) + ": " + f.message;
    }
    return util::failure(error::quorum_not_reached, std::move(msg));
}

} // namespace

rpc_helper::rpc_helper(network& net, zone_function zone_of) : net_(net), zone_of_(std::move(zone_of)) {}

void rpc_helper::record_ping(util::node_id const& node, std::chrono::milliseconds rtt)
{
    std::lock_guard lock(mutex_);
    auto const sample = static_cast<double>(rtt.count());
    auto [it, fresh] = ping_msec_.try_emplace(node, sample);
    if (!fresh) {
        it->second = 0.8 * it->second + 0.2 * sample;
    }
}

std::optional<std::chrono::milliseconds> rpc_helper::average_ping(util::node_id const& node) const
{
    std::lock_guard lock(mutex_);
    auto it = ping_msec_.find(node);
    if (it == ping_msec_.end()) {
        return std::nullopt;
    }
    return std::chrono::milliseconds(static_cast<std::int64_t>(it->second + 0.5));
}

std::vector<util::node_id> rpc_helper::request_order(std::vector<util::node_id> nodes) const
{
    auto const self = net_.id();
    std::optional<std::string> my_zone;
    if (zone_of_) {
        my_zone = zone_of_(self);
    }
    struct key {
        int rank; // 0 self, 1 same zone, 2 others
        double latency;
    };
    std::unordered_map<util::node_id, key> keys;
    {
        std::lock_guard lock(mutex_);
        for (auto const& n : nodes) {
            int rank = 2;
            if (n == self) {
                rank = 0;
            } else if (my_zone && zone_of_ && zone_of_(n) == my_zone) {
                rank = 1;
            }
            auto it = ping_msec_.find(n);
            keys[n] = {rank,
                       it == ping_msec_.end() ? static_cast<double>(unknown_latency.count()) : it->second};
        }
    }
    std::stable_sort(nodes.begin(), nodes.end(), [&](auto const& a, auto const& b) {
        auto const& ka = keys[a];
        auto const& kb = keys[b];
        return ka.rank != kb.rank ? ka.rank < kb.rank : ka.latency < kb.latency;
    });
    return nodes;
}

net::awaitable<util::result<quorum_responses<raw_message>>>
rpc_helper::raw_try_call_many(std::vector<util::node_id> nodes, std::string path, raw_message request,
                              request_strategy strategy)
{
    auto const quorum = strategy.quorum;
    if (quorum == 0) {
        co_return quorum_responses<raw_message>{};
    }
    auto const ordered = request_order(std::move(nodes));
    auto st = std::make_shared<fanout>(net_.get_executor());
    st->hold = std::move(strategy.hold_until_done);
    if (ordered.size() < quorum) {
        co_return quorum_failure(quorum, ordered.size(), *st);
    }
    call_options const options{strategy.priority, strategy.timeout};
    std::size_t next = 0;
    for (;;) {
        std::size_t ok = 0;
        std::size_t in_flight = 0;
        {
            std::lock_guard lock(st->mutex);
            ok = st->ok.size();
            in_flight = st->in_flight;
            if (ok >= quorum) {
                auto out = std::move(st->ok);
                st->ok.clear();
                cancel_all(st);
                co_return out;
            }
        }
        while (next < ordered.size() && (strategy.send_all_at_once || ok + in_flight < quorum)) {
            launch(net_, st, ordered[next++], path, request, options);
            ++in_flight;
        }
        if (in_flight == 0) {
            std::lock_guard lock(st->mutex);
            co_return quorum_failure(quorum, ordered.size(), *st);
        }
        co_await st->notify.wait();
    }
}

net::awaitable<util::result<quorum_responses<raw_message>>>
rpc_helper::raw_try_write_many_sets(std::vector<std::vector<util::node_id>> write_sets, std::string path,
                                    raw_message request, request_strategy strategy)
{
    auto const quorum = strategy.quorum;
    std::vector<util::node_id> all;
    {
        std::set<util::node_id> seen;
        for (auto const& set : write_sets) {
            for (auto const& n : set) {
                if (seen.insert(n).second) {
                    all.push_back(n);
                }
            }
        }
    }
    auto st = std::make_shared<fanout>(net_.get_executor());
    st->hold = std::move(strategy.hold_until_done);
    for (auto const& set : write_sets) {
        if (set.size() < quorum) {
            co_return util::failure(error::quorum_not_reached,
                                    "a write set has " + std::to_string(set.size()) +
                                        " nodes, fewer than the quorum of " + std::to_string(quorum));
        }
    }
    call_options const options{strategy.priority, strategy.timeout};
    for (auto const& n : strategy.already_done) {
        if (std::erase(all, n) > 0) {
            std::lock_guard lock(st->mutex);
            st->ok.emplace_back(n, raw_message{});
        }
    }
    for (auto const& n : request_order(std::move(all))) {
        launch(net_, st, n, path, request, options);
    }
    for (;;) {
        {
            std::lock_guard lock(st->mutex);
            bool all_met = true;
            for (auto const& set : write_sets) {
                std::size_t ok = 0;
                std::size_t bad = 0;
                for (auto const& n : set) {
                    ok += std::any_of(st->ok.begin(), st->ok.end(),
                                      [&](auto const& p) { return p.first == n; });
                    bad += std::any_of(st->failed.begin(), st->failed.end(),
                                       [&](auto const& p) { return p.first == n; });
                }
                if (ok < quorum) {
                    all_met = false;
                    if (set.size() - bad < quorum) {
                        co_return quorum_failure(quorum, set.size(), *st);
                    }
                }
            }
            if (all_met) {
                // The other requests go on in the background; their answers are dropped.
                co_return st->ok;
            }
        }
        co_await st->notify.wait();
    }
}

} // namespace garage::rpc
