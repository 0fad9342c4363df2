// Test that header file is self-contained.
#include <garage/api/common/sigv4.hpp>

#include <garage/util/encoding.hpp>
#include <garage/util/hasher.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {
using namespace garage;
using namespace garage::api;
using namespace std::chrono_literals;
namespace sigv4 = garage::api::sigv4;

/// A request that owns its strings; `view()` borrows them.
struct test_request {
    std::string method = "GET";
    std::string path = "/";
    std::string query;
    std::vector<std::pair<std::string, std::string>> headers;

    request_view view()
    {
        fields_.clear();
        for (auto const& [n, v] : headers) {
            fields_.push_back({n, v});
        }
        return {method, path, query, fields_};
    }

    std::string get(std::string_view name) const
    {
        for (auto const& [n, v] : headers) {
            if (iequals(n, name)) {
                return v;
            }
        }
        return {};
    }

    void set(std::string const& name, std::string value)
    {
        for (auto& [n, v] : headers) {
            if (iequals(n, name)) {
                v = std::move(value);
                return;
            }
        }
        headers.emplace_back(name, std::move(value));
    }

private:
    std::vector<header_field> fields_;
};

// The example credentials of the AWS S3 documentation ("Signature Calculations for the
// Authorization Header", "Authenticating Requests: Using Query Parameters", "Transferring
// Payload in Multiple Chunks").
constexpr std::string_view s3_key_id = "AKIAIOSFODNN7EXAMPLE";
constexpr std::string_view s3_secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr std::string_view empty_sha = sigv4::empty_sha256_hex;
sigv4::service_scope const us_east_1{"us-east-1", sigv4::service::s3};

std::chrono::system_clock::time_point at(std::string_view amz_date, std::chrono::seconds later = 0s)
{
    return *sigv4::parse_amz_date(amz_date) + later;
}

std::string auth_header(std::string_view scope, std::string_view signed_headers, std::string_view signature)
{
    return "AWS4-HMAC-SHA256 Credential=" + std::string(s3_key_id) + "/" + std::string(scope) +
           ", SignedHeaders=" + std::string(signed_headers) + ", Signature=" + std::string(signature);
}

/// The "GET Object" example: the first ten bytes of test.txt.
test_request get_object_example()
{
    test_request r;
    r.path = "/test.txt";
    r.headers = {
        {"Host", "examplebucket.s3.amazonaws.com"},
        {"Range", "bytes=0-9"},
        {"x-amz-content-sha256", std::string(empty_sha)},
        {"x-amz-date", "20130524T000000Z"},
        {"Authorization",
         auth_header("20130524/us-east-1/s3/aws4_request", "host;range;x-amz-content-sha256;x-amz-date",
                     "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")}};
    return r;
}

/// Signs `r` (which must carry x-amz-date and x-amz-content-sha256) with our own functions.
void sign(test_request& r, std::string_view secret, std::string_view signed_headers,
          std::string_view region = "us-east-1", std::string_view svc = "s3",
          std::optional<sigv4::service> uri_as = std::nullopt)
{
    std::string amz_date;
    std::string payload;
    for (auto const& [n, v] : r.headers) {
        if (iequals(n, "x-amz-date")) {
            amz_date = v;
        } else if (iequals(n, "x-amz-content-sha256")) {
            payload = v;
        }
    }
    std::vector<std::string> names;
    std::string_view list = signed_headers;
    while (!list.empty()) {
        auto const semi = list.find(';');
        names.emplace_back(list.substr(0, semi));
        list = semi == std::string_view::npos ? std::string_view{} : list.substr(semi + 1);
    }
    auto const view = r.view();
    auto const query = parse_query(r.query);
    auto const headers = sigv4::canonical_headers(view.headers, names);
    REQUIRE(headers);
    std::string const scope = sigv4::credential_scope(amz_date.substr(0, 8), region, svc);
    std::string const creq = sigv4::canonical_request(
        r.method,
        sigv4::canonical_uri(r.path,
                             uri_as.value_or(svc == "k2v" ? sigv4::service::k2v : sigv4::service::s3)),
        sigv4::canonical_query(query), *headers, signed_headers, payload);
    auto const key = sigv4::derive_signing_key(secret, amz_date.substr(0, 8), region, svc);
    auto const sig = sigv4::compute_signature(key, sigv4::string_to_sign(amz_date, scope, creq));
    r.set("Authorization", "AWS4-HMAC-SHA256 Credential=" + std::string(s3_key_id) + "/" + scope +
                               ",SignedHeaders=" + std::string(signed_headers) +
                               ",Signature=" + sig.to_hex());
}

/// A small request signed by `sign`, at 2013-05-24T00:00:00Z.
test_request simple_signed(std::string_view secret = s3_secret)
{
    test_request r;
    r.path = "/bucket/key";
    r.headers = {{"host", "localhost:3900"},
                 {"x-amz-date", "20130524T000000Z"},
                 {"x-amz-content-sha256", std::string(sigv4::unsigned_payload)}};
    sign(r, secret, "host;x-amz-content-sha256;x-amz-date");
    return r;
}

util::result<sigv4::verified_auth> check(test_request& r, std::chrono::system_clock::time_point now,
                                         sigv4::service_scope const& scope = us_east_1,
                                         std::string_view secret = s3_secret)
{
    auto auth = sigv4::parse_auth(r.view(), scope);
    if (!auth) {
        return auth.error();
    }
    return sigv4::verify(*auth, secret, now);
}

bool fails_with(util::result<sigv4::verified_auth> const& r, error e)
{
    return !r && r.error().code == make_error_code(e);
}

// ------------------------------------------------------------------------------------------
// Primitives

TEST_CASE("hmac_sha256 matches the RFC 4231 test vectors", "[api][sigv4]")
{
    CHECK(sigv4::hmac_sha256("Jefe", "what do ya want for nothing?").to_hex() ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    // Test case 6: a key longer than the block size is hashed first.
    CHECK(
        sigv4::hmac_sha256(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First")
            .to_hex() == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    // Test case 1: 20 bytes of 0x0b.
    CHECK(sigv4::hmac_sha256(std::string(20, '\x0b'), "Hi There").to_hex() ==
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST_CASE("derive_signing_key matches the key AWS documents for its IAM example", "[api][sigv4]")
{
    CHECK(
        sigv4::derive_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
            .to_hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
    CHECK(
        sigv4::derive_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "iam")
            .to_hex() == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
}

TEST_CASE("uri_encode keeps unreserved characters and upper-case escapes the rest", "[api][sigv4]")
{
    CHECK(sigv4::uri_encode("a b/c~d_e.f-g*h+\xc3\xa9", true) == "a%20b%2Fc~d_e.f-g%2Ah%2B%C3%A9");
    CHECK(sigv4::uri_encode("/videos/my file.mp4", false) == "/videos/my%20file.mp4");
    CHECK(sigv4::uri_encode("-._~09AZaz", true) == "-._~09AZaz");
    CHECK(sigv4::uri_encode("%", true) == "%25");
    CHECK(sigv4::uri_encode(std::string_view("\0\xff", 2), true) == "%00%FF");
}

TEST_CASE("canonical_uri is the raw path for s3 and encoded once more for k2v", "[api][sigv4]")
{
    CHECK(sigv4::canonical_uri("/test%24file.text", sigv4::service::s3) == "/test%24file.text");
    CHECK(sigv4::canonical_uri("/a b", sigv4::service::s3) == "/a b");
    CHECK(sigv4::canonical_uri("/test%24file.text", sigv4::service::k2v) == "/test%2524file.text");
    CHECK(sigv4::canonical_uri("", sigv4::service::s3) == "/");
}

TEST_CASE("canonical_query sorts by encoded key, then by value", "[api][sigv4]")
{
    std::vector<query_param> const params{{"b", "2"}, {"a", "z"}, {"a", "y"}, {"uploadId", "x/y="}};
    CHECK(sigv4::canonical_query(params) == "a=y&a=z&b=2&uploadId=x%2Fy%3D");
    // A key that is a prefix of another sorts first, whatever follows the `=`.
    CHECK(sigv4::canonical_query(parse_query("Param-3=Value3&Param=Value2&%E1%88%B4=Value1")) ==
          "%E1%88%B4=Value1&Param=Value2&Param-3=Value3");
    CHECK(sigv4::canonical_query(parse_query("lifecycle")) == "lifecycle=");
    CHECK(sigv4::canonical_query(parse_query("a=1&X-Amz-Signature=abc&b=2"), "x-amz-signature") == "a=1&b=2");
    CHECK(sigv4::canonical_query(parse_query("prefix=a+b")) == "prefix=a%20b");
}

TEST_CASE("canonical_headers trims, collapses blanks and joins repeated fields", "[api][sigv4]")
{
    std::vector<header_field> const fields{{"My-Header1", "value2"},
                                           {"Host", " example.com "},
                                           {"my-header1", "value1"},
                                           {"Content-Type", "text/plain;   charset=utf-8"},
                                           {"X-Amz-Date", "20260102T030405Z"}};
    std::vector<std::string> const names{"content-type", "host", "my-header1", "x-amz-date"};
    auto const block = sigv4::canonical_headers(fields, names);
    REQUIRE(block);
    CHECK(*block == "content-type:text/plain; charset=utf-8\nhost:example.com\nmy-header1:value2,value1\n"
                    "x-amz-date:20260102T030405Z\n");

    std::vector<std::string> const missing{"host", "range"};
    auto const r = sigv4::canonical_headers(fields, missing);
    REQUIRE(!r);
    CHECK(r.error().code == make_error_code(error::missing_signed_header));
}

TEST_CASE("amz dates parse, format, and reject malformed values", "[api][sigv4]")
{
    auto const t = sigv4::parse_amz_date("20130524T000000Z");
    REQUIRE(t);
    CHECK(t->time_since_epoch() == 1369353600s);
    CHECK(sigv4::format_amz_date(*t + 3723s) == "20130524T010203Z");
    CHECK(sigv4::parse_amz_date("20240229T235959Z"));
    for (std::string_view bad : {"20130524T000000", "2013-05-24T00:00:00Z", "20131324T000000Z",
                                 "20230229T000000Z", "20130524T240000Z", "20130524T006000Z",
                                 "20130524T000060Z", "2013052AT000000Z", "20130524X000000Z", ""}) {
        INFO(bad);
        auto const r = sigv4::parse_amz_date(bad);
        REQUIRE(!r);
        CHECK(r.error().code == make_error_code(error::invalid_date));
    }
}

TEST_CASE("x-amz-content-sha256 values select the payload mode", "[api][sigv4]")
{
    using sigv4::payload_mode;
    CHECK(sigv4::parse_content_sha256("UNSIGNED-PAYLOAD")->mode == payload_mode::unsigned_payload);
    CHECK(sigv4::parse_content_sha256("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")->mode ==
          payload_mode::streaming_signed);
    CHECK(sigv4::parse_content_sha256("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")->mode ==
          payload_mode::streaming_signed_trailer);
    CHECK(sigv4::parse_content_sha256("STREAMING-UNSIGNED-PAYLOAD-TRAILER")->mode ==
          payload_mode::streaming_unsigned_trailer);
    auto const hashed = sigv4::parse_content_sha256(empty_sha);
    REQUIRE(hashed);
    CHECK(hashed->mode == payload_mode::sha256);
    CHECK(hashed->sha256 == util::sha256sum(""));
    CHECK(sigv4::parse_content_sha256(util::sha256sum("").to_hex().substr(0, 62) + "AB")->mode ==
          payload_mode::sha256);

    for (std::string_view bad : {"STREAMING-UNSIGNED-PAYLOAD", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
                                 "abc", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
                                 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g", ""}) {
        INFO(bad);
        auto const r = sigv4::parse_content_sha256(bad);
        REQUIRE(!r);
        CHECK(r.error().code == make_error_code(error::invalid_content_sha256));
    }
    CHECK(sigv4::is_streaming(payload_mode::streaming_unsigned_trailer));
    CHECK(!sigv4::has_chunk_signatures(payload_mode::streaming_unsigned_trailer));
    CHECK(sigv4::has_trailer(payload_mode::streaming_signed_trailer));
    CHECK(!sigv4::is_streaming(payload_mode::sha256));
}

// ------------------------------------------------------------------------------------------
// The AWS Signature Version 4 test suite (service "service", 2015-08-30T12:36:00Z). Its
// requests carry raw paths, so the canonical URI is built as for non-S3 services (k2v).

struct suite_case {
    std::string_view name;
    std::string_view method;
    std::string_view path;
    std::string_view query;
    std::vector<std::pair<std::string, std::string>> extra_headers;
    std::string_view signed_headers;
    std::string_view body;
    std::string_view signature;
};

std::string suite_signature(suite_case const& c)
{
    std::vector<header_field> fields{{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
    for (auto const& [n, v] : c.extra_headers) {
        fields.push_back({n, v});
    }
    std::vector<std::string> names;
    std::string_view list = c.signed_headers;
    while (!list.empty()) {
        auto const semi = list.find(';');
        names.emplace_back(list.substr(0, semi));
        list = semi == std::string_view::npos ? std::string_view{} : list.substr(semi + 1);
    }
    auto const headers = sigv4::canonical_headers(fields, names);
    REQUIRE(headers);
    auto const query = parse_query(c.query);
    std::string const creq = sigv4::canonical_request(
        c.method, sigv4::canonical_uri(c.path, sigv4::service::k2v), sigv4::canonical_query(query), *headers,
        c.signed_headers, util::sha256sum(c.body).to_hex());
    std::string const sts =
        sigv4::string_to_sign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", creq);
    auto const key = sigv4::derive_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830",
                                               "us-east-1", "service");
    return sigv4::compute_signature(key, sts).to_hex();
}

TEST_CASE("signatures match the AWS SigV4 test suite", "[api][sigv4]")
{
    std::string const unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    std::string const unreserved_query = unreserved + "=" + unreserved;
    std::string const unreserved_path = "/" + unreserved;
    std::string const h = "host;x-amz-date";
    // clang-format off
    std::vector<suite_case> const cases{
        {"get-vanilla", "GET", "/", "", {}, h, "",
         "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
        {"get-vanilla-query-order-key-case", "GET", "/", "Param2=value2&Param1=value1", {}, h, "",
         "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
        {"get-vanilla-query-order-key", "GET", "/", "Param1=value2&Param1=Value1", {}, h, "",
         "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"},
        {"get-vanilla-query-order-value", "GET", "/", "Param1=value2&Param1=value1", {}, h, "",
         "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"},
        {"get-vanilla-query-order-encoded", "GET", "/", "Param-3=Value3&Param=Value2&%E1%88%B4=Value1", {}, h, "",
         "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac"},
        {"get-vanilla-empty-query-key", "GET", "/", "Param1=value1", {}, h, "",
         "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"},
        {"get-vanilla-query-unreserved", "GET", "/", unreserved_query, {}, h, "",
         "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
        {"get-vanilla-utf8-query", "GET", "/", "%E1%88%B4=bar", {}, h, "",
         "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
        {"get-unreserved", "GET", unreserved_path, "", {}, h, "",
         "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
        {"get-utf8", "GET", "/\xe1\x88\xb4", "", {}, h, "",
         "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
        {"get-space", "GET", "/example space/", "", {}, h, "",
         "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
        {"get-special-character", "GET", "/example/$delete", "", {}, h, "",
         "a853c9b21b528b19643d00910d35b83a10c366a10833ceefb45edd6c80e40f27"},
        {"get-header-key-duplicate", "GET", "/", "",
         {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}},
         "host;my-header1;x-amz-date", "", "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
        {"get-header-value-order", "GET", "/", "",
         {{"My-Header1", "value4"}, {"My-Header1", "value1"}, {"My-Header1", "value3"}, {"My-Header1", "value2"}},
         "host;my-header1;x-amz-date", "", "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"},
        {"get-header-value-trim", "GET", "/", "", {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}},
         "host;my-header1;my-header2;x-amz-date", "",
         "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
        {"post-vanilla", "POST", "/", "", {}, h, "",
         "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
        {"post-vanilla-query", "POST", "/", "Param1=value1", {}, h, "",
         "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
        {"post-header-value-case", "POST", "/", "", {{"My-Header1", "VALUE1"}}, "host;my-header1;x-amz-date", "",
         "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
        {"post-x-www-form-urlencoded", "POST", "/", "", {{"Content-Type", "application/x-www-form-urlencoded"}},
         "content-type;host;x-amz-date", "Param1=value1",
         "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
        {"post-x-www-form-urlencoded-parameters", "POST", "/", "",
         {{"Content-Type", "application/x-www-form-urlencoded; charset=utf8"}},
         "content-type;host;x-amz-date", "Param1=value1",
         "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe"},
    };
    // clang-format on
    for (auto const& c : cases) {
        INFO(c.name);
        CHECK(suite_signature(c) == c.signature);
    }
}

// ------------------------------------------------------------------------------------------
// The S3 documentation's examples, through parse_auth and verify.

TEST_CASE("the S3 GET Object example with a Range header verifies", "[api][sigv4]")
{
    auto r = get_object_example();
    auto const auth = sigv4::parse_auth(r.view(), us_east_1);
    REQUIRE(auth);
    CHECK(auth->kind == sigv4::auth_kind::header);
    CHECK(auth->access_key_id == s3_key_id);
    CHECK(auth->scope == "20130524/us-east-1/s3/aws4_request");
    CHECK(auth->signed_headers ==
          std::vector<std::string>{"host", "range", "x-amz-content-sha256", "x-amz-date"});
    CHECK(auth->canonical_request ==
          "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\nx-amz-content-sha256:" +
              std::string(empty_sha) +
              "\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n" +
              std::string(empty_sha));
    CHECK(util::sha256sum(auth->canonical_request).to_hex() ==
          "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");

    auto const ok = sigv4::verify(*auth, s3_secret, at("20130524T000000Z", 60s));
    REQUIRE(ok);
    CHECK(ok->access_key_id == s3_key_id);
    CHECK(ok->payload.mode == sigv4::payload_mode::sha256);
    CHECK(ok->payload.sha256 == util::sha256sum(""));
    CHECK(ok->seed_signature.to_hex() == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    CHECK(ok->key == sigv4::derive_signing_key(s3_secret, "20130524", "us-east-1", "s3"));
}

TEST_CASE("the S3 PUT Object example verifies with its raw, already encoded path", "[api][sigv4]")
{
    test_request r;
    r.method = "PUT";
    r.path = "/test%24file.text";
    r.headers = {
        {"Host", "examplebucket.s3.amazonaws.com"},
        {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
        {"x-amz-date", "20130524T000000Z"},
        {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
        {"x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"},
        {"Authorization", auth_header("20130524/us-east-1/s3/aws4_request",
                                      "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                                      "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")}};
    auto const ok = check(r, at("20130524T000000Z"));
    REQUIRE(ok);
    CHECK(ok->payload.sha256 == util::sha256sum("Welcome to Amazon S3."));
}

TEST_CASE("the S3 GET Bucket Lifecycle and List Objects examples verify", "[api][sigv4]")
{
    test_request r;
    r.query = "lifecycle";
    r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
                 {"x-amz-date", "20130524T000000Z"},
                 {"x-amz-content-sha256", std::string(empty_sha)},
                 {"Authorization",
                  auth_header("20130524/us-east-1/s3/aws4_request", "host;x-amz-content-sha256;x-amz-date",
                              "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")}};
    CHECK(check(r, at("20130524T000000Z")));

    r.query = "max-keys=2&prefix=J";
    r.set("Authorization",
          auth_header("20130524/us-east-1/s3/aws4_request", "host;x-amz-content-sha256;x-amz-date",
                      "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"));
    CHECK(check(r, at("20130524T000000Z")));
    // The order of the parameters on the wire does not matter.
    r.query = "prefix=J&max-keys=2";
    CHECK(check(r, at("20130524T000000Z")));
    // Their values do.
    r.query = "max-keys=3&prefix=J";
    CHECK(fails_with(check(r, at("20130524T000000Z")), error::signature_does_not_match));
}

TEST_CASE("the S3 chunked-upload example's seed signature verifies", "[api][sigv4]")
{
    test_request r;
    r.method = "PUT";
    r.path = "/examplebucket/chunkObject.txt";
    r.headers = {
        {"Host", "s3.amazonaws.com"},
        {"x-amz-date", "20130524T000000Z"},
        {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
        {"x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
        {"Content-Encoding", "aws-chunked"},
        {"x-amz-decoded-content-length", "66560"},
        {"Content-Length", "66824"},
        {"Authorization", auth_header("20130524/us-east-1/s3/aws4_request",
                                      "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
                                      "x-amz-decoded-content-length;x-amz-storage-class",
                                      "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")}};
    auto const auth = sigv4::parse_auth(r.view(), us_east_1);
    REQUIRE(auth);
    CHECK(util::sha256sum(auth->canonical_request).to_hex() ==
          "cee3fed04b70f867d036f722359b0b1f2f0e5dc0efadbc082b76c4c60e316455");
    auto const ok = sigv4::verify(*auth, s3_secret, at("20130524T000000Z"));
    REQUIRE(ok);
    CHECK(ok->payload.mode == sigv4::payload_mode::streaming_signed);
    auto const ctx = ok->chunk_context();
    CHECK(ctx.seed.to_hex() == "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
    CHECK(ctx.amz_date == "20130524T000000Z");
    CHECK(ctx.scope == "20130524/us-east-1/s3/aws4_request");
}

TEST_CASE("the S3 trailing-header example's seed signature verifies", "[api][sigv4]")
{
    test_request r;
    r.method = "PUT";
    r.path = "/examplebucket/chunkObject.txt";
    r.headers = {
        {"Host", "s3.amazonaws.com"},
        {"x-amz-date", "20130524T000000Z"},
        {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
        {"x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"},
        {"Content-Encoding", "aws-chunked"},
        {"x-amz-decoded-content-length", "66560"},
        {"x-amz-trailer", "x-amz-checksum-crc32c"},
        {"Authorization",
         auth_header("20130524/us-east-1/s3/aws4_request",
                     "content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
                     "x-amz-storage-class;x-amz-trailer",
                     "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e")}};
    auto const ok = check(r, at("20130524T000000Z"));
    REQUIRE(ok);
    CHECK(ok->payload.mode == sigv4::payload_mode::streaming_signed_trailer);
}

TEST_CASE("the S3 presigned URL example verifies until it expires", "[api][sigv4]")
{
    test_request r;
    r.path = "/test.txt";
    r.query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%"
              "2Fs3%2F"
              "aws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-"
              "Signature="
              "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
    r.headers = {{"Host", "examplebucket.s3.amazonaws.com"}};
    CHECK(sigv4::detect_auth_kind(r.view()) == sigv4::auth_kind::presigned);

    auto const auth = sigv4::parse_auth(r.view(), us_east_1);
    REQUIRE(auth);
    CHECK(auth->kind == sigv4::auth_kind::presigned);
    CHECK(auth->expires == 86400s);
    CHECK(util::sha256sum(auth->canonical_request).to_hex() ==
          "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04");
    CHECK(auth->string_to_sign == "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                                  "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04");
    // The x-amz-* parameters stand in for headers (the signature excepted).
    bool has_credential = false;
    for (auto const& p : auth->header_overrides) {
        CHECK(p.key.starts_with("x-amz-"));
        CHECK(p.key != "x-amz-signature");
        has_credential |= p.key == "x-amz-credential" &&
                          p.value == "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request";
    }
    CHECK(has_credential);

    auto const ok = sigv4::verify(*auth, s3_secret, at("20130524T000000Z", 86400s));
    REQUIRE(ok);
    CHECK(ok->payload.mode == sigv4::payload_mode::unsigned_payload);
    CHECK(ok->kind == sigv4::auth_kind::presigned);

    auto const late = sigv4::verify(*auth, s3_secret, at("20130524T000000Z", 86401s));
    CHECK(fails_with(late, error::expired_presigned));
    CHECK(late.error().is(util::condition::forbidden));

    // A presigned query wins over an Authorization header (browsers may add one).
    r.headers.emplace_back("Authorization", "Basic dXNlcjpwYXNz");
    CHECK(sigv4::detect_auth_kind(r.view()) == sigv4::auth_kind::presigned);
    CHECK(check(r, at("20130524T000000Z")));
}

// ------------------------------------------------------------------------------------------
// Rejections

TEST_CASE("a wrong secret key gives signature_does_not_match", "[api][sigv4]")
{
    auto r = get_object_example();
    auto const res = check(r, at("20130524T000000Z"), us_east_1, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ");
    REQUIRE(fails_with(res, error::signature_does_not_match));
    CHECK(res.error().is(util::condition::forbidden));
    CHECK(s3_error_code(error::signature_does_not_match) == "SignatureDoesNotMatch");
}

TEST_CASE("tampering with a signed part of the request breaks the signature", "[api][sigv4]")
{
    auto const now = at("20130524T000000Z");
    {
        auto r = get_object_example();
        r.set("Range", "bytes=0-10");
        CHECK(fails_with(check(r, now), error::signature_does_not_match));
    }
    {
        auto r = get_object_example();
        r.path = "/test.txt2";
        CHECK(fails_with(check(r, now), error::signature_does_not_match));
    }
    {
        auto r = get_object_example();
        r.method = "DELETE";
        CHECK(fails_with(check(r, now), error::signature_does_not_match));
    }
    {
        auto r = get_object_example();
        r.query = "versionId=1";
        CHECK(fails_with(check(r, now), error::signature_does_not_match));
    }
    {
        // An unsigned header (not x-amz-*) may change freely.
        auto r = get_object_example();
        r.headers.emplace_back("User-Agent", "test");
        CHECK(check(r, now));
    }
}

TEST_CASE("a wrong region or service in the scope is a malformed authorization header", "[api][sigv4]")
{
    auto r = get_object_example();
    auto const res = check(r, at("20130524T000000Z"), {"garage", sigv4::service::s3});
    REQUIRE(fails_with(res, error::authorization_header_malformed));
    CHECK(res.error().message.find("unexpected scope") != std::string::npos);
    CHECK(fails_with(check(r, at("20130524T000000Z"), {"us-east-1", sigv4::service::k2v}),
                     error::authorization_header_malformed));

    // A scope whose date is not the day of x-amz-date.
    r.set("Authorization",
          auth_header("20130523/us-east-1/s3/aws4_request", "host;range;x-amz-content-sha256;x-amz-date",
                      "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"));
    CHECK(fails_with(check(r, at("20130524T000000Z")), error::authorization_header_malformed));
}

TEST_CASE("header auth accepts dates up to 24 hours old and by default any future date", "[api][sigv4]")
{
    auto r = simple_signed();
    CHECK(check(r, at("20130524T000000Z", 24h)));
    auto const old = check(r, at("20130524T000000Z", 24h + 1s));
    REQUIRE(fails_with(old, error::request_time_too_skewed));
    CHECK(old.error().is(util::condition::forbidden));
    CHECK(check(r, at("20130524T000000Z", -48h)));

    auto const auth = sigv4::parse_auth(r.view(), us_east_1);
    REQUIRE(auth);
    sigv4::verify_options strict;
    strict.max_future = 15min;
    strict.max_age = 15min;
    CHECK(sigv4::verify(*auth, s3_secret, at("20130524T000000Z", -15min), strict));
    CHECK(fails_with(sigv4::verify(*auth, s3_secret, at("20130524T000000Z", -16min), strict),
                     error::request_time_too_skewed));
    CHECK(fails_with(sigv4::verify(*auth, s3_secret, at("20130524T000000Z", 16min), strict),
                     error::request_time_too_skewed));
}

TEST_CASE("a request signed by our own signer verifies, for s3 and for k2v", "[api][sigv4]")
{
    auto r = simple_signed();
    CHECK(check(r, at("20130524T000000Z")));

    test_request k;
    k.path = "/bucket/partition%20key";
    k.headers = {{"host", "localhost:3904"},
                 {"x-amz-date", "20130524T000000Z"},
                 {"x-amz-content-sha256", std::string(empty_sha)}};
    sign(k, "secret", "host;x-amz-content-sha256;x-amz-date", "garage", "k2v");
    auto const ok = check(k, at("20130524T000000Z"), {"garage", sigv4::service::k2v}, "secret");
    CHECK(ok);
    // For k2v the path is encoded once more: a signer that does not would not verify.
    sign(k, "secret", "host;x-amz-content-sha256;x-amz-date", "garage", "k2v", sigv4::service::s3);
    CHECK(fails_with(check(k, at("20130524T000000Z"), {"garage", sigv4::service::k2v}, "secret"),
                     error::signature_does_not_match));
}

TEST_CASE("malformed Authorization headers are rejected with the right code", "[api][sigv4]")
{
    auto const now = at("20130524T000000Z");
    struct bad_case {
        std::string value;
        error expected;
    };
    std::string const scope = "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request";
    std::string const sig = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
    std::vector<bad_case> const cases{
        {"AWS4-HMAC-SHA256", error::authorization_header_malformed},
        {"AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=", error::unsupported_algorithm},
        {"AWS4-ECDSA-P256-SHA256 Credential=" + scope + ", SignedHeaders=host, Signature=" + sig,
         error::unsupported_algorithm},
        {"AWS4-HMAC-SHA256 SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=" + sig,
         error::authorization_header_malformed},
        {"AWS4-HMAC-SHA256 Credential=" + scope + ", Signature=" + sig,
         error::authorization_header_malformed},
        {"AWS4-HMAC-SHA256 Credential=" + scope +
             ", SignedHeaders=host;range;x-amz-content-sha256;x-amz-date",
         error::authorization_header_malformed},
        {"AWS4-HMAC-SHA256 Credential=" + scope + ", SignedHeaders, Signature=" + sig,
         error::authorization_header_malformed},
        {"AWS4-HMAC-SHA256 Credential=" + scope + ", Credential=" + scope +
             ", SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=" + sig,
         error::authorization_header_malformed},
        {"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE, "
         "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
         "Signature=" +
             sig,
         error::authorization_header_malformed},
        {"AWS4-HMAC-SHA256 Credential=" + scope + ", SignedHeaders=host;;x-amz-date, Signature=" + sig,
         error::authorization_header_malformed},
        {"AWS4-HMAC-SHA256 Credential=" + scope +
             ", SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
             "Signature=xyz",
         error::signature_does_not_match},
        {"AWS4-HMAC-SHA256 Credential=" + scope +
             ", SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
             "Signature=" +
             sig + "00",
         error::signature_does_not_match},
    };
    for (auto const& c : cases) {
        INFO(c.value);
        auto r = get_object_example();
        r.set("Authorization", c.value);
        auto const res = check(r, now);
        REQUIRE(!res);
        CHECK(res.error().code == make_error_code(c.expected));
    }
    // Extra spaces and unknown fields are tolerated.
    auto r = get_object_example();
    r.set("Authorization",
          "AWS4-HMAC-SHA256  Credential=" + scope +
              " ,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date , Foo=bar,Signature=" + sig);
    CHECK(check(r, now));
}

TEST_CASE("required security headers must be present, well formed and signed", "[api][sigv4]")
{
    auto const now = at("20130524T000000Z");
    auto const without = [](std::string_view name) {
        auto r = get_object_example();
        std::erase_if(r.headers, [&](auto const& h) { return iequals(h.first, name); });
        return r;
    };
    {
        auto r = without("x-amz-date");
        CHECK(fails_with(check(r, now), error::missing_security_header));
    }
    {
        auto r = without("x-amz-content-sha256");
        CHECK(fails_with(check(r, now), error::missing_security_header));
    }
    {
        auto r = get_object_example();
        r.set("x-amz-date", "Fri, 24 May 2013 00:00:00 GMT");
        CHECK(fails_with(check(r, now), error::invalid_date));
    }
    {
        auto r = get_object_example();
        r.set("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD");
        CHECK(fails_with(check(r, now), error::invalid_content_sha256));
    }
    {
        // Host must be signed.
        auto r = simple_signed();
        sign(r, s3_secret, "x-amz-content-sha256;x-amz-date");
        CHECK(fails_with(check(r, now), error::unsigned_header));
    }
    {
        // So must every x-amz-* header of the request.
        auto r = simple_signed();
        r.headers.emplace_back("X-Amz-Meta-Color", "blue");
        auto const res = check(r, now);
        REQUIRE(fails_with(res, error::unsigned_header));
        CHECK(res.error().message.find("x-amz-meta-color") != std::string::npos);
        sign(r, s3_secret, "host;x-amz-content-sha256;x-amz-date;x-amz-meta-color");
        CHECK(check(r, now));
    }
    {
        // A signed header that the request lacks.
        auto r = simple_signed();
        sign(r, s3_secret, "host;x-amz-content-sha256;x-amz-date");
        std::string v = r.get("Authorization");
        v.replace(v.find("host;"), 5, "content-md5;host;");
        r.set("Authorization", v);
        CHECK(fails_with(check(r, now), error::missing_signed_header));
    }
    {
        test_request r;
        r.headers = {{"host", "h"}};
        CHECK(sigv4::detect_auth_kind(r.view()) == sigv4::auth_kind::none);
        auto const res = check(r, now);
        REQUIRE(fails_with(res, error::anonymous_access));
        CHECK(res.error().is(util::condition::forbidden));
    }
}

TEST_CASE("malformed presigned parameters are rejected", "[api][sigv4]")
{
    auto const now = at("20130524T000000Z");
    std::string const base =
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-"
        "east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-SignedHeaders=host&X-Amz-"
        "Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
    struct bad_case {
        std::string query;
        error expected;
    };
    std::vector<bad_case> const cases{
        {base, error::authorization_query_malformed}, // no X-Amz-Expires
        {base + "&X-Amz-Expires=604801", error::invalid_expires},
        {base + "&X-Amz-Expires=-1", error::invalid_expires},
        {base + "&X-Amz-Expires=1d", error::invalid_expires},
        {base + "&X-Amz-Expires=99999999999999999999", error::invalid_expires},
        {base + "&X-Amz-Expires=86400&X-Amz-Expires=86400", error::authorization_query_malformed},
        {"X-Amz-Algorithm=AWS4-HMAC-SHA1&X-Amz-Expires=86400", error::unsupported_algorithm},
        {"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=86400", error::authorization_query_malformed},
    };
    for (auto const& c : cases) {
        INFO(c.query);
        test_request r;
        r.path = "/test.txt";
        r.query = c.query;
        r.headers = {{"Host", "examplebucket.s3.amazonaws.com"}};
        auto const res = check(r, now);
        REQUIRE(!res);
        CHECK(res.error().code == make_error_code(c.expected));
    }
    // The longest validity is accepted.
    test_request r;
    r.path = "/test.txt";
    r.query = base + "&X-Amz-Expires=604800";
    r.headers = {{"Host", "examplebucket.s3.amazonaws.com"}};
    auto const auth = sigv4::parse_auth(r.view(), us_east_1);
    REQUIRE(auth);
    CHECK(auth->expires == sigv4::max_presigned_expiry);
    // (The signature is the 86400-second example's, so it does not match here.)
    CHECK(fails_with(sigv4::verify(*auth, s3_secret, now), error::signature_does_not_match));
}

TEST_CASE("a presigned parameter may not contradict a signed header", "[api][sigv4]")
{
    test_request r;
    r.path = "/test.txt";
    r.query =
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%"
        "2F"
        "aws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host%3Bx-amz-acl&"
        "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404&x-amz-acl=private";
    r.headers = {{"Host", "examplebucket.s3.amazonaws.com"}, {"x-amz-acl", "public-read"}};
    auto const res = sigv4::parse_auth(r.view(), us_east_1);
    REQUIRE(!res);
    CHECK(res.error().code == make_error_code(error::conflicting_query_header));

    r.headers[1].second = "private";
    auto const same = sigv4::parse_auth(r.view(), us_east_1);
    REQUIRE(same);
    bool found = false;
    for (auto const& p : same->header_overrides) {
        found |= p.key == "x-amz-acl" && p.value == "private";
    }
    CHECK(found);
}

TEST_CASE("the signing key cache derives each key once and evicts the least recently used", "[api][sigv4]")
{
    sigv4::signing_key_cache cache(2);
    auto const k1 = cache.get(s3_secret, "20130524", "us-east-1", "s3");
    CHECK(k1 == sigv4::derive_signing_key(s3_secret, "20130524", "us-east-1", "s3"));
    CHECK(cache.get(s3_secret, "20130524", "us-east-1", "s3") == k1);
    CHECK(cache.hits() == 1);
    CHECK(cache.misses() == 1);

    // Inputs that would concatenate alike are still told apart.
    auto const k2 = cache.get(s3_secret, "20130524", "us-east-1s", "3");
    CHECK(k2 != k1);
    CHECK(cache.misses() == 2);
    CHECK(cache.size() == 2);

    cache.get(s3_secret, "20130524", "us-east-1", "s3"); // k1 is now the most recent
    cache.get("other", "20130524", "us-east-1", "s3");   // evicts k2
    CHECK(cache.size() == 2);
    auto const misses = cache.misses();
    cache.get(s3_secret, "20130524", "us-east-1", "s3");
    CHECK(cache.misses() == misses);
    cache.get(s3_secret, "20130524", "us-east-1s", "3");
    CHECK(cache.misses() == misses + 1);

    auto r = get_object_example();
    auto const auth = sigv4::parse_auth(r.view(), us_east_1);
    REQUIRE(auth);
    CHECK(sigv4::verify(*auth, s3_secret, at("20130524T000000Z"), cache));
    CHECK(fails_with(sigv4::verify(*auth, "wrong", at("20130524T000000Z"), cache),
                     error::signature_does_not_match));
}

TEST_CASE("the signing key cache is safe to share between threads", "[api][sigv4]")
{
    sigv4::signing_key_cache cache(4);
    auto const expected = sigv4::derive_signing_key(s3_secret, "20130524", "us-east-1", "s3");
    std::vector<std::thread> threads;
    std::vector<int> wrong(4, 0);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 500; ++i) {
                if (cache.get(s3_secret, "20130524", "us-east-1", "s3") != expected) {
                    ++wrong[static_cast<std::size_t>(t)];
                }
                cache.get("s" + std::to_string(i % 7), "20130524", "us-east-1", "s3");
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    CHECK(wrong == std::vector<int>(4, 0));
    CHECK(cache.size() <= 4);
    CHECK(cache.hits() + cache.misses() == 4000);
}

TEST_CASE("signatures_equal compares all 32 bytes", "[api][sigv4]")
{
    auto const a = util::sha256sum("a");
    auto b = a;
    CHECK(sigv4::signatures_equal(a, b));
    b[31] ^= 1;
    CHECK(!sigv4::signatures_equal(a, b));
    b = a;
    b[0] ^= 0x80;
    CHECK(!sigv4::signatures_equal(a, b));
}

} // namespace
