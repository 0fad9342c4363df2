#pragma once
// Template bodies of garage/model/repair.hpp.

#include <garage/model/block_ref.hpp>
#include <garage/model/helper.hpp>
#include <garage/model/mpu.hpp>
#include <garage/model/object.hpp>
#include <garage/model/version.hpp>
#include <garage/table/error.hpp>
#include <garage/util/codec.hpp>
#include <garage/util/write_capture.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <utility>
#include <variant>

namespace garage::model {

namespace detail {

/// Reads an entry of another table: a quorum read with a cluster, a local read without.
template <class Model>
struct repair_reader {
    Model& model;
    model_cluster<Model>* cluster;

    template <class Local>
    boost::asio::awaitable<util::result<std::optional<typename Local::entry_type>>>
    get(Local& t, typename Local::partition_key_type pk, typename Local::sort_key_type sk)
    {
        if (cluster != nullptr) {
            auto r = co_await cluster->replicated(t).get(std::move(pk), std::move(sk));
            co_return r;
        }
        co_return t.get(pk, sk);
    }
};

/// `repair versions`: the tombstone of a version its owner no longer references.
template <class Model>
boost::asio::awaitable<util::result<std::optional<version>>> repair_fix(repair_versions,
                                                                        repair_reader<Model>& r, version v)
{
    if (v.deleted.get()) {
        co_return std::optional<version>();
    }
    bool referenced = false;
    if (std::holds_alternative<object_backlink>(v.backlink)) {
        auto const ob = std::get<object_backlink>(v.backlink);
        auto o = co_await r.get(r.model.object_table(), ob.bucket_id, ob.key);
        if (!o) {
            co_return o.error();
        }
        if (*o) {
            auto const vs = (*o)->versions();
            referenced = std::any_of(vs.begin(), vs.end(), [&v](object_version const& x) {
                return x.uuid == v.uuid && !x.is_aborted();
            });
        }
    } else {
        auto const upload_id = std::get<mpu_backlink>(v.backlink).upload_id;
        auto u = co_await r.get(r.model.mpu_table(), upload_id, table::empty_key{});
        if (!u) {
            co_return u.error();
        }
        referenced = *u && !(*u)->deleted.get();
    }
    if (referenced) {
        co_return std::optional<version>();
    }
    spdlog::info("repair versions: marking version {} as deleted (its owner no longer references it)",
                 v.uuid.to_hex());
    co_return std::optional<version>(version::tombstone(v.uuid, v.backlink));
}

/// `repair mpu`: the tombstone of an upload its object no longer has in progress.
template <class Model>
boost::asio::awaitable<util::result<std::optional<multipart_upload>>>
repair_fix(repair_mpu, repair_reader<Model>& r, multipart_upload u)
{
    if (u.deleted.get()) {
        co_return std::optional<multipart_upload>();
    }
    auto o = co_await r.get(r.model.object_table(), u.bucket_id, u.key);
    if (!o) {
        co_return o.error();
    }
    bool referenced = false;
    if (*o) {
        auto const vs = (*o)->versions();
        referenced = std::any_of(vs.begin(), vs.end(), [&u](object_version const& x) {
            return x.uuid == u.upload_id && x.is_uploading(true);
        });
    }
    if (referenced) {
        co_return std::optional<multipart_upload>();
    }
    spdlog::info(
        "repair mpu: marking multipart upload {} as deleted (its object no longer has it in progress)",
        u.upload_id.to_hex());
    co_return std::optional<multipart_upload>(
        multipart_upload::tombstone(u.upload_id, u.timestamp, u.bucket_id, u.key));
}

/// `repair block-refs`: the tombstone of a block reference whose version is missing or deleted.
template <class Model>
boost::asio::awaitable<util::result<std::optional<block_ref>>>
repair_fix(repair_block_refs, repair_reader<Model>& r, block_ref br)
{
    if (br.deleted.get()) {
        co_return std::optional<block_ref>();
    }
    auto v = co_await r.get(r.model.version_table(), br.version, table::empty_key{});
    if (!v) {
        co_return v.error();
    }
    if (*v && !(*v)->deleted.get()) {
        co_return std::optional<block_ref>();
    }
    spdlog::info("repair block-refs: marking the reference of block {} by version {} as deleted",
                 br.block.to_hex(), br.version.to_hex());
    co_return std::optional<block_ref>(block_ref::tombstone(br.block, br.version));
}

/// The next 32-byte hash, or nullopt after the last one.
inline std::optional<util::hash32> next_hash(util::hash32 h) noexcept
{
    for (std::size_t i = util::hash32::size(); i-- > 0;) {
        if (h[i] != 0xff) {
            ++h[i];
            return h;
        }
        h[i] = 0;
    }
    return std::nullopt;
}

/// Merges `entries` into `t` in one transaction, capturing what was stored.
template <class Table, class Entry>
util::result<void> insert_captured(Table& t, std::vector<Entry> const& entries, util::write_capture& cap)
{
    if (entries.empty()) {
        return {};
    }
    util::write_capture_scope scope(cap);
    return t.insert_many(entries);
}

} // namespace detail

template <class Model>
util::result<alias_repair_plan> plan_alias_repair(Model& m)
{
    constexpr std::size_t all = std::size_t(1) << 20;
    // 1. The buckets that exist.
    auto buckets = m.bucket_table().get_range(table::empty_key{}, std::nullopt, std::nullopt, all);
    if (!buckets) {
        return buckets.error();
    }
    std::set<util::uuid> live;
    for (auto const& b : *buckets) {
        if (!b.is_deleted()) {
            live.insert(b.id);
        }
    }
    alias_repair_plan plan;
    // 2. The global aliases: those of missing buckets are removed, the others kept.
    std::map<util::uuid, std::set<std::string>> global;
    auto aliases = m.bucket_alias_table().get_range(table::empty_key{}, std::nullopt, std::nullopt, all);
    if (!aliases) {
        return aliases.error();
    }
    for (auto& a : *aliases) {
        auto const target = a.bucket_id();
        if (!target) {
            continue;
        }
        if (live.contains(*target)) {
            global[*target].insert(a.name);
        } else {
            spdlog::warn("repair aliases: global alias {} -> {} removed (the bucket is deleted)", a.name,
                         target->to_hex());
            a.state.update(std::nullopt);
            plan.aliases.push_back(std::move(a));
        }
    }
    // 3. The local aliases, likewise.
    std::map<util::uuid, std::set<local_alias_key>> local;
    auto keys = m.key_table().get_range(table::empty_key{}, std::nullopt, std::nullopt, all);
    if (!keys) {
        return keys.error();
    }
    for (auto& k : *keys) {
        auto* p = k.params_mut();
        if (p == nullptr) {
            continue;
        }
        bool changed = false;
        std::vector<std::string> dangling;
        for (auto const& e : p->local_aliases.items()) {
            if (!e.value) {
                continue;
            }
            if (live.contains(*e.value)) {
                local[*e.value].insert(local_alias_key{k.key_id, e.key});
            } else {
                spdlog::warn("repair aliases: local alias ({}, {}) -> {} removed (the bucket is deleted)",
                             k.key_id, e.key, e.value->to_hex());
                dangling.push_back(e.key);
            }
        }
        for (auto& name : dangling) {
            p->local_aliases.update_in_place(std::move(name), std::nullopt);
            changed = true;
        }
        if (changed) {
            plan.keys.push_back(std::move(k));
        }
    }
    // 4. Each bucket's maps follow the alias table and the keys.
    for (auto& b : *buckets) {
        auto* p = b.params_mut();
        if (p == nullptr) {
            continue;
        }
        auto const before = *p;
        auto const& ga = global[b.id];
        std::vector<std::string> stale_global;
        for (auto const& e : p->aliases.items()) {
            if (e.value && !ga.contains(e.key)) {
                stale_global.push_back(e.key);
            }
        }
        for (auto& name : stale_global) {
            spdlog::warn("repair aliases: bucket {}: global alias {} removed", b.id.to_hex(), name);
            p->aliases.update_in_place(std::move(name), false);
        }
        for (auto const& name : ga) {
            auto const* cur = p->aliases.get(name);
            if (cur == nullptr || !*cur) {
                spdlog::warn("repair aliases: bucket {}: global alias {} added", b.id.to_hex(), name);
                p->aliases.update_in_place(name, true);
            }
        }
        auto const& la = local[b.id];
        std::vector<local_alias_key> stale_local;
        for (auto const& e : p->local_aliases.items()) {
            if (e.value && !la.contains(e.key)) {
                stale_local.push_back(e.key);
            }
        }
        for (auto& pair : stale_local) {
            spdlog::warn("repair aliases: bucket {}: local alias ({}, {}) removed", b.id.to_hex(),
                         pair.key_id, pair.name);
            p->local_aliases.update_in_place(std::move(pair), false);
        }
        for (auto const& pair : la) {
            auto const* cur = p->local_aliases.get(pair);
            if (cur == nullptr || !*cur) {
                spdlog::warn("repair aliases: bucket {}: local alias ({}, {}) added", b.id.to_hex(),
                             pair.key_id, pair.name);
                p->local_aliases.update_in_place(pair, true);
            }
        }
        if (!(*p == before)) {
            plan.buckets.push_back(std::move(b));
        }
    }
    return plan;
}

template <class Model>
util::result<std::vector<util::hash32>> referenced_blocks(Model& m, std::optional<util::hash32> const& after,
                                                          std::size_t max)
{
    std::vector<util::hash32> out;
    std::optional<util::hash32> from;
    if (after) {
        from = detail::next_hash(*after);
        if (!from) {
            return out;
        }
    } else {
        from = util::hash32{};
    }
    while (out.size() < max) {
        // One seek per block: a block with many references is not read reference by reference.
        auto page = m.block_ref_table().scan_encoded(from->view(), std::nullopt, 1);
        if (!page) {
            return page.error();
        }
        if (page->empty()) {
            break;
        }
        auto h =
            util::hash32::from_bytes(std::string_view(page->front().first).substr(0, util::hash32::size()));
        if (!h) {
            return h.error();
        }
        out.push_back(*h);
        from = detail::next_hash(*h);
        if (!from) {
            break;
        }
    }
    return out;
}

template <class Model>
std::function<util::result<std::uint64_t>(typename Model::storage_type::transaction_type&,
                                          util::hash32 const&)>
block_ref_recount(Model& m)
{
    auto* mp = std::addressof(m);
    return [mp](typename Model::storage_type::transaction_type& tx,
                util::hash32 const& h) -> util::result<std::uint64_t> {
        auto n = mp->block_ref_table().count_in(tx, h, deleted_filter::not_deleted);
        if (!n) {
            return n.error();
        }
        return static_cast<std::uint64_t>(*n);
    };
}

// ---- table_repair_worker

template <class Model, class Repair>
table_repair_worker<Model, Repair>::table_repair_worker(Model& m, model_cluster<Model>* cluster,
                                                        model_repair_options options)
    : model_(m), cluster_(cluster), options_(options)
{
    if (options_.batch == 0) {
        options_.batch = 1;
    }
}

template <class Model, class Repair>
std::string table_repair_worker<Model, Repair>::name() const
{
    return std::string(Repair::table(model_).name()) + " repair worker";
}

template <class Model, class Repair>
util::worker_status table_repair_worker<Model, Repair>::status() const
{
    util::worker_status s;
    s.progress = std::to_string(stats_.checked) + " (" + std::to_string(stats_.fixed) + ")";
    s.freeform.push_back("Entries checked: " + std::to_string(stats_.checked));
    s.freeform.push_back("Entries fixed: " + std::to_string(stats_.fixed));
    if (done_) {
        s.freeform.push_back("Finished");
    }
    return s;
}

template <class Model, class Repair>
boost::asio::awaitable<util::result<util::worker_step>> table_repair_worker<Model, Repair>::work()
{
    if (done_) {
        co_return util::worker_step::done();
    }
    auto& t = Repair::table(model_);
    using entry_type = typename std::remove_reference_t<decltype(t)>::entry_type;
    auto page = t.scan_encoded(pos_, std::nullopt, options_.batch);
    if (!page) {
        co_return page.error();
    }
    detail::repair_reader<Model> reader{model_, cluster_};
    std::vector<entry_type> fixes;
    for (std::size_t i = 0; i < page->size(); ++i) {
        auto e = util::decode<entry_type>((*page)[i].second);
        if (!e) {
            co_return util::failure(table::error::corrupt_entry,
                                    "table `" + std::string(t.name()) +
                                        "`: cannot decode a stored entry: " + e.error().message);
        }
        auto fix = co_await detail::repair_fix(Repair{}, reader, std::move(*e));
        if (!fix) {
            co_return fix.error();
        }
        if (*fix) {
            fixes.push_back(std::move(**fix));
        }
    }
    if (!fixes.empty()) {
        util::write_capture cap;
        auto w = detail::insert_captured(t, fixes, cap);
        if (!w) {
            co_return w.error();
        }
        if (cluster_ != nullptr && !cap.empty()) {
            auto r = co_await cluster_->replicate(std::move(cap));
            if (!r) {
                co_return r.error();
            }
        }
    }
    // Counted once the step's fixes are written (a failed step is examined again).
    stats_.checked += page->size();
    stats_.fixed += fixes.size();
    if (page->size() < options_.batch) {
        done_ = true;
        spdlog::info("{}: finished, done {}, fixed {}", name(), stats_.checked, stats_.fixed);
        co_return util::worker_step::done();
    }
    pos_ = page->back().first + std::string(1, '\0'); // the least key after the last one
    co_return util::worker_step::busy();
}

template <class Model, class Repair>
boost::asio::awaitable<void> table_repair_worker<Model, Repair>::wait_for_work()
{
    co_return;
}

// ---- alias_repair_worker

template <class Model>
alias_repair_worker<Model>::alias_repair_worker(Model& m, model_cluster<Model>* cluster)
    : model_(m), cluster_(cluster)
{
}

template <class Model>
util::worker_status alias_repair_worker<Model>::status() const
{
    util::worker_status s;
    s.freeform.push_back("Global aliases removed: " + std::to_string(aliases_));
    s.freeform.push_back("Keys fixed: " + std::to_string(keys_));
    s.freeform.push_back("Buckets fixed: " + std::to_string(buckets_));
    if (done_) {
        s.freeform.push_back("Finished");
    }
    return s;
}

template <class Model>
boost::asio::awaitable<util::result<util::worker_step>> alias_repair_worker<Model>::work()
{
    if (done_) {
        co_return util::worker_step::done();
    }
    auto plan = plan_alias_repair(model_);
    if (!plan) {
        co_return plan.error();
    }
    util::write_capture cap;
    if (auto w = detail::insert_captured(model_.bucket_alias_table(), plan->aliases, cap); !w) {
        co_return w.error();
    }
    if (auto w = detail::insert_captured(model_.key_table(), plan->keys, cap); !w) {
        co_return w.error();
    }
    if (auto w = detail::insert_captured(model_.bucket_table(), plan->buckets, cap); !w) {
        co_return w.error();
    }
    if (cluster_ != nullptr && !cap.empty()) {
        auto r = co_await cluster_->replicate(std::move(cap));
        if (!r) {
            co_return r.error();
        }
    }
    aliases_ = plan->aliases.size();
    keys_ = plan->keys.size();
    buckets_ = plan->buckets.size();
    done_ = true;
    spdlog::info("{}: finished: global alias table: {} entries fixed; key table: {} entries fixed; bucket "
                 "table: {} entries fixed",
                 name(), aliases_, keys_, buckets_);
    co_return util::worker_step::done();
}

template <class Model>
boost::asio::awaitable<void> alias_repair_worker<Model>::wait_for_work()
{
    co_return;
}

template <class Model>
std::size_t spawn_model_repair(Model& m, util::background_runner& runner, model_repair what,
                               model_cluster<Model>* cluster, model_repair_options options)
{
    switch (what) {
    case model_repair::versions:
        return runner.spawn(
            std::make_unique<table_repair_worker<Model, repair_versions>>(m, cluster, options));
    case model_repair::mpu:
        return runner.spawn(std::make_unique<table_repair_worker<Model, repair_mpu>>(m, cluster, options));
    case model_repair::block_refs:
        return runner.spawn(
            std::make_unique<table_repair_worker<Model, repair_block_refs>>(m, cluster, options));
    case model_repair::aliases:
        break;
    }
    return runner.spawn(std::make_unique<alias_repair_worker<Model>>(m, cluster));
}

} // namespace garage::model
