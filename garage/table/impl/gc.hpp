#pragma once

#include <garage/table/detail/rpc_util.hpp>
#include <garage/util/time.hpp>

#include <algorithm>
#include <map>

namespace garage::table {

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
table_gc<Schema, Replication, Storage>::table_gc(local_type& local, rpc::rpc_helper& rpc, gc_options options)
    : local_(local), rpc_(rpc), options_(options)
{
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
table_gc<Schema, Replication, Storage>::~table_gc()
{
    stop();
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
void table_gc<Schema, Replication, Storage>::start()
{
    rpc::serve<endpoint_type>(rpc_.net(), [self = this](util::node_id from, gc_request req) {
        return self->handle(from, std::move(req));
    });
    serving_ = true;
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
void table_gc<Schema, Replication, Storage>::stop()
{
    if (serving_) {
        rpc_.net().remove_handler(endpoint_type::path);
        serving_ = false;
    }
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
boost::asio::awaitable<util::result<ok_response>>
table_gc<Schema, Replication, Storage>::handle(util::node_id, gc_request request)
{
    if (auto* u = std::get_if<update_request>(&request)) {
        if (auto w = local_.insert_encoded(u->entries); !w) {
            co_return w.error();
        }
        co_return ok_response{};
    }
    auto& d = std::get<delete_if_equal_hash_request>(request);
    if (auto r = local_.delete_if_equal_hash(d.items); !r) {
        co_return r.error();
    }
    co_return ok_response{};
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
boost::asio::awaitable<util::result<void>>
table_gc<Schema, Replication, Storage>::call_all(std::vector<util::node_id> nodes, gc_request request)
{
    if (nodes.empty()) {
        co_return util::result<void>{};
    }
    rpc::request_strategy s;
    s.quorum = nodes.size(); // "we cannot tolerate even a single failure"
    s.send_all_at_once = true;
    s.priority = rpc::priority::background;
    s.timeout = options_.timeout;
    auto r = co_await rpc_.try_call_many<endpoint_type>(std::move(nodes), std::move(request), s);
    if (!r) {
        co_return r.error();
    }
    co_return util::result<void>{};
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
boost::asio::awaitable<util::result<std::size_t>> table_gc<Schema, Replication, Storage>::gc_step()
{
    auto due = local_.gc_todo_due(util::now_msec(), local_.options().gc_batch);
    if (!due) {
        co_return due.error();
    }
    if (due->empty()) {
        co_return std::size_t{0};
    }
    auto const self = local_.replication().local_node();
    struct group {
        std::vector<std::string> todo_keys;
        std::vector<std::string> tombstones;
        std::vector<std::pair<std::string, util::hash32>> items;
    };
    std::map<std::vector<util::node_id>, group> groups;
    std::vector<std::string> drop;
    for (auto& it : *due) {
        auto cur = local_.get_encoded(it.key);
        if (!cur) {
            co_return cur.error();
        }
        if (!*cur || local_type::value_hash(**cur) != it.value_hash) {
            drop.push_back(it.todo_key); // rewritten or gone since: not ours to collect any more
            continue;
        }
        auto const phash = util::hash32::from_bytes(std::string_view(it.key).substr(0, 32)).value();
        std::vector<util::node_id> others;
        for (auto const& n : local_.replication().storage_nodes(phash)) {
            if (n != self) {
                others.push_back(n);
            }
        }
        auto& g = groups[others];
        g.todo_keys.push_back(it.todo_key);
        g.tombstones.push_back(std::move(**cur));
        g.items.emplace_back(it.key, it.value_hash);
    }
    std::size_t handled = drop.size();
    stats_.dropped += drop.size();
    std::string errors;
    for (auto& [nodes, g] : groups) {
        gc_request phase1(update_request{g.tombstones});
        auto r = co_await call_all(nodes, std::move(phase1));
        if (r) {
            gc_request phase2(delete_if_equal_hash_request{g.items});
            r = co_await call_all(nodes, std::move(phase2));
        }
        if (!r) {
            stats_.failed += g.items.size();
            errors += (errors.empty() ? "" : "; ") + r.error().message;
            continue;
        }
        auto d = local_.delete_if_equal_hash(g.items);
        if (!d) {
            co_return d.error();
        }
        stats_.collected += *d;
        handled += g.items.size();
        drop.insert(drop.end(), g.todo_keys.begin(), g.todo_keys.end());
    }
    if (auto r = local_.gc_todo_remove(drop); !r) {
        co_return r.error();
    }
    if (!errors.empty()) {
        co_return util::failure(error::partial_failure, "table `" + std::string(Schema::table_name) +
                                                            "`: tombstone GC postponed: " + errors);
    }
    co_return handled;
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::net::awaitable<util::result<util::worker_step>> table_gc<Schema, Replication, Storage>::worker_step()
{
    auto n = co_await gc_step();
    if (!n) {
        co_return n.error();
    }
    co_return *n == 0 ? util::worker_step::idle() : util::worker_step::busy();
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
void table_gc<Schema, Replication, Storage>::spawn_worker(util::background_runner& runner,
                                                          util::net::any_io_executor ex)
{
    auto* self = this;
    runner.spawn(std::make_unique<detail::async_worker>(
        std::string(Schema::table_name) + " GC", std::make_shared<util::async_notify>(ex), options_.idle_wait,
        [self] { return self->worker_step(); },
        [self] {
            util::worker_status s;
            if (auto n = self->local_.gc_todo_len()) {
                s.queue_length = *n;
            }
            return s;
        }));
}

} // namespace garage::table
