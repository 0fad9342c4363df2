// Test that header file is self-contained.
#include <garage/api/s3/impl/cors.hpp>

// In-process tests over real HTTP of the bucket configuration endpoints (CORS, website,
// lifecycle) and of CORS on responses; the fixture is the one of test/api/s3/api_server.cpp.
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

constexpr std::string_view key2_id = "GK111111111111111111111111";
constexpr std::string_view secret2 = "1111111111111111111111111111111111111111111111111111111111111111";

std::string const cors_xml =
    "<CORSConfiguration><CORSRule><ID>app</ID>"
    "<AllowedOrigin>https://app.example</AllowedOrigin>"
    "<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>"
    "<AllowedHeader>content-type</AllowedHeader><AllowedHeader>x-amz-*</AllowedHeader>"
    "<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule>"
    "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>HEAD</AllowedMethod>"
    "</CORSRule></CORSConfiguration>";

/// A request with no signature (a browser's preflight).
request_options anonymous(std::vector<std::pair<std::string, std::string>> headers)
{
    request_options o;
    o.mode = body_mode::anonymous;
    o.headers = std::move(headers);
    return o;
}

TEST_CASE("CORS configuration is put, read back and deleted", "[api][s3][cors]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/site").status == 200);
    auto none = f.send("GET", "/site?cors");
    CHECK(none.status == 404);
    CHECK(error_code(none) == "NoSuchCORSConfiguration");

    REQUIRE(f.send("PUT", "/site?cors", cors_xml).status == 200);
    auto got = f.send("GET", "/site?cors");
    CHECK(got.status == 200);
    CHECK(got.body.find("<AllowedOrigin>https://app.example</AllowedOrigin>") != std::string::npos);
    CHECK(got.body.find("<MaxAgeSeconds>600</MaxAgeSeconds>") != std::string::npos);
    CHECK(got.body.find("<ID>app</ID>") != std::string::npos);

    CHECK(error_code(f.send("PUT", "/site?cors", "<CORSConfiguration><CORSRule/></CORSConfiguration>")) ==
          "MalformedXML");
    CHECK(error_code(f.send("PUT", "/site?cors", "not xml")) == "MalformedXML");
    CHECK(error_code(f.send("PUT", "/site?cors",
                            "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>"
                            "TRACE</AllowedMethod></CORSRule></CORSConfiguration>")) == "InvalidRequest");
    // the rejected bodies changed nothing
    CHECK(f.send("GET", "/site?cors").body == got.body);

    CHECK(f.send("DELETE", "/site?cors").status == 204);
    CHECK(f.send("GET", "/site?cors").status == 404);
    CHECK(f.send("DELETE", "/site?cors").status == 204);
}

TEST_CASE("a wrong Content-MD5 on a configuration body is rejected", "[api][s3][cors]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/site").status == 200);
    request_options o;
    o.headers = {{"content-md5", util::to_base64(util::digest_view(util::md5sum("something else")))}};
    auto r = f.send("PUT", "/site?cors", cors_xml, o);
    CHECK(r.status == 400);
    CHECK(f.send("GET", "/site?cors").status == 404);
    o.headers = {{"content-md5", util::to_base64(util::digest_view(util::md5sum(cors_xml)))}};
    CHECK(f.send("PUT", "/site?cors", cors_xml, o).status == 200);
}

TEST_CASE("an OPTIONS preflight is answered from the bucket's CORS rules", "[api][s3][cors]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/site").status == 200);
    // no rules yet: refused
    auto refused =
        f.send("OPTIONS", "/site/a.txt", {},
               anonymous({{"origin", "https://app.example"}, {"access-control-request-method", "GET"}}));
    CHECK(refused.status == 403);
    REQUIRE(f.send("PUT", "/site?cors", cors_xml).status == 200);

    auto ok = f.send("OPTIONS", "/site/a.txt", {},
                     anonymous({{"origin", "https://app.example"},
                                {"access-control-request-method", "PUT"},
                                {"access-control-request-headers", "Content-Type, X-Amz-Date"}}));
    CHECK(ok.status == 200);
    CHECK(ok.header("access-control-allow-origin") == "https://app.example");
    CHECK(ok.header("access-control-allow-methods") == "GET, PUT");
    CHECK(ok.header("access-control-allow-headers") == "Content-Type, X-Amz-Date");
    CHECK(ok.header("access-control-expose-headers") == "ETag");
    CHECK(ok.header("access-control-max-age") == "600");

    auto star =
        f.send("OPTIONS", "/site", {},
               anonymous({{"origin", "https://other.example"}, {"access-control-request-method", "HEAD"}}));
    CHECK(star.status == 200);
    CHECK(star.header("access-control-allow-origin") == "*");

    CHECK(f.send("OPTIONS", "/site/a.txt", {},
                 anonymous({{"origin", "https://other.example"}, {"access-control-request-method", "PUT"}}))
              .status == 403);
    CHECK(f.send("OPTIONS", "/site/a.txt", {},
                 anonymous({{"origin", "https://app.example"},
                            {"access-control-request-method", "PUT"},
                            {"access-control-request-headers", "authorization"}}))
              .status == 403);
    CHECK(f.send("OPTIONS", "/site/a.txt", {}, anonymous({{"origin", "https://app.example"}})).status == 400);
    CHECK(f.send("OPTIONS", "/", {}, anonymous({})).status == 200);
}

TEST_CASE("authenticated responses carry the CORS headers of a matching rule", "[api][s3][cors]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/site").status == 200);
    REQUIRE(f.send("PUT", "/site?cors", cors_xml).status == 200);
    REQUIRE(f.send("PUT", "/site/a.txt", "hello").status == 200);

    request_options o;
    o.headers = {{"origin", "https://app.example"}};
    auto get = f.send("GET", "/site/a.txt", {}, o);
    CHECK(get.status == 200);
    CHECK(get.body == "hello");
    CHECK(get.header("access-control-allow-origin") == "https://app.example");
    CHECK(get.header("access-control-expose-headers") == "ETag");
    CHECK(get.header("access-control-max-age").empty());

    auto put = f.send("PUT", "/site/b.txt", "x", o);
    CHECK(put.status == 200);
    CHECK(put.header("access-control-allow-origin") == "https://app.example");

    // DELETE is not allowed for that origin: no CORS headers (the request itself still succeeds)
    auto del = f.send("DELETE", "/site/b.txt", {}, o);
    CHECK(del.status == 204);
    CHECK(del.header("access-control-allow-origin").empty());

    // without Origin, no headers
    CHECK(f.send("GET", "/site/a.txt").header("access-control-allow-origin").empty());
    // an error response of a matched request carries them too
    auto missing = f.send("GET", "/site/nothing", {}, o);
    CHECK(missing.status == 404);
    CHECK(missing.header("access-control-allow-origin") == "https://app.example");
}

TEST_CASE("website configuration is put, read back and deleted", "[api][s3][website]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/site").status == 200);
    auto none = f.send("GET", "/site?website");
    CHECK(none.status == 404);
    CHECK(error_code(none) == "NoSuchWebsiteConfiguration");

    std::string const body =
        "<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument>"
        "<ErrorDocument><Key>err.html</Key></ErrorDocument><RoutingRules><RoutingRule>"
        "<Condition><KeyPrefixEquals>old/</KeyPrefixEquals></Condition><Redirect>"
        "<ReplaceKeyPrefixWith>new/</ReplaceKeyPrefixWith></Redirect></RoutingRule>"
        "</RoutingRules></WebsiteConfiguration>";
    REQUIRE(f.send("PUT", "/site?website", body).status == 200);
    auto got = f.send("GET", "/site?website");
    CHECK(got.status == 200);
    CHECK(got.body.find("<Suffix>index.html</Suffix>") != std::string::npos);
    CHECK(got.body.find("<Key>err.html</Key>") != std::string::npos);
    CHECK(got.body.find("<ReplaceKeyPrefixWith>new/</ReplaceKeyPrefixWith>") != std::string::npos);

    CHECK(error_code(f.send("PUT", "/site?website", "<WebsiteConfiguration/>")) == "InvalidArgument");
    CHECK(error_code(f.send("PUT", "/site?website",
                            "<WebsiteConfiguration><IndexDocument><Suffix>a/b</Suffix></IndexDocument>"
                            "</WebsiteConfiguration>")) == "InvalidArgument");

    REQUIRE(f.send("PUT", "/site?website",
                   "<WebsiteConfiguration><RedirectAllRequestsTo><HostName>example.org</HostName>"
                   "</RedirectAllRequestsTo></WebsiteConfiguration>")
                .status == 200);
    CHECK(f.send("GET", "/site?website").body.find("<HostName>example.org</HostName>") != std::string::npos);

    CHECK(f.send("DELETE", "/site?website").status == 204);
    CHECK(f.send("GET", "/site?website").status == 404);
}

TEST_CASE("lifecycle configuration is put, read back and deleted", "[api][s3][lifecycle]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/logs").status == 200);
    auto none = f.send("GET", "/logs?lifecycle");
    CHECK(none.status == 404);
    CHECK(error_code(none) == "NoSuchLifecycleConfiguration");

    std::string const body =
        "<LifecycleConfiguration><Rule><ID>expire</ID><Filter><Prefix>tmp/</Prefix></Filter>"
        "<Status>Enabled</Status><Expiration><Days>3</Days></Expiration>"
        "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation>"
        "</AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>";
    REQUIRE(f.send("PUT", "/logs?lifecycle", body).status == 200);
    auto got = f.send("GET", "/logs?lifecycle");
    CHECK(got.status == 200);
    CHECK(got.body.find("<Prefix>tmp/</Prefix>") != std::string::npos);
    CHECK(got.body.find("<Days>3</Days>") != std::string::npos);
    CHECK(got.body.find("<DaysAfterInitiation>1</DaysAfterInitiation>") != std::string::npos);

    auto transition =
        f.send("PUT", "/logs?lifecycle",
               "<LifecycleConfiguration><Rule><Status>Enabled</Status><Transition><Days>1</Days>"
               "<StorageClass>GLACIER</StorageClass></Transition></Rule></LifecycleConfiguration>");
    CHECK(transition.status == 501);
    CHECK(error_code(transition) == "NotImplemented");
    CHECK(error_code(f.send("PUT", "/logs?lifecycle",
                            "<LifecycleConfiguration><Rule><Status>Maybe</Status><Expiration><Days>1</Days>"
                            "</Expiration></Rule></LifecycleConfiguration>")) == "MalformedXML");
    CHECK(f.send("GET", "/logs?lifecycle").body == got.body);

    CHECK(f.send("DELETE", "/logs?lifecycle").status == 204);
    CHECK(f.send("GET", "/logs?lifecycle").status == 404);
}

TEST_CASE("CORS and website configuration need the owner permission, lifecycle reads need read",
          "[api][s3][cors]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/site").status == 200);
    auto k = model::access_key::import(key2_id, secret2, "reader").value();
    REQUIRE(f.model->key_table().insert(k));
    auto id = model::resolve_global_alias(*f.model, "site").value();
    REQUIRE(id);
    model::bucket_key_perm perm;
    perm.allow_read = true;
    perm.allow_write = true;
    REQUIRE(model::set_bucket_key_permissions(*f.model, *id, std::string(key2_id), perm));

    request_options o;
    o.access_key = std::string(key2_id);
    o.secret_key = std::string(secret2);
    CHECK(error_code(f.send("PUT", "/site?cors", cors_xml, o)) == "AccessDenied");
    CHECK(error_code(f.send("GET", "/site?website", {}, o)) == "AccessDenied");
    CHECK(error_code(f.send("GET", "/site?lifecycle", {}, o)) == "NoSuchLifecycleConfiguration");
}

} // namespace
