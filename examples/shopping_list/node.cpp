// The shopping list replicated across real processes: three storage nodes hold every list
// (replication factor 3, quorums of 2), and short-lived client commands read and write through
// them. Everything below is assembled from the framework's templates:
//
//   node key (rpc::node_key)            TLS identity, `node_key` in the node's directory
//   rpc::network + rpc::peering         TLS links authenticated by the shared secret, reconnects
//   layout::static_layout_source        a fixed layout of the member nodes, one zone each
//   replication::sharded                each list on the 3 nodes of its partition
//   table::table<..., lmdb_backend>     the node's local copy, with its Merkle trees
//   table::replicated_table             quorum writes and reads, read repair
//   table::syncer                       Merkle anti-entropy (a pass when a peer comes back)
//   table::table_gc                     collection of removed items' tombstones
//
// A three-node cluster on one machine:
//
//   N=bazel-bin/examples/shopping_list/shopping_list_node
//   S=$(openssl rand -hex 32)                               # the shared secret
//   A=$($N init --dir /tmp/sl/a)@127.0.0.1:4001             # <node id>@<address>
//   B=$($N init --dir /tmp/sl/b)@127.0.0.1:4002
//   C=$($N init --dir /tmp/sl/c)@127.0.0.1:4003
//   $N serve --dir /tmp/sl/a --listen 127.0.0.1:4001 --secret $S --peer $B --peer $C &
//   $N serve --dir /tmp/sl/b --listen 127.0.0.1:4002 --secret $S --peer $A --peer $C &
//   $N serve --dir /tmp/sl/c --listen 127.0.0.1:4003 --secret $S --peer $A --peer $B &
//   P="--dir /tmp/sl/client --secret $S --peer $A --peer $B --peer $C"
//   $N add $P groceries milk --qty 2                        # quorum write
//   $N buy $P groceries milk
//   $N show $P groceries                                    # quorum read
//   $N show $P groceries --from ${C%@*}                     # node C's copy alone
//   kill %3; wait %3; $N dump-local --dir /tmp/sl/c groceries   # C stopped: its database
//
// examples/shopping_list/cluster_test.sh runs this, kills a node, and checks that the cluster
// keeps working and that the node catches up when it comes back.

#include <examples/shopping_list/shopping_list.hpp>

#include <garage/layout/history.hpp>
#include <garage/layout/source.hpp>
#include <garage/replication/sharded.hpp>
#include <garage/rpc/network.hpp>
#include <garage/rpc/node_key.hpp>
#include <garage/rpc/peering.hpp>
#include <garage/rpc/rpc_helper.hpp>
#include <garage/storage/lmdb_backend.hpp>
#include <garage/table/gc.hpp>
#include <garage/table/replicated_table.hpp>
#include <garage/table/syncer.hpp>
#include <garage/util/worker.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace garage;
namespace net = boost::asio;
using shopping::item;
using shopping::item_schema;

using local_table = table::table<item_schema, replication::sharded, storage::lmdb_backend>;
using cluster_table = table::replicated_table<item_schema, replication::sharded, storage::lmdb_backend>;
using item_syncer = table::syncer<item_schema, replication::sharded, storage::lmdb_backend>;
using item_gc = table::table_gc<item_schema, replication::sharded, storage::lmdb_backend>;

/// Copies of each list: every list lives on three nodes; reads and writes need two of them.
constexpr std::size_t replication_factor = 3;

/// The largest list `show` prints.
constexpr std::size_t show_limit = 1000;

/// What the command line gives the commands.
struct arguments {
    std::filesystem::path dir;        ///< this node's (or client's) directory: key and database
    std::string listen;               ///< `serve`: `ip:port` to listen on
    std::string secret;               ///< the shared RPC secret, 64 hex digits
    std::vector<std::string> peers;   ///< `<id>@<ip>:<port>` of the storage nodes to connect to
    std::vector<std::string> members; ///< ids of further storage nodes (not contacted)
    std::string list;                 ///< the list's name
    std::string name;                 ///< the item's name
    std::uint32_t quantity = 1;       ///< `add --qty`
    bool pending = false;             ///< `show --pending`
    std::string from;                 ///< `show --from`: read this one node only
    unsigned sync_interval_s = 60;    ///< `serve --sync-interval`
};

/// A startup or command failure: printed by `main`, exit status 1.
struct fatal : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// @return The value of `r`, or throws @ref fatal with `what` and its message.
template <class T>
T expect(util::result<T> r, std::string_view what)
{
    if (!r) {
        throw fatal(fmt::format("{}: {}", what, r.error().message));
    }
    return std::move(*r);
}

/// The first 8 hex digits of a node id, as logs print it.
std::string short_id(util::node_id const& id)
{
    return id.to_hex().substr(0, 8);
}

/** The layout of the example's cluster: every member a storage node of equal capacity, each
    in a zone of its own (`dc1`, `dc2`, ... in the order of the sorted ids), applied as version 1.
    Every process computes it from the same ids, so every process holds the same layout with
    no layout gossip at all (the reference server's layout manager is what changes layouts
    at run time).
    @param members The storage nodes (at least `replication_factor`).
    @return The history; the assignment's refusal. */
util::result<layout::layout_history> member_layout(std::vector<util::node_id> members)
{
    std::sort(members.begin(), members.end());
    members.erase(std::unique(members.begin(), members.end()), members.end());
    if (members.size() < replication_factor) {
        return util::failure(util::error::config_invalid_value,
                             fmt::format("{} storage nodes given, {} needed (replication factor)",
                                         members.size(), replication_factor));
    }
    auto h = layout::layout_history::make(replication_factor);
    for (std::size_t i = 0; i < members.size(); ++i) {
        layout::assign_options o;
        o.zone = "dc" + std::to_string(i + 1);
        o.capacity = 1'000'000'000;
        if (auto r = h.stage_assign(members[i], o); !r) {
            return r.error();
        }
    }
    if (auto r = h.apply_staged_changes(1); !r) {
        return r.error();
    }
    return h;
}

/// A storage node's address, parsed.
struct peer {
    util::node_id id;             ///< its key
    net::ip::tcp::endpoint where; ///< where it listens
};

/// Parses `<id>@<ip>:<port>`.
peer parse_peer(std::string const& text)
{
    auto a = expect(rpc::node_address::parse(text), "--peer " + text);
    boost::system::error_code ec;
    auto ip = net::ip::make_address(a.host, ec);
    if (ec) {
        throw fatal(fmt::format("--peer {}: `{}` is not an IP address", text, a.host));
    }
    return peer{a.id, net::ip::tcp::endpoint(ip, a.port)};
}

/// Parses `<ip>:<port>`.
net::ip::tcp::endpoint parse_listen(std::string const& text)
{
    auto colon = text.rfind(':');
    if (colon == std::string::npos) {
        throw fatal("--listen " + text + ": expected <ip>:<port>");
    }
    boost::system::error_code ec;
    auto host = text.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    auto ip = net::ip::make_address(host, ec);
    if (ec) {
        throw fatal("--listen " + text + ": bad IP address");
    }
    return {ip, static_cast<unsigned short>(std::stoul(text.substr(colon + 1)))};
}

/// The member ids: the peers', the extra `--member` ids, and `self` for a storage node.
std::vector<util::node_id> member_ids(std::vector<peer> const& peers, std::vector<std::string> const& extra,
                                      std::optional<util::node_id> self)
{
    std::vector<util::node_id> ids;
    for (auto const& p : peers) {
        ids.push_back(p.id);
    }
    for (auto const& m : extra) {
        ids.push_back(expect(util::node_id::from_hex(m), "--member " + m));
    }
    if (self) {
        ids.push_back(*self);
    }
    return ids;
}

/// Opens the LMDB environment in `dir/db`.
storage::lmdb_backend open_db(std::filesystem::path const& dir, std::uint64_t map_size)
{
    storage::lmdb_options o;
    o.path = dir / "db";
    o.map_size = map_size;
    return expect(storage::lmdb_backend::open(o), "cannot open " + o.path.string());
}

/// Prints a list the way the single-replica example does.
void print_list(std::string const& list, std::vector<item> const& rows)
{
    fmt::print("{}:\n", list);
    if (rows.empty()) {
        fmt::print("  (empty)\n");
    }
    for (auto const& i : rows) {
        fmt::print("  [{}] {} x{}\n", i.bought.get() ? "x" : " ", i.name, i.quantity.get());
    }
    std::fflush(stdout);
}

// ---- serve: one storage node ------------------------------------------------------------

/** A storage node: owns every service and its lifecycle (started bottom-up by `run`, stopped
    top-down on SIGINT / SIGTERM). */
class storage_node {
public:
    /// Opens the key, the database and the table, and registers the endpoints.
    explicit storage_node(arguments const& a)
        : key_(expect(rpc::node_key::load_or_create(a.dir), "node key in " + a.dir.string())),
          bind_(parse_listen(a.listen)), db_(open_db(a.dir, 1ull << 30))
    {
        for (auto const& p : a.peers) {
            peers_.push_back(parse_peer(p));
        }
        auto history = expect(member_layout(member_ids(peers_, a.members, key_.id())), "layout");
        source_.emplace(key_.id(), replication_factor, util::consistency_mode::consistent,
                        std::move(history));
        net_.emplace(ioc_.get_executor(), key_, expect(rpc::parse_rpc_secret(a.secret), "--secret"));
        helper_.emplace(*net_);
        rpc::peering_options po;
        po.ping_interval = std::chrono::seconds(1); // also the reconnection period
        po.retry_interval = std::chrono::seconds(1);
        po.max_retries = 1'000'000; // a storage node is never forgotten
        peering_.emplace(*net_, &*helper_, po);
        local_ = expect(local_table::open(item_schema{}, replication::sharded(*source_), db_), "table");
        items_.emplace(*local_, *helper_);
        table::syncer_options so;
        so.interval = std::chrono::seconds(a.sync_interval_s);
        sync_.emplace(*local_, *helper_, so);
        gc_.emplace(*local_, *helper_);
        items_->start();
        sync_->start();
        gc_->start();
        // Anti-entropy at once when a peer comes (back) up, not only every interval: a node
        // that was down receives what it missed within a pass.
        net_->on_link_event([s = &*sync_](rpc::link_event const& e) {
            if (e.up) {
                s->request_full_sync();
            }
        });
    }

    storage_node(storage_node const&) = delete;
    storage_node& operator=(storage_node const&) = delete;

    /// Listens, connects to the peers, runs the workers until SIGINT or SIGTERM; then stops
    /// everything, top-down.
    void run()
    {
        auto bound = expect(net_->listen(bind_), "listen on " + bind_.address().to_string());
        for (auto const& p : peers_) {
            peering_->add_peer(p.id, p.where);
        }
        // A failed step (a sync pass while a peer is down) is retried after 2 s, not Garage's 10 s.
        util::worker_timing timing;
        timing.error_pause = std::chrono::seconds(2);
        runner_.emplace(background_.get_executor(), timing);
        items_->spawn_workers(*runner_, background_.get_executor());
        sync_->spawn_worker(*runner_, background_.get_executor());
        gc_->spawn_worker(*runner_, background_.get_executor());
        std::promise<void> signalled;
        net::signal_set signals(ioc_, SIGINT, SIGTERM);
        signals.async_wait([&signalled](boost::system::error_code ec, int) {
            if (!ec) {
                signalled.set_value();
            }
        });
        net::co_spawn(ioc_, peering_->run(), net::detached);
        auto work = net::make_work_guard(ioc_);
        std::thread io([this] { ioc_.run(); });
        fmt::print("node {} serving on {}:{} ({} peers, replication factor {})\n", key_.id().to_hex(),
                   bound.address().to_string(), bound.port(), peers_.size(), replication_factor);
        std::fflush(stdout);
        signalled.get_future().wait();

        // The workers first (their RPC calls complete on the I/O thread, still running), then
        // the endpoints, the links, and the I/O thread.
        spdlog::info("shutting down");
        runner_->request_stop();
        if (!runner_->wait_stopped()) {
            spdlog::warn("some background workers did not stop within the deadline");
        }
        peering_->stop();
        net::co_spawn(ioc_, items_->stop(), net::use_future).get(); // waits for read repairs
        sync_->stop();
        gc_->stop();
        net_->stop();
        work.reset();
        ioc_.stop();
        io.join();
        background_.join();
        fmt::print("node {} stopped\n", short_id(key_.id()));
    }

private:
    // Declaration order is construction order; destruction runs backwards (the services before
    // what they use, the executors last).
    net::io_context ioc_;
    net::thread_pool background_{2};
    rpc::node_key key_;
    net::ip::tcp::endpoint bind_;
    std::vector<peer> peers_;
    storage::lmdb_backend db_;
    std::optional<layout::static_layout_source> source_;
    std::optional<rpc::network> net_;
    std::optional<rpc::rpc_helper> helper_;
    std::optional<rpc::peering> peering_;
    std::unique_ptr<local_table> local_;
    std::optional<cluster_table> items_;
    std::optional<item_syncer> sync_;
    std::optional<item_gc> gc_;
    std::optional<util::background_runner> runner_;
};

// ---- client commands: a gateway node with no role in the layout -----------------------------

/// What a client command does.
enum class client_command { add, buy, remove, show };

/** A short-lived gateway: its own key and (empty) local table, connections to the storage
    nodes, and the replicated table, which sends each write to all three nodes of the list's
    partition and each read to two of them. */
class client {
public:
    /** @param a The arguments. @param cmd The command. */
    client(arguments a, client_command cmd)
        : args_(std::move(a)), cmd_(cmd),
          key_(expect(rpc::node_key::load_or_create(args_.dir), "client key in " + args_.dir.string())),
          db_(open_db(args_.dir, 64ull << 20))
    {
        for (auto const& p : args_.peers) {
            peers_.push_back(parse_peer(p));
        }
        if (!args_.from.empty()) {
            only_ = expect(util::node_id::from_hex(args_.from), "--from " + args_.from);
        }
        auto history = expect(member_layout(member_ids(peers_, args_.members, std::nullopt)), "layout");
        // `--from`: read quorum 1 (`dangerous` mode) with a connection to that node alone, so
        // the answer is that node's copy, and nothing is repaired.
        auto const mode =
            args_.from.empty() ? util::consistency_mode::consistent : util::consistency_mode::dangerous;
        source_.emplace(key_.id(), replication_factor, mode, std::move(history));
        network_options_.call_timeout = std::chrono::seconds(10);
        network_options_.handshake_timeout = std::chrono::seconds(5);
        net_.emplace(ioc_.get_executor(), key_, expect(rpc::parse_rpc_secret(args_.secret), "--secret"),
                     network_options_);
        helper_.emplace(*net_);
        local_ = expect(local_table::open(item_schema{}, replication::sharded(*source_), db_), "table");
        items_.emplace(*local_, *helper_);
        items_->start();
    }

    client(client const&) = delete;
    client& operator=(client const&) = delete;

    /// Runs the command. @return The exit status.
    int run()
    {
        int status = 1;
        net::co_spawn(ioc_, session(this), [&status](std::exception_ptr e, int s) {
            status = s;
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (std::exception const& x) {
                    fmt::print(stderr, "error: {}\n", x.what());
                }
                status = 1;
            }
        });
        ioc_.run();
        return status;
    }

private:
    /// Connects, runs the command, waits for the read repairs, disconnects.
    static net::awaitable<int> session(client* self)
    {
        auto const status = co_await self->connect_and_run();
        co_await self->items_->stop();
        self->net_->stop();
        co_return status;
    }

    /// Connects to the storage nodes (those down are reported and skipped), then runs the
    /// command. @return The exit status. Throws nothing: failures are values, printed here.
    net::awaitable<int> connect_and_run()
    {
        std::size_t up = 0;
        for (auto const& p : peers_) {
            if (only_ && p.id != *only_) {
                continue;
            }
            auto r = co_await net_->connect(p.where, p.id);
            if (r) {
                ++up;
            } else {
                fmt::print(stderr, "warning: node {} at {}:{} unreachable: {}\n", short_id(p.id),
                           p.where.address().to_string(), p.where.port(), r.error().message);
            }
        }
        if (up == 0) {
            fmt::print(stderr, "error: no storage node reachable\n");
            co_return 1;
        }
        auto r = co_await execute();
        if (!r) {
            fmt::print(stderr, "error: {}\n", r.error().message);
            co_return 1;
        }
        co_return 0;
    }

    /// The command itself, on the replicated table.
    net::awaitable<util::result<void>> execute()
    {
        auto const& list = args_.list;
        if (cmd_ == client_command::show) {
            auto rows = co_await items_->get_range(list, std::nullopt, shopping::item_filter{args_.pending},
                                                   show_limit);
            if (!rows) {
                co_return rows.error();
            }
            print_list(list, *rows);
            co_return util::result<void>{};
        }
        auto old = co_await items_->get(list, args_.name);
        if (!old) {
            co_return old.error();
        }
        item i{list, args_.name, crdt::lww<std::uint32_t>(args_.quantity), {}, {}};
        if (cmd_ == client_command::add) {
            if (*old) {
                // Bump past the stored timestamp, even if that one came from a clock ahead of ours.
                i.quantity = (*old)->quantity;
                i.quantity.update(args_.quantity);
            }
        } else {
            if (!*old || (*old)->removed.get()) {
                co_return util::failure(
                    boost::system::errc::make_error_code(boost::system::errc::invalid_argument),
                    fmt::format("no item `{}` in list `{}`", args_.name, list));
            }
            i = **old;
            (cmd_ == client_command::buy ? i.bought : i.removed).set();
        }
        if (auto w = co_await items_->insert(i); !w) {
            co_return w.error();
        }
        auto rows = co_await items_->get_range(list, std::nullopt, shopping::item_filter{}, show_limit);
        if (!rows) {
            co_return rows.error();
        }
        print_list(list, *rows);
        co_return util::result<void>{};
    }

    arguments args_;
    client_command cmd_;
    std::optional<util::node_id> only_; // `--from`
    net::io_context ioc_;
    rpc::node_key key_;
    rpc::network_options network_options_;
    std::vector<peer> peers_;
    storage::lmdb_backend db_;
    std::optional<layout::static_layout_source> source_;
    std::optional<rpc::network> net_;
    std::optional<rpc::rpc_helper> helper_;
    std::unique_ptr<local_table> local_;
    std::optional<cluster_table> items_;
};

// ---- dump-local: a stopped node's own copy ------------------------------------------------

/** Prints what a (stopped) storage node's database holds of a list, and the Merkle root of
    the list's partition: equal roots on two nodes mean equal copies of every list in it. */
void dump_local(arguments const& a)
{
    auto db = open_db(a.dir, 1ull << 30);
    // The layout does not matter for local reads: a source naming this node alone would do,
    // but `sharded` needs `replication_factor` members; use placeholder ids.
    auto self = expect(rpc::node_key::load_or_create(a.dir), "node key in " + a.dir.string()).id();
    std::vector<util::node_id> ids{self};
    for (std::uint8_t k = 1; ids.size() < replication_factor; ++k) {
        util::node_id other;
        other[0] = k;
        ids.push_back(other);
    }
    layout::static_layout_source source(self, replication_factor, util::consistency_mode::consistent,
                                        expect(member_layout(ids), "layout"));
    replication::sharded policy(source);
    auto t = expect(local_table::open(item_schema{}, policy, db), "table");
    auto rows = expect(t->get_range(a.list, std::nullopt, shopping::item_filter{}, show_limit), "read");
    print_list(a.list, rows);
    (void)expect(t->merkle().update_all(), "merkle update");
    auto const p = policy.partition_of(table::partition_hash(a.list));
    fmt::print("merkle root of partition {}: {}\n", p,
               expect(t->merkle().root_hash(p), "merkle root").to_hex());
}

/// Adds the options every networked command takes.
void add_cluster_options(CLI::App* cmd, arguments& a)
{
    cmd->add_option("--dir", a.dir, "Directory of this node's key and database")->required();
    cmd->add_option("--secret", a.secret, "The cluster's shared secret (64 hex digits)")->required();
    // One value per occurrence, so that the positional arguments that follow are not taken.
    cmd->add_option("--peer", a.peers, "A storage node, <id>@<ip>:<port> (repeat)")->allow_extra_args(false);
    cmd->add_option("--member", a.members, "Id of a further storage node, not contacted (repeat)")
        ->allow_extra_args(false);
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"The shopping list replicated across three nodes (garage framework)"};
    app.require_subcommand(1);
    arguments a;

    auto* init = app.add_subcommand("init", "Create this node's key (if needed) and print its id");
    init->add_option("--dir", a.dir, "Directory of the node's key and database")->required();

    auto* serve = app.add_subcommand("serve", "Run a storage node");
    add_cluster_options(serve, a);
    serve->add_option("--listen", a.listen, "RPC address, <ip>:<port>")->required();
    serve->add_option("--sync-interval", a.sync_interval_s, "Seconds between anti-entropy passes")
        ->capture_default_str();

    auto* add = app.add_subcommand("add", "Add an item, or change its quantity (quorum write)");
    add_cluster_options(add, a);
    add->add_option("list", a.list)->required();
    add->add_option("item", a.name)->required();
    add->add_option("--qty", a.quantity, "Quantity")->capture_default_str();
    auto* buy = app.add_subcommand("buy", "Mark an item bought (quorum read, then quorum write)");
    add_cluster_options(buy, a);
    buy->add_option("list", a.list)->required();
    buy->add_option("item", a.name)->required();
    auto* rm = app.add_subcommand("remove", "Remove an item (a tombstone, collected later)");
    add_cluster_options(rm, a);
    rm->add_option("list", a.list)->required();
    rm->add_option("item", a.name)->required();
    auto* show = app.add_subcommand("show", "Show a list (quorum read)");
    add_cluster_options(show, a);
    show->add_option("list", a.list)->required();
    show->add_flag("--pending", a.pending, "Only items not bought yet");
    show->add_option("--from", a.from, "Read this one node's copy only (its id; no quorum, no repair)");

    auto* dump =
        app.add_subcommand("dump-local", "Print a stopped node's own copy of a list and its Merkle root");
    dump->add_option("--dir", a.dir, "The node's directory")->required();
    dump->add_option("list", a.list)->required();
    CLI11_PARSE(app, argc, argv);

    // The framework logs with spdlog: keep stdout for the command's output.
    auto log = spdlog::stderr_color_mt("shopping_list_node");
    spdlog::set_default_logger(log);
    spdlog::set_level(*serve ? spdlog::level::info : spdlog::level::warn);

    try {
        if (*init) {
            auto key = expect(rpc::node_key::load_or_create(a.dir), "node key in " + a.dir.string());
            fmt::print("{}\n", key.id().to_hex());
            return 0;
        }
        if (*serve) {
            storage_node node(a);
            node.run();
            return 0;
        }
        if (*dump) {
            dump_local(a);
            return 0;
        }
        auto const cmd = *add   ? client_command::add
                         : *buy ? client_command::buy
                         : *rm  ? client_command::remove
                                : client_command::show;
        if (a.peers.empty()) {
            throw fatal("give the storage nodes with --peer <id>@<ip>:<port>");
        }
        client c(a, cmd);
        return c.run();
    } catch (std::exception const& e) {
        fmt::print(stderr, "error: {}\n", e.what());
        return 1;
    }
}
