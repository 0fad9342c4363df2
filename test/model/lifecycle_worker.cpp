// Test that header file is self-contained.
#include <garage/model/lifecycle_worker.hpp>

#include <garage/model/garage.hpp>
#include <garage/model/helper.hpp>
#include <garage/replication/local.hpp>
#include <garage/util/persister.hpp>

#include <test/support/rc_sink.hpp>
#include <test/support/table_fixtures.hpp>
#include <test/support/temp_dir.hpp>

#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <cereal/types/string.hpp>

#include <memory>
#include <string>

namespace {

using namespace garage;

template <class Backend>
using model_type =
    model::basic_model<replication::local, replication::local, Backend, test::tree_rc_sink<Backend>>;

constexpr std::uint64_t day_ms = 86'400'000;

/// 01:00 UTC on `date`.
std::uint64_t at(std::string const& date)
{
    return static_cast<std::uint64_t>(*model::parse_day(date)) * day_ms + 3'600'000;
}

model::object_version data_version(std::uint64_t ts, std::uint64_t size)
{
    model::object_version_meta meta{size, "etag",
                                    model::encryption_plaintext{{{{"content-type", "x/y"}}, {}}}};
    return {util::gen_uuid(), ts, model::version_complete{model::inline_data{meta, std::string(size, 'x')}}};
}

model::object_version upload_version(std::uint64_t ts, bool multipart = true)
{
    return {util::gen_uuid(), ts, model::version_uploading{multipart, {}, model::encryption_plaintext{}}};
}

model::lifecycle_rule expire_days(std::string prefix, std::uint64_t days)
{
    model::lifecycle_rule r;
    r.filter.prefix = std::move(prefix);
    r.expiration = model::expire_after_days{days};
    return r;
}

TEST_CASE("days convert to and from dates", "[model][lifecycle]")
{
    CHECK(model::parse_day("1970-01-01") == 0);
    CHECK(model::parse_day("2000-03-01") == 11017);
    CHECK(model::format_day(11017) == "2000-03-01");
    CHECK(model::format_day(*model::parse_day("2024-02-29")) == "2024-02-29");
    CHECK_FALSE(model::parse_day("2023-02-29"));
    CHECK_FALSE(model::parse_day("2023-2-01"));
    CHECK(model::utc_day(at("2025-06-10")) == *model::parse_day("2025-06-10"));
    CHECK(model::utc_day(at("2025-06-10") + 22 * 3'600'000 + 3'599'999) == *model::parse_day("2025-06-10"));
    CHECK(model::utc_day(at("2025-06-10") + 23 * 3'600'000) == *model::parse_day("2025-06-11"));
}

TEST_CASE("a filter checks prefix and sizes, sizes only when known", "[model][lifecycle]")
{
    model::lifecycle_filter f;
    CHECK(model::lifecycle_filter_matches(f, "any", 0));
    f.prefix = "logs/";
    f.size_gt = 10;
    f.size_lt = 100;
    CHECK(model::lifecycle_filter_matches(f, "logs/a", 50));
    CHECK_FALSE(model::lifecycle_filter_matches(f, "log/a", 50));
    CHECK_FALSE(model::lifecycle_filter_matches(f, "logs/a", 10));
    CHECK_FALSE(model::lifecycle_filter_matches(f, "logs/a", 100));
    CHECK(model::lifecycle_filter_matches(f, "logs/a", std::nullopt));
}

TEST_CASE("an object expires once enough days have passed since its creation day", "[model][lifecycle]")
{
    auto const bucket = util::gen_uuid();
    auto const created = at("2025-06-01") + 20 * 3'600'000; // 21:00 on June 1st
    model::object const o(bucket, "logs/a", {data_version(created, 10)});
    std::vector<model::lifecycle_rule> rules{expire_days("logs/", 9)};
    auto const today = [](std::string const& d) { return *model::parse_day(d); };
    CHECK_FALSE(model::lifecycle_update(o, rules, today("2025-06-09"), at("2025-06-09")));
    auto ch = model::lifecycle_update(o, rules, today("2025-06-10"), at("2025-06-10"));
    REQUIRE(ch);
    CHECK(ch->expired == 1);
    CHECK(ch->aborted == 0);
    auto merged = o;
    merged.merge(ch->update);
    REQUIRE(merged.last_complete() != nullptr);
    CHECK(merged.last_complete()->is_delete_marker());
    CHECK(merged.last_complete()->timestamp >= at("2025-06-10"));

    rules[0].enabled = false;
    CHECK_FALSE(model::lifecycle_update(o, rules, today("2026-01-01"), at("2026-01-01")));
    rules[0].enabled = true;
    rules[0].expiration = model::expire_at_date{"2025-07-01"};
    CHECK_FALSE(model::lifecycle_update(o, rules, today("2025-06-30"), at("2025-06-30")));
    CHECK(model::lifecycle_update(o, rules, today("2025-07-01"), at("2025-07-01")));

    model::object const gone(
        bucket, "logs/b",
        {model::object_version{util::gen_uuid(), created, model::version_complete{model::delete_marker{}}}});
    CHECK_FALSE(model::lifecycle_update(gone, rules, today("2030-01-01"), at("2030-01-01")));
}

TEST_CASE("only multipart uploads old enough are aborted", "[model][lifecycle]")
{
    auto const bucket = util::gen_uuid();
    model::lifecycle_rule r;
    r.filter.prefix = "up/";
    r.abort_incomplete_mpu_days = 3;
    std::vector<model::lifecycle_rule> rules{r};
    auto const old_mpu = upload_version(at("2025-06-01"));
    auto const old_simple = upload_version(at("2025-06-01") + 1, false);
    auto const new_mpu = upload_version(at("2025-06-09"));
    model::object const o(bucket, "up/x", {old_mpu, old_simple, new_mpu});
    auto ch = model::lifecycle_update(o, rules, *model::parse_day("2025-06-10"), at("2025-06-10"));
    REQUIRE(ch);
    CHECK(ch->aborted == 1);
    CHECK(ch->expired == 0);
    auto merged = o;
    merged.merge(ch->update);
    REQUIRE(merged.find_version(old_mpu.timestamp, old_mpu.uuid) != nullptr);
    CHECK(merged.find_version(old_mpu.timestamp, old_mpu.uuid)->is_aborted());
    CHECK(merged.find_version(old_simple.timestamp, old_simple.uuid)->is_uploading());
    CHECK(merged.find_version(new_mpu.timestamp, new_mpu.uuid)->is_uploading());
    model::object const elsewhere(bucket, "other/x", {old_mpu});
    CHECK_FALSE(model::lifecycle_update(elsewhere, rules, *model::parse_day("2025-06-10"), at("2025-06-10")));
}

template <class Backend>
struct worker_fixture : test::backend_fixture<Backend> {
    test::temp_dir state_dir;
    test::tree_rc_sink<Backend> rc{this->db};
    std::unique_ptr<model_type<Backend>> m =
        model_type<Backend>::open(this->db, replication::local{}, replication::local{}, rc).value();
    boost::asio::io_context ioc;
    std::uint64_t clock = at("2025-06-10");

    util::uuid make_bucket(std::string const& name, std::optional<std::vector<model::lifecycle_rule>> rules)
    {
        auto id = model::create_bucket(*m, name).value();
        auto b = model::get_bucket(*m, id).value();
        REQUIRE(b);
        b->params_mut()->lifecycle_config.update(std::move(rules));
        REQUIRE(m->bucket_table().insert(*b));
        return id;
    }
    void put(util::uuid const& bucket, std::string const& key, model::object_version v)
    {
        REQUIRE(m->object_table().insert(model::object(bucket, key, {std::move(v)})));
    }
    model::object get(util::uuid const& bucket, std::string const& key)
    {
        auto o = m->object_table().get(bucket, key).value();
        REQUIRE(o);
        return *o;
    }
    bool expired(util::uuid const& bucket, std::string const& key)
    {
        auto const o = get(bucket, key);
        return o.last_complete() != nullptr && o.last_complete()->is_delete_marker();
    }
    std::unique_ptr<model::lifecycle_worker<model_type<Backend>>> make_worker()
    {
        model::lifecycle_worker_options o;
        o.state_file = state_dir.path() / "lifecycle_worker_state";
        o.clock = [this] { return clock; };
        o.batch = 2;
        return std::make_unique<model::lifecycle_worker<model_type<Backend>>>(*m, ioc.get_executor(), o);
    }
    /// Steps until the worker is idle; @return the number of busy steps.
    template <class W>
    int run(W& w)
    {
        int busy = 0;
        for (int i = 0; i < 1000; ++i) {
            auto s = w.step();
            REQUIRE(s.has_value());
            if (s->state == util::worker_state::idle) {
                return busy;
            }
            REQUIRE(s->state == util::worker_state::busy);
            ++busy;
        }
        FAIL("the lifecycle worker never became idle");
        return busy;
    }
};

TEMPLATE_TEST_CASE("the lifecycle worker expires and aborts what the rules select, once a day",
                   "[model][lifecycle]", storage::memory_backend, storage::lmdb_backend)
{
    worker_fixture<TestType> f;
    auto const now = f.clock;

    model::lifecycle_rule big;
    big.filter.prefix = "big/";
    big.filter.size_gt = 1000;
    big.expiration = model::expire_at_date{"2025-06-01"};
    model::lifecycle_rule aborts;
    aborts.abort_incomplete_mpu_days = 7;
    auto disabled = expire_days("data/", 1);
    disabled.enabled = false;
    auto const b = f.make_bucket("with-rules", std::vector{expire_days("logs/", 30), big, aborts, disabled});
    auto const other = f.make_bucket("no-rules", std::nullopt);

    f.put(b, "logs/old", data_version(now - 40 * day_ms, 10));
    f.put(b, "logs/new", data_version(now - 5 * day_ms, 10));
    f.put(b, "data/old", data_version(now - 40 * day_ms, 10));
    f.put(b, "big/large", data_version(now - 40 * day_ms, 5000));
    f.put(b, "big/small", data_version(now - 40 * day_ms, 10));
    auto const stale = upload_version(now - 10 * day_ms);
    auto const fresh = upload_version(now - 2 * day_ms);
    f.put(b, "up/stale", stale);
    f.put(b, "up/fresh", fresh);
    f.put(other, "logs/old", data_version(now - 400 * day_ms, 10));

    auto w = f.make_worker();
    CHECK(w->name() == "object lifecycle worker");
    CHECK_FALSE(w->last_completed());
    auto const busy = f.run(*w);
    CHECK(busy > 4); // 7 objects in batches of 2, plus the start of the pass
    CHECK(w->last_completed() == "2025-06-10");
    CHECK(w->stats() == model::lifecycle_pass_stats{1, 7, 2, 1});

    CHECK(f.expired(b, "logs/old"));
    CHECK(f.expired(b, "big/large"));
    CHECK_FALSE(f.expired(b, "logs/new"));
    CHECK_FALSE(f.expired(b, "data/old"));
    CHECK_FALSE(f.expired(b, "big/small"));
    CHECK_FALSE(f.expired(other, "logs/old"));
    auto const s = f.get(b, "up/stale");
    REQUIRE(s.find_version(stale.timestamp, stale.uuid) != nullptr);
    CHECK(s.find_version(stale.timestamp, stale.uuid)->is_aborted());
    CHECK(f.get(b, "up/fresh").find_version(fresh.timestamp, fresh.uuid)->is_uploading());

    // The same day, nothing more happens, even for a new worker (the day was saved).
    CHECK(f.run(*w) == 0);
    auto const saved = util::persister<std::string>(f.state_dir.path() / "lifecycle_worker_state").load();
    REQUIRE(saved.has_value());
    CHECK(*saved == std::optional<std::string>("2025-06-10"));
    auto w2 = f.make_worker();
    CHECK(f.run(*w2) == 0);
    CHECK(w2->last_completed() == "2025-06-10");

    // 26 days later, logs/new is 31 days old; the upload that was fresh is old now.
    f.clock = now + 26 * day_ms;
    CHECK(f.run(*w2) > 0);
    CHECK(w2->last_completed() == model::format_day(model::utc_day(f.clock)));
    CHECK(f.expired(b, "logs/new"));
    CHECK_FALSE(f.expired(b, "data/old"));
    CHECK(f.get(b, "up/fresh").find_version(fresh.timestamp, fresh.uuid)->is_aborted());
    CHECK(w2->stats().expired == 1);
    CHECK(w2->stats().aborted == 1);
}

TEMPLATE_TEST_CASE("a bucket whose lifecycle is removed during a pass is skipped", "[model][lifecycle]",
                   storage::memory_backend)
{
    worker_fixture<TestType> f;
    auto const b = f.make_bucket("rules", std::vector{expire_days("", 1)});
    f.put(b, "a", data_version(f.clock - 10 * day_ms, 1));
    auto w = f.make_worker();
    auto s = w->step(); // starts the pass
    REQUIRE(s.has_value());
    CHECK(s->state == util::worker_state::busy);
    auto bucket = model::get_bucket(*f.m, b).value();
    bucket->params_mut()->lifecycle_config.update(std::nullopt);
    REQUIRE(f.m->bucket_table().insert(*bucket));
    f.run(*w);
    CHECK_FALSE(f.expired(b, "a"));
    CHECK(w->last_completed() == "2025-06-10");
}

} // namespace
