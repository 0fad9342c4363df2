#include <garage/layout/manager.hpp>

#include <garage/layout/error.hpp>
#include <garage/layout/messages.hpp>
#include <garage/rpc/endpoint.hpp>
#include <garage/rpc/rpc_helper.hpp>
#include <garage/util/persister.hpp>
#include <garage/util/time.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>

namespace garage::layout {
namespace net = boost::asio;

namespace {

std::string short_id(util::node_id const& id)
{
    return id.to_hex().substr(0, 16);
}

std::string join_versions(std::vector<std::uint64_t> const& vs)
{
    std::string out;
    for (auto v : vs) {
        out += (out.empty() ? "" : ", ") + std::to_string(v);
    }
    return out;
}

/// What to advertise after a change.
enum class advertise { layout, trackers };

constexpr std::size_t max_conflicts = 100;

} // namespace

layout_manager_options layout_manager_options::from_config(util::config const& config)
{
    layout_manager_options o;
    o.metadata_dir = config.metadata_dir;
    o.replication_factor = config.replication_factor;
    o.consistency_mode = config.consistency_mode;
    return o;
}

struct layout_manager::state : std::enable_shared_from_this<state> {
    state(rpc::network& n, layout_manager_options o, layout_history h)
        : net(n), opts(std::move(o)), self(n.id()), persist(opts.metadata_dir / "cluster_layout"),
          helper(opts.replication_factor, opts.consistency_mode, std::move(h))
    {
    }

    rpc::network& net;
    layout_manager_options opts;
    util::node_id self;
    util::persister<layout_history> persist;

    mutable std::mutex mutex;
    layout_helper helper; // the working copy, with the ack-lock counts
    std::map<std::string, std::uint64_t, std::less<>> tables;
    std::deque<layout_conflict> conflicts;
    std::atomic<std::shared_ptr<layout_helper const>> snap;

    std::mutex subscribers_mutex;
    std::map<std::uint64_t, subscriber> subscribers;
    std::uint64_t next_subscriber = 1;

    std::atomic<rpc::rpc_helper const*> rpc_helper{nullptr};
    std::atomic<bool> stopped{false};

    rpc::call_options call_opts() const { return {rpc::priority::high, opts.rpc_timeout}; }

    /** Runs `f` on a copy of the working layout; if it reports a change, persists the copy,
        makes it the working layout, publishes it and advertises it. The caller must not hold
        the lock. `F`: `(layout_helper&) -> util::result<bool>`. */
    template <class F>
    util::result<bool> modify(F&& f, advertise what)
    {
        std::shared_ptr<layout_helper const> published;
        {
            std::lock_guard lock(mutex);
            if (stopped.load()) {
                // The manager is gone (a background pull finishing late): change nothing.
                return util::failure(util::error::shutting_down, "the layout manager is stopping");
            }
            layout_helper next = helper;
            auto changed = f(next);
            if (!changed) {
                return changed.error();
            }
            if (!*changed) {
                return false;
            }
            if (auto saved = persist.save(next.history()); !saved) {
                spdlog::error("layout: cannot persist the cluster layout: {}", saved.error().message);
                return saved.error();
            }
            helper = std::move(next);
            published = std::make_shared<layout_helper const>(helper);
            snap.store(published);
        }
        notify(published);
        if (what == advertise::layout) {
            broadcast_layout();
        } else {
            broadcast_trackers();
        }
        return true;
    }

    void notify(std::shared_ptr<layout_helper const> const& s)
    {
        std::vector<subscriber> fs;
        {
            std::lock_guard lock(subscribers_mutex);
            for (auto const& [id, f] : subscribers) {
                fs.push_back(f);
            }
        }
        for (auto const& f : fs) {
            f(s);
        }
    }

    /// Validates a received history, then merges it.
    util::result<bool> merge_received(util::node_id const& from, layout_history const& adv)
    {
        if (adv.versions.empty()) {
            return util::failure(error::invalid_layout, "refused a cluster layout without any version");
        }
        if (adv.current().replication_factor != opts.replication_factor) {
            return util::failure(error::invalid_parameter,
                                 "Received a cluster layout from another cluster with replication factor " +
                                     std::to_string(adv.current().replication_factor) + ", we have " +
                                     std::to_string(opts.replication_factor));
        }
        for (std::size_t i = 1; i < adv.versions.size(); ++i) {
            if (adv.versions[i].version != adv.versions[i - 1].version + 1) {
                return util::failure(error::invalid_layout,
                                     "refused a cluster layout whose live versions are not consecutive (" +
                                         std::to_string(adv.versions[i - 1].version) + " then " +
                                         std::to_string(adv.versions[i].version) + ")");
            }
        }
        std::optional<layout_conflict> conflict;
        auto r = modify(
            [&](layout_helper& next) -> util::result<bool> {
                bool const prev_ok = next.is_check_ok();
                auto const ours = next.current().version;
                for (auto const& v : adv.versions) {
                    if (v.version > ours && v.version > 0) {
                        if (auto c = v.check(); !c) {
                            return util::failure(error::invalid_layout, "refused layout version " +
                                                                            std::to_string(v.version) + ": " +
                                                                            c.error().message);
                        }
                    }
                }
                if (prev_ok && !adv.check()) {
                    // An invalid layout no newer than ours (a node that has not caught up yet):
                    // ignored, as Garage does. A newer one was refused above.
                    return false;
                }
                merge_outcome out;
                next.update([&](layout_history& h) {
                    out = h.merge(adv);
                    return out.changed;
                });
                if (!out.inconsistent_versions.empty()) {
                    conflict = layout_conflict{from, out.inconsistent_versions, util::now_msec()};
                    return util::failure(error::inconsistent_history,
                                         "Inconsistent layout histories: node " + short_id(from) +
                                             " holds another layout under version(s) " +
                                             join_versions(out.inconsistent_versions) +
                                             "; was the same version applied twice?");
                }
                if (!out.changed) {
                    return false;
                }
                next.update_trackers_of(self);
                if (prev_ok && !next.is_check_ok()) {
                    return util::failure(error::invalid_layout,
                                         "refused a cluster layout: merging it would make ours invalid");
                }
                return true;
            },
            advertise::layout);
        if (conflict) {
            spdlog::error("layout: {}", r.error().message);
            std::lock_guard lock(mutex);
            conflicts.push_back(std::move(*conflict));
            while (conflicts.size() > max_conflicts) {
                conflicts.pop_front();
            }
        } else if (!r) {
            spdlog::warn("layout: refused the layout of node {}: {}", short_id(from), r.error().message);
        } else if (*r) {
            spdlog::info("layout: merged the layout of node {}; current version {}", short_id(from),
                         snap.load()->current().version);
        }
        return r;
    }

    util::result<bool> merge_trackers(layout::update_trackers const& t)
    {
        return modify(
            [&](layout_helper& next) -> util::result<bool> {
                if (next.history().trackers == t) {
                    return false;
                }
                if (!next.update([&](layout_history& h) { return h.trackers.merge(t); })) {
                    return false;
                }
                next.update_trackers_of(self);
                return true;
            },
            advertise::trackers);
    }

    void broadcast_layout()
    {
        if (stopped.load()) {
            return;
        }
        for (auto const& peer : net.connected_peers()) {
            net::co_spawn(net.get_executor(), send_layout(shared_from_this(), peer), net::detached);
        }
    }

    void broadcast_trackers()
    {
        if (stopped.load()) {
            return;
        }
        for (auto const& peer : net.connected_peers()) {
            net::co_spawn(net.get_executor(), send_trackers(shared_from_this(), peer), net::detached);
        }
    }

    static net::awaitable<void> send_layout(std::shared_ptr<state> st, util::node_id peer)
    {
        auto r = co_await advertise_layout_to(st, peer);
        if (!r && r.error().code == rpc::error::shutting_down) {
            spdlog::debug("layout: not advertised to node {}: stopping", short_id(peer));
        } else if (!r) {
            spdlog::warn("layout: advertising the layout to node {} failed: {}", short_id(peer),
                         r.error().message);
        }
    }

    static net::awaitable<void> send_trackers(std::shared_ptr<state> st, util::node_id peer)
    {
        auto trackers = st->snap.load()->history().trackers;
        auto r = co_await rpc::call<advertise_trackers_endpoint>(st->net, peer, std::move(trackers),
                                                                 st->call_opts());
        if (!r && r.error().code == rpc::error::shutting_down) {
            spdlog::debug("layout: trackers not advertised to node {}: stopping", short_id(peer));
        } else if (!r) {
            spdlog::warn("layout: advertising the trackers to node {} failed: {}", short_id(peer),
                         r.error().message);
        }
    }

    static net::awaitable<util::result<void>> advertise_layout_to(std::shared_ptr<state> st,
                                                                  util::node_id peer)
    {
        auto history = st->snap.load()->history();
        auto r =
            co_await rpc::call<advertise_layout_endpoint>(st->net, peer, std::move(history), st->call_opts());
        if (!r) {
            co_return r.error();
        }
        co_return util::result<void>{};
    }

    static net::awaitable<util::result<bool>> pull_layout(std::shared_ptr<state> st, util::node_id peer)
    {
        empty_message const request; // named: g++ 12 destroys braced temporaries in co_await twice
        auto r = co_await rpc::call<pull_layout_endpoint>(st->net, peer, request, st->call_opts());
        if (!r) {
            co_return r.error();
        }
        co_return st->merge_received(peer, *r);
    }

    static net::awaitable<util::result<bool>> pull_trackers(std::shared_ptr<state> st, util::node_id peer)
    {
        empty_message const request;
        auto r = co_await rpc::call<pull_trackers_endpoint>(st->net, peer, request, st->call_opts());
        if (!r) {
            co_return r.error();
        }
        co_return st->merge_trackers(*r);
    }

    static net::awaitable<void> pull_in_background(std::shared_ptr<state> st, util::node_id peer, bool whole)
    {
        util::result<bool> r = false;
        if (whole) {
            r = co_await pull_layout(st, peer);
        } else {
            r = co_await pull_trackers(st, peer);
        }
        if (!r) {
            spdlog::warn("layout: pulling the {} of node {} failed: {}", whole ? "layout" : "trackers",
                         short_id(peer), r.error().message);
        }
    }

    static net::awaitable<util::result<layout_history>> serve_pull_layout(std::shared_ptr<state> st)
    {
        co_return st->snap.load()->history();
    }

    static net::awaitable<util::result<empty_message>>
    serve_advertise_layout(std::shared_ptr<state> st, util::node_id from, layout_history h)
    {
        auto r = st->merge_received(from, h);
        if (!r) {
            co_return r.error();
        }
        co_return empty_message{};
    }

    static net::awaitable<util::result<layout::update_trackers>>
    serve_pull_trackers(std::shared_ptr<state> st)
    {
        co_return st->snap.load()->history().trackers;
    }

    static net::awaitable<util::result<empty_message>> serve_advertise_trackers(std::shared_ptr<state> st,
                                                                                layout::update_trackers t)
    {
        auto r = st->merge_trackers(t);
        if (!r) {
            co_return r.error();
        }
        co_return empty_message{};
    }

    void release_write(std::uint64_t version)
    {
        {
            std::lock_guard lock(mutex);
            helper.unlock_write(version);
        }
        (void)modify([&](layout_helper& next) -> util::result<bool> { return next.ack_max_free(self); },
                     advertise::trackers);
    }
};

// ---- construction ----

util::result<std::unique_ptr<layout_manager>> layout_manager::open(rpc::network& net,
                                                                   layout_manager_options options)
{
    if (options.replication_factor == 0) {
        return util::failure(error::invalid_parameter, "the replication factor must be at least 1");
    }
    std::error_code ec;
    std::filesystem::create_directories(options.metadata_dir, ec);
    if (ec) {
        return util::failure(util::error::io_error,
                             "cannot create " + options.metadata_dir.string() + ": " + ec.message());
    }
    util::persister<layout_history> const persist(options.metadata_dir / "cluster_layout");
    auto loaded = persist.load();
    if (!loaded) {
        return loaded.error();
    }
    layout_history history;
    if (*loaded) {
        history = std::move(**loaded);
        if (history.current().replication_factor != options.replication_factor) {
            return util::failure(
                error::invalid_parameter,
                "Previous cluster layout has replication factor " +
                    std::to_string(history.current().replication_factor) +
                    ", which is different than the one specified in the config file (" +
                    std::to_string(options.replication_factor) +
                    "). The previous cluster layout can be purged, if you know what you are doing, simply "
                    "by deleting the `cluster_layout` file in your metadata directory.");
        }
    } else {
        history = layout_history::make(options.replication_factor);
    }
    auto st = std::make_shared<state>(net, std::move(options), std::move(history));
    st->helper.update_trackers_of(st->self);
    st->snap.store(std::make_shared<layout_helper const>(st->helper));

    // The handlers are plain lambdas returning the coroutines of `state`: the coroutine frames own
    // a reference to the state, not to the handler closures (which `remove_handler` destroys).
    rpc::serve<pull_layout_endpoint>(
        net, [st](util::node_id, empty_message) { return state::serve_pull_layout(st); });
    rpc::serve<advertise_layout_endpoint>(net, [st](util::node_id from, layout_history h) {
        return state::serve_advertise_layout(st, from, std::move(h));
    });
    rpc::serve<pull_trackers_endpoint>(
        net, [st](util::node_id, empty_message) { return state::serve_pull_trackers(st); });
    rpc::serve<advertise_trackers_endpoint>(net, [st](util::node_id, layout::update_trackers t) {
        return state::serve_advertise_trackers(st, std::move(t));
    });
    return std::unique_ptr<layout_manager>(new layout_manager(std::move(st)));
}

layout_manager::layout_manager(std::shared_ptr<state> st) : state_(std::move(st)) {}

layout_manager::~layout_manager()
{
    state_->stopped.store(true);
    for (auto path : {pull_layout_endpoint::path, advertise_layout_endpoint::path,
                      pull_trackers_endpoint::path, advertise_trackers_endpoint::path}) {
        state_->net.remove_handler(path);
    }
}

// ---- layout_source ----

std::shared_ptr<layout_helper const> layout_manager::snapshot() const
{
    return state_->snap.load();
}

util::node_id layout_manager::local_node() const
{
    return state_->self;
}

std::size_t layout_manager::replication_factor() const
{
    return state_->opts.replication_factor;
}

util::consistency_mode layout_manager::consistency_mode() const
{
    return state_->opts.consistency_mode;
}

std::vector<util::node_id> layout_manager::preferred_order(std::vector<util::node_id> nodes) const
{
    if (auto const* h = state_->rpc_helper.load()) {
        return h->request_order(std::move(nodes));
    }
    return layout_source::preferred_order(std::move(nodes));
}

void layout_manager::set_rpc_helper(rpc::rpc_helper const* helper)
{
    state_->rpc_helper.store(helper);
}

std::optional<std::string> layout_manager::zone_of(util::node_id const& node) const
{
    auto const s = snapshot();
    if (auto const* role = s->current().role_of(node)) {
        return role->zone;
    }
    return std::nullopt;
}

std::uint64_t layout_manager::subscribe(subscriber f)
{
    std::lock_guard lock(state_->subscribers_mutex);
    auto const id = state_->next_subscriber++;
    state_->subscribers.emplace(id, std::move(f));
    return id;
}

void layout_manager::unsubscribe(std::uint64_t handle)
{
    std::lock_guard lock(state_->subscribers_mutex);
    state_->subscribers.erase(handle);
}

// ---- local operations ----

namespace {

/// Runs a fallible staging operation inside `layout_helper::update`.
template <class Op>
util::result<bool> staged(layout_helper& next, Op&& op)
{
    std::optional<util::failure> err;
    next.update([&](layout_history& h) {
        auto r = op(h);
        if (!r) {
            err = r.error();
            return false;
        }
        return true;
    });
    if (err) {
        return *err;
    }
    return true;
}

} // namespace

util::result<void> layout_manager::stage_assign(std::span<util::node_id const> nodes,
                                                assign_options const& options)
{
    auto r = state_->modify(
        [&](layout_helper& next) {
            return staged(next, [&](layout_history& h) { return h.stage_assign(nodes, options); });
        },
        advertise::layout);
    if (!r) {
        return r.error();
    }
    return {};
}

util::result<void> layout_manager::stage_remove(util::node_id const& node)
{
    auto r = state_->modify(
        [&](layout_helper& next) {
            return staged(next, [&](layout_history& h) { return h.stage_remove(node); });
        },
        advertise::layout);
    if (!r) {
        return r.error();
    }
    return {};
}

util::result<void> layout_manager::stage_zone_redundancy(zone_redundancy z)
{
    auto r = state_->modify(
        [&](layout_helper& next) {
            return staged(next, [&](layout_history& h) { return h.stage_zone_redundancy(z); });
        },
        advertise::layout);
    if (!r) {
        return r.error();
    }
    return {};
}

util::result<report> layout_manager::apply(std::optional<std::uint64_t> version)
{
    report out;
    auto r = state_->modify(
        [&](layout_helper& next) -> util::result<bool> {
            auto changed = staged(next, [&](layout_history& h) -> util::result<void> {
                auto rep = h.apply_staged_changes(version);
                if (!rep) {
                    return rep.error();
                }
                out = std::move(*rep);
                return {};
            });
            if (changed) {
                next.update_trackers_of(state_->self);
            }
            return changed;
        },
        advertise::layout);
    if (!r) {
        return r.error();
    }
    spdlog::info("layout: applied version {}", version.value_or(0));
    return out;
}

util::result<void> layout_manager::revert()
{
    auto r = state_->modify(
        [&](layout_helper& next) -> util::result<bool> {
            return next.update([](layout_history& h) {
                auto const before = h.staging;
                h.revert_staged_changes();
                return !(before == h.staging);
            });
        },
        advertise::layout);
    if (!r) {
        return r.error();
    }
    return {};
}

util::result<std::vector<std::string>>
layout_manager::skip_dead_nodes(std::uint64_t version, std::function<bool(util::node_id const&)> const& is_up,
                                bool allow_missing_data)
{
    std::vector<std::string> lines;
    auto r = state_->modify(
        [&](layout_helper& next) {
            return staged(next, [&](layout_history& h) -> util::result<void> {
                auto l = h.skip_dead_nodes(version, is_up, allow_missing_data);
                if (!l) {
                    return l.error();
                }
                lines = std::move(*l);
                return {};
            });
        },
        advertise::layout);
    if (!r) {
        return r.error();
    }
    return lines;
}

util::result<bool> layout_manager::merge(layout_history const& history)
{
    return state_->merge_received(state_->self, history);
}

// ---- trackers ----

layout_manager::write_guard::write_guard(write_guard&& other) noexcept
    : state_(std::move(other.state_)), version_(other.version_)
{
}

layout_manager::write_guard::~write_guard()
{
    if (state_) {
        state_->release_write(version_);
    }
}

layout_manager::write_guard layout_manager::lock_write()
{
    std::lock_guard lock(state_->mutex);
    auto const v = state_->helper.lock_write();
    return write_guard(state_, v);
}

void layout_manager::register_table(std::string table)
{
    std::lock_guard lock(state_->mutex);
    state_->tables.emplace(std::move(table), 0);
}

void layout_manager::sync_table_until(std::string_view table, std::uint64_t version)
{
    std::uint64_t until = 0;
    {
        std::lock_guard lock(state_->mutex);
        auto it = state_->tables.find(table);
        if (it == state_->tables.end()) {
            it = state_->tables.emplace(std::string(table), 0).first;
        }
        it->second = version;
        until = version;
        for (auto const& [name, v] : state_->tables) {
            until = std::min(until, v);
        }
    }
    auto const self = state_->self;
    (void)state_->modify(
        [&](layout_helper& next) -> util::result<bool> {
            if (!next.sync_until(self, until)) {
                return false;
            }
            next.update_trackers_of(self);
            return true;
        },
        advertise::trackers);
}

bool layout_manager::update_trackers()
{
    auto const self = state_->self;
    auto r = state_->modify(
        [&](layout_helper& next) -> util::result<bool> { return next.update_trackers_of(self); },
        advertise::trackers);
    return r && *r;
}

// ---- gossip ----

void layout_manager::on_peer_digest(util::node_id const& peer, layout_digest const& remote)
{
    auto const local = snapshot()->digest();
    bool const whole = remote.current_version > local.current_version ||
                       remote.active_versions != local.active_versions ||
                       remote.staging_hash != local.staging_hash;
    if (!whole && remote.trackers_hash == local.trackers_hash) {
        return;
    }
    if (state_->stopped.load()) {
        return;
    }
    net::co_spawn(state_->net.get_executor(), state::pull_in_background(state_, peer, whole), net::detached);
}

net::awaitable<util::result<bool>> layout_manager::pull_layout(util::node_id peer)
{
    return state::pull_layout(state_, peer);
}

net::awaitable<util::result<bool>> layout_manager::pull_trackers(util::node_id peer)
{
    return state::pull_trackers(state_, peer);
}

net::awaitable<util::result<void>> layout_manager::advertise_layout_to(util::node_id peer)
{
    return state::advertise_layout_to(state_, peer);
}

void layout_manager::broadcast_layout()
{
    state_->broadcast_layout();
}

void layout_manager::broadcast_trackers()
{
    state_->broadcast_trackers();
}

std::vector<layout_conflict> layout_manager::conflicts() const
{
    std::lock_guard lock(state_->mutex);
    return {state_->conflicts.begin(), state_->conflicts.end()};
}

} // namespace garage::layout
