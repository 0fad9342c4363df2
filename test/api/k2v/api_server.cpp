// Test that header file is self-contained.
#include <garage/api/k2v/api_server.hpp>

#include <test/api/k2v/fixture.hpp>

#include <catch2/catch.hpp>

#include <future>
#include <set>

namespace {
using namespace garage;
using namespace garage::test::k2v;
namespace json = boost::json;

std::set<std::string> json_values(response const& r)
{
    std::set<std::string> out;
    auto const doc = r.json();
    for (auto const& v : doc.as_array()) {
        out.insert(v.is_null() ? std::string("<null>") : std::string(v.as_string()));
    }
    return out;
}

TEST_CASE("an inserted item reads back as json and as octet-stream", "[api][k2v]")
{
    fixture f;
    auto put = f.send("PUT", "/bkt/mailbox?sort_key=INBOX", "hello");
    REQUIRE(put.status == 204);

    auto get = f.send("GET", "/bkt/mailbox?sort_key=INBOX");
    REQUIRE(get.status == 200);
    CHECK(get.header("content-type") == "application/json");
    CHECK(json_values(get) == std::set<std::string>{b64("hello")});
    CHECK_FALSE(get.header("x-garage-causality-token").empty());

    auto raw =
        f.send("GET", "/bkt/mailbox?sort_key=INBOX", "", header_list{{"accept", "application/octet-stream"}});
    REQUIRE(raw.status == 200);
    CHECK(raw.header("content-type") == "application/octet-stream");
    CHECK(raw.body == "hello");

    auto missing = f.send("GET", "/bkt/mailbox?sort_key=nothing");
    CHECK(missing.status == 404);
    CHECK(missing.error_code() == "NoSuchKey");

    auto none = f.send("GET", "/bkt/mailbox?sort_key=INBOX", "", header_list{{"accept", "text/html"}});
    CHECK(none.status == 406);
    CHECK(none.error_code() == "NotAcceptable");
}

TEST_CASE("concurrent writes without a token produce siblings", "[api][k2v]")
{
    fixture f;
    // Two clients write at the same time, neither having read the item.
    auto a = std::async(std::launch::async, [&] { return f.send("PUT", "/bkt/p?sort_key=k", "from-a"); });
    auto b = std::async(std::launch::async, [&] { return f.send("PUT", "/bkt/p?sort_key=k", "from-b"); });
    REQUIRE(a.get().status == 204);
    REQUIRE(b.get().status == 204);

    auto get = f.send("GET", "/bkt/p?sort_key=k");
    REQUIRE(get.status == 200);
    CHECK(json_values(get) == std::set<std::string>{b64("from-a"), b64("from-b")});

    auto raw = f.send("GET", "/bkt/p?sort_key=k", "", header_list{{"accept", "application/octet-stream"}});
    CHECK(raw.status == 409);
    CHECK_FALSE(raw.header("x-garage-causality-token").empty());

    auto either = f.send("GET", "/bkt/p?sort_key=k", "",
                         header_list{{"accept", "application/octet-stream, application/json"}});
    CHECK(either.status == 200);
    CHECK(either.header("content-type") == "application/json");
}

TEST_CASE("a write with a causality token overwrites exactly what it saw", "[api][k2v]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/bkt/p?sort_key=k", "v1").status == 204);
    REQUIRE(f.send("PUT", "/bkt/p?sort_key=k", "v2").status == 204);
    auto read = f.send("GET", "/bkt/p?sort_key=k");
    auto const token = read.header("x-garage-causality-token");
    REQUIRE_FALSE(token.empty());
    // A write the reader did not see.
    REQUIRE(f.send("PUT", "/bkt/p?sort_key=k", "concurrent").status == 204);
    REQUIRE(
        f.send("PUT", "/bkt/p?sort_key=k", "v3", header_list{{"x-garage-causality-token", token}}).status ==
        204);
    auto after = f.send("GET", "/bkt/p?sort_key=k");
    CHECK(json_values(after) == std::set<std::string>{b64("concurrent"), b64("v3")});

    // Reading both and writing with that token leaves one value.
    auto const t2 = after.header("x-garage-causality-token");
    REQUIRE(
        f.send("PUT", "/bkt/p?sort_key=k", "final", header_list{{"x-garage-causality-token", t2}}).status ==
        204);
    auto last = f.send("GET", "/bkt/p?sort_key=k", "", header_list{{"accept", "application/octet-stream"}});
    CHECK(last.status == 200);
    CHECK(last.body == "final");
}

TEST_CASE("a deleted item is a tombstone: 204 as octet-stream, null as json", "[api][k2v]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/bkt/p?sort_key=k", "v").status == 204);
    auto token = f.send("GET", "/bkt/p?sort_key=k").header("x-garage-causality-token");
    REQUIRE(
        f.send("DELETE", "/bkt/p?sort_key=k", "", header_list{{"x-garage-causality-token", token}}).status ==
        204);
    auto raw = f.send("GET", "/bkt/p?sort_key=k", "", header_list{{"accept", "application/octet-stream"}});
    CHECK(raw.status == 204);
    CHECK_FALSE(raw.header("x-garage-causality-token").empty());
    auto js = f.send("GET", "/bkt/p?sort_key=k");
    CHECK(js.status == 200);
    CHECK(json_values(js) == std::set<std::string>{"<null>"});
}

TEST_CASE("a poll wakes on a write and returns the new value", "[api][k2v][poll]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/bkt/p?sort_key=k", "old").status == 204);
    auto const token = f.send("GET", "/bkt/p?sort_key=k").header("x-garage-causality-token");
    auto poll = std::async(std::launch::async, [&] {
        return f.send("GET", "/bkt/p?sort_key=k&causality_token=" + token + "&timeout=30");
    });
    REQUIRE(f.wait_for_subscribers(1)); // the poll is waiting, holding no thread of the server
    auto const start = std::chrono::steady_clock::now();
    REQUIRE(
        f.send("PUT", "/bkt/p?sort_key=k", "new", header_list{{"x-garage-causality-token", token}}).status ==
        204);
    auto r = poll.get();
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    REQUIRE(r.status == 200);
    CHECK(json_values(r) == std::set<std::string>{b64("new")});
    CHECK(r.header("x-garage-causality-token") != token);
    CHECK(f.wait_for_no_subscribers()); // released once the poll has answered
}

TEST_CASE("a poll returns at once when the item is already newer than its token", "[api][k2v][poll]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/bkt/p?sort_key=k", "old").status == 204);
    auto const token = f.send("GET", "/bkt/p?sort_key=k").header("x-garage-causality-token");
    REQUIRE(f.send("PUT", "/bkt/p?sort_key=k", "newer").status == 204);
    auto r = f.send("GET", "/bkt/p?sort_key=k&causality_token=" + token + "&timeout=30");
    REQUIRE(r.status == 200);
    CHECK(json_values(r) == std::set<std::string>{b64("old"), b64("newer")});
}

TEST_CASE("a poll without a write times out with 304", "[api][k2v][poll]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/bkt/p?sort_key=k", "v").status == 204);
    auto const token = f.send("GET", "/bkt/p?sort_key=k").header("x-garage-causality-token");
    // A write to another item does not wake it.
    auto poll = std::async(std::launch::async, [&] {
        return f.send("GET", "/bkt/p?sort_key=k&causality_token=" + token + "&timeout=1");
    });
    REQUIRE(f.wait_for_subscribers(1));
    REQUIRE(f.send("PUT", "/bkt/p?sort_key=other", "x").status == 204);
    auto const start = std::chrono::steady_clock::now();
    auto r = poll.get();
    CHECK(r.status == 304);
    CHECK(r.body.empty());
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
}

TEST_CASE("many polls wait at once without holding server threads", "[api][k2v][poll]")
{
    fixture f; // two server threads
    REQUIRE(f.send("PUT", "/bkt/p?sort_key=k", "v").status == 204);
    auto const token = f.send("GET", "/bkt/p?sort_key=k").header("x-garage-causality-token");
    std::vector<std::future<response>> polls;
    for (int i = 0; i < 8; ++i) {
        polls.push_back(std::async(std::launch::async, [&] {
            return f.send("GET", "/bkt/p?sort_key=k&causality_token=" + token + "&timeout=30");
        }));
    }
    REQUIRE(f.wait_for_subscribers(8));
    // Eight polls wait, yet the two server threads still answer other requests.
    CHECK(f.send("GET", "/bkt/p?sort_key=k").status == 200);
    REQUIRE(
        f.send("PUT", "/bkt/p?sort_key=k", "w", header_list{{"x-garage-causality-token", token}}).status ==
        204);
    for (auto& p : polls) {
        auto r = p.get();
        CHECK(r.status == 200);
        CHECK(json_values(r) == std::set<std::string>{b64("w")});
    }
}

TEST_CASE("insert batch, read batch and delete batch", "[api][k2v][batch]")
{
    fixture f;
    json::array batch;
    for (auto const& [pk, sk, v] : std::vector<std::tuple<std::string, std::string, std::string>>{
             {"mail", "001", "one"}, {"mail", "002", "two"}, {"mail", "003", "three"}, {"keys", "a", "A"}}) {
        batch.push_back(json::object{{"pk", pk}, {"sk", sk}, {"ct", nullptr}, {"v", b64(v)}});
    }
    auto ins = f.send("POST", "/bkt", json::serialize(batch));
    REQUIRE(ins.status == 204);

    json::array searches{
        json::object{{"partitionKey", "mail"}},
        json::object{{"partitionKey", "mail"}, {"start", "002"}, {"limit", 1}},
        json::object{{"partitionKey", "keys"}, {"start", "a"}, {"singleItem", true}},
        json::object{{"partitionKey", "mail"}, {"prefix", "00"}, {"reverse", true}},
    };
    auto rd = f.send("POST", "/bkt?search", json::serialize(searches));
    REQUIRE(rd.status == 200);
    auto const res = rd.json().as_array();
    REQUIRE(res.size() == 4);
    auto const& all = res[0].as_object();
    CHECK(all.at("items").as_array().size() == 3);
    CHECK(all.at("more").as_bool() == false);
    auto const& page = res[1].as_object();
    REQUIRE(page.at("items").as_array().size() == 1);
    CHECK(page.at("items").as_array()[0].as_object().at("sk").as_string() == "002");
    CHECK(page.at("more").as_bool());
    CHECK(page.at("nextStart").as_string() == "003");
    auto const& single = res[2].as_object();
    REQUIRE(single.at("items").as_array().size() == 1);
    CHECK(single.at("items").as_array()[0].as_object().at("v").as_array()[0].as_string() == b64("A"));
    auto const& rev = res[3].as_object().at("items").as_array();
    REQUIRE(rev.size() == 3);
    CHECK(rev[0].as_object().at("sk").as_string() == "003");

    // SEARCH is the same as POST ?search
    auto search =
        f.send("SEARCH", "/bkt", json::serialize(json::array{json::object{{"partitionKey", "keys"}}}));
    REQUIRE(search.status == 200);
    CHECK(search.json().as_array()[0].as_object().at("items").as_array().size() == 1);

    auto del = f.send("POST", "/bkt?delete",
                      json::serialize(json::array{json::object{{"partitionKey", "mail"}, {"start", "002"}}}));
    REQUIRE(del.status == 200);
    CHECK(del.json().as_array()[0].as_object().at("deletedItems").as_int64() == 2);
    auto left =
        f.send("POST", "/bkt?search", json::serialize(json::array{json::object{{"partitionKey", "mail"}}}));
    CHECK(left.json().as_array()[0].as_object().at("items").as_array().size() == 1);
    auto with_tombstones =
        f.send("POST", "/bkt?search",
               json::serialize(json::array{json::object{{"partitionKey", "mail"}, {"tombstones", true}}}));
    CHECK(with_tombstones.json().as_array()[0].as_object().at("items").as_array().size() == 3);
}

TEST_CASE("a batch insert with a token from a read batch overwrites", "[api][k2v][batch]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/bkt/p?sort_key=k", "a").status == 204);
    REQUIRE(f.send("PUT", "/bkt/p?sort_key=k", "b").status == 204);
    auto rd =
        f.send("POST", "/bkt?search", json::serialize(json::array{json::object{{"partitionKey", "p"}}}));
    auto const item = rd.json().as_array()[0].as_object().at("items").as_array()[0].as_object();
    CHECK(item.at("v").as_array().size() == 2);
    std::string const ct(item.at("ct").as_string());
    auto ins = f.send(
        "POST", "/bkt",
        json::serialize(json::array{json::object{{"pk", "p"}, {"sk", "k"}, {"ct", ct}, {"v", b64("c")}}}));
    REQUIRE(ins.status == 204);
    auto get = f.send("GET", "/bkt/p?sort_key=k", "", header_list{{"accept", "application/octet-stream"}});
    CHECK(get.status == 200);
    CHECK(get.body == "c");
}

TEST_CASE("the index counts entries, conflicts, values and bytes per partition key", "[api][k2v][index]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/bkt/mail?sort_key=1", "abc").status == 204);
    REQUIRE(f.send("PUT", "/bkt/mail?sort_key=1", "de").status == 204); // a conflict
    REQUIRE(f.send("PUT", "/bkt/mail?sort_key=2", "f").status == 204);
    REQUIRE(f.send("PUT", "/bkt/keys?sort_key=x", "0123456789").status == 204);
    f.flush();
    auto idx = f.send("GET", "/bkt");
    REQUIRE(idx.status == 200);
    auto const o = idx.json().as_object();
    auto const& pks = o.at("partitionKeys").as_array();
    REQUIRE(pks.size() == 2);
    auto const& keys = pks[0].as_object();
    CHECK(keys.at("pk").as_string() == "keys");
    CHECK(keys.at("entries").as_int64() == 1);
    CHECK(keys.at("bytes").as_int64() == 10);
    auto const& mail = pks[1].as_object();
    CHECK(mail.at("pk").as_string() == "mail");
    CHECK(mail.at("entries").as_int64() == 2);
    CHECK(mail.at("conflicts").as_int64() == 1);
    CHECK(mail.at("values").as_int64() == 3);
    CHECK(mail.at("bytes").as_int64() == 6);
    CHECK(o.at("more").as_bool() == false);

    auto limited = f.send("GET", "/bkt?limit=1");
    auto const lo = limited.json().as_object();
    CHECK(lo.at("partitionKeys").as_array().size() == 1);
    CHECK(lo.at("more").as_bool());
    CHECK(lo.at("nextStart").as_string() == "mail");

    auto prefixed = f.send("GET", "/bkt?prefix=ma");
    CHECK(prefixed.json().as_object().at("partitionKeys").as_array().size() == 1);

    // Deleting the whole partition empties its counters; the index no longer lists it.
    REQUIRE(
        f.send("POST", "/bkt?delete", json::serialize(json::array{json::object{{"partitionKey", "mail"}}}))
            .status == 200);
    f.flush();
    auto after = f.send("GET", "/bkt");
    auto const after_doc = after.json();
    auto const& pks2 = after_doc.as_object().at("partitionKeys").as_array();
    REQUIRE(pks2.size() == 1);
    CHECK(pks2[0].as_object().at("pk").as_string() == "keys");
}

TEST_CASE("poll range returns the range, then waits for changes", "[api][k2v][poll]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/bkt/p?sort_key=a1", "x").status == 204);
    REQUIRE(f.send("PUT", "/bkt/p?sort_key=b1", "y").status == 204);
    auto first = f.send("POST", "/bkt/p?poll_range", json::serialize(json::object{{"prefix", "a"}}));
    REQUIRE(first.status == 200);
    auto const o = first.json().as_object();
    REQUIRE(o.at("items").as_array().size() == 1);
    std::string const marker(o.at("seenMarker").as_string());

    auto poll = std::async(std::launch::async, [&] {
        return f.send(
            "SEARCH", "/bkt/p?poll_range",
            json::serialize(json::object{{"prefix", "a"}, {"seenMarker", marker}, {"timeout", 30}}));
    });
    REQUIRE(f.wait_for_subscribers(1));
    REQUIRE(f.send("PUT", "/bkt/p?sort_key=b2", "outside").status == 204); // not in the range
    REQUIRE(f.send("PUT", "/bkt/p?sort_key=a2", "inside").status == 204);
    auto r = poll.get();
    REQUIRE(r.status == 200);
    auto const items = r.json().as_object().at("items").as_array();
    REQUIRE(items.size() == 1);
    CHECK(items[0].as_object().at("sk").as_string() == "a2");

    std::string const marker2(r.json().as_object().at("seenMarker").as_string());
    auto idle =
        f.send("POST", "/bkt/p?poll_range",
               json::serialize(json::object{{"prefix", "a"}, {"seenMarker", marker2}, {"timeout", 1}}));
    CHECK(idle.status == 304);
}

// ---- bad input ----------------------------------------------------------------------------------

TEST_CASE("invalid causality tokens are refused and nothing is written", "[api][k2v][bad]")
{
    fixture f;
    for (std::string bad : {"garbage!", "AAAA", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB"}) {
        auto r = f.send("PUT", "/bkt/p?sort_key=k", "v", header_list{{"x-garage-causality-token", bad}});
        CHECK(r.status == 400);
        CHECK(r.error_code() == "CausalityToken");
    }
    CHECK(f.send("GET", "/bkt/p?sort_key=k").status == 404);
    auto batch = f.send(
        "POST", "/bkt",
        json::serialize(json::array{json::object{{"pk", "p"}, {"sk", "k"}, {"ct", "nope"}, {"v", nullptr}}}));
    CHECK(batch.status == 400);
    CHECK(batch.error_code() == "CausalityToken");
    auto poll = f.send("GET", "/bkt/p?sort_key=k&causality_token=@@@&timeout=1");
    CHECK(poll.status == 400);
    CHECK(poll.error_code() == "InvalidRequest");
    // The node keeps serving.
    CHECK(f.send("PUT", "/bkt/p?sort_key=k", "ok").status == 204);
}

TEST_CASE("oversized batches and bodies are refused", "[api][k2v][bad]")
{
    fixture f(api::k2v::k2v_settings{.region = "garage", .max_body_bytes = 1 << 16, .max_batch_items = 10});
    json::array batch;
    for (int i = 0; i < 11; ++i) {
        batch.push_back(
            json::object{{"pk", "p"}, {"sk", std::to_string(i)}, {"ct", nullptr}, {"v", b64("x")}});
    }
    auto r = f.send("POST", "/bkt", json::serialize(batch));
    CHECK(r.status == 400);
    CHECK(r.error_code() == "InvalidRequest");
    CHECK(f.send("POST", "/bkt?search", json::serialize(json::array{json::object{{"partitionKey", "p"}}}))
              .json()
              .as_array()[0]
              .as_object()
              .at("items")
              .as_array()
              .empty()); // nothing of the refused batch was written

    json::array searches;
    for (int i = 0; i < 11; ++i) {
        searches.push_back(json::object{{"partitionKey", "p"}});
    }
    CHECK(f.send("POST", "/bkt?search", json::serialize(searches)).status == 400);

    auto big = f.send("PUT", "/bkt/p?sort_key=k", std::string((1 << 16) + 1, 'x'));
    CHECK(big.status == 400);
    CHECK(f.send("PUT", "/bkt/p?sort_key=k", std::string(1 << 16, 'x')).status == 204);
}

TEST_CASE("malformed json bodies are refused", "[api][k2v][bad]")
{
    fixture f;
    for (std::string body : {"{not json", "{}", "[1, 2]", R"([{"pk": 1, "sk": "a"}])", R"([{"sk": "a"}])",
                             R"([{"pk": "p", "sk": "a", "v": "!!notbase64"}])"}) {
        auto r = f.send("POST", "/bkt", body);
        CHECK(r.status == 400);
        CHECK(r.error_code() ==
              (body.find("notbase64") != std::string::npos ? "InvalidBase64" : "InvalidRequest"));
    }
    CHECK(f.send("POST", "/bkt?search",
                 R"([{"partitionKey": "p", "singleItem": true, "limit": 3, "start": "a"}])")
              .status == 400);
    CHECK(f.send("POST", "/bkt?search", R"([{"partitionKey": "p", "prefix": "x", "start": "a"}])").status ==
          400);
    CHECK(f.send("POST", "/bkt/p?poll_range", R"({"seenMarker": "not a marker"})").status == 400);
    CHECK(f.send("POST", "/bkt/p?poll_range", "[]").status == 400);
    CHECK(f.send("PUT", "/bkt/p?sort_key=k", "still serving").status == 204);
}

TEST_CASE("unauthenticated and unauthorised requests are refused", "[api][k2v][bad]")
{
    fixture f;
    auto anon = f.send("GET", "/bkt/p?sort_key=k", "", request_options{.anonymous = true});
    CHECK(anon.status == 403);
    CHECK(anon.error_code() == "AccessDenied");
    CHECK(anon.header("content-type") == "application/json");

    auto wrong_secret =
        f.send("GET", "/bkt/p?sort_key=k", "", request_options{.secret_key = std::string(64, '0')});
    CHECK(wrong_secret.status == 403);
    CHECK(wrong_secret.error_code() == "SignatureDoesNotMatch");

    auto s3_scope = f.send("GET", "/bkt/p?sort_key=k", "", request_options{.service = "s3"});
    CHECK(s3_scope.status == 400);
    CHECK(s3_scope.error_code() == "AuthorizationHeaderMalformed");

    auto unknown_key =
        f.send("GET", "/bkt/p?sort_key=k", "", request_options{.access_key = "GKffffffffffffffffffffffff"});
    CHECK(unknown_key.status == 403);

    // The reader may read but not write.
    auto read = f.send("GET", "/bkt/p?sort_key=k", "", request_options{.access_key = std::string(reader_id)});
    CHECK(read.status == 404); // allowed, and absent
    auto write =
        f.send("PUT", "/bkt/p?sort_key=k", "v", request_options{.access_key = std::string(reader_id)});
    CHECK(write.status == 403);
    CHECK(write.error_code() == "AccessDenied");

    CHECK(f.send("GET", "/nobucket/p?sort_key=k").status == 404);
    CHECK(f.send("GET", "/nobucket/p?sort_key=k").error_code() == "NoSuchBucket");
    CHECK(f.send("PUT", "/bkt/p?sort_key=k", "fine").status == 204);
}

TEST_CASE("routing errors answer in the k2v json error format", "[api][k2v][bad]")
{
    fixture f;
    auto r = f.send("GET", "/bkt/p"); // no sort_key
    CHECK(r.status == 400);
    CHECK(r.error_code() == "InvalidRequest");
    auto j = r.json().as_object();
    CHECK(j.at("path").as_string() == "/bkt/p");
    CHECK(j.at("region").as_string() == "garage");
    CHECK(f.send("PATCH", "/bkt/p?sort_key=k").status == 400);
    CHECK(f.send("GET", "/").status == 400);
}

TEST_CASE("many concurrent inserts are all applied (they share transactions)", "[api][k2v]")
{
    fixture f;
    std::vector<std::future<response>> puts;
    for (int i = 0; i < 32; ++i) {
        puts.push_back(std::async(std::launch::async, [&f, i] {
            return f.send("PUT", "/bkt/many?sort_key=" + std::to_string(i), "value-" + std::to_string(i));
        }));
    }
    for (auto& p : puts) {
        CHECK(p.get().status == 204);
    }
    auto rd =
        f.send("POST", "/bkt?search", json::serialize(json::array{json::object{{"partitionKey", "many"}}}));
    auto const doc = rd.json();
    CHECK(doc.as_array()[0].as_object().at("items").as_array().size() == 32);
}

TEST_CASE("sort keys longer than the storage allows are refused", "[api][k2v][bad]")
{
    fixture f;
    auto const too_long = std::string(480, 'k');
    auto r = f.send("PUT", "/bkt/p?sort_key=" + too_long, "v");
    CHECK(r.status == 400);
    CHECK(r.error_code() == "InvalidRequest");
    auto batch =
        f.send("POST", "/bkt",
               json::serialize(json::array{json::object{{"pk", "p"}, {"sk", "ok"}, {"v", b64("a")}},
                                           json::object{{"pk", "p"}, {"sk", too_long}, {"v", b64("b")}}}));
    CHECK(batch.status == 400);
    CHECK(f.send("GET", "/bkt/p?sort_key=ok").status == 404); // the batch was refused as a whole
    CHECK(f.send("PUT", "/bkt/p?sort_key=" + std::string(479, 'k'), "v").status == 204);
}

} // namespace
