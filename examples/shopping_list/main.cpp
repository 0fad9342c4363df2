// A shared shopping list on the garage framework: a table of CRDT items on LMDB, with replicas
// that edit offline and converge when synchronised through their Merkle trees.
//
//   bazel run //examples/shopping_list -- --db /tmp/alice add groceries milk --qty 2
//   bazel run //examples/shopping_list -- --db /tmp/alice buy groceries milk
//   bazel run //examples/shopping_list -- --db /tmp/alice show groceries
//   bazel run //examples/shopping_list -- --db /tmp/alice sync /tmp/bob
//   bazel run //examples/shopping_list -- --db /tmp/demo demo

#include <examples/shopping_list/shopping_list.hpp>

#include <garage/replication/local.hpp>
#include <garage/storage/lmdb_backend.hpp>
#include <garage/table/table.hpp>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <filesystem>
#include <memory>

namespace {

using namespace garage;
using shopping::item;
using item_table = table::table<shopping::item_schema, replication::local, storage::lmdb_backend>;

/// One replica: an LMDB environment and the item table in it.
struct replica {
    std::filesystem::path dir;
    storage::lmdb_backend db;
    std::unique_ptr<item_table> items;

    static std::unique_ptr<replica> open(std::filesystem::path const& dir)
    {
        storage::lmdb_options o;
        o.path = dir;
        o.map_size = 1ull << 30;
        auto db = storage::lmdb_backend::open(o);
        if (!db) {
            throw std::runtime_error(db.error().message);
        }
        auto r = std::unique_ptr<replica>(new replica{dir, std::move(*db), nullptr});
        r->items = item_table::open(shopping::item_schema{}, replication::local{}, r->db).value();
        return r;
    }

    void check(util::result<void> const& r)
    {
        if (!r) {
            throw std::runtime_error(r.error().message);
        }
    }

    void add(std::string const& list, std::string const& name, std::uint32_t qty)
    {
        item i{list, name, crdt::lww<std::uint32_t>(qty), {}, {}};
        if (auto old = items->get(list, name).value()) {
            // Bump past the stored timestamp, even if that one came from a clock ahead of ours.
            i.quantity = old->quantity;
            i.quantity.update(qty);
        }
        check(items->insert(i));
    }

    void set_flag(std::string const& list, std::string const& name, bool removed)
    {
        auto old = items->get(list, name).value();
        if (!old) {
            throw std::runtime_error(fmt::format("no item `{}` in list `{}`", name, list));
        }
        item i = *old;
        (removed ? i.removed : i.bought).set();
        check(items->insert(i));
    }

    void show(std::string const& list, bool pending)
    {
        auto rows = items->get_range(list, std::nullopt, shopping::item_filter{pending}, 1000).value();
        fmt::print("{} ({}):\n", list, dir.string());
        if (rows.empty()) {
            fmt::print("  (empty)\n");
        }
        for (auto const& i : rows) {
            fmt::print("  [{}] {} x{}\n", i.bought.get() ? "x" : " ", i.name, i.quantity.get());
        }
    }

    util::hash32 root()
    {
        (void)items->merkle().update_all().value();
        return items->merkle().root_hash(0).value();
    }
};

/// Anti-entropy between two replicas: if the Merkle roots differ, each pushes its entries to
/// the other (the merge makes this idempotent), until the roots agree.
void sync(replica& a, replica& b)
{
    auto ra = a.root();
    auto rb = b.root();
    fmt::print("merkle roots before sync: {}… / {}…\n", ra.to_hex().substr(0, 16), rb.to_hex().substr(0, 16));
    if (ra == rb) {
        fmt::print("already in sync\n");
        return;
    }
    auto push = [](replica& from, replica& to) {
        std::vector<item> all;
        auto tree = from.db.open_tree("shopping_items:table").value();
        (void)from.db.for_each(tree, std::nullopt, storage::direction::forward,
                               [&](std::string_view, std::string_view v) {
                                   all.push_back(util::decode<item>(v).value());
                                   return true;
                               });
        to.check(to.items->insert_many(all));
        return all.size();
    };
    auto n1 = push(a, b);
    auto n2 = push(b, a);
    ra = a.root();
    rb = b.root();
    fmt::print("pushed {} + {} entries; merkle roots after sync: {}… / {}… ({})\n", n1, n2,
               ra.to_hex().substr(0, 16), rb.to_hex().substr(0, 16), ra == rb ? "converged" : "DIVERGED");
    if (ra != rb) {
        throw std::runtime_error("replicas did not converge");
    }
}

void demo(std::filesystem::path const& dir)
{
    auto alice = replica::open(dir / "alice");
    auto bob = replica::open(dir / "bob");
    fmt::print("Alice and Bob share the list `groceries`, each with a replica on disk.\n\n");
    alice->add("groceries", "milk", 1);
    alice->add("groceries", "bread", 1);
    sync(*alice, *bob);
    fmt::print("\nOffline, Alice wants 2 milk and buys the bread; Bob adds eggs and also buys bread.\n");
    alice->add("groceries", "milk", 2);
    alice->set_flag("groceries", "bread", false);
    bob->add("groceries", "eggs", 12);
    bob->set_flag("groceries", "bread", false);
    alice->show("groceries", false);
    bob->show("groceries", false);
    fmt::print("\nThey meet again:\n");
    sync(*alice, *bob);
    alice->show("groceries", false);
    bob->show("groceries", false);
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"A shared shopping list on the garage framework (CRDT table on LMDB)"};
    std::string db = "var/shopping";
    app.add_option("--db", db, "Directory of this replica's LMDB store")->capture_default_str();
    app.require_subcommand(1);
    std::string list, name, other;
    std::uint32_t qty = 1;
    bool pending = false;

    auto* add = app.add_subcommand("add", "Add an item, or change its quantity");
    add->add_option("list", list)->required();
    add->add_option("item", name)->required();
    add->add_option("--qty", qty, "Quantity")->capture_default_str();
    auto* buy = app.add_subcommand("buy", "Mark an item bought");
    buy->add_option("list", list)->required();
    buy->add_option("item", name)->required();
    auto* rm = app.add_subcommand("remove", "Remove an item");
    rm->add_option("list", list)->required();
    rm->add_option("item", name)->required();
    auto* show = app.add_subcommand("show", "Show a list");
    show->add_option("list", list)->required();
    show->add_flag("--pending", pending, "Only items not bought yet");
    auto* sync_cmd = app.add_subcommand("sync", "Synchronise with another replica's directory");
    sync_cmd->add_option("other", other)->required();
    auto* demo_cmd = app.add_subcommand("demo", "Two replicas edit offline, then converge");
    CLI11_PARSE(app, argc, argv);

    try {
        if (*demo_cmd) {
            demo(db);
            return 0;
        }
        auto r = replica::open(db);
        if (*add) {
            r->add(list, name, qty);
            r->show(list, false);
        } else if (*buy) {
            r->set_flag(list, name, false);
            r->show(list, false);
        } else if (*rm) {
            r->set_flag(list, name, true);
            r->show(list, false);
        } else if (*show) {
            r->show(list, pending);
        } else if (*sync_cmd) {
            auto o = replica::open(other);
            sync(*r, *o);
        }
    } catch (std::exception const& e) {
        fmt::print(stderr, "error: {}\n", e.what());
        return 1;
    }
    return 0;
}
