// Test that header file is self-contained.
#include <garage/api/s3/impl/quotas.hpp>

#include <garage/api/common/request_view.hpp>
#include <garage/api/common/sigv4.hpp>
#include <garage/api/http/server.hpp>
#include <garage/api/s3/api_server.hpp>
#include <garage/block/manager.hpp>
#include <garage/model/garage.hpp>
#include <garage/model/helper.hpp>
#include <garage/model/key.hpp>
#include <garage/replication/local.hpp>
#include <garage/storage/lmdb_backend.hpp>
#include <garage/util/encoding.hpp>
#include <garage/util/hasher.hpp>

#include <test/support/temp_dir.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace garage;
namespace net = boost::asio;
namespace bh = boost::beast::http;

using blocks_type = block::block_manager<storage::lmdb_backend>;
using model_type =
    model::basic_model<replication::local, replication::local, storage::lmdb_backend, blocks_type>;
using s3_type = api::s3::s3_api_server<model_type, blocks_type>;

constexpr std::string_view key_id = "GK0123456789abcdef01234567";
constexpr std::string_view secret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

struct response {
    unsigned status = 0;
    std::map<std::string, std::string> headers; // lower-case names
    std::string body;

    std::string header(std::string const& n) const
    {
        auto it = headers.find(n);
        return it == headers.end() ? std::string() : it->second;
    }
};

using header_list = std::vector<std::pair<std::string, std::string>>;

/// A server (real HTTP server, LMDB, block manager, model) on a loopback port.
struct fixture {
    test::temp_dir dir;
    storage::lmdb_backend db = open_db(dir);
    std::unique_ptr<blocks_type> blocks = open_blocks(db, dir);
    std::unique_ptr<model_type> model =
        model_type::open(db, replication::local{}, replication::local{}, *blocks).value();
    net::io_context ioc;
    net::thread_pool pool{1};
    s3_type s3{*model, *blocks, api::s3::s3_settings{"garage", "", 1 << 20}, pool.get_executor()};
    api::http::server srv{ioc.get_executor(), [this](api::http::exchange& ex) { return s3.handle(ex); },
                          api::http::server_options{.drain_timeout = std::chrono::milliseconds(200)}};
    std::thread runner;

    static storage::lmdb_backend open_db(test::temp_dir const& d)
    {
        storage::lmdb_options o;
        o.path = d.path() / "db.lmdb";
        o.map_size = 1ull << 30;
        return std::move(storage::lmdb_backend::open(o).value());
    }
    static std::unique_ptr<blocks_type> open_blocks(storage::lmdb_backend& db, test::temp_dir const& d)
    {
        block::block_options o;
        o.data_dirs = {util::data_dir_config{d.path() / "data", std::nullopt, false}};
        o.metadata_dir = d.path() / "meta";
        return blocks_type::open(db, o).value();
    }

    fixture()
    {
        auto k = model::access_key::import(key_id, secret, "test-key").value();
        k.params_mut()->allow_create_bucket.update(true);
        REQUIRE(model->key_table().insert(k));
        REQUIRE(srv.listen(api::http::tcp_address{"127.0.0.1", 0}));
        srv.start();
        runner = std::thread([this] { ioc.run(); });
    }
    ~fixture()
    {
        srv.stop();
        runner.join();
        pool.join();
    }

    /// Sends one request as is (no signature) on a new connection.
    response send_raw(std::string const& method, std::string const& target, std::string body, header_list hs)
    {
        net::io_context ctx;
        net::ip::tcp::socket sock(ctx);
        sock.connect({net::ip::make_address("127.0.0.1"), srv.port()});
        bh::request<bh::string_body> req{bh::string_to_verb(method), target, 11};
        for (auto const& [n, v] : hs) {
            req.set(n, v);
        }
        req.body() = std::move(body);
        req.prepare_payload();
        bh::write(sock, req);

        boost::beast::flat_buffer buf;
        bh::response_parser<bh::string_body> parser;
        parser.body_limit(64ull << 20);
        if (method == "HEAD") {
            parser.skip(true);
        }
        bh::read(sock, buf, parser);
        response r;
        r.status = parser.get().result_int();
        for (auto const& f : parser.get()) {
            std::string n(f.name_string());
            for (auto& ch : n) {
                ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            }
            r.headers[n] = std::string(f.value());
        }
        r.body = parser.get().body();
        return r;
    }

    /// Sends one request signed with SigV4 (header auth, body hashed).
    response send(std::string const& method, std::string const& target, std::string body = {},
                  header_list extra = {})
    {
        auto const q = target.find('?');
        std::string const path = target.substr(0, q);
        std::string const query = q == std::string::npos ? std::string() : target.substr(q + 1);
        auto const now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
        std::string const amz_date = api::sigv4::format_amz_date(now);
        std::string const payload_hash = util::sha256sum(body).to_hex();
        header_list hs{
            {"host", "127.0.0.1"}, {"x-amz-date", amz_date}, {"x-amz-content-sha256", payload_hash}};
        for (auto const& h : extra) {
            hs.push_back(h);
        }
        std::sort(hs.begin(), hs.end());
        std::vector<api::header_field> fields;
        std::vector<std::string> names;
        std::string signed_list;
        for (auto const& [n, v] : hs) {
            fields.push_back({n, v});
            names.push_back(n);
            signed_list += (signed_list.empty() ? "" : ";") + n;
        }
        auto const ch = api::sigv4::canonical_headers(fields, names).value();
        auto const short_date = amz_date.substr(0, 8);
        auto const scope = api::sigv4::credential_scope(short_date, "garage", "s3");
        auto const creq = api::sigv4::canonical_request(
            method, api::sigv4::canonical_uri(path, api::sigv4::service::s3),
            api::sigv4::canonical_query(api::parse_query(query)), ch, signed_list, payload_hash);
        auto const skey = api::sigv4::derive_signing_key(secret, short_date, "garage", "s3");
        auto const sig =
            api::sigv4::compute_signature(skey, api::sigv4::string_to_sign(amz_date, scope, creq));
        hs.emplace_back("authorization", "AWS4-HMAC-SHA256 Credential=" + std::string(key_id) + "/" + scope +
                                             ",SignedHeaders=" + signed_list + ",Signature=" + sig.to_hex());
        return send_raw(method, target, std::move(body), std::move(hs));
    }

    /// The id of a bucket the test key created.
    util::uuid bucket_id(std::string const& name)
    {
        auto k = model::get_key(*model, key_id).value();
        REQUIRE(k);
        auto id = model::resolve_bucket(*model, name, &*k).value();
        REQUIRE(id);
        return *id;
    }

    /// Sets a bucket's quotas, as the admin API does.
    void set_quotas(std::string const& name, std::optional<std::uint64_t> max_size,
                    std::optional<std::uint64_t> max_objects)
    {
        auto b = model::get_bucket(*model, bucket_id(name)).value();
        REQUIRE(b);
        b->params_mut()->quotas.update(model::bucket_quotas{max_size, max_objects});
        REQUIRE(model->bucket_table().insert(*b));
    }
};

/// The `<Code>` of an error body.
std::string error_code(response const& r)
{
    auto a = r.body.find("<Code>");
    auto b = r.body.find("</Code>");
    if (a == std::string::npos || b == std::string::npos) {
        return {};
    }
    return r.body.substr(a + 6, b - a - 6);
}

std::string pattern(std::size_t n, unsigned seed = 1)
{
    std::string s(n, '\0');
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& ch : s) {
        x = x * 1664525u + 1013904223u;
        ch = static_cast<char>(x >> 24);
    }
    return s;
}

/// Whether `key` of `bucket` has an upload still in progress or visible data.
struct object_state {
    bool uploading = false;
    bool data = false;
};
object_state state_of(fixture& f, std::string const& bucket, std::string const& key)
{
    object_state s;
    auto obj = f.model->object_table().get(f.bucket_id(bucket), key).value();
    if (obj) {
        for (auto const& v : obj->versions()) {
            s.uploading = s.uploading || v.is_uploading();
            s.data = s.data || v.is_data();
        }
    }
    return s;
}

TEST_CASE("an object quota refuses new objects but not replacements", "[api][s3][quotas]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/qobj").status == 200);
    f.set_quotas("qobj", std::nullopt, 2);
    REQUIRE(f.send("PUT", "/qobj/a", "one").status == 200);
    REQUIRE(f.send("PUT", "/qobj/b", "two").status == 200);

    auto third = f.send("PUT", "/qobj/c", "three");
    CHECK(third.status == 403);
    CHECK(error_code(third) == "AccessDenied");
    CHECK(third.body.find("Object quota is reached, maximum objects for this bucket: 2") !=
          std::string::npos);
    CHECK(f.send("GET", "/qobj/c").status == 404);

    // replacing an object adds none
    REQUIRE(f.send("PUT", "/qobj/a", "one again").status == 200);
    CHECK(f.send("GET", "/qobj/a").body == "one again");

    // a copy onto a new key is a new object; onto an existing key it is not
    auto copy_new = f.send("PUT", "/qobj/d", {}, {{"x-amz-copy-source", "/qobj/a"}});
    CHECK(copy_new.status == 403);
    CHECK(error_code(copy_new) == "AccessDenied");
    CHECK(f.send("PUT", "/qobj/b", {}, {{"x-amz-copy-source", "/qobj/a"}}).status == 200);
    CHECK(f.send("GET", "/qobj/b").body == "one again");

    // deleting frees a slot
    REQUIRE(f.send("DELETE", "/qobj/b").status == 204);
    CHECK(f.send("PUT", "/qobj/c", "three").status == 200);
    CHECK(f.send("PUT", "/qobj/e", "four").status == 403);

    // raising the quota lets it through
    f.set_quotas("qobj", std::nullopt, 3);
    CHECK(f.send("PUT", "/qobj/e", "four").status == 200);
}

TEST_CASE("a size quota refuses growth and the refused object never becomes visible", "[api][s3][quotas]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/qsize").status == 200);
    f.set_quotas("qsize", 1000, std::nullopt);
    REQUIRE(f.send("PUT", "/qsize/a", std::string(600, 'a')).status == 200);

    auto over = f.send("PUT", "/qsize/b", std::string(600, 'b'));
    CHECK(over.status == 403);
    CHECK(error_code(over) == "AccessDenied");
    CHECK(
        over.body.find("Bucket size quota is reached, maximum total size of objects for this bucket: 1000") !=
        std::string::npos);
    CHECK(f.send("GET", "/qsize/b").status == 404);
    CHECK(!state_of(f, "qsize", "b").data);

    // a replacement adds only the difference; shrinking is always allowed
    CHECK(f.send("PUT", "/qsize/a", std::string(1000, 'a')).status == 200);
    CHECK(f.send("PUT", "/qsize/a", std::string(1001, 'a')).status == 403);
    CHECK(f.send("GET", "/qsize/a").body == std::string(1000, 'a'));
    CHECK(f.send("PUT", "/qsize/a", std::string(10, 'a')).status == 200);
    CHECK(f.send("PUT", "/qsize/b", std::string(900, 'b')).status == 200);
}

TEST_CASE("a size quota refuses a block-stored upload after its data and aborts it", "[api][s3][quotas]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/big").status == 200);
    f.set_quotas("big", 2 << 20, std::nullopt);
    auto const body = pattern(3 * 1024 * 1024 + 5);
    auto r = f.send("PUT", "/big/blob", body);
    CHECK(r.status == 403);
    CHECK(error_code(r) == "AccessDenied");
    CHECK(f.send("HEAD", "/big/blob").status == 404);
    auto const s = state_of(f, "big", "blob");
    CHECK(!s.uploading); // aborted, not left uploading
    CHECK(!s.data);
    auto list = f.send("GET", "/big?list-type=2");
    CHECK(list.body.find("<Key>blob</Key>") == std::string::npos);

    // within the quota the same path succeeds
    auto const fits = pattern(1024 * 1024 + 5, 2);
    REQUIRE(f.send("PUT", "/big/fits", fits).status == 200);
    CHECK(f.send("GET", "/big/fits").body == fits);
}

TEST_CASE("CompleteMultipartUpload is refused by a size quota and the upload is aborted", "[api][s3][quotas]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/qmpu").status == 200);
    auto create = f.send("POST", "/qmpu/obj?uploads");
    REQUIRE(create.status == 200);
    auto const a = create.body.find("<UploadId>");
    auto const b = create.body.find("</UploadId>");
    REQUIRE(a != std::string::npos);
    auto const upload = create.body.substr(a + 10, b - a - 10);
    auto part = f.send("PUT", "/qmpu/obj?partNumber=1&uploadId=" + upload, std::string(2000, 'p'));
    REQUIRE(part.status == 200);
    f.set_quotas("qmpu", 1500, std::nullopt);
    std::string const xml = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" +
                            part.header("etag") + "</ETag></Part></CompleteMultipartUpload>";
    auto done = f.send("POST", "/qmpu/obj?uploadId=" + upload, xml);
    CHECK(done.status == 403);
    CHECK(error_code(done) == "AccessDenied");
    CHECK(f.send("GET", "/qmpu/obj").status == 404);
    CHECK(!state_of(f, "qmpu", "obj").uploading);
    // the upload is gone
    CHECK(f.send("POST", "/qmpu/obj?uploadId=" + upload, xml).status == 404);
}

TEST_CASE("buckets without quotas are not limited", "[api][s3][quotas]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/free").status == 200);
    for (int i = 0; i < 5; ++i) {
        CHECK(f.send("PUT", "/free/k" + std::to_string(i), std::string(2000, 'x')).status == 200);
    }
    f.set_quotas("free", std::nullopt, std::nullopt);
    CHECK(f.send("PUT", "/free/k9", "x").status == 200);
}

} // namespace
