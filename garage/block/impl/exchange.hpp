#pragma once

#include <garage/block/detail/file_io.hpp>
#include <garage/rpc/error.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <set>
#include <utility>

namespace garage::block {

namespace detail {

inline std::string short_node(util::node_id const& n)
{
    return n.to_hex().substr(0, 16);
}

} // namespace detail

/// What the manager's fetcher reaches through: the exchange while it runs, nothing after `stop`.
template <storage::storage_backend Storage, replication::replication_policy Replication>
struct block_exchange<Storage, Replication>::fetcher_link {
    std::mutex mutex;
    block_exchange* exchange = nullptr;

    /// The exchange and a gate token that keeps it from stopping, or `{nullptr, {}}`.
    std::pair<block_exchange*, detail::gate::token> enter()
    {
        std::lock_guard lock(mutex);
        if (exchange == nullptr) {
            return {nullptr, {}};
        }
        auto t = exchange->gate_.enter();
        return {t ? exchange : nullptr, t};
    }
};

/// The block_fetcher the manager's resync workers call (on their thread pool): each call runs
/// the RPCs on the network's executor and waits for them.
template <storage::storage_backend Storage, replication::replication_policy Replication>
class block_exchange<Storage, Replication>::rpc_fetcher final : public block_fetcher {
public:
    explicit rpc_fetcher(std::shared_ptr<fetcher_link> link) : link_(std::move(link)) {}

    util::result<data_block> fetch(util::hash32 const& h) override
    {
        auto [ex, token] = link_->enter();
        if (ex == nullptr) {
            return stopped(h);
        }
        return detail::await_from_thread(ex->helper_.net().get_executor(),
                                         ex->fetch_remote(h, std::move(token)));
    }

    util::result<void> offload(util::hash32 const& h, block_reader const& read) override
    {
        auto [ex, token] = link_->enter();
        if (ex == nullptr) {
            return stopped(h).error();
        }
        return ex->offload_from_thread(h, read, offload_mode::unreferenced);
    }

    bool should_store(util::hash32 const& h) override
    {
        auto [ex, token] = link_->enter();
        return ex == nullptr || ex->stores_here(h); // stopped: keep everything
    }

    util::result<void> hand_over(util::hash32 const& h, block_reader const& read) override
    {
        auto [ex, token] = link_->enter();
        if (ex == nullptr) {
            return stopped(h).error();
        }
        return ex->offload_from_thread(h, read, offload_mode::misplaced);
    }

private:
    static util::result<data_block> stopped(util::hash32 const& h)
    {
        return util::failure(error::block_not_found,
                             "block " + h.to_hex() + ": the block exchange with the other nodes is stopped");
    }

    std::shared_ptr<fetcher_link> link_;
};

template <storage::storage_backend Storage, replication::replication_policy Replication>
block_exchange<Storage, Replication>::block_exchange(manager_type& manager, rpc::rpc_helper& helper,
                                                     Replication replication,
                                                     boost::asio::any_io_executor blocking,
                                                     block_exchange_options options)
    : manager_(manager), helper_(helper), replication_(std::move(replication)),
      blocking_(std::move(blocking)), options_(options), budget_(options.ram_buffer_max),
      gate_(helper.net().get_executor()), link_(std::make_shared<fetcher_link>())
{
}

template <storage::storage_backend Storage, replication::replication_policy Replication>
block_exchange<Storage, Replication>::~block_exchange()
{
    if (started_ && !stopped_) {
        helper_.net().remove_handler(block_endpoint::path);
        std::lock_guard lock(link_->mutex);
        link_->exchange = nullptr;
    }
}

template <storage::storage_backend Storage, replication::replication_policy Replication>
void block_exchange<Storage, Replication>::start()
{
    if (started_) {
        return;
    }
    started_ = true;
    {
        std::lock_guard lock(link_->mutex);
        link_->exchange = this;
    }
    manager_.set_fetcher(std::make_unique<rpc_fetcher>(link_));
    // Not a coroutine lambda: it only makes the member coroutine, whose frame holds its arguments.
    rpc::serve<block_endpoint>(helper_.net(),
                               [self = this](util::node_id from, rpc::with_body<block_rpc_request> req) {
                                   return self->handle(from, std::move(req));
                               });
}

template <storage::storage_backend Storage, replication::replication_policy Replication>
boost::asio::awaitable<void> block_exchange<Storage, Replication>::stop()
{
    if (stopped_) {
        co_return;
    }
    stopped_ = true;
    if (started_) {
        helper_.net().remove_handler(block_endpoint::path);
    }
    {
        std::lock_guard lock(link_->mutex);
        link_->exchange = nullptr;
    }
    gate_.close();
    co_await gate_.wait_idle();
}

// ---- serving

template <storage::storage_backend Storage, replication::replication_policy Replication>
boost::asio::awaitable<util::result<rpc::with_body<block_rpc_response>>>
block_exchange<Storage, Replication>::handle(util::node_id from, rpc::with_body<block_rpc_request> req)
{
    using response = rpc::with_body<block_rpc_response>;
    auto token = gate_.enter();
    if (!token) {
        co_return util::failure(rpc::error::shutting_down, "the block exchange is stopping");
    }
    auto const h = req.message.hash;
    auto* const m = &manager_;
    switch (req.message.op) {
    case block_rpc_op::get_block: {
        auto read = [m, h] { return m->read_raw_block(h); };
        auto r = co_await detail::run_blocking(blocking_, std::move(read));
        if (!r) {
            co_return r.error();
        }
        response out;
        out.message.encoding = r->encoding();
        out.body = std::move(*r).bytes();
        co_return out;
    }
    case block_rpc_op::put_block: {
        if (!is_valid_encoding(req.message.encoding)) {
            co_return util::failure(error::corrupt_block,
                                    "block " + h.to_hex() + " from node " + detail::short_node(from) +
                                        ": unknown encoding " +
                                        std::to_string(static_cast<unsigned>(req.message.encoding)));
        }
        auto blk = std::make_shared<data_block>(req.message.encoding, std::move(req.body));
        util::result<void> r;
        if (committer_ != nullptr && m->is_small(*blk)) {
            // a few KiB: checked here, stored with the concurrent requests' entries
            r = blk->verify(h);
            if (r) {
                auto put = [m, h, blk](typename Storage::transaction_type& tx) {
                    return m->write_small_in(tx, h, *blk);
                };
                auto op = committer_->async_commit(std::move(put), boost::asio::use_awaitable);
                r = co_await std::move(op);
            }
        } else {
            // write_raw_block checks the bytes against the hash before anything is written.
            auto write = [m, h, blk] { return m->write_raw_block(h, *blk); };
            r = co_await detail::run_blocking(blocking_, std::move(write));
        }
        if (!r) {
            detail::log_warn("refused block " + h.to_hex() + " from node " + detail::short_node(from) + ": " +
                             r.error().message);
            co_return r.error();
        }
        co_return response{};
    }
    case block_rpc_op::need_block_query: {
        auto query = [m, h]() -> util::result<block_rpc_response> {
            auto rc = m->get_rc(h);
            if (!rc) {
                return rc.error();
            }
            block_rpc_response out;
            out.present = m->has_block(h);
            out.needed = rc->count() > 0 && !out.present;
            return out;
        };
        auto r = co_await detail::run_blocking(blocking_, std::move(query));
        if (!r) {
            co_return r.error();
        }
        co_return response{*r, {}};
    }
    }
    co_return util::failure(rpc::error::decode_error,
                            "unknown block operation " +
                                std::to_string(static_cast<unsigned>(req.message.op)));
}

// ---- writing

template <storage::storage_backend Storage, replication::replication_policy Replication>
boost::asio::awaitable<util::result<void>>
block_exchange<Storage, Replication>::put_block(util::hash32 h, std::string data, block_put_options options)
{
    auto token = gate_.enter();
    if (!token) {
        co_return util::failure(rpc::error::shutting_down, "the block exchange is stopping");
    }
    // The plain bytes count from now: encoding them is part of holding them.
    auto lease = co_await budget_.acquire(data.size());
    auto* const m = &manager_;
    auto plain = std::make_shared<std::string>(std::move(data));
    auto encode = [m, plain] { return m->encode(*plain); };
    auto blk = co_await detail::run_blocking(blocking_, std::move(encode));
    plain.reset();
    // The lease now covers the encoded block until the last node answers.
    co_return co_await send_to_write_sets(h, std::move(blk), std::move(lease), std::move(token), options);
}

template <storage::storage_backend Storage, replication::replication_policy Replication>
boost::asio::awaitable<util::result<void>>
block_exchange<Storage, Replication>::put_raw_block(util::hash32 h, data_block blk, block_put_options options)
{
    auto token = gate_.enter();
    if (!token) {
        co_return util::failure(rpc::error::shutting_down, "the block exchange is stopping");
    }
    auto lease = co_await budget_.acquire(blk.size());
    co_return co_await send_to_write_sets(h, std::move(blk), std::move(lease), std::move(token), options);
}

template <storage::storage_backend Storage, replication::replication_policy Replication>
boost::asio::awaitable<util::result<void>> block_exchange<Storage, Replication>::send_to_write_sets(
    util::hash32 h, data_block blk, util::byte_budget::lease lease, detail::gate::token token,
    block_put_options const& options)
{
    std::vector<std::vector<util::node_id>> sets;
    for (auto const& set : replication_.write_sets(h)) {
        sets.emplace_back(std::ranges::begin(set), std::ranges::end(set));
    }
    if (options.stored_here) {
        auto const self = local_node();
        if (std::ranges::all_of(sets,
                                [&self](auto const& s) { return s.size() == 1 && s.front() == self; })) {
            co_return util::result<void>{};
        }
    }
    auto held = std::make_shared<send_hold>(send_hold{std::move(lease), std::move(token)});
    co_return co_await send_block(h, std::move(blk), std::move(sets), replication_.write_quorum(),
                                  options.priority, std::move(held), options.stored_here);
}

template <storage::storage_backend Storage, replication::replication_policy Replication>
boost::asio::awaitable<util::result<void>> block_exchange<Storage, Replication>::send_block(
    util::hash32 h, data_block blk, std::vector<std::vector<util::node_id>> sets, std::size_t quorum,
    rpc::priority prio, detail::gate::token held, bool stored_here)
{
    block_rpc_request req{block_rpc_op::put_block, h, blk.encoding()};
    rpc::raw_message raw;
    raw.version = rpc::message_version<block_rpc_request>();
    raw.message = util::encode(req);
    raw.body = std::move(blk).bytes();
    rpc::request_strategy strategy;
    strategy.quorum = quorum;
    strategy.priority = prio;
    strategy.timeout = timeout();
    strategy.send_all_at_once = true;
    strategy.hold_until_done = std::move(held);
    if (stored_here) {
        strategy.already_done.push_back(local_node());
    }
    auto r = co_await helper_.raw_try_write_many_sets(std::move(sets), std::string(block_endpoint::path),
                                                      std::move(raw), std::move(strategy));
    if (!r) {
        co_return util::failure(r.error().code,
                                "cannot write block " + h.to_hex() + ": " + r.error().message);
    }
    co_return util::result<void>{};
}

// ---- reading

template <storage::storage_backend Storage, replication::replication_policy Replication>
std::vector<util::node_id> block_exchange<Storage, Replication>::read_order(util::hash32 const& h) const
{
    std::vector<util::node_id> nodes;
    std::set<util::node_id> seen;
    auto add = [&](auto const& range) {
        for (util::node_id const& n : range) {
            if (seen.insert(n).second) {
                nodes.push_back(n);
            }
        }
    };
    add(replication_.read_nodes(h));
    add(replication_.storage_nodes(h));
    for (auto const& set : replication_.write_sets(h)) {
        add(set);
    }
    return helper_.request_order(std::move(nodes));
}

template <storage::storage_backend Storage, replication::replication_policy Replication>
bool block_exchange<Storage, Replication>::stores_here(util::hash32 const& h) const
{
    auto const self = local_node();
    for (util::node_id const& n : replication_.storage_nodes(h)) {
        if (n == self) {
            return true;
        }
    }
    return false;
}

template <storage::storage_backend Storage, replication::replication_policy Replication>
template <class T, class Accept>
boost::asio::awaitable<util::result<T>>
block_exchange<Storage, Replication>::get_from_nodes(util::hash32 h, block_get_options options, Accept accept)
{
    auto token = gate_.enter();
    if (!token) {
        co_return util::failure(rpc::error::shutting_down, "the block exchange is stopping");
    }
    auto const self = local_node();
    auto* const m = &manager_;
    std::string failures;
    for (auto const& node : read_order(h)) {
        std::shared_ptr<data_block> blk;
        if (node == self) {
            if (options.skip_local) {
                continue;
            }
            // The manager verifies its copy (a corrupt one is set aside and reported).
            auto read = [m, h] { return m->read_raw_block(h); };
            auto r = co_await detail::run_blocking(blocking_, std::move(read));
            if (!r) {
                failures += "; this node: " + r.error().message;
                continue;
            }
            blk = std::make_shared<data_block>(std::move(*r));
        } else {
            rpc::with_body<block_rpc_request> req{{block_rpc_op::get_block, h, block_encoding::plain}, {}};
            rpc::call_options const call{options.priority, timeout()};
            auto r = co_await rpc::call_with_body<block_endpoint>(helper_.net(), node, std::move(req), call);
            if (!r) {
                failures += "; node " + detail::short_node(node) + ": " + r.error().message;
                continue;
            }
            if (!is_valid_encoding(r->message.encoding)) {
                failures += "; node " + detail::short_node(node) + ": unknown encoding";
                continue;
            }
            blk = std::make_shared<data_block>(r->message.encoding, std::move(r->body));
        }
        // Check what came back (a peer's copy, or ours for a raw read that must be decoded).
        auto check = [blk, h, accept] { return accept(h, std::move(*blk)); };
        auto out = co_await detail::run_blocking(blocking_, std::move(check));
        if (out) {
            co_return std::move(*out);
        }
        detail::log_warn("block " + h.to_hex() + " from node " + detail::short_node(node) +
                         " does not match its hash: " + out.error().message);
        failures += "; node " + detail::short_node(node) + ": " + out.error().message;
    }
    co_return util::failure(error::block_not_found,
                            "block " + h.to_hex() + ": no node gave a good copy" +
                                (failures.empty() ? std::string(" (no node to ask)") : failures));
}

template <storage::storage_backend Storage, replication::replication_policy Replication>
boost::asio::awaitable<util::result<data_block>>
block_exchange<Storage, Replication>::get_raw_block(util::hash32 h, block_get_options options)
{
    auto accept = [](util::hash32 const& hash, data_block b) -> util::result<data_block> {
        if (auto v = b.verify(hash); !v) {
            return v.error();
        }
        return b;
    };
    co_return co_await get_from_nodes<data_block>(h, options, accept);
}

template <storage::storage_backend Storage, replication::replication_policy Replication>
boost::asio::awaitable<util::result<std::string>>
block_exchange<Storage, Replication>::get_block(util::hash32 h, block_get_options options)
{
    auto accept = [](util::hash32 const& hash, data_block b) { return std::move(b).decode(hash); };
    co_return co_await get_from_nodes<std::string>(h, options, accept);
}

template <storage::storage_backend Storage, replication::replication_policy Replication>
boost::asio::awaitable<util::result<block_rpc_response>>
block_exchange<Storage, Replication>::query_need(util::node_id node, util::hash32 h)
{
    block_rpc_request req{block_rpc_op::need_block_query, h, block_encoding::plain};
    rpc::call_options const options{rpc::priority::background, timeout()};
    auto r = co_await rpc::call<block_endpoint>(helper_.net(), node, req, options);
    co_return r;
}

// ---- resync (called through the fetcher, from a resync worker's thread)

template <storage::storage_backend Storage, replication::replication_policy Replication>
boost::asio::awaitable<util::result<data_block>>
block_exchange<Storage, Replication>::fetch_remote(util::hash32 h, detail::gate::token token)
{
    (void)token; // held until the fetch ends
    block_get_options const options{rpc::priority::background | rpc::priority::secondary, true};
    co_return co_await get_raw_block(h, options);
}

template <storage::storage_backend Storage, replication::replication_policy Replication>
boost::asio::awaitable<util::result<std::vector<util::node_id>>>
block_exchange<Storage, Replication>::plan_offload(util::hash32 h, offload_mode mode,
                                                   detail::gate::token token)
{
    (void)token;
    auto const self = local_node();
    std::vector<util::node_id> targets;
    for (util::node_id const& n : replication_.storage_nodes(h)) {
        if (n != self && std::find(targets.begin(), targets.end(), n) == targets.end()) {
            targets.push_back(n);
        }
    }
    if (targets.empty()) {
        co_return targets;
    }
    rpc::request_strategy strategy;
    // An unreferenced block (Garage): a write quorum of answers, then send to those that
    // still reference it. A misplaced block: every storage node must answer (and have it,
    // or get it) before the local copy goes.
    strategy.quorum = mode == offload_mode::unreferenced
                          ? std::min(replication_.write_quorum(), targets.size())
                          : targets.size();
    strategy.priority = rpc::priority::background;
    strategy.timeout = timeout();
    strategy.send_all_at_once = true;
    block_rpc_request const query{block_rpc_op::need_block_query, h, block_encoding::plain};
    auto answers = co_await helper_.try_call_many<block_endpoint>(targets, query, strategy);
    if (!answers) {
        co_return util::failure(answers.error().code,
                                "block " + h.to_hex() + ": cannot ask the nodes that store it (" +
                                    answers.error().message + "); the local copy is kept");
    }
    std::vector<util::node_id> to_send;
    for (auto const& [node, a] : *answers) {
        if (mode == offload_mode::unreferenced ? a.needed : !a.present) {
            to_send.push_back(node);
        }
    }
    co_return to_send;
}

template <storage::storage_backend Storage, replication::replication_policy Replication>
boost::asio::awaitable<util::result<void>>
block_exchange<Storage, Replication>::push_to(util::hash32 h, data_block blk,
                                              std::vector<util::node_id> nodes, detail::gate::token token)
{
    auto lease = co_await budget_.acquire(blk.size());
    auto held = std::make_shared<send_hold>(send_hold{std::move(lease), std::move(token)});
    auto const n = nodes.size();
    std::vector<std::vector<util::node_id>> sets{std::move(nodes)};
    co_return co_await send_block(h, std::move(blk), std::move(sets), n,
                                  rpc::priority::background | rpc::priority::secondary, std::move(held));
}

template <storage::storage_backend Storage, replication::replication_policy Replication>
util::result<void> block_exchange<Storage, Replication>::offload_from_thread(
    util::hash32 const& h, block_fetcher::block_reader const& read, offload_mode mode)
{
    auto const ex = helper_.net().get_executor();
    auto token = gate_.enter();
    if (!token) {
        return util::failure(rpc::error::shutting_down, "the block exchange is stopping");
    }
    auto to_send = detail::await_from_thread(ex, plan_offload(h, mode, token));
    if (!to_send) {
        return to_send.error();
    }
    if (to_send->empty()) {
        return {};
    }
    // Read the local copy here, on the worker's thread (it is verified on the way).
    auto blk = read();
    if (!blk) {
        return blk.error();
    }
    detail::log_info("sending block " + h.to_hex() + " to " + std::to_string(to_send->size()) +
                     " node(s) that need it before deleting the local copy");
    return detail::await_from_thread(ex, push_to(h, std::move(*blk), std::move(*to_send), std::move(token)));
}

} // namespace garage::block
