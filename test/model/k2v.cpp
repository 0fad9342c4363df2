// Test that header file is self-contained.
#include <garage/model/k2v.hpp>

#include <garage/replication/local.hpp>
#include <garage/storage/memory_backend.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <algorithm>

namespace {
using namespace garage;
using k2v_type = model::basic_k2v<replication::local, storage::memory_backend>;

static_assert(table::table_schema<k2v_type::schema_type>);
static_assert(model::counter_definition<model::k2v_index_counter>);
static_assert(model::item_counter<k2v_type::counter_type, model::k2v_item>);
static_assert(model::k2v_item_listener<model::k2v_subscriptions>);
static_assert(!model::k2v_item_listener<int>);

util::node_id node_one()
{
    util::node_id n;
    n[7] = 1;
    return n;
}

model::k2v_item_partition part(std::string pk = "mailbox")
{
    util::uuid b;
    b[0] = 3;
    return {b, std::move(pk)};
}

std::vector<std::optional<std::string>> sorted_values(model::k2v_item const& i)
{
    std::vector<std::optional<std::string>> out;
    for (auto const* v : i.values()) {
        out.push_back(*v);
    }
    std::sort(out.begin(), out.end());
    return out;
}

struct fixture {
    storage::memory_backend db;
    std::unique_ptr<k2v_type> k2v = k2v_type::open(db, replication::local{node_one()}).value();
};

TEST_CASE("two inserts without a token leave two siblings", "[model][k2v]")
{
    fixture f;
    REQUIRE(f.k2v->insert({part(), "INBOX", std::nullopt, std::string("one")}));
    REQUIRE(f.k2v->insert({part(), "INBOX", std::nullopt, std::string("two")}));
    auto item = f.k2v->get(part(), "INBOX").value();
    REQUIRE(item);
    CHECK(sorted_values(*item) == std::vector<std::optional<std::string>>{"one", "two"});
    CHECK(item->context().clock.count(1) == 1); // this node's K2V id
}

TEST_CASE("an insert with the token of a read replaces what was read", "[model][k2v]")
{
    fixture f;
    REQUIRE(f.k2v->insert({part(), "k", std::nullopt, std::string("one")}));
    REQUIRE(f.k2v->insert({part(), "k", std::nullopt, std::string("two")}));
    auto read = f.k2v->get(part(), "k").value();
    auto token = model::causal_context::parse(read->context().serialize());
    REQUIRE(token);
    REQUIRE(f.k2v->insert({part(), "k", token, std::string("three")}));
    auto item = f.k2v->get(part(), "k").value();
    CHECK(sorted_values(*item) == std::vector<std::optional<std::string>>{"three"});
}

TEST_CASE("timestamps keep growing across reopening", "[model][k2v]")
{
    storage::memory_backend db;
    std::uint64_t before = 0;
    {
        auto k = k2v_type::open(db, replication::local{node_one()}).value();
        REQUIRE(k->insert({part(), "k", std::nullopt, std::string("a")}));
        before = k->get(part(), "k").value()->context().clock.at(1);
    }
    auto k = k2v_type::open(db, replication::local{node_one()}).value();
    REQUIRE(k->insert({part(), "other", std::nullopt, std::string("b")}));
    CHECK(k->get(part(), "other").value()->context().clock.at(1) > before);
}

TEST_CASE("a batch applies writes to the same item in order", "[model][k2v]")
{
    fixture f;
    std::vector<model::k2v_insert> batch{
        {part(), "a", std::nullopt, std::string("1")},
        {part(), "a", std::nullopt, std::string("2")},
        {part(), "b", std::nullopt, std::nullopt},
    };
    REQUIRE(f.k2v->insert_many(batch));
    CHECK(sorted_values(*f.k2v->get(part(), "a").value()) ==
          std::vector<std::optional<std::string>>{"1", "2"});
    CHECK(f.k2v->get(part(), "b").value()->is_tombstone());
}

TEST_CASE("the index counter follows entries, conflicts, values and bytes", "[model][k2v]")
{
    fixture f;
    REQUIRE(f.k2v->insert({part(), "a", std::nullopt, std::string("xyz")}));
    REQUIRE(f.k2v->insert({part(), "a", std::nullopt, std::string("12")}));
    REQUIRE(f.k2v->insert({part(), "b", std::nullopt, std::string("q")}));
    REQUIRE(f.k2v->insert({part("other"), "c", std::nullopt, std::string("q")}));
    REQUIRE(f.k2v->flush_insert_queues());
    auto e = f.k2v->counter().get(part().bucket_id, "mailbox").value();
    REQUIRE(e);
    CHECK(e->get("entries") == 2);
    CHECK(e->get("conflicts") == 1);
    CHECK(e->get("values") == 3);
    CHECK(e->get("bytes") == 6);

    auto a = f.k2v->get(part(), "a").value();
    REQUIRE(f.k2v->insert({part(), "a", a->context(), std::nullopt}));
    REQUIRE(f.k2v->flush_insert_queues());
    e = f.k2v->counter().get(part().bucket_id, "mailbox").value();
    CHECK(e->get("entries") == 1);
    CHECK(e->get("conflicts") == 0);
    CHECK(e->get("values") == 1);
    CHECK(e->get("bytes") == 1);
}

TEST_CASE("range reads filter tombstones and conflicts", "[model][k2v]")
{
    fixture f;
    REQUIRE(f.k2v->insert({part(), "a", std::nullopt, std::string("1")}));
    REQUIRE(f.k2v->insert({part(), "b", std::nullopt, std::string("1")}));
    REQUIRE(f.k2v->insert({part(), "b", std::nullopt, std::string("2")}));
    REQUIRE(f.k2v->insert({part(), "c", std::nullopt, std::nullopt}));
    auto all =
        f.k2v->item_table().get_range(part(), std::nullopt, model::k2v_item_filter{true, false}, 100).value();
    REQUIRE(all.size() == 2);
    auto conflicts =
        f.k2v->item_table().get_range(part(), std::nullopt, model::k2v_item_filter{true, true}, 100).value();
    REQUIRE(conflicts.size() == 1);
    CHECK(conflicts[0].sort_key() == "b");
}

TEST_CASE("an insert notifies the subscribers of the item", "[model][k2v]")
{
    fixture f;
    boost::asio::io_context ioc;
    auto sub = f.k2v->subscriptions().subscribe_item(part(), "k", ioc.get_executor());
    auto other = f.k2v->subscriptions().subscribe_item(part(), "not-k", ioc.get_executor());
    auto whole = f.k2v->subscriptions().subscribe_partition(part(), ioc.get_executor());
    CHECK(f.k2v->subscriptions().size() == 3);
    REQUIRE(f.k2v->insert({part(), "k", std::nullopt, std::string("v")}));
    auto wait = [](model::k2v_subscriptions::subscription* s,
                   std::optional<model::k2v_item>* out) -> boost::asio::awaitable<void> {
        *out = co_await s->next(std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
    };
    std::optional<model::k2v_item> got, other_got, whole_got;
    boost::asio::co_spawn(ioc, wait(&sub, &got), boost::asio::detached);
    boost::asio::co_spawn(ioc, wait(&other, &other_got), boost::asio::detached);
    boost::asio::co_spawn(ioc, wait(&whole, &whole_got), boost::asio::detached);
    ioc.run();
    REQUIRE(got);
    CHECK(got->sort_key() == "k");
    CHECK_FALSE(other_got); // timed out: another item
    REQUIRE(whole_got);
    CHECK(whole_got->sort_key() == "k");
}

TEST_CASE("a subscription unregisters when destroyed", "[model][k2v]")
{
    fixture f;
    boost::asio::io_context ioc;
    {
        auto sub = f.k2v->subscriptions().subscribe_item(part(), "k", ioc.get_executor());
        CHECK(f.k2v->subscriptions().size() == 1);
    }
    CHECK(f.k2v->subscriptions().size() == 0);
    REQUIRE(f.k2v->insert({part(), "k", std::nullopt, std::string("v")})); // nobody to notify
}

} // namespace
