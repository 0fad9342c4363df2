// Test that header file is self-contained.
#include <garage/api/admin/admin_api.hpp>

// The block endpoints (/v1/block/errors, /v1/block/info, /v1/block/retry-now, /v1/block/purge)
// and the repairs (/v1/repair) over a real block store and model: objects are written through
// the in-process S3 server, block files are corrupted on disk, resyncs are stepped by hand.

#include <garage/block/workers.hpp>
#include <garage/model/repair.hpp>
#include <garage/util/worker.hpp>

#include <test/api/admin/admin_call.hpp>
#include <test/support/s3_fixture.hpp>
#include <test/support/temp_dir.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <random>
#include <thread>

namespace {
namespace net = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;
using namespace garage;
using model_type = test::s3::model_type;

/// The S3 fixture plus an admin API over its model and block store.
struct fixture {
    test::s3::fixture s3;
    net::thread_pool pool{1};
    util::background_runner runner{pool.get_executor()};
    test::temp_dir control_dir;
    std::shared_ptr<block::block_worker_control> control =
        std::make_shared<block::block_worker_control>(control_dir.path(), pool.get_executor());
    std::optional<api::admin::admin_api_server<model_type>> admin;
    net::io_context ioc;
    std::optional<api::http::server> srv;
    std::thread thread;
    net::io_context client;

    explicit fixture(bool with_blocks = true)
    {
        api::admin::admin_node_access a;
        if (with_blocks) {
            a.blocks = api::admin::block_access(*s3.blocks, &runner, control);
            s3.blocks->set_rc_recount(model::block_ref_recount(*s3.model));
            a.repair_model = api::admin::model_repairs(*s3.model, *s3.blocks, runner);
        }
        admin.emplace(*s3.model, api::admin::admin_settings{"admin-token", std::nullopt, "garage", "", ""},
                      std::move(a));
        srv.emplace(ioc.get_executor(),
                    [this](api::http::exchange& ex) -> net::awaitable<void> { return admin->handle(ex); });
        REQUIRE(srv->listen(api::http::tcp_address{"127.0.0.1", 0}).has_value());
        srv->start();
        thread = std::thread([this] { ioc.run(); });
    }
    ~fixture()
    {
        ioc.stop();
        thread.join();
        runner.request_stop();
        runner.wait_stopped();
        pool.join();
    }

    http::response<http::string_body> call(http::verb method, std::string target, std::string body = {})
    {
        return test::admin_call(client, srv->port(), method, std::move(target), std::move(body),
                                "admin-token");
    }
    /// Launches a repair, waits for its worker to finish; @return the worker's last status.
    util::worker_info repair(std::string const& what)
    {
        auto r = ok_json(http::verb::post, "/v1/repair", R"({"repairType":")" + what + R"("})");
        auto const msg = std::string(r.at("message").as_string());
        auto const at = msg.find("(worker ");
        REQUIRE(at != std::string::npos);
        auto const id = std::stoul(msg.substr(at + 8));
        auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (std::chrono::steady_clock::now() < deadline) {
            for (auto const& w : runner.list()) {
                if (w.id == id && w.state == util::worker_state::done) {
                    return w;
                }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        FAIL("repair " << what << " did not finish");
        return {};
    }
    json::value ok_json(http::verb method, std::string target, std::string body = {})
    {
        auto r = call(method, target, std::move(body));
        INFO(target << " -> " << r.result_int() << " " << r.body());
        REQUIRE(r.result_int() == 200);
        return json::parse(r.body());
    }

    /// Writes `bucket/key` with 20 000 random bytes (one block file) and returns its block's hash.
    util::hash32 put_block_object(std::string const& bucket, std::string const& key)
    {
        std::mt19937 rng(42);
        std::string data(20000, '\0');
        for (auto& c : data) {
            c = static_cast<char>(rng());
        }
        REQUIRE(s3.send("PUT", "/" + bucket + "/" + key, data).status == 200);
        REQUIRE(s3.model->flush_insert_queues());
        auto o = s3.model->object_table().get(s3.bucket_id(bucket), key).value();
        REQUIRE(o.has_value());
        auto const* fb = std::get_if<model::first_block>(o->last_complete()->data());
        REQUIRE(fb != nullptr);
        return fb->hash;
    }
};

json::object const* find_error(json::value const& errors, util::hash32 const& h)
{
    for (auto const& e : errors.as_array()) {
        if (e.at("blockHash").as_string() == h.to_hex()) {
            return &e.as_object();
        }
    }
    return nullptr;
}

} // namespace

TEST_CASE("block info finds a block by a hash prefix and names the object that uses it",
          "[api][admin][block]")
{
    fixture f;
    REQUIRE(f.s3.send("PUT", "/bkt").status == 200);
    auto const h = f.put_block_object("bkt", "obj");

    auto info = f.ok_json(http::verb::get, "/v1/block/info?hash=" + h.to_hex().substr(0, 6));
    CHECK(info.at("blockHash").as_string() == h.to_hex());
    CHECK(info.at("refcount").to_number<int>() == 1);
    CHECK(info.at("rcState").as_string() == "present");
    CHECK(info.at("present").as_bool());
    CHECK(info.at("resyncError").is_null());
    auto const& versions = info.at("versions").as_array();
    REQUIRE(versions.size() == 1);
    CHECK_FALSE(versions[0].at("refDeleted").as_bool());
    CHECK_FALSE(versions[0].at("versionDeleted").as_bool());
    auto const& ob = versions[0].at("backlink").at("object");
    CHECK(ob.at("key").as_string() == "obj");
    CHECK(ob.at("bucketId").as_string() == f.s3.bucket_id("bkt").to_hex());

    CHECK(f.call(http::verb::get, "/v1/block/info?hash=abc").result_int() == 400); // too short
    CHECK(f.call(http::verb::get, "/v1/block/info?hash=zzzzzz").result_int() == 400);
    auto other = h.to_hex();
    other[0] = other[0] == '0' ? '1' : '0';
    CHECK(f.call(http::verb::get, "/v1/block/info?hash=" + other.substr(0, 8)).result_int() == 404);
    CHECK(f.ok_json(http::verb::get, "/v1/block/errors").as_array().empty());
}

TEST_CASE("a corrupted block file shows in list-errors after a failed resync; retry-now requeues it",
          "[api][admin][block]")
{
    fixture f;
    REQUIRE(f.s3.send("PUT", "/bkt").status == 200);
    auto const h = f.put_block_object("bkt", "obj");
    auto loc = f.s3.blocks->find_block(h);
    REQUIRE(loc.has_value());
    {
        std::ofstream out(loc->path, std::ios::binary | std::ios::trunc);
        out << "not the block you are looking for";
    }
    // The read finds the corruption, sets the copy aside and queues a resync at once; the resync
    // fails: no other node to fetch the block from.
    CHECK_FALSE(f.s3.blocks->read_block(h).has_value());
    auto step = f.s3.blocks->resync_step().value();
    CHECK(step.outcome == block::resync_outcome::processed);

    auto errors = f.ok_json(http::verb::get, "/v1/block/errors");
    auto const* e = find_error(errors, h);
    REQUIRE(e != nullptr);
    CHECK(e->at("errorCount").to_number<int>() == 1);
    CHECK(e->at("refcount").to_number<int>() == 1);
    CHECK(e->at("nextTryInSecs").to_number<int>() > 0);
    auto info = f.ok_json(http::verb::get, "/v1/block/info?hash=" + h.to_hex());
    CHECK_FALSE(info.at("present").as_bool());
    REQUIRE(info.at("resyncError").is_object());
    CHECK(info.at("resyncError").at("errorCount").to_number<int>() == 1);

    // In back-off: the next resync waits.
    CHECK(f.s3.blocks->resync_step().value().outcome == block::resync_outcome::waiting);

    auto r =
        f.ok_json(http::verb::post, "/v1/block/retry-now", R"({"blockHashes":[")" + h.to_hex() + R"("]})");
    CHECK(r.at("count").to_number<int>() == 1);
    e = find_error(errors = f.ok_json(http::verb::get, "/v1/block/errors"), h);
    REQUIRE(e != nullptr);
    CHECK(e->at("nextTryInSecs").to_number<int>() == 0);
    step = f.s3.blocks->resync_step().value();
    CHECK(step.outcome == block::resync_outcome::processed);
    CHECK(step.hash == h);
    e = find_error(errors = f.ok_json(http::verb::get, "/v1/block/errors"), h);
    REQUIRE(e != nullptr);
    CHECK(e->at("errorCount").to_number<int>() == 2);

    r = f.ok_json(http::verb::post, "/v1/block/retry-now", R"({"all":true})");
    CHECK(r.at("count").to_number<int>() == 1);
    CHECK(f.call(http::verb::post, "/v1/block/retry-now",
                 R"({"all":true,"blockHashes":[")" + h.to_hex() + R"("]})")
              .result_int() == 400);
    CHECK(f.call(http::verb::post, "/v1/block/retry-now", R"({"blockHashes":["00ff"]})").result_int() == 400);
    CHECK(f.call(http::verb::post, "/v1/block/retry-now",
                 R"({"blockHashes":[")" + std::string(64, 'a') + R"("]})")
              .result_int() == 404); // not in error
    CHECK(f.call(http::verb::post, "/v1/block/retry-now", "{}").result_int() == 400);
}

TEST_CASE("block purge deletes the object using the block: GetObject then answers 404", "[api][admin][block]")
{
    fixture f;
    REQUIRE(f.s3.send("PUT", "/bkt").status == 200);
    auto const h = f.put_block_object("bkt", "obj");
    auto const h2 = f.put_block_object("bkt", "same-data"); // same bytes: the same block
    REQUIRE(h == h2);
    REQUIRE(f.s3.send("PUT", "/bkt/small", "kept").status == 200);
    REQUIRE(f.s3.send("GET", "/bkt/obj").status == 200);

    CHECK(f.call(http::verb::post, "/v1/block/purge", R"(["nothex"])").result_int() == 400);
    CHECK(f.call(http::verb::post, "/v1/block/purge", R"({"x":1})").result_int() == 400);
    auto r = f.ok_json(http::verb::post, "/v1/block/purge", R"([")" + h.to_hex() + R"("])");
    CHECK(r.at("blocksPurged").to_number<int>() == 1);
    CHECK(r.at("blockRefsPurged").to_number<int>() == 2);
    CHECK(r.at("versionsDeleted").to_number<int>() == 2);
    CHECK(r.at("objectsDeleted").to_number<int>() == 2);
    CHECK(r.at("uploadsDeleted").to_number<int>() == 0);
    REQUIRE(f.s3.model->flush_insert_queues());

    CHECK(f.s3.send("GET", "/bkt/obj").status == 404);
    CHECK(f.s3.send("GET", "/bkt/same-data").status == 404);
    CHECK(f.s3.send("GET", "/bkt/small").status == 200);
    auto info = f.ok_json(http::verb::get, "/v1/block/info?hash=" + h.to_hex());
    CHECK(info.at("refcount").to_number<int>() == 0);
    CHECK(info.at("rcState").as_string() == "deletable");
    for (auto const& v : info.at("versions").as_array()) {
        CHECK(v.at("refDeleted").as_bool());
    }

    // Purging again finds nothing left to delete.
    r = f.ok_json(http::verb::post, "/v1/block/purge", R"({"blockHashes":[")" + h.to_hex() + R"("]})");
    CHECK(r.at("blockRefsPurged").to_number<int>() == 0);
    CHECK(r.at("versionsDeleted").to_number<int>() == 0);
    CHECK(r.at("objectsDeleted").to_number<int>() == 0);
}

TEST_CASE("POST /v1/repair launches the block repair and steers the scrub worker", "[api][admin][repair]")
{
    fixture f;
    REQUIRE(f.s3.send("PUT", "/bkt").status == 200);
    auto const h = f.put_block_object("bkt", "obj");
    auto const before = f.s3.blocks->resync_queue_len().value();

    auto r = f.ok_json(http::verb::post, "/v1/repair", R"({"repairType":"blocks"})");
    CHECK(r.at("message").as_string().starts_with("Block repair launched"));
    // The repair worker queues a resync check of every block, due now.
    auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (f.s3.blocks->resync_queue_len().value() <= before && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(f.s3.blocks->resync_queue_len().value() > before);
    auto step = f.s3.blocks->resync_step().value();
    CHECK(step.outcome == block::resync_outcome::processed);
    CHECK(step.hash == h);

    using k = block::block_worker_control::command;
    f.ok_json(http::verb::post, "/v1/repair",
              R"({"repairType":"scrub","scrubCommand":"set-tranquility","tranquility":7})");
    f.ok_json(http::verb::post, "/v1/repair", R"({"repairType":{"scrub":"pause"}})");
    f.ok_json(http::verb::post, "/v1/repair", R"({"repairType":"scrub","scrubCommand":"start"})");
    auto cmds = f.control->take_scrub_commands();
    REQUIRE(cmds.size() == 3);
    CHECK(cmds[0].kind == k::set_tranquility);
    CHECK(cmds[0].tranquility == 7);
    CHECK(cmds[1].kind == k::pause);
    CHECK(cmds[1].pause_for == std::chrono::hours(24));
    CHECK(cmds[2].kind == k::start);

    CHECK(f.call(http::verb::post, "/v1/repair", R"({"repairType":"scrub","scrubCommand":"explode"})")
              .result_int() == 400);
    CHECK(f.call(http::verb::post, "/v1/repair", R"({"repairType":"scrub","scrubCommand":"set-tranquility"})")
              .result_int() == 400);
    CHECK(f.call(http::verb::post, "/v1/repair", R"({"repairType":"nonsense"})").result_int() == 400);
    CHECK(f.call(http::verb::post, "/v1/repair", "{}").result_int() == 400);
    CHECK(f.control->take_scrub_commands().empty());
}

TEST_CASE("POST /v1/repair runs the model repairs, block-rc and rebalance as workers that fix what is wrong",
          "[api][admin][repair]")
{
    fixture f;
    auto& m = *f.s3.model;
    REQUIRE(f.s3.send("PUT", "/bkt").status == 200);
    auto const h = f.put_block_object("bkt", "obj");
    auto const bucket = f.s3.bucket_id("bkt");
    REQUIRE(f.s3.blocks->get_rc(h).value() == block::rc_value::present(1));
    auto const count = [&] {
        return m.block_ref_table()
            .get_range(h, std::nullopt, model::deleted_filter::not_deleted, 100)
            .value()
            .size();
    };

    // versions: a version of an object that does not exist, holding a reference to the block.
    auto const orphan = util::gen_uuid();
    auto v = model::version::create(orphan, model::object_backlink{bucket, "no-such-object"});
    v.blocks.put(model::version_block_key{1, 0}, model::version_block{h, 20000});
    REQUIRE(m.version_table().insert(v));
    REQUIRE(m.block_ref_table().insert(model::block_ref::live(h, orphan)));
    REQUIRE(f.s3.blocks->get_rc(h).value() == block::rc_value::present(2));
    auto w = f.repair("versions");
    CHECK(w.name == "version repair worker");
    CHECK(w.status.progress == "2 (1)"); // the object's version and the orphan; one fixed
    REQUIRE(m.flush_insert_queues());
    CHECK(m.version_table().get(orphan, table::empty_key{}).value()->deleted.get());
    CHECK(count() == 1);
    CHECK(f.s3.blocks->get_rc(h).value() == block::rc_value::present(1));
    CHECK(f.s3.send("GET", "/bkt/obj").status == 200); // the object's own version is left alone

    // block-refs: a live reference from a version that does not exist.
    REQUIRE(m.block_ref_table().insert(model::block_ref::live(h, util::gen_uuid())));
    REQUIRE(count() == 2);
    w = f.repair("block-refs");
    CHECK(w.name == "block_ref repair worker");
    CHECK(count() == 1);
    CHECK(f.s3.blocks->get_rc(h).value() == block::rc_value::present(1));

    // block-rc: a count that says 3 where one reference is live.
    REQUIRE(f.s3.db.transact([&](auto& tx) -> util::result<void> {
        for (int i = 0; i < 2; ++i) {
            if (auto r = f.s3.blocks->incref(tx, h); !r) {
                return r;
            }
        }
        return {};
    }));
    REQUIRE(f.s3.blocks->get_rc(h).value() == block::rc_value::present(3));
    w = f.repair("block-rc");
    CHECK(w.name == "Block refcount repair worker");
    CHECK(f.s3.blocks->get_rc(h).value() == block::rc_value::present(1));

    // mpu: an upload whose object has no such version.
    auto const upload = util::gen_uuid();
    REQUIRE(m.mpu_table().insert(model::multipart_upload::create(upload, util::now_msec(), bucket, "obj")));
    w = f.repair("mpu");
    CHECK(w.name == "multipart_upload repair worker");
    CHECK(m.mpu_table().get(upload, table::empty_key{}).value()->deleted.get());

    // aliases: a global alias the bucket's own list does not know.
    REQUIRE(m.bucket_alias_table().insert(model::bucket_alias::make("other-name", util::now_msec(), bucket)));
    auto info = f.ok_json(http::verb::get, "/v1/bucket?id=" + bucket.to_hex());
    CHECK(info.at("globalAliases").as_array().size() == 1);
    f.repair("aliases");
    info = f.ok_json(http::verb::get, "/v1/bucket?id=" + bucket.to_hex());
    CHECK(info.at("globalAliases").as_array().size() == 2);

    // rebalance: one data directory, every block is already where it belongs.
    w = f.repair("rebalance");
    CHECK(w.name == "Block rebalance worker");
    CHECK(w.status.progress == "100.00%");
    CHECK(f.s3.send("GET", "/bkt/obj").status == 200);
}

TEST_CASE("POST /v1/repair answers 501 naming what is missing for repairs the node cannot run",
          "[api][admin][repair]")
{
    fixture f(false);
    auto r = f.call(http::verb::post, "/v1/repair", R"({"repairType":"tables"})");
    CHECK(r.result_int() == 501);
    CHECK(r.body().find("syncer") != std::string::npos);
    r = f.call(http::verb::post, "/v1/repair", R"({"repairType":"rebalance"})");
    CHECK(r.result_int() == 501);
    CHECK(r.body().find("rebalance worker") != std::string::npos);
    r = f.call(http::verb::post, "/v1/repair", R"({"repairType":"versions"})");
    CHECK(r.result_int() == 501);
    CHECK(r.body().find("repair_model") != std::string::npos);
    CHECK(f.call(http::verb::post, "/v1/repair", R"({"repairType":"block-rc"})").result_int() == 501);
    CHECK(f.call(http::verb::post, "/v1/repair", R"({"repairType":"blocks"})").result_int() == 501);
    CHECK(f.call(http::verb::get, "/v1/block/errors").result_int() == 501);
    CHECK(f.call(http::verb::post, "/v1/repair", R"({"repairType":{"scrub":"start"}})").result_int() == 501);
}
