// Test that header file is self-contained.
#include <garage/api/s3/api_server.hpp>

#include <garage/api/common/aws_chunked.hpp>
#include <garage/api/common/request_view.hpp>
#include <garage/api/common/sigv4.hpp>
#include <garage/api/http/server.hpp>
#include <garage/block/manager.hpp>
#include <garage/model/garage.hpp>
#include <garage/model/key.hpp>
#include <garage/replication/local.hpp>
#include <garage/storage/lmdb_backend.hpp>
#include <garage/util/encoding.hpp>
#include <garage/util/hasher.hpp>

#include <test/support/temp_dir.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
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

/// How a test request carries its body.
enum class body_mode { sha256, unsigned_payload, chunked_signed, chunked_unsigned_trailer, anonymous };

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

struct request_options {
    body_mode mode = body_mode::sha256;
    std::vector<std::pair<std::string, std::string>> headers{};
    std::string region = "garage";
    std::string secret_key = std::string(secret);
    std::string access_key = std::string(key_id);
    bool truncate_body = false; // drop the final chunk of an aws-chunked body
    std::optional<std::string> sha256_override{};
};

/// A server (real HTTP server, LMDB, block manager, model) on a loopback port.
struct fixture {
    test::temp_dir dir;
    storage::lmdb_backend db = open_db(dir);
    std::unique_ptr<blocks_type> blocks = open_blocks(db, dir);
    std::unique_ptr<model_type> model =
        model_type::open(db, replication::local{}, replication::local{}, *blocks).value();
    net::io_context ioc;
    net::thread_pool pool{1};
    s3_type s3;
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

    explicit fixture(api::s3::s3_settings settings = {"garage", "", 1 << 20})
        : s3{*model, *blocks, std::move(settings), pool.get_executor()}
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

    /// Sends one signed request on a new connection.
    response send(std::string method, std::string target, std::string body = {}, request_options o = {})
    {
        net::io_context ctx;
        net::ip::tcp::socket sock(ctx);
        sock.connect({net::ip::make_address("127.0.0.1"), srv.port()});

        auto const q = target.find('?');
        std::string const path = target.substr(0, q);
        std::string const query = q == std::string::npos ? std::string() : target.substr(q + 1);
        auto const now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
        std::string const amz_date = api::sigv4::format_amz_date(now);

        std::vector<std::pair<std::string, std::string>> hs{{"host", "127.0.0.1"}};
        std::string payload_hash;
        std::string decoded = body;
        switch (o.mode) {
        case body_mode::sha256:
        case body_mode::anonymous:
            payload_hash = util::sha256sum(body).to_hex();
            break;
        case body_mode::unsigned_payload:
            payload_hash = "UNSIGNED-PAYLOAD";
            break;
        case body_mode::chunked_signed:
            payload_hash = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
            hs.emplace_back("content-encoding", "aws-chunked");
            hs.emplace_back("x-amz-decoded-content-length", std::to_string(body.size()));
            break;
        case body_mode::chunked_unsigned_trailer:
            payload_hash = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
            hs.emplace_back("content-encoding", "aws-chunked");
            hs.emplace_back("x-amz-decoded-content-length", std::to_string(body.size()));
            hs.emplace_back("x-amz-trailer", "x-amz-checksum-crc32");
            break;
        }
        if (o.sha256_override) {
            payload_hash = *o.sha256_override;
        }
        if (o.mode != body_mode::anonymous) {
            hs.emplace_back("x-amz-date", amz_date);
            hs.emplace_back("x-amz-content-sha256", payload_hash);
        }
        for (auto const& h : o.headers) {
            hs.push_back(h);
        }
        std::sort(hs.begin(), hs.end());

        bh::request<bh::string_body> req{bh::string_to_verb(method), target, 11};
        for (auto const& [n, v] : hs) {
            req.set(n, v);
        }
        if (o.mode != body_mode::anonymous) {
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
            auto const scope = api::sigv4::credential_scope(short_date, o.region, "s3");
            auto const creq = api::sigv4::canonical_request(
                method, api::sigv4::canonical_uri(path, api::sigv4::service::s3),
                api::sigv4::canonical_query(api::parse_query(query)), ch, signed_list, payload_hash);
            auto const skey = api::sigv4::derive_signing_key(o.secret_key, short_date, o.region, "s3");
            auto const sig =
                api::sigv4::compute_signature(skey, api::sigv4::string_to_sign(amz_date, scope, creq));
            req.set("authorization", "AWS4-HMAC-SHA256 Credential=" + o.access_key + "/" + scope +
                                         ",SignedHeaders=" + signed_list + ",Signature=" + sig.to_hex());
            if (o.mode == body_mode::chunked_signed) {
                api::sigv4::chunk_signing_context cc{skey, amz_date, scope, sig};
                std::string enc;
                auto prev = sig;
                std::size_t const chunk = 64 * 1024;
                for (std::size_t off = 0; off < decoded.size(); off += chunk) {
                    auto piece = std::string_view(decoded).substr(off, chunk);
                    prev = api::chunk_signature(cc, prev, util::sha256sum(piece));
                    char hex[32];
                    std::snprintf(hex, sizeof hex, "%zx", piece.size());
                    enc += std::string(hex) + ";chunk-signature=" + prev.to_hex() + "\r\n";
                    enc.append(piece);
                    enc += "\r\n";
                }
                if (!o.truncate_body) {
                    prev = api::chunk_signature(cc, prev, util::sha256sum(""));
                    enc += "0;chunk-signature=" + prev.to_hex() + "\r\n\r\n";
                }
                body = std::move(enc);
            }
        }
        if (o.mode == body_mode::chunked_unsigned_trailer) {
            char hex[32];
            std::snprintf(hex, sizeof hex, "%zx", decoded.size());
            std::string enc = std::string(hex) + "\r\n" + decoded + "\r\n0\r\n";
            auto crc = api::checksum_value::from_crc(api::checksum_algorithm::crc32, api::crc32(decoded));
            enc += "x-amz-checksum-crc32:" + crc.to_base64() + "\r\n\r\n";
            body = std::move(enc);
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
};

/// A presigned GET URL target for `path`, valid `expires` seconds, signed with `secret_key`.
std::string presign(std::string const& path, int expires, std::string const& secret_key = std::string(secret))
{
    auto const now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    std::string const amz_date = api::sigv4::format_amz_date(now);
    std::string const short_date = amz_date.substr(0, 8);
    auto const scope = api::sigv4::credential_scope(short_date, "garage", "s3");
    std::string query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" +
                        api::sigv4::uri_encode(std::string(key_id) + "/" + scope, true) +
                        "&X-Amz-Date=" + amz_date + "&X-Amz-Expires=" + std::to_string(expires) +
                        "&X-Amz-SignedHeaders=host";
    std::vector<api::header_field> fields{{"host", "127.0.0.1"}};
    std::vector<std::string> names{"host"};
    auto const ch = api::sigv4::canonical_headers(fields, names).value();
    auto const creq = api::sigv4::canonical_request(
        "GET", api::sigv4::canonical_uri(path, api::sigv4::service::s3),
        api::sigv4::canonical_query(api::parse_query(query)), ch, "host", "UNSIGNED-PAYLOAD");
    auto const skey = api::sigv4::derive_signing_key(secret_key, short_date, "garage", "s3");
    auto const sig = api::sigv4::compute_signature(skey, api::sigv4::string_to_sign(amz_date, scope, creq));
    return path + "?" + query + "&X-Amz-Signature=" + sig.to_hex();
}

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

std::size_t count(std::string const& s, std::string const& what)
{
    std::size_t n = 0;
    for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) {
        ++n;
    }
    return n;
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

std::string md5_hex(std::string_view s)
{
    return util::to_hex(util::digest_view(util::md5sum(s)));
}

TEST_CASE("bucket lifecycle: create, list, head, location, delete", "[api][s3]")
{
    fixture f;
    CHECK(f.send("PUT", "/photos").status == 200);
    CHECK(f.send("PUT", "/photos").status == 200); // idempotent for the owner
    auto list = f.send("GET", "/");
    CHECK(list.status == 200);
    CHECK(list.body.find("<Name>photos</Name>") != std::string::npos);
    CHECK(f.send("HEAD", "/photos").status == 200);
    auto loc = f.send("GET", "/photos?location");
    CHECK(loc.body.find(">garage</LocationConstraint>") != std::string::npos);
    CHECK(f.send("GET", "/photos?versioning").status == 200);
    CHECK(f.send("GET", "/photos?acl").body.find("FULL_CONTROL") != std::string::npos);

    auto missing = f.send("HEAD", "/nothing-here");
    CHECK(missing.status == 404);
    auto missing_get = f.send("GET", "/nothing-here?list-type=2");
    CHECK(error_code(missing_get) == "NoSuchBucket");
    // Every answer names its request; an error body carries the same id.
    auto const rid = missing_get.header("x-amz-request-id");
    CHECK_FALSE(rid.empty());
    CHECK(missing_get.body.find("<RequestId>" + rid + "</RequestId>") != std::string::npos);
    CHECK_FALSE(loc.header("x-amz-request-id").empty());
    CHECK(loc.header("x-amz-request-id") != rid);

    CHECK(error_code(f.send("PUT", "/Bad_Name")) == "InvalidBucketName");
    auto wrong_loc = f.send("PUT", "/elsewhere",
                            "<CreateBucketConfiguration><LocationConstraint>us-west-2</LocationConstraint>"
                            "</CreateBucketConfiguration>");
    CHECK(wrong_loc.status == 400);

    REQUIRE(f.send("PUT", "/photos/a.jpg", "x").status == 200);
    auto not_empty = f.send("DELETE", "/photos");
    CHECK(not_empty.status == 409);
    CHECK(error_code(not_empty) == "BucketNotEmpty");
    CHECK(f.send("DELETE", "/photos/a.jpg").status == 204);
    CHECK(f.send("DELETE", "/photos").status == 204);
    CHECK(f.send("HEAD", "/photos").status == 404);
}

TEST_CASE("a small object round-trips inline with its metadata, ranges and conditions", "[api][s3]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/bkt").status == 200);
    std::string const body = "hello, garage!";
    auto put = f.send("PUT", "/bkt/dir/hello.txt", body,
                      {.headers = {{"content-type", "text/plain"}, {"x-amz-meta-colour", "blue"}}});
    REQUIRE(put.status == 200);
    CHECK(put.header("etag") == "\"" + md5_hex(body) + "\"");

    auto get = f.send("GET", "/bkt/dir/hello.txt");
    CHECK(get.status == 200);
    CHECK(get.body == body);
    CHECK(get.header("content-type") == "text/plain");
    CHECK(get.header("x-amz-meta-colour") == "blue");
    CHECK(get.header("etag") == put.header("etag"));

    auto head = f.send("HEAD", "/bkt/dir/hello.txt");
    CHECK(head.status == 200);
    CHECK(head.header("content-length") == std::to_string(body.size()));

    auto range = f.send("GET", "/bkt/dir/hello.txt", {}, {.headers = {{"range", "bytes=7-12"}}});
    CHECK(range.status == 206);
    CHECK(range.body == "garage");
    CHECK(range.header("content-range") == "bytes 7-12/14");
    CHECK(f.send("GET", "/bkt/dir/hello.txt", {}, {.headers = {{"range", "bytes=-6"}}}).body == "arage!");
    CHECK(f.send("GET", "/bkt/dir/hello.txt", {}, {.headers = {{"range", "bytes=9-"}}}).body == "rage!");
    auto bad_range = f.send("GET", "/bkt/dir/hello.txt", {}, {.headers = {{"range", "bytes=100-200"}}});
    CHECK(bad_range.status == 416);
    CHECK(error_code(bad_range) == "InvalidRange");
    CHECK(bad_range.header("content-range") == "bytes */14");

    CHECK(f.send("GET", "/bkt/dir/hello.txt", {}, {.headers = {{"if-none-match", put.header("etag")}}})
              .status == 304);
    CHECK(f.send("GET", "/bkt/dir/hello.txt", {}, {.headers = {{"if-match", "\"nope\""}}}).status == 412);
    CHECK(f.send("GET", "/bkt/dir/hello.txt", {}, {.headers = {{"if-match", put.header("etag")}}}).status ==
          200);
    auto over = f.send("GET", "/bkt/dir/hello.txt?response-content-type=application%2Fjson");
    CHECK(over.header("content-type") == "application/json");

    CHECK(f.send("DELETE", "/bkt/dir/hello.txt").status == 204);
    auto gone = f.send("GET", "/bkt/dir/hello.txt");
    CHECK(gone.status == 404);
    CHECK(error_code(gone) == "NoSuchKey");
    CHECK(f.send("DELETE", "/bkt/dir/hello.txt").status == 204);
}

TEST_CASE("a 3 MiB object is stored in blocks and read back whole and by ranges", "[api][s3]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/big").status == 200);
    auto const body = pattern(3 * 1024 * 1024 + 123);
    auto put = f.send("PUT", "/big/blob", body);
    REQUIRE(put.status == 200);
    CHECK(put.header("etag") == "\"" + md5_hex(body) + "\"");
    auto get = f.send("GET", "/big/blob");
    CHECK(get.status == 200);
    CHECK(get.body.size() == body.size());
    CHECK(get.body == body);
    // a range across the first block boundary
    auto r = f.send("GET", "/big/blob", {}, {.headers = {{"range", "bytes=1048000-1049000"}}});
    CHECK(r.status == 206);
    CHECK(r.body == body.substr(1048000, 1001));

    SECTION("aws-chunked signed")
    {
        auto p = f.send("PUT", "/big/chunked", body, {.mode = body_mode::chunked_signed});
        REQUIRE(p.status == 200);
        CHECK(f.send("GET", "/big/chunked").body == body);
    }
    SECTION("UNSIGNED-PAYLOAD")
    {
        REQUIRE(f.send("PUT", "/big/unsigned", body, {.mode = body_mode::unsigned_payload}).status == 200);
        CHECK(f.send("GET", "/big/unsigned").body == body);
    }
    SECTION("unsigned trailer with a CRC32 checksum")
    {
        auto p = f.send("PUT", "/big/trailer", "small trailer body",
                        {.mode = body_mode::chunked_unsigned_trailer});
        REQUIRE(p.status == 200);
        CHECK(!p.header("x-amz-checksum-crc32").empty());
        CHECK(f.send("GET", "/big/trailer").body == "small trailer body");
    }
}

TEST_CASE("concurrent multi-block uploads round-trip under a RAM budget smaller than two blocks", "[api][s3]")
{
    // 64 KiB blocks, 100 KiB for all uploads: each upload can buffer one block at a time only,
    // so reading the next block must wait for the previous one to be stored (and not deadlock).
    fixture f(api::s3::s3_settings{"garage", "", 64 * 1024, 100 * 1024});
    REQUIRE(f.send("PUT", "/budget").status == 200);
    std::vector<std::string> bodies;
    for (int i = 0; i < 4; ++i) {
        bodies.push_back(pattern(1024 * 1024 + 77 * static_cast<std::size_t>(i + 1)));
        bodies.back()[0] = static_cast<char>('a' + i);
    }
    std::vector<std::future<unsigned>> puts;
    for (int i = 0; i < 4; ++i) {
        puts.push_back(std::async(std::launch::async, [&f, &bodies, i] {
            return f
                .send("PUT", "/budget/o" + std::to_string(i), bodies[static_cast<std::size_t>(i)],
                      {.mode = i % 2 == 0 ? body_mode::sha256 : body_mode::chunked_signed})
                .status;
        }));
    }
    for (auto& p : puts) {
        CHECK(p.get() == 200u);
    }
    for (int i = 0; i < 4; ++i) {
        auto get = f.send("GET", "/budget/o" + std::to_string(i));
        CHECK(get.status == 200);
        CHECK(get.body == bodies[static_cast<std::size_t>(i)]);
        CHECK(get.header("etag") == "\"" + md5_hex(bodies[static_cast<std::size_t>(i)]) + "\"");
    }
}

TEST_CASE("a block corrupted on disk is detected on read and never served", "[api][s3]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/big").status == 200);
    auto const body = pattern(3 * 1024 * 1024 + 123);
    REQUIRE(f.send("PUT", "/big/blob", body).status == 200);

    // The file of the second block: its name starts with the hex of the block's hash.
    auto const second = util::blake2sum(std::string_view(body).substr(1 << 20, 1 << 20)).to_hex();
    std::optional<std::filesystem::path> file;
    for (auto const& e : std::filesystem::recursive_directory_iterator(f.dir.path() / "data")) {
        if (e.is_regular_file() && e.path().filename().string().starts_with(second)) {
            file = e.path();
        }
    }
    REQUIRE(file);
    {
        std::fstream io(*file, std::ios::in | std::ios::out | std::ios::binary);
        io.seekp(1000);
        io.write("corrupted!", 10);
    }

    // Whole object: the body stops before the bad block (the connection closes mid-body).
    std::optional<response> whole;
    try {
        whole = f.send("GET", "/big/blob");
    } catch (std::exception const&) {
    }
    if (whole) {
        CHECK((whole->status != 200 || whole->body.size() < body.size()));
        CHECK(whole->body.find("corrupted!") == std::string::npos);
    }
    // The bad file is renamed aside; a range in a healthy block is still served.
    auto aside = *file;
    aside += ".corrupted";
    CHECK(std::filesystem::exists(aside));
    CHECK_FALSE(std::filesystem::exists(*file));
    auto r = f.send("GET", "/big/blob", {}, {.headers = {{"range", "bytes=0-999"}}});
    CHECK(r.status == 206);
    CHECK(r.body == body.substr(0, 1000));
    // A range inside the bad block is never answered with its bytes.
    std::optional<response> bad;
    try {
        bad = f.send("GET", "/big/blob", {}, {.headers = {{"range", "bytes=1049576-1049599"}}});
    } catch (std::exception const&) {
    }
    if (bad) {
        CHECK(bad->body != body.substr(1049576, 24));
    }
    // The server keeps serving.
    REQUIRE(f.send("PUT", "/big/after", "still here").status == 200);
    CHECK(f.send("GET", "/big/after").body == "still here");
}

TEST_CASE("listing rolls keys into common prefixes and pages with tokens and markers", "[api][s3]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/lst").status == 200);
    for (auto k : {"a/1", "a/2", "b", "c/x/1", "c/y", "d"}) {
        REQUIRE(f.send("PUT", std::string("/lst/") + k, "v").status == 200);
    }
    auto v2 = f.send("GET", "/lst?list-type=2&delimiter=%2F");
    CHECK(v2.status == 200);
    CHECK(count(v2.body, "<Contents>") == 2); // b, d
    CHECK(v2.body.find("<Prefix>a/</Prefix>") != std::string::npos);
    CHECK(v2.body.find("<Prefix>c/</Prefix>") != std::string::npos);
    CHECK(v2.body.find("<KeyCount>4</KeyCount>") != std::string::npos);

    auto prefixed = f.send("GET", "/lst?list-type=2&prefix=c%2F&delimiter=%2F");
    CHECK(prefixed.body.find("<Prefix>c/x/</Prefix>") != std::string::npos);
    CHECK(prefixed.body.find("<Key>c/y</Key>") != std::string::npos);

    // pages of two with a delimiter: [a/, b], [c/, d]
    auto p1 = f.send("GET", "/lst?list-type=2&delimiter=%2F&max-keys=2");
    CHECK(p1.body.find("<IsTruncated>true</IsTruncated>") != std::string::npos);
    auto a = p1.body.find("<NextContinuationToken>");
    REQUIRE(a != std::string::npos);
    auto token = p1.body.substr(a + 23, p1.body.find("</NextContinuationToken>") - a - 23);
    auto p2 = f.send("GET", "/lst?list-type=2&delimiter=%2F&max-keys=2&continuation-token=" +
                                api::sigv4::uri_encode(token, true));
    CHECK(p2.body.find("<Prefix>c/</Prefix>") != std::string::npos);
    CHECK(p2.body.find("<Key>d</Key>") != std::string::npos);
    CHECK(p2.body.find("<IsTruncated>false</IsTruncated>") != std::string::npos);
    CHECK(p2.body.find("<Prefix>a/</Prefix>") == std::string::npos);

    auto v1 = f.send("GET", "/lst?marker=b&max-keys=2");
    CHECK(v1.body.find("<Key>c/x/1</Key>") != std::string::npos);
    CHECK(v1.body.find("<Key>c/y</Key>") != std::string::npos);
    CHECK(v1.body.find("<NextMarker>c/y</NextMarker>") != std::string::npos);

    auto multi = f.send("GET", "/lst?list-type=2&delimiter=%2Fx");
    CHECK(multi.body.find("<Prefix>c/x</Prefix>") != std::string::npos);

    auto versions = f.send("GET", "/lst?versions");
    CHECK(count(versions.body, "<VersionId>null</VersionId>") == 6);

    auto del = f.send("POST", "/lst?delete",
                      "<Delete><Object><Key>a/1</Key><VersionId>null</VersionId></Object>"
                      "<Object><Key>b</Key></Object></Delete>");
    CHECK(del.status == 200);
    CHECK(count(del.body, "<Deleted>") == 2);
    auto after = f.send("GET", "/lst?list-type=2");
    CHECK(count(after.body, "<Contents>") == 4);
    CHECK(after.body.find("<Key>b</Key>") == std::string::npos);
}

TEST_CASE("copy object keeps or replaces metadata", "[api][s3]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/cpy").status == 200);
    auto const big = pattern(1500000, 7);
    REQUIRE(f.send("PUT", "/cpy/src", big, {.headers = {{"x-amz-meta-a", "1"}}}).status == 200);
    auto cp = f.send("PUT", "/cpy/dst", {}, {.headers = {{"x-amz-copy-source", "cpy/src"}}});
    CHECK(cp.status == 200);
    CHECK(cp.body.find(md5_hex(big)) != std::string::npos);
    auto got = f.send("GET", "/cpy/dst");
    CHECK(got.body == big);
    CHECK(got.header("x-amz-meta-a") == "1");
    auto rep = f.send("PUT", "/cpy/dst2", {},
                      {.headers = {{"x-amz-copy-source", "/cpy/src"},
                                   {"x-amz-metadata-directive", "REPLACE"},
                                   {"x-amz-meta-b", "2"}}});
    CHECK(rep.status == 200);
    auto got2 = f.send("HEAD", "/cpy/dst2");
    CHECK(got2.header("x-amz-meta-b") == "2");
    CHECK(got2.header("x-amz-meta-a").empty());
    auto cond =
        f.send("PUT", "/cpy/dst3", {},
               {.headers = {{"x-amz-copy-source", "cpy/src"}, {"x-amz-copy-source-if-match", "\"x\""}}});
    CHECK(cond.status == 412);
    CHECK(f.send("PUT", "/cpy/dst4", {}, {.headers = {{"x-amz-copy-source", "cpy/none"}}}).status == 404);

    // A version id in the source: `null`, the current version's id, or an unknown one; and a
    // key with an encoded `?`, which is part of the key and not a query.
    REQUIRE(f.send("PUT", "/cpy/what%3Fnow", "question").status == 200);
    auto const vid = f.send("HEAD", "/cpy/src").header("x-amz-version-id");
    REQUIRE_FALSE(vid.empty());
    auto by_null =
        f.send("PUT", "/cpy/v1", {}, {.headers = {{"x-amz-copy-source", "cpy/src?versionId=null"}}});
    CHECK(by_null.status == 200);
    auto by_id =
        f.send("PUT", "/cpy/v2", {}, {.headers = {{"x-amz-copy-source", "cpy/src?versionId=" + vid}}});
    CHECK(by_id.status == 200);
    CHECK(f.send("GET", "/cpy/v2").body == big);
    auto unknown = f.send("PUT", "/cpy/v3", {},
                          {.headers = {{"x-amz-copy-source", "cpy/src?versionId=" + std::string(64, '0')}}});
    CHECK(unknown.status == 404);
    CHECK(error_code(unknown) == "NoSuchVersion");
    auto qkey = f.send("PUT", "/cpy/v4", {}, {.headers = {{"x-amz-copy-source", "cpy/what%3Fnow"}}});
    CHECK(qkey.status == 200);
    CHECK(f.send("GET", "/cpy/v4").body == "question");
}

TEST_CASE("multipart upload: parts, listing, completion, checks and abort", "[api][s3]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/mpu").status == 200);
    auto init = f.send("POST", "/mpu/obj?uploads", {}, {.headers = {{"content-type", "text/x"}}});
    REQUIRE(init.status == 200);
    auto a = init.body.find("<UploadId>");
    auto id = init.body.substr(a + 10, 64);

    auto const p1 = pattern(5 * 1024 * 1024, 3);
    auto const p2 = pattern(1000, 4);
    auto r1 = f.send("PUT", "/mpu/obj?partNumber=1&uploadId=" + id, p1);
    REQUIRE(r1.status == 200);
    auto r2 = f.send("PUT", "/mpu/obj?partNumber=2&uploadId=" + id, p2);
    REQUIRE(r2.status == 200);
    CHECK(r2.header("etag") == "\"" + md5_hex(p2) + "\"");

    auto lp = f.send("GET", "/mpu/obj?uploadId=" + id);
    CHECK(count(lp.body, "<Part>") == 2);
    auto lu = f.send("GET", "/mpu?uploads");
    CHECK(lu.body.find(id) != std::string::npos);

    auto part_xml = [&](std::vector<std::pair<int, std::string>> const& ps) {
        std::string x = "<CompleteMultipartUpload>";
        for (auto const& [n, e] : ps) {
            x += "<Part><PartNumber>" + std::to_string(n) + "</PartNumber><ETag>" + e + "</ETag></Part>";
        }
        return x + "</CompleteMultipartUpload>";
    };
    auto order =
        f.send("POST", "/mpu/obj?uploadId=" + id, part_xml({{2, r2.header("etag")}, {1, r1.header("etag")}}));
    CHECK(error_code(order) == "InvalidPartOrder");
    auto bad_etag =
        f.send("POST", "/mpu/obj?uploadId=" + id, part_xml({{1, "\"0000\""}, {2, r2.header("etag")}}));
    CHECK(error_code(bad_etag) == "InvalidPart");
    CHECK(f.send("GET", "/mpu/obj").status == 404); // not visible before completion

    auto done =
        f.send("POST", "/mpu/obj?uploadId=" + id, part_xml({{1, r1.header("etag")}, {2, r2.header("etag")}}));
    REQUIRE(done.status == 200);
    auto const md5s = util::from_hex(md5_hex(p1)).value() + util::from_hex(md5_hex(p2)).value();
    CHECK(done.body.find(md5_hex(md5s) + "-2") != std::string::npos);
    auto get = f.send("GET", "/mpu/obj");
    CHECK(get.body == p1 + p2);
    auto part2 = f.send("GET", "/mpu/obj?partNumber=2");
    CHECK(part2.status == 206);
    CHECK(part2.body == p2);
    CHECK(part2.header("x-amz-mp-parts-count") == "2");
    CHECK(part2.header("content-range") == "bytes " + std::to_string(p1.size()) + "-" +
                                               std::to_string(p1.size() + p2.size() - 1) + "/" +
                                               std::to_string(p1.size() + p2.size()));
    CHECK(error_code(f.send("GET", "/mpu/obj?partNumber=3")) == "InvalidPart");
    CHECK(get.header("content-type") == "text/x");
    CHECK(get.header("etag") == "\"" + md5_hex(md5s) + "-2\"");
    CHECK(error_code(f.send("GET", "/mpu/obj?uploadId=" + id)) == "NoSuchUpload");

    // UploadPartCopy: the completed object's second half and a range of it
    auto init3 = f.send("POST", "/mpu/obj3?uploads");
    auto id3 = init3.body.substr(init3.body.find("<UploadId>") + 10, 64);
    auto c1 = f.send("PUT", "/mpu/obj3?partNumber=1&uploadId=" + id3, {},
                     {.headers = {{"x-amz-copy-source", "mpu/obj"}}});
    REQUIRE(c1.status == 200);
    auto const whole = p1 + p2;
    CHECK(c1.body.find(md5_hex(whole)) != std::string::npos);
    auto c2 = f.send(
        "PUT", "/mpu/obj3?partNumber=2&uploadId=" + id3, {},
        {.headers = {{"x-amz-copy-source", "mpu/obj"}, {"x-amz-copy-source-range", "bytes=100-1099999"}}});
    REQUIRE(c2.status == 200);
    // copy ranges: malformed → 400 InvalidArgument; past the source's end → 416 InvalidRange
    for (std::string const bad : {"bytes=5-1", "bytes=-100", "bytes=100-", "items=0-1", "bytes=a-b"}) {
        auto r = f.send("PUT", "/mpu/obj3?partNumber=3&uploadId=" + id3, {},
                        {.headers = {{"x-amz-copy-source", "mpu/obj"}, {"x-amz-copy-source-range", bad}}});
        CHECK(r.status == 400);
        CHECK(error_code(r) == "InvalidArgument");
    }
    auto past = f.send("PUT", "/mpu/obj3?partNumber=3&uploadId=" + id3, {},
                       {.headers = {{"x-amz-copy-source", "mpu/obj"},
                                    {"x-amz-copy-source-range", "bytes=0-" + std::to_string(whole.size())}}});
    CHECK(past.status == 416);
    CHECK(error_code(past) == "InvalidRange");
    // an inline source (Garage refuses it) makes a part of its bytes
    REQUIRE(f.send("PUT", "/mpu/tiny-src", "0123456789").status == 200);
    auto from_inline = f.send(
        "PUT", "/mpu/obj3?partNumber=4&uploadId=" + id3, {},
        {.headers = {{"x-amz-copy-source", "mpu/tiny-src"}, {"x-amz-copy-source-range", "bytes=2-5"}}});
    CHECK(from_inline.status == 200);
    CHECK(from_inline.body.find(md5_hex("2345")) != std::string::npos);
    auto const e1 = c1.body.substr(c1.body.find("<ETag>") + 6, 34);
    auto const e2 = c2.body.substr(c2.body.find("<ETag>") + 6, 34);
    auto done3 = f.send("POST", "/mpu/obj3?uploadId=" + id3, part_xml({{1, e1}, {2, e2}}));
    REQUIRE(done3.status == 200);
    auto const got3 = f.send("GET", "/mpu/obj3").body;
    CHECK(got3.size() == whole.size() + 1099900);
    CHECK((got3.substr(0, whole.size()) == whole));
    CHECK((got3.substr(whole.size()) == whole.substr(100, 1099900)));
    CHECK(f.send("PUT", "/mpu/obj3?partNumber=1&uploadId=" + id3, {},
                 {.headers = {{"x-amz-copy-source", "mpu/obj"}}})
              .status == 404); // the upload is complete

    // a small non-last part, then abort
    auto init2 = f.send("POST", "/mpu/obj2?uploads");
    auto id2 = init2.body.substr(init2.body.find("<UploadId>") + 10, 64);
    auto s1 = f.send("PUT", "/mpu/obj2?partNumber=1&uploadId=" + id2, "tiny");
    auto s2 = f.send("PUT", "/mpu/obj2?partNumber=2&uploadId=" + id2, "tiny2");
    auto small = f.send("POST", "/mpu/obj2?uploadId=" + id2,
                        part_xml({{1, s1.header("etag")}, {2, s2.header("etag")}}));
    CHECK(error_code(small) == "EntityTooSmall");
    CHECK(f.send("DELETE", "/mpu/obj2?uploadId=" + id2).status == 204);
    CHECK(error_code(f.send("PUT", "/mpu/obj2?partNumber=3&uploadId=" + id2, "x")) == "NoSuchUpload");
    CHECK(f.send("GET", "/mpu?uploads").body.find(id2) == std::string::npos);
}

TEST_CASE("bad requests get the right S3 error and leave nothing visible", "[api][s3]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/err").status == 200);

    auto bad_sig = f.send("GET", "/err?list-type=2", {}, {.secret_key = std::string(64, 'f')});
    CHECK(bad_sig.status == 403);
    CHECK(error_code(bad_sig) == "SignatureDoesNotMatch");
    CHECK(bad_sig.body.find("<RequestId>") != std::string::npos);

    auto region = f.send("GET", "/err?list-type=2", {}, {.region = "us-east-1"});
    CHECK(region.status == 400);
    CHECK(error_code(region) == "AuthorizationHeaderMalformed");

    auto anon = f.send("GET", "/err?list-type=2", {}, {.mode = body_mode::anonymous});
    CHECK(anon.status == 403);
    CHECK(error_code(anon) == "AccessDenied");
    CHECK(anon.body.find("anonymous") != std::string::npos);

    auto malformed = f.send("POST", "/err?delete", "<Delete><Object><Key>x</Key>");
    CHECK(malformed.status == 400);
    CHECK(error_code(malformed) == "MalformedXML");

    auto md5 =
        f.send("PUT", "/err/k1", "content",
               {.headers = {{"content-md5", util::to_base64(util::digest_view(util::md5sum("other")))}}});
    CHECK(md5.status == 400);
    CHECK(error_code(md5) == "InvalidDigest");
    CHECK(f.send("GET", "/err/k1").status == 404);

    auto sha = f.send("PUT", "/err/k2", "content", {.sha256_override = util::sha256sum("other").to_hex()});
    CHECK(sha.status >= 400);
    CHECK(f.send("GET", "/err/k2").status == 404);

    auto const big = pattern(2 * 1024 * 1024 + 5, 9);
    auto trunc = f.send("PUT", "/err/k3", big, {.mode = body_mode::chunked_signed, .truncate_body = true});
    CHECK(trunc.status >= 400);
    CHECK(trunc.status < 500);
    CHECK(f.send("GET", "/err/k3").status == 404);
    CHECK(f.send("GET", "/err?list-type=2").body.find("<Contents>") == std::string::npos);

    REQUIRE(f.send("PUT", "/err/shared", "presigned content").status == 200);
    auto pre = f.send("GET", presign("/err/shared", 600), {}, {.mode = body_mode::anonymous});
    CHECK(pre.status == 200);
    CHECK(pre.body == "presigned content");
    auto pre_bad =
        f.send("GET", presign("/err/shared", 600, std::string(64, 'e')), {}, {.mode = body_mode::anonymous});
    CHECK(pre_bad.status == 403);
    CHECK(error_code(pre_bad) == "SignatureDoesNotMatch");

    // a second key, without permissions on the bucket nor the right to create buckets
    std::string const other_id = "GK00000000000000000000aaaa";
    std::string const other_secret(64, 'a');
    REQUIRE(f.model->key_table().insert(model::access_key::import(other_id, other_secret, "other").value()));
    request_options as_other{.secret_key = other_secret, .access_key = other_id};
    auto denied = f.send("GET", "/err/shared", {}, as_other);
    CHECK(denied.status == 403);
    CHECK(error_code(denied) == "AccessDenied");
    CHECK(f.send("GET", "/", {}, as_other).body.find("<Name>err</Name>") == std::string::npos);
    CHECK(error_code(f.send("PUT", "/err", {}, as_other)) == "BucketAlreadyExists");
    CHECK(f.send("PUT", "/newbucket", {}, as_other).status == 403);
    auto unknown = f.send("GET", "/", {}, {.access_key = "GK99999999999999999999ffff"});
    CHECK(unknown.status == 403);
    CHECK(error_code(unknown) == "InvalidAccessKeyId");

    auto ni = f.send("GET", "/err?policy");
    CHECK(ni.status == 501);
    CHECK(error_code(ni) == "NotImplemented");
}

} // namespace
