#pragma once

#include <garage/table/detail/hash.hpp>
#include <garage/table/detail/rpc_util.hpp>
#include <garage/table/detail/task_group.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>

namespace garage::table {

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
syncer<Schema, Replication, Storage>::syncer(local_type& local, rpc::rpc_helper& rpc, syncer_options options)
    : local_(local), rpc_(rpc), options_(options)
{
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
syncer<Schema, Replication, Storage>::~syncer()
{
    stop();
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
void syncer<Schema, Replication, Storage>::start()
{
    rpc::serve<endpoint_type>(rpc_.net(), [self = this](util::node_id from, sync_request req) {
        return self->handle(from, std::move(req));
    });
    serving_ = true;
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
void syncer<Schema, Replication, Storage>::stop()
{
    if (serving_) {
        rpc_.net().remove_handler(endpoint_type::path);
        serving_ = false;
    }
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
void syncer<Schema, Replication, Storage>::request_full_sync()
{
    requested_ = true;
    if (notify_) {
        notify_->notify();
    }
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
boost::asio::awaitable<util::result<sync_response>>
syncer<Schema, Replication, Storage>::handle(util::node_id, sync_request request)
{
    if (auto* r = std::get_if<root_hash_request>(&request)) {
        auto h = local_.merkle().root_hash(r->partition);
        if (!h) {
            co_return h.error();
        }
        co_return sync_response(root_hash_response{*h != r->hash});
    }
    if (auto* r = std::get_if<get_node_request>(&request)) {
        auto n = local_.merkle().read_node(r->node_key);
        if (!n) {
            co_return n.error();
        }
        co_return sync_response(node_response{n->encode()});
    }
    auto& items = std::get<push_items_request>(request);
    if (auto w = local_.insert_encoded(items.entries); !w) {
        co_return w.error();
    }
    co_return sync_response(ok_response{});
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
boost::asio::awaitable<util::result<sync_response>>
syncer<Schema, Replication, Storage>::call(util::node_id node, sync_request request)
{
    rpc::call_options o;
    o.priority = rpc::priority::background;
    o.timeout = options_.timeout;
    co_return co_await rpc::call<endpoint_type>(rpc_.net(), node, std::move(request), o);
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
boost::asio::awaitable<util::result<void>>
syncer<Schema, Replication, Storage>::push(util::node_id node, std::vector<std::string> keys)
{
    push_items_request req;
    for (auto const& k : keys) {
        auto v = local_.get_encoded(k);
        if (!v) {
            co_return v.error();
        }
        if (*v) {
            req.entries.push_back(std::move(**v));
        }
    }
    if (req.entries.empty()) {
        co_return util::result<void>{};
    }
    sync_request request(std::move(req));
    auto r = co_await call(node, std::move(request));
    if (!r) {
        co_return r.error();
    }
    auto ok = detail::expect<ok_response>(std::move(*r), node, "Items");
    if (!ok) {
        co_return ok.error();
    }
    co_return util::result<void>{};
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
boost::asio::awaitable<util::result<std::size_t>>
syncer<Schema, Replication, Storage>::sync_with(replication::sync_partition const& partition,
                                                util::node_id node)
{
    auto const fail = [&](util::failure const& f) {
        return util::failure(f.code, "table `" + std::string(Schema::table_name) + "`: sync of partition " +
                                         std::to_string(partition.partition) + " with node " +
                                         detail::short_node(node) + ": " + f.message);
    };
    auto root = local_.merkle().root_hash(partition.partition);
    if (!root) {
        co_return fail(root.error());
    }
    {
        sync_request req(root_hash_request{partition.partition, *root});
        auto r = co_await call(node, std::move(req));
        if (!r) {
            co_return fail(r.error());
        }
        auto d = detail::expect<root_hash_response>(std::move(*r), node, "RootCkHash");
        if (!d) {
            co_return fail(d.error());
        }
        if (!d->different) {
            co_return std::size_t{0};
        }
    }
    std::size_t pushed = 0;
    std::vector<std::string> batch;
    std::deque<std::string> todo{merkle_node_key(partition.partition, {})};
    while (!todo.empty()) {
        // Up to `parallel_requests` GetNode requests in flight at once (one tree level at a time).
        std::vector<std::pair<std::string, merkle_node>> level;
        while (!todo.empty() && level.size() < std::max<std::size_t>(1, options_.parallel_requests)) {
            auto key = std::move(todo.front());
            todo.pop_front();
            auto mine = local_.merkle().read_node(key);
            if (!mine) {
                co_return fail(mine.error());
            }
            if (mine->type != merkle_node::kind::empty) {
                level.emplace_back(std::move(key), std::move(*mine));
            }
        }
        std::vector<boost::asio::awaitable<util::result<sync_response>>> requests;
        for (auto const& [key, mine] : level) {
            requests.push_back(call(node, sync_request(get_node_request{key})));
        }
        auto answers = co_await detail::when_all(std::move(requests));
        for (std::size_t i = 0; i < level.size(); ++i) {
            auto const& [key, mine] = level[i];
            if (!answers[i]) {
                co_return fail(answers[i].error());
            }
            auto a = detail::expect<node_response>(std::move(*answers[i]), node, "GetNode");
            if (!a) {
                co_return fail(a.error());
            }
            auto theirs = merkle_node::decode(a->node);
            if (!theirs) {
                co_return fail(theirs.error());
            }
            if (mine == *theirs) {
                continue;
            }
            if (mine.type == merkle_node::kind::leaf) {
                batch.push_back(mine.key);
                continue;
            }
            // Which children the other side may hold: below its own children, or below the one
            // byte its single leaf lies under. Elsewhere it holds nothing: push every local leaf
            // there without asking.
            auto const depth = key.size() - 2;
            std::optional<std::uint8_t> leaf_byte;
            if (theirs->type == merkle_node::kind::leaf) {
                leaf_byte = detail::merkle_hash(theirs->key)[depth];
            }
            for (auto const& [b, h] : mine.children) {
                auto child = key + static_cast<char>(b);
                bool maybe_there = false;
                bool same = false;
                if (theirs->type == merkle_node::kind::intermediate) {
                    for (auto const& [tb, th] : theirs->children) {
                        if (tb == b) {
                            maybe_there = true;
                            same = th == h;
                        }
                    }
                } else if (leaf_byte) {
                    maybe_there = *leaf_byte == b;
                }
                if (same) {
                    continue;
                }
                if (maybe_there) {
                    todo.push_back(std::move(child));
                } else if (auto l = collect_leaves(child, batch); !l) {
                    co_return fail(l.error());
                }
            }
        }
        while (batch.size() >= options_.push_batch) {
            std::vector<std::string> chunk(batch.begin(),
                                           batch.begin() + static_cast<std::ptrdiff_t>(options_.push_batch));
            batch.erase(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(options_.push_batch));
            pushed += chunk.size();
            if (auto p = co_await push(node, std::move(chunk)); !p) {
                co_return fail(p.error());
            }
        }
    }
    if (!batch.empty()) {
        pushed += batch.size();
        if (auto p = co_await push(node, std::move(batch)); !p) {
            co_return fail(p.error());
        }
    }
    co_return pushed;
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<void> syncer<Schema, Replication, Storage>::collect_leaves(std::string const& node_key,
                                                                        std::vector<std::string>& out) const
{
    auto n = local_.merkle().read_node(node_key);
    if (!n) {
        return n.error();
    }
    if (n->type == merkle_node::kind::leaf) {
        out.push_back(std::move(n->key));
    } else if (n->type == merkle_node::kind::intermediate) {
        for (auto const& [b, h] : n->children) {
            if (auto r = collect_leaves(node_key + static_cast<char>(b), out); !r) {
                return r;
            }
        }
    }
    return {};
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
boost::asio::awaitable<util::result<std::size_t>>
syncer<Schema, Replication, Storage>::offload(replication::sync_partition const& partition)
{
    auto const fail = [&](util::failure const& f) {
        return util::failure(f.code, "table `" + std::string(Schema::table_name) +
                                         "`: offload of partition " + std::to_string(partition.partition) +
                                         ": " + f.message);
    };
    if (partition.storage_nodes.empty()) {
        co_return fail(util::failure(error::partial_failure, "the partition has no storage node"));
    }
    std::string from(partition.first_hash.view());
    std::optional<std::string> to;
    if (!partition.last_hash.is_zero()) {
        to = std::string(partition.last_hash.view());
    }
    std::size_t offloaded = 0;
    for (;;) {
        auto items = local_.scan_encoded(from, to, options_.offload_batch);
        if (!items) {
            co_return fail(items.error());
        }
        if (items->empty()) {
            co_return offloaded;
        }
        push_items_request req;
        std::vector<std::pair<std::string, util::hash32>> sent;
        for (auto& [k, v] : *items) {
            sent.emplace_back(k, local_type::value_hash(v));
            req.entries.push_back(std::move(v));
        }
        from = items->back().first + '\0';
        rpc::request_strategy s;
        s.quorum = partition.storage_nodes.size();
        s.send_all_at_once = true;
        s.priority = rpc::priority::background;
        s.timeout = options_.timeout;
        sync_request request(std::move(req));
        auto r = co_await rpc_.try_call_many<endpoint_type>(partition.storage_nodes, std::move(request), s);
        if (!r) {
            co_return fail(r.error());
        }
        auto d = local_.delete_if_equal_hash(sent);
        if (!d) {
            co_return fail(d.error());
        }
        offloaded += *d;
    }
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
boost::asio::awaitable<util::result<sync_report>> syncer<Schema, Replication, Storage>::sync_pass()
{
    if (auto m = local_.merkle().update_all(); !m) {
        co_return m.error();
    }
    auto const parts = local_.replication().sync_partitions();
    auto const self = local_.replication().local_node();
    auto const quorum = local_.replication().write_quorum();
    sync_report report;
    report.layout_version = parts.layout_version;
    for (auto const& p : parts.partitions) {
        if (p.storage_nodes.empty()) {
            continue; // no layout yet: nowhere to synchronise or offload to, the data stays
        }
        bool const mine =
            std::find(p.storage_nodes.begin(), p.storage_nodes.end(), self) != p.storage_nodes.end();
        if (!mine) {
            auto n = co_await offload(p);
            if (!n) {
                report.failures.push_back(n.error().message);
            } else {
                ++report.partitions_offloaded;
                report.items_offloaded += *n;
            }
            continue;
        }
        std::size_t ok = 1; // this node
        std::vector<std::string> errors;
        for (auto const& node : p.storage_nodes) {
            if (node == self) {
                continue;
            }
            auto n = co_await sync_with(p, node);
            if (!n) {
                errors.push_back(n.error().message);
            } else {
                ++ok;
                report.items_pushed += *n;
            }
        }
        ++report.partitions_synced;
        if (ok < std::min(quorum, p.storage_nodes.size())) {
            report.failures.insert(report.failures.end(), errors.begin(), errors.end());
        } else {
            for (auto const& e : errors) {
                spdlog::info("{}", e); // enough nodes took part; the others catch up next pass
            }
        }
    }
    last_ = report;
    if (on_pass_) {
        on_pass_(report);
    }
    co_return report;
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::net::awaitable<util::result<util::worker_step>> syncer<Schema, Replication, Storage>::worker_step()
{
    auto const now = std::chrono::steady_clock::now();
    if (!requested_.exchange(false) && now < next_pass_) {
        co_return util::worker_step::idle();
    }
    next_pass_ = now + options_.interval;
    auto r = co_await sync_pass();
    if (!r) {
        co_return r.error();
    }
    if (!r->complete()) {
        // Retried after the runner's error pause.
        // the first few failures (a peer down fails every partition it shares with us)
        std::string msg;
        std::size_t const shown = std::min<std::size_t>(r->failures.size(), 3);
        for (std::size_t k = 0; k < shown; ++k) {
            msg += (msg.empty() ? "" : "; ") + r->failures[k];
        }
        if (r->failures.size() > shown) {
            msg += "; and " + std::to_string(r->failures.size() - shown) + " more";
        }
        next_pass_ = now;
        co_return util::failure(error::partial_failure, "table `" + std::string(Schema::table_name) +
                                                            "`: sync pass incomplete: " + msg);
    }
    co_return util::worker_step::idle();
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
void syncer<Schema, Replication, Storage>::spawn_worker(util::background_runner& runner,
                                                        util::net::any_io_executor ex)
{
    notify_ = std::make_shared<util::async_notify>(ex);
    auto* self = this;
    runner.spawn(std::make_unique<detail::async_worker>(
        std::string(Schema::table_name) + " sync", notify_, options_.interval,
        [self] { return self->worker_step(); },
        [self] {
            util::worker_status s;
            if (self->last_) {
                s.freeform.push_back("last pass: " + std::to_string(self->last_->items_pushed) +
                                     " items pushed, " + std::to_string(self->last_->items_offloaded) +
                                     " offloaded, " + std::to_string(self->last_->failures.size()) +
                                     " failures");
            }
            return s;
        }));
}

} // namespace garage::table
