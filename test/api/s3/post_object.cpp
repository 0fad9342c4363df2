// Test that header file is self-contained.
#include <garage/api/s3/impl/post_object.hpp>

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
#include <ctime>
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

std::string md5_hex(std::string_view s)
{
    return util::to_hex(util::digest_view(util::md5sum(s)));
}

/// A browser form upload, signed as boto3's generate_presigned_post signs it.
struct post_request {
    std::string bucket = "site";
    header_list fields{};     ///< form fields before the authentication fields (key first)
    std::string conditions{}; ///< more policy conditions (JSON array elements, comma-separated)
    std::chrono::seconds expires_in{3600};
    std::string secret_key = std::string(secret);
    std::string file = "hello from a form";
    std::string filename = "hello.txt";
    std::string file_content_type = "text/plain";
    bool bucket_condition = true;
};

std::string iso8601(std::chrono::system_clock::time_point t)
{
    auto const tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
    return buf;
}

std::string const boundary = "----garageFormBoundary7MA4YWxkTrZu0gW";

/// The multipart/form-data body of `fields` then the file.
std::string form_body(header_list const& fields, post_request const& p)
{
    std::string b;
    for (auto const& [n, v] : fields) {
        b += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + n + "\"\r\n\r\n" + v + "\r\n";
    }
    b += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + p.filename +
         "\"\r\nContent-Type: " + p.file_content_type + "\r\n\r\n" + p.file + "\r\n--" + boundary + "--\r\n";
    return b;
}

/// The complete signed form of `p`.
header_list signed_fields(post_request const& p)
{
    auto const now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    std::string const amz_date = api::sigv4::format_amz_date(now);
    std::string const short_date = amz_date.substr(0, 8);
    std::string const credential = std::string(key_id) + "/" + short_date + "/garage/s3/aws4_request";
    std::string conditions;
    if (p.bucket_condition) {
        conditions += R"({"bucket": ")" + p.bucket + R"("}, )";
    }
    conditions += R"({"x-amz-algorithm": "AWS4-HMAC-SHA256"}, {"x-amz-credential": ")" + credential +
                  R"("}, {"x-amz-date": ")" + amz_date + R"("})";
    if (!p.conditions.empty()) {
        conditions += ", " + p.conditions;
    }
    std::string const policy =
        R"({"expiration": ")" + iso8601(now + p.expires_in) + R"(", "conditions": [)" + conditions + "]}";
    std::string const policy_b64 = util::to_base64(policy);
    auto const skey = api::sigv4::derive_signing_key(p.secret_key, short_date, "garage", "s3");
    header_list f = p.fields;
    f.emplace_back("x-amz-algorithm", "AWS4-HMAC-SHA256");
    f.emplace_back("x-amz-credential", credential);
    f.emplace_back("x-amz-date", amz_date);
    f.emplace_back("policy", policy_b64);
    f.emplace_back("x-amz-signature", api::sigv4::compute_signature(skey, policy_b64).to_hex());
    return f;
}

response post(fixture& f, post_request const& p, header_list const& fields)
{
    return f.send_raw("POST", "/" + p.bucket, form_body(fields, p),
                      {{"host", "127.0.0.1"}, {"content-type", "multipart/form-data; boundary=" + boundary}});
}

response post(fixture& f, post_request const& p)
{
    return post(f, p, signed_fields(p));
}

/// A request for `uploads/${filename}` whose policy allows it.
post_request upload_request()
{
    post_request p;
    p.fields = {
        {"key", "uploads/${filename}"}, {"Content-Type", "text/plain"}, {"x-amz-meta-colour", "blue"}};
    p.conditions = R"(["starts-with", "$key", "uploads/"], ["starts-with", "$Content-Type", "text/"], )"
                   R"({"x-amz-meta-colour": "blue"})";
    return p;
}

TEST_CASE("a form upload with a valid policy stores the object", "[api][s3][post_object]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/site").status == 200);
    auto const p = upload_request();
    auto r = post(f, p);
    CHECK(r.status == 204);
    CHECK(r.body.empty());
    CHECK(r.header("etag") == "\"" + md5_hex(p.file) + "\"");
    CHECK(r.header("location") == "https://127.0.0.1/site/uploads/hello.txt");

    auto get = f.send("GET", "/site/uploads/hello.txt");
    CHECK(get.status == 200);
    CHECK(get.body == p.file);
    CHECK(get.header("content-type") == "text/plain");
    CHECK(get.header("x-amz-meta-colour") == "blue");
    CHECK(get.header("etag") == r.header("etag"));
}

TEST_CASE("a large form upload is stored in blocks; status 201 answers a PostResponse",
          "[api][s3][post_object]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/site").status == 200);
    auto p = upload_request();
    p.file = pattern(2 * 1024 * 1024 + 77);
    p.filename = "big.bin";
    p.fields.emplace_back("success_action_status", "201");
    p.conditions += R"(, {"success_action_status": "201"}, ["content-length-range", 1, 3000000])";
    auto r = post(f, p);
    CHECK(r.status == 201);
    CHECK(r.body.find("<PostResponse") != std::string::npos);
    CHECK(r.body.find("<Bucket>site</Bucket>") != std::string::npos);
    CHECK(r.body.find("<Key>uploads/big.bin</Key>") != std::string::npos);
    CHECK(r.body.find("<ETag>\"" + md5_hex(p.file) + "\"</ETag>") != std::string::npos);
    CHECK(r.body.find("<Location>https://127.0.0.1/site/uploads/big.bin</Location>") != std::string::npos);
    auto get = f.send("GET", "/site/uploads/big.bin");
    CHECK(get.status == 200);
    CHECK(get.body.size() == p.file.size());
    CHECK(get.body == p.file);
}

TEST_CASE("success_action_status 200 and success_action_redirect", "[api][s3][post_object]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/site").status == 200);
    auto p = upload_request();
    p.fields.emplace_back("success_action_status", "200");
    p.conditions += R"(, ["starts-with", "$success_action_status", ""])";
    auto ok = post(f, p);
    CHECK(ok.status == 200);
    CHECK(ok.body.empty());

    p = upload_request();
    p.fields.emplace_back("success_action_redirect", "https://example.com/done?x=1");
    p.conditions += R"(, {"success_action_redirect": "https://example.com/done?x=1"})";
    auto r = post(f, p);
    CHECK(r.status == 303);
    CHECK(r.header("location") ==
          "https://example.com/done?x=1&bucket=site&key=uploads%2Fhello.txt&etag=%22" + md5_hex(p.file) +
              "%22");
}

TEST_CASE("a form with a bad signature or an unknown key is refused", "[api][s3][post_object]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/site").status == 200);
    auto p = upload_request();
    p.secret_key = "not the secret";
    auto r = post(f, p);
    CHECK(r.status == 403);
    CHECK(error_code(r) == "AccessDenied");
    CHECK(f.send("GET", "/site/uploads/hello.txt").status == 404);

    // a policy changed after signing
    p = upload_request();
    auto fields = signed_fields(p);
    for (auto& [n, v] : fields) {
        if (n == "policy") {
            v = util::to_base64(R"({"expiration": "2099-01-01T00:00:00Z", "conditions": []})");
        }
    }
    CHECK(error_code(post(f, p, fields)) == "AccessDenied");

    fields = signed_fields(upload_request());
    for (auto& [n, v] : fields) {
        if (n == "x-amz-credential") {
            v.replace(0, 2, "GX");
        }
    }
    auto unknown = post(f, p, fields);
    CHECK(unknown.status == 403);
    CHECK(error_code(unknown) == "InvalidAccessKeyId");
    CHECK(f.send("GET", "/site/uploads/hello.txt").status == 404);
}

TEST_CASE("an expired policy is refused", "[api][s3][post_object]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/site").status == 200);
    auto p = upload_request();
    p.expires_in = std::chrono::seconds(-10);
    auto r = post(f, p);
    CHECK(r.status == 403);
    CHECK(error_code(r) == "AccessDenied");
    CHECK(r.body.find("Policy expired") != std::string::npos);
    CHECK(f.send("GET", "/site/uploads/hello.txt").status == 404);
}

TEST_CASE("every field must be allowed by the policy and every condition must hold", "[api][s3][post_object]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/site").status == 200);

    auto p = upload_request();
    p.fields.emplace_back("x-amz-meta-extra", "sneaky");
    auto extra = post(f, p);
    CHECK(extra.status == 403);
    CHECK(error_code(extra) == "AccessDenied");
    CHECK(extra.body.find("Extra input fields: x-amz-meta-extra") != std::string::npos);

    // x-ignore-* fields need no condition
    p = upload_request();
    p.fields.emplace_back("x-ignore-tracking", "1");
    CHECK(post(f, p).status == 204);

    p = upload_request();
    p.fields[0].second = "elsewhere/${filename}";
    auto prefix = post(f, p);
    CHECK(prefix.status == 403);
    CHECK(prefix.body.find("Policy Condition failed: [") != std::string::npos);
    CHECK(prefix.body.find("starts-with") != std::string::npos);
    CHECK(prefix.body.find("$key") != std::string::npos);
    CHECK(f.send("GET", "/site/elsewhere/hello.txt").status == 404);

    p = upload_request();
    p.fields[2].second = "red";
    CHECK(error_code(post(f, p)) == "AccessDenied");

    // a policy for another bucket, or with no bucket condition
    REQUIRE(f.send("PUT", "/other").status == 200);
    p = upload_request();
    auto fields = signed_fields(p); // signed for "site"
    p.bucket = "other";
    CHECK(error_code(post(f, p, fields)) == "AccessDenied");
    p = upload_request();
    p.bucket_condition = false;
    auto no_bucket = post(f, p);
    CHECK(no_bucket.status == 403);
    CHECK(no_bucket.body.find("Extra input fields: bucket") != std::string::npos);
}

TEST_CASE("content-length-range bounds the file", "[api][s3][post_object]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/site").status == 200);
    auto p = upload_request();
    p.conditions += R"(, ["content-length-range", 1, 5])";
    auto big = post(f, p);
    CHECK(big.status == 400);
    CHECK(error_code(big) == "EntityTooLarge");
    CHECK(f.send("GET", "/site/uploads/hello.txt").status == 404);

    p = upload_request();
    p.conditions += R"(, ["content-length-range", 100, 200])";
    auto small = post(f, p);
    CHECK(small.status == 400);
    CHECK(error_code(small) == "EntityTooSmall");

    // a block-stored file past the bound is refused while streaming and never visible
    p = upload_request();
    p.file = pattern(3 * 1024 * 1024);
    p.conditions += R"(, ["content-length-range", 0, 1048576])";
    auto huge = post(f, p);
    CHECK(huge.status == 400);
    CHECK(error_code(huge) == "EntityTooLarge");
    CHECK(f.send("HEAD", "/site/uploads/hello.txt").status == 404);
}

TEST_CASE("malformed forms are refused with S3 errors", "[api][s3][post_object]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/site").status == 200);
    auto const p = upload_request();
    auto const fields = signed_fields(p);

    auto wrong_type =
        f.send_raw("POST", "/site", "key=x", {{"host", "127.0.0.1"}, {"content-type", "text/plain"}});
    CHECK(wrong_type.status == 400);
    CHECK(error_code(wrong_type) == "MalformedPOSTRequest");

    auto body = form_body(fields, p);
    body.resize(body.size() - 30); // cut inside the file
    auto truncated =
        f.send_raw("POST", "/site", body,
                   {{"host", "127.0.0.1"}, {"content-type", "multipart/form-data; boundary=" + boundary}});
    CHECK(truncated.status == 400);
    CHECK(error_code(truncated) == "MalformedPOSTRequest");

    std::string no_file;
    for (auto const& [n, v] : fields) {
        no_file +=
            "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + n + "\"\r\n\r\n" + v + "\r\n";
    }
    no_file += "--" + boundary + "--\r\n";
    auto missing =
        f.send_raw("POST", "/site", no_file,
                   {{"host", "127.0.0.1"}, {"content-type", "multipart/form-data; boundary=" + boundary}});
    CHECK(missing.status == 400);
    CHECK(error_code(missing) == "InvalidArgument");

    header_list without_key(fields.begin() + 1, fields.end());
    auto no_key = post(f, p, without_key);
    CHECK(error_code(no_key) == "InvalidArgument");
    CHECK(no_key.body.find("'key'") != std::string::npos);

    auto twice = fields;
    twice.insert(twice.begin(), {"key", "again"});
    CHECK(error_code(post(f, p, twice)) == "InvalidArgument");
    CHECK(f.send("GET", "/site/uploads/hello.txt").status == 404);
}

TEST_CASE("a content-md5 field is checked; encryption fields are refused", "[api][s3][post_object]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/site").status == 200);
    auto p = upload_request();
    p.fields.emplace_back(
        "Content-MD5",
        util::to_base64(std::string_view(reinterpret_cast<char const*>(util::md5sum(p.file).data()), 16)));
    p.conditions += R"(, ["starts-with", "$content-md5", ""])";
    CHECK(post(f, p).status == 204);

    p = upload_request();
    p.fields.emplace_back("Content-MD5", util::to_base64(std::string(16, 'x')));
    p.conditions += R"(, ["starts-with", "$content-md5", ""])";
    p.filename = "wrong.txt";
    auto bad = post(f, p);
    CHECK(bad.status == 400);
    CHECK(error_code(bad) == "InvalidDigest");
    CHECK(f.send("GET", "/site/uploads/wrong.txt").status == 404);

    p = upload_request();
    p.fields.emplace_back("x-amz-server-side-encryption-customer-algorithm", "AES256");
    p.conditions += R"(, {"x-amz-server-side-encryption-customer-algorithm": "AES256"})";
    p.filename = "sse.txt";
    CHECK(error_code(post(f, p)) == "NotImplemented");
    CHECK(f.send("GET", "/site/uploads/sse.txt").status == 404);
}

TEST_CASE("a form upload respects the bucket's object quota", "[api][s3][post_object]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/site").status == 200);
    f.set_quotas("site", std::nullopt, 1);
    auto p = upload_request();
    REQUIRE(post(f, p).status == 204);
    CHECK(post(f, p).status == 204); // the same key: a replacement
    p.filename = "second.txt";
    auto r = post(f, p);
    CHECK(r.status == 403);
    CHECK(error_code(r) == "AccessDenied");
    CHECK(f.send("GET", "/site/uploads/second.txt").status == 404);
}

} // namespace
