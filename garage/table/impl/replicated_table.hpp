#pragma once

#include <garage/crdt/crdt.hpp>
#include <garage/table/detail/rpc_util.hpp>
#include <garage/util/codec.hpp>

#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <map>
#include <ranges>
#include <set>

namespace garage::table {

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
replicated_table<Schema, Replication, Storage>::replicated_table(local_type& local, rpc::rpc_helper& rpc,
                                                                 replicated_table_options options)
    : local_(local), rpc_(rpc), options_(options), repairs_(rpc.net().get_executor())
{
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
replicated_table<Schema, Replication, Storage>::~replicated_table()
{
    if (serving_) {
        rpc_.net().remove_handler(endpoint_type::path);
    }
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
void replicated_table<Schema, Replication, Storage>::start()
{
    rpc::serve<endpoint_type>(rpc_.net(), [self = this](util::node_id from, table_request req) {
        return self->handle(from, std::move(req));
    });
    serving_ = true;
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
boost::asio::awaitable<void> replicated_table<Schema, Replication, Storage>::stop()
{
    if (serving_) {
        rpc_.net().remove_handler(endpoint_type::path);
        serving_ = false;
    }
    co_await repairs_.wait_idle();
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
rpc::request_strategy replicated_table<Schema, Replication, Storage>::strategy(std::size_t quorum) const
{
    rpc::request_strategy s;
    s.quorum = quorum;
    s.priority = rpc::priority::normal;
    s.timeout = options_.timeout;
    return s;
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
boost::asio::awaitable<util::result<table_response>>
replicated_table<Schema, Replication, Storage>::handle(util::node_id, table_request request)
{
    if (auto* r = std::get_if<read_entry_request>(&request)) {
        auto got = local_.get_encoded(r->key);
        if (!got) {
            co_return got.error();
        }
        co_return table_response(read_entry_response{std::move(*got)});
    }
    if (auto* r = std::get_if<read_range_request>(&request)) {
        std::optional<filter_type> filter;
        if (r->filter) {
            if constexpr (wire_filter<filter_type>) {
                auto f = util::decode<filter_type>(*r->filter);
                if (!f) {
                    refused_.fetch_add(1);
                    co_return util::failure(error::invalid_entry,
                                            "table `" + std::string(Schema::table_name) +
                                                "`: undecodable range filter: " + f.error().message);
                }
                filter = std::move(*f);
            } else {
                refused_.fetch_add(1);
                co_return util::failure(error::invalid_entry, "table `" + std::string(Schema::table_name) +
                                                                  "`: this table's filters cannot travel");
            }
        }
        auto items =
            local_.get_range_encoded(r->partition_hash, r->start_sort_key, filter ? &*filter : nullptr,
                                     static_cast<std::size_t>(r->limit),
                                     r->reverse ? storage::direction::reverse : storage::direction::forward);
        if (!items) {
            co_return items.error();
        }
        read_range_response out;
        out.entries.reserve(items->size());
        for (auto& [k, v] : *items) {
            out.entries.push_back(std::move(v));
        }
        co_return table_response(std::move(out));
    }
    auto& u = std::get<update_request>(request);
    auto entries = local_.decode_items(u.entries);
    if (!entries) {
        refused_.fetch_add(1);
        co_return entries.error();
    }
    util::result<void> w;
    if (committer_ == nullptr) {
        w = local_.insert_many(*entries);
    } else {
        auto* const local = &local_;
        auto const* const list = &*entries; // lives in this frame until the commit completes
        auto write = [local, list](typename Storage::transaction_type& tx) {
            return local->insert_many_in(tx, *list);
        };
        auto op = committer_->async_commit(std::move(write), boost::asio::use_awaitable);
        w = co_await std::move(op);
    }
    if (!w) {
        co_return w.error();
    }
    co_return table_response(ok_response{});
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
boost::asio::awaitable<util::result<void>>
replicated_table<Schema, Replication, Storage>::write_group(std::vector<std::vector<util::node_id>> sets,
                                                            std::vector<std::string> items, bool done_here)
{
    table_request req(update_request{std::move(items)});
    auto s = strategy(local_.replication().write_quorum());
    if (done_here) {
        s.already_done.push_back(rpc_.net().id());
    }
    auto r = co_await rpc_.try_write_many_sets<endpoint_type>(std::move(sets), std::move(req), std::move(s));
    if (!r) {
        co_return util::failure(r.error().code, "table `" + std::string(Schema::table_name) +
                                                    "`: write: " + r.error().message);
    }
    co_return util::result<void>{};
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
bool replicated_table<Schema, Replication, Storage>::reads_here_alone(util::hash32 const& h) const
{
    if (local_.replication().read_quorum() != 1) {
        return false;
    }
    auto const nodes = local_.replication().read_nodes(h);
    auto const first = std::ranges::begin(nodes);
    return first != std::ranges::end(nodes) && *first == rpc_.net().id();
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
boost::asio::awaitable<util::result<void>> replicated_table<Schema, Replication, Storage>::replicate(
    std::vector<std::pair<util::hash32, std::string>> items)
{
    auto const self = rpc_.net().id();
    std::map<std::vector<std::vector<util::node_id>>, std::vector<std::string>> groups;
    for (auto& [h, bytes] : items) {
        auto sets = detail::to_sets(local_.replication().write_sets(h));
        bool const here_alone = std::ranges::all_of(
            sets, [&self](auto const& set) { return set.size() == 1 && set.front() == self; });
        if (!here_alone) {
            groups[std::move(sets)].push_back(std::move(bytes));
        }
    }
    std::vector<boost::asio::awaitable<util::result<void>>> tasks;
    for (auto& [sets, group] : groups) {
        tasks.push_back(write_group(sets, std::move(group), true));
    }
    if (tasks.size() == 1) {
        co_return co_await std::move(tasks.front());
    }
    auto results = co_await detail::when_all(std::move(tasks));
    for (auto& r : results) {
        if (!r) {
            co_return r.error();
        }
    }
    co_return util::result<void>{};
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
boost::asio::awaitable<util::result<void>>
replicated_table<Schema, Replication, Storage>::insert(entry_type e)
{
    auto bytes = detail::encode_entry(e);
    if (!bytes) {
        co_return bytes.error();
    }
    auto const h = garage::table::partition_hash(e.partition_key());
    std::vector<std::string> items;
    items.push_back(std::move(*bytes));
    co_return co_await write_group(detail::to_sets(local_.replication().write_sets(h)), std::move(items));
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
boost::asio::awaitable<util::result<void>>
replicated_table<Schema, Replication, Storage>::insert_many(std::vector<entry_type> entries)
{
    std::map<std::vector<std::vector<util::node_id>>, std::vector<std::string>> groups;
    for (auto const& e : entries) {
        auto bytes = detail::encode_entry(e);
        if (!bytes) {
            co_return bytes.error();
        }
        auto const h = garage::table::partition_hash(e.partition_key());
        groups[detail::to_sets(local_.replication().write_sets(h))].push_back(std::move(*bytes));
    }
    if (groups.size() == 1) {
        auto& [sets, items] = *groups.begin();
        co_return co_await write_group(sets, std::move(items));
    }
    std::vector<boost::asio::awaitable<util::result<void>>> tasks;
    for (auto& [sets, items] : groups) {
        tasks.push_back(write_group(sets, std::move(items)));
    }
    auto results = co_await detail::when_all(std::move(tasks));
    for (auto& r : results) {
        if (!r) {
            co_return r.error();
        }
    }
    co_return util::result<void>{};
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
boost::asio::awaitable<void>
replicated_table<Schema, Replication, Storage>::repair(std::vector<util::node_id> nodes,
                                                       std::vector<std::string> items)
{
    read_repairs_.fetch_add(nodes.size());
    auto s = strategy(nodes.size());
    s.send_all_at_once = true;
    table_request req(update_request{std::move(items)});
    auto r = co_await rpc_.try_call_many<endpoint_type>(std::move(nodes), std::move(req), s);
    if (!r) {
        spdlog::warn("{}: read repair failed: {}", Schema::table_name, r.error().message);
    }
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
void replicated_table<Schema, Replication, Storage>::spawn_repairs(
    std::vector<std::pair<util::node_id, std::vector<std::string>>> per_node)
{
    for (auto& [node, items] : per_node) {
        if (!items.empty()) {
            std::vector<util::node_id> to{node};
            repairs_.spawn(repair(std::move(to), std::move(items)));
        }
    }
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
boost::asio::awaitable<util::result<std::optional<typename Schema::entry_type>>>
replicated_table<Schema, Replication, Storage>::get(partition_key_type pk, sort_key_type sk)
{
    auto const h = garage::table::partition_hash(pk);
    if (reads_here_alone(h)) {
        co_return local_.get(pk, sk);
    }
    auto key = local_type::tree_key(pk, sk);
    table_request req(read_entry_request{key});
    auto answers = co_await rpc_.try_call_many<endpoint_type>(
        detail::to_nodes(local_.replication().read_nodes(h)), std::move(req),
        strategy(local_.replication().read_quorum()));
    if (!answers) {
        co_return util::failure(answers.error().code, "table `" + std::string(Schema::table_name) +
                                                          "`: read: " + answers.error().message);
    }
    std::vector<std::pair<util::node_id, std::optional<entry_type>>> got;
    std::optional<entry_type> merged;
    for (auto& [node, resp] : *answers) {
        auto a = detail::expect<read_entry_response>(std::move(resp), node, "ReadEntry");
        if (!a) {
            co_return a.error();
        }
        std::optional<entry_type> e;
        if (a->entry) {
            auto d = util::decode<entry_type>(*a->entry);
            if (!d) {
                co_return util::failure(error::invalid_entry,
                                        "table `" + std::string(Schema::table_name) + "`: node " +
                                            detail::short_node(node) +
                                            " answered an undecodable entry: " + d.error().message);
            }
            e = std::move(*d);
            if (merged) {
                crdt::merge(*merged, *e);
            } else {
                merged = *e;
            }
        }
        got.emplace_back(node, std::move(e));
    }
    if (merged) {
        std::vector<util::node_id> stale;
        for (auto const& [node, e] : got) {
            if (!e || !(*e == *merged)) {
                stale.push_back(node);
            }
        }
        if (!stale.empty()) {
            auto bytes = detail::encode_entry(*merged);
            if (bytes) {
                std::vector<std::pair<util::node_id, std::vector<std::string>>> per_node;
                for (auto const& n : stale) {
                    per_node.emplace_back(n, std::vector<std::string>{*bytes});
                }
                spawn_repairs(std::move(per_node));
            }
        }
    }
    co_return merged;
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
boost::asio::awaitable<util::result<std::vector<typename Schema::entry_type>>>
replicated_table<Schema, Replication, Storage>::get_range(partition_key_type pk,
                                                          std::optional<sort_key_type> start,
                                                          std::optional<filter_type> filter,
                                                          std::size_t limit, storage::direction dir)
{
    auto const h = garage::table::partition_hash(pk);
    read_range_request req;
    req.partition_hash = h;
    if (start) {
        auto&& b = garage::table::sort_key_bytes(*start);
        req.start_sort_key = std::string(std::string_view(b));
    }
    if (filter) {
        if constexpr (wire_filter<filter_type>) {
            req.filter = util::encode(*filter);
        } else {
            co_return util::failure(error::invalid_entry,
                                    "table `" + std::string(Schema::table_name) +
                                        "`: a filtered range read needs a filter type cereal can save");
        }
    }
    req.limit = limit;
    req.reverse = dir == storage::direction::reverse;
    if (limit == 0) {
        co_return std::vector<entry_type>{};
    }
    if (reads_here_alone(h)) {
        co_return local_.get_range(pk, start, filter, limit, dir);
    }
    table_request request(std::move(req));
    auto answers = co_await rpc_.try_call_many<endpoint_type>(
        detail::to_nodes(local_.replication().read_nodes(h)), std::move(request),
        strategy(local_.replication().read_quorum()));
    if (!answers) {
        co_return util::failure(answers.error().code, "table `" + std::string(Schema::table_name) +
                                                          "`: range read: " + answers.error().message);
    }
    bool const forward = dir == storage::direction::forward;
    // Per key: the merged entry and, per answering node, what it held.
    struct item {
        std::optional<entry_type> merged;
        std::map<util::node_id, entry_type> held;
    };
    std::map<std::string, item> items;
    std::optional<std::string> bound; // keys past it are not covered by every node
    std::vector<util::node_id> nodes;
    for (auto& [node, resp] : *answers) {
        auto a = detail::expect<read_range_response>(std::move(resp), node, "ReadRange");
        if (!a) {
            co_return a.error();
        }
        nodes.push_back(node);
        std::string last;
        for (auto const& bytes : a->entries) {
            auto d = util::decode<entry_type>(bytes);
            if (!d) {
                co_return util::failure(error::invalid_entry,
                                        "table `" + std::string(Schema::table_name) + "`: node " +
                                            detail::short_node(node) +
                                            " answered an undecodable entry: " + d.error().message);
            }
            auto key = local_type::tree_key(d->partition_key(), d->sort_key());
            auto& it = items[key];
            if (it.merged) {
                crdt::merge(*it.merged, *d);
            } else {
                it.merged = *d;
            }
            it.held.emplace(node, std::move(*d));
            last = std::move(key);
        }
        if (a->entries.size() >= limit) {
            if (!bound || (forward ? last < *bound : last > *bound)) {
                bound = last;
            }
        }
    }
    std::vector<entry_type> out;
    std::map<util::node_id, std::vector<std::string>> repairs;
    auto visit = [&](std::string const& key, item& it) {
        if (bound && (forward ? key > *bound : key < *bound)) {
            return;
        }
        for (auto const& n : nodes) {
            auto held = it.held.find(n);
            bool differs = held == it.held.end() ? !filter : !(held->second == *it.merged);
            if (differs) {
                if (auto b = detail::encode_entry(*it.merged)) {
                    repairs[n].push_back(std::move(*b));
                }
            }
        }
        if (out.size() < limit && (!filter || Schema::matches_filter(*it.merged, *filter))) {
            out.push_back(*it.merged);
        }
    };
    if (forward) {
        for (auto& [k, it] : items) {
            visit(k, it);
        }
    } else {
        for (auto i = items.rbegin(); i != items.rend(); ++i) {
            visit(i->first, i->second);
        }
    }
    spawn_repairs(
        std::vector<std::pair<util::node_id, std::vector<std::string>>>(repairs.begin(), repairs.end()));
    co_return out;
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
boost::asio::awaitable<util::result<std::size_t>>
replicated_table<Schema, Replication, Storage>::flush_insert_queue()
{
    auto batch = local_.insert_queue_peek(options_.queue_batch);
    if (!batch) {
        co_return batch.error();
    }
    if (batch->empty()) {
        co_return std::size_t{0};
    }
    std::vector<entry_type> entries;
    std::vector<typename local_type::encoded_item> bad;
    for (auto const& [k, v] : *batch) {
        auto d = util::decode<entry_type>(v);
        if (!d) {
            // A corrupt queue item would block the queue forever: drop it, loudly.
            spdlog::error("{}: dropping undecodable insert-queue item: {}", Schema::table_name,
                          d.error().message);
            bad.emplace_back(k, v);
            continue;
        }
        entries.push_back(std::move(*d));
    }
    if (!entries.empty()) {
        if (auto w = co_await insert_many(std::move(entries)); !w) {
            co_return w.error();
        }
    }
    if (auto r = local_.insert_queue_remove_if_equal(*batch); !r) {
        co_return r.error();
    }
    co_return batch->size();
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
void replicated_table<Schema, Replication, Storage>::spawn_workers(util::background_runner& runner,
                                                                   util::net::any_io_executor ex)
{
    using namespace std::chrono_literals;
    auto merkle_notify = std::make_shared<util::async_notify>(ex);
    auto queue_notify = std::make_shared<util::async_notify>(ex);
    local_.on_merkle_todo([n = merkle_notify] { n->notify(); });
    local_.on_queue_insert([n = queue_notify] { n->notify(); });
    std::string const name(Schema::table_name);
    auto* self = this;
    runner.spawn(std::make_unique<detail::async_worker>(
        name + " Merkle", merkle_notify, 10s, [self] { return self->merkle_step(); },
        [self] {
            util::worker_status s;
            if (auto n = self->local_.merkle().todo_len()) {
                s.queue_length = *n;
            }
            return s;
        },
        local_.options().merkle_settle, ex));
    runner.spawn(std::make_unique<detail::async_worker>(
        name + " queue", queue_notify, 10s, [self] { return self->queue_step(); },
        [self] {
            util::worker_status s;
            if (auto n = self->local_.insert_queue_len()) {
                s.queue_length = *n;
            }
            return s;
        },
        local_.options().queue_settle, ex));
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::net::awaitable<util::result<util::worker_step>>
replicated_table<Schema, Replication, Storage>::merkle_step()
{
    auto const batch = local_.options().merkle_batch;
    auto n = local_.merkle().update_batch(batch);
    if (!n) {
        co_return n.error();
    }
    // letting updates settle (merkle_settle), only a full batch says more are waiting
    bool const more = local_.options().merkle_settle.count() > 0 ? *n >= batch : *n > 0;
    co_return more ? util::worker_step::busy() : util::worker_step::idle();
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::net::awaitable<util::result<util::worker_step>>
replicated_table<Schema, Replication, Storage>::queue_step()
{
    auto n = co_await flush_insert_queue();
    if (!n) {
        co_return n.error();
    }
    bool const more = local_.options().queue_settle.count() > 0 ? *n >= options_.queue_batch : *n > 0;
    co_return more ? util::worker_step::busy() : util::worker_step::idle();
}

} // namespace garage::table
