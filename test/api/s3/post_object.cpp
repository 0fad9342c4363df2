// Test that header file is self-contained.
#include <garage/api/s3/impl/post_object.hpp>

#include <garage/api/common/sigv4.hpp>
#include <garage/api/s3/api_server.hpp>
#include <garage/model/helper.hpp>
#include <garage/model/key.hpp>
#include <garage/util/encoding.hpp>
#include <garage/util/hasher.hpp>

#include <test/support/s3_fixture.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace garage;
using namespace garage::test::s3;

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
