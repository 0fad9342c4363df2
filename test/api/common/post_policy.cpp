// Test that header file is self-contained.
#include <garage/api/common/post_policy.hpp>

#include <garage/api/common/sigv4.hpp>
#include <garage/util/encoding.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace {

using namespace garage;
using namespace garage::api;
using namespace std::chrono_literals;

/// Everything a parser yields, collected.
struct parsed_form {
    std::vector<post::form_field> fields;
    std::optional<post::part_head> file_head;
    std::string file;
    std::vector<post::form_field> after_file;
    bool ended = false;
};

/// Parses `body` fed `step` bytes at a time (0: all at once).
util::result<parsed_form> parse_all(std::string const& boundary, std::string const& body,
                                    std::size_t step = 0, post::form_limits limits = {})
{
    post::form_parser p(boundary, limits);
    parsed_form out;
    std::size_t fed = 0;
    auto feed_more = [&] {
        if (fed >= body.size()) {
            p.end_of_input();
            return;
        }
        auto const n = step == 0 ? body.size() : std::min(step, body.size() - fed);
        p.feed(std::string_view(body).substr(fed, n));
        fed += n;
    };
    for (;;) {
        auto ev = p.next();
        if (!ev) {
            return ev.error();
        }
        if (*ev == post::form_event::need_input) {
            feed_more();
        } else if (*ev == post::form_event::field) {
            (out.file_head ? out.after_file : out.fields).push_back({p.head().name, p.value()});
        } else if (*ev == post::form_event::file) {
            out.file_head = p.head();
            for (;;) {
                auto r = p.read_file(out.file);
                if (!r) {
                    return r.error();
                }
                if (*r) {
                    break;
                }
                feed_more();
            }
        } else {
            out.ended = true;
            return out;
        }
    }
}

std::string part(std::string const& boundary, std::string const& name, std::string const& value)
{
    return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value +
           "\r\n";
}

std::string const tricky_file =
    std::string("line one\r\n--notTheBoundary\r\n--BOUNDAR\r\nbinary") + '\0' + "\xff" + " data\r\n\r\n-";

std::string sample_body()
{
    std::string b = "preamble to ignore\r\n";
    b += part("BOUNDARY", "Key", "uploads/${filename}");
    b += part("BOUNDARY", "x-amz-meta-colour", "blue");
    b += "--BOUNDARY\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\".txt\"\r\n"
         "Content-Type: text/plain\r\n\r\n";
    b += tricky_file;
    b += "\r\n";
    b += part("BOUNDARY", "after", "ignored");
    b += "--BOUNDARY--\r\nepilogue";
    return b;
}

TEST_CASE("form_boundary reads the boundary of multipart/form-data only", "[api][post_policy]")
{
    CHECK(post::form_boundary("multipart/form-data; boundary=abc").value() == "abc");
    CHECK(post::form_boundary("Multipart/Form-Data;charset=utf-8; BOUNDARY=\"a;b c\"").value() == "a;b c");
    CHECK(post::form_boundary("multipart/form-data").error().code == post::error::malformed_form);
    CHECK(post::form_boundary("application/x-www-form-urlencoded; boundary=x").error().code ==
          post::error::malformed_form);
    CHECK(!post::form_boundary("multipart/form-data; boundary=" + std::string(71, 'x')));
}

TEST_CASE("the form parser yields fields, then streams the file, whatever the feeding", "[api][post_policy]")
{
    auto const body = sample_body();
    for (std::size_t step :
         {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{7}, std::size_t{64}}) {
        CAPTURE(step);
        auto r = parse_all("BOUNDARY", body, step);
        REQUIRE(r);
        CHECK(r->fields ==
              std::vector<post::form_field>{{"key", "uploads/${filename}"}, {"x-amz-meta-colour", "blue"}});
        REQUIRE(r->file_head);
        CHECK(r->file_head->name == "file");
        CHECK(r->file_head->filename == "a \"b\".txt");
        CHECK(r->file_head->content_type == "text/plain");
        CHECK(r->file == tricky_file);
        CHECK(r->after_file == std::vector<post::form_field>{{"after", "ignored"}});
        CHECK(r->ended);
    }
}

TEST_CASE("the form parser holds back only a delimiter's worth of file bytes", "[api][post_policy]")
{
    post::form_parser p("xyz");
    p.feed("--xyz\r\nContent-Disposition: form-data; name=file\r\n\r\n");
    REQUIRE(p.next().value() == post::form_event::file);
    std::string out;
    p.feed(std::string(1000, 'a'));
    CHECK(p.read_file(out).value() == false);
    CHECK(out.size() == 1000 - (std::string("\r\n--xyz").size() - 1));
    p.feed("\r\n--xy");
    CHECK(p.read_file(out).value() == false);
    CHECK(out == std::string(1000, 'a'));
    p.feed("z--");
    CHECK(p.read_file(out).value() == true);
    CHECK(out == std::string(1000, 'a'));
    CHECK(p.next().value() == post::form_event::end);
}

TEST_CASE("the form parser accepts a body that opens with its boundary and empty values",
          "[api][post_policy]")
{
    std::string b = part("b", "a", "") + part("b", "c", "d") + "--b--";
    auto r = parse_all("b", b);
    REQUIRE(r);
    CHECK(r->fields == std::vector<post::form_field>{{"a", ""}, {"c", "d"}});
    CHECK(!r->file_head);
    CHECK(r->ended);
}

TEST_CASE("the form parser rejects malformed and oversized bodies", "[api][post_policy]")
{
    auto code = [](util::result<parsed_form> const& r) { return r ? util::error_code{} : r.error().code; };
    util::error_code const malformed = post::error::malformed_form;
    // truncated inside a field, inside the file, before any boundary
    CHECK(code(parse_all("b", "--b\r\nContent-Disposition: form-data; name=x\r\n\r\nabc")) == malformed);
    CHECK(code(parse_all("b", "--b\r\nContent-Disposition: form-data; name=file\r\n\r\nabc\r\n--")) ==
          malformed);
    CHECK(code(parse_all("b", "no boundary here")) == malformed);
    // a part without a name, a header line without a colon, a bad delimiter line
    CHECK(code(parse_all("b", "--b\r\nContent-Type: text/plain\r\n\r\nv\r\n--b--")) == malformed);
    CHECK(code(parse_all("b", "--b\r\nnonsense\r\n\r\nv\r\n--b--")) == malformed);
    CHECK(code(parse_all("b", "--bX\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--b--")) ==
          malformed);
    // limits: a long field, long headers, too many fields
    post::form_limits small{.max_field_size = 8, .max_header_size = 64, .max_fields = 2};
    CHECK(parse_all("b", part("b", "a", "12345678") + "--b--", 0, small));
    CHECK(code(parse_all("b", part("b", "a", "123456789") + "--b--", 0, small)) == malformed);
    CHECK(code(parse_all("b", part("b", "a", std::string(100, 'x')) + "--b--", 5, small)) == malformed);
    CHECK(
        code(parse_all(
            "b", "--b\r\nContent-Disposition: form-data; name=" + std::string(80, 'n') + "\r\n\r\nv\r\n--b--",
            0, small)) == malformed);
    CHECK(code(parse_all("b", part("b", "a", "1") + part("b", "c", "2") + part("b", "d", "3") + "--b--", 0,
                         small)) == malformed);
}

std::string const boto_like = R"({"expiration": "2030-01-02T03:04:05Z", "conditions": [
    {"bucket": "photos"}, ["starts-with", "$key", "user/"], {"acl": "private"},
    ["content-length-range", 10, "1000"], ["eq", "$Content-Type", "image/png"],
    {"x-amz-algorithm": "AWS4-HMAC-SHA256"}, ["starts-with", "$x-amz-meta-tag", ""]]})";

TEST_CASE("a policy document parses into its expiration and conditions", "[api][post_policy]")
{
    auto p = post::decode_policy(util::to_base64(boto_like));
    REQUIRE(p);
    CHECK(p->expiration == std::chrono::sys_days(std::chrono::year(2030) / 1 / 2) + 3h + 4min + 5s);
    REQUIRE(p->conditions.size() == 7);
    CHECK(p->conditions[0] == post::policy_condition{post::condition_op::eq, "bucket", "photos"});
    CHECK(p->conditions[1] == post::policy_condition{post::condition_op::starts_with, "key", "user/"});
    CHECK(p->conditions[3].op == post::condition_op::content_length_range);
    CHECK(p->conditions[3].min == 10);
    CHECK(p->conditions[3].max == 1000);
    CHECK(p->conditions[4] == post::policy_condition{post::condition_op::eq, "content-type", "image/png"});
    CHECK(p->conditions[1].to_string() == R"(["starts-with", "$key", "user/"])");
    CHECK(p->conditions[3].to_string() == R"(["content-length-range", 10, 1000])");

    auto bad = [](std::string const& json) {
        auto r = post::parse_policy(json);
        return !r && r.error().code == post::error::invalid_policy;
    };
    CHECK(bad("not json"));
    CHECK(bad("[]"));
    CHECK(bad(R"({"conditions": []})"));
    CHECK(bad(R"({"expiration": "tomorrow", "conditions": []})"));
    CHECK(bad(R"({"expiration": "2030-01-01T00:00:00Z"})"));
    CHECK(bad(R"({"expiration": "2030-01-01T00:00:00Z", "conditions": [["matches", "$key", "x"]]})"));
    CHECK(bad(R"({"expiration": "2030-01-01T00:00:00Z", "conditions": [["eq", "key", "x"]]})"));
    CHECK(bad(R"({"expiration": "2030-01-01T00:00:00Z", "conditions": [["content-length-range", -1, 5]]})"));
    CHECK(bad(R"({"expiration": "2030-01-01T00:00:00Z", "conditions": [{"key": ["x"]}]})"));
    CHECK(!post::decode_policy("!!!not base64"));
}

TEST_CASE("ISO 8601 dates parse with fractions and offsets", "[api][post_policy]")
{
    auto const base = std::chrono::sys_days(std::chrono::year(2024) / 2 / 29) + 23h + 59min + 58s;
    CHECK(post::parse_iso8601("2024-02-29T23:59:58Z").value() == base);
    CHECK(post::parse_iso8601("2024-02-29T23:59:58.250Z").value() == base + 250ms);
    CHECK(post::parse_iso8601("2024-02-29T23:59:58+01:30").value() == base - 90min);
    CHECK(post::parse_iso8601("2024-02-29T23:59:58-00:15").value() == base + 15min);
    CHECK(!post::parse_iso8601("2023-02-29T00:00:00Z"));
    CHECK(!post::parse_iso8601("2024-02-29T23:59:58"));
    CHECK(!post::parse_iso8601("2024-02-29T24:00:00Z"));
    CHECK(!post::parse_iso8601("2024-02-29"));
}

std::vector<post::form_field> good_fields()
{
    return {{"bucket", "photos"},
            {"key", "user/a.png"},
            {"acl", "private"},
            {"content-type", "image/png"},
            {"policy", "whatever"},
            {"x-amz-signature", "sig"},
            {"x-amz-algorithm", "AWS4-HMAC-SHA256"},
            {"x-amz-meta-tag", "t"},
            {"x-ignore-me", "anything"}};
}

TEST_CASE("a policy accepts a form that meets every condition", "[api][post_policy]")
{
    auto const p = post::parse_policy(boto_like).value();
    auto const now = std::chrono::system_clock::now();
    auto r = post::check_policy(p, good_fields(), now);
    REQUIRE(r);
    CHECK(r->min == 10);
    CHECK(r->max == 1000);
    CHECK(r->check(10));
    CHECK(r->check(1000));
    CHECK(r->check(9).error().code == post::error::entity_too_small);
    CHECK(r->check(1001).error().code == post::error::entity_too_large);
    CHECK(r->check_max(5));
    CHECK(!r->check_max(1001));
}

TEST_CASE("a policy refuses expiry, failed conditions, missing and extra fields", "[api][post_policy]")
{
    auto const p = post::parse_policy(boto_like).value();
    auto const now = std::chrono::system_clock::now();
    auto refused = [&](std::vector<post::form_field> const& fields, std::string const& needle,
                       std::chrono::system_clock::time_point when) {
        auto r = post::check_policy(p, fields, when);
        if (r) {
            return std::string("accepted");
        }
        CHECK(r.error().message.find(needle) != std::string::npos);
        return std::string(r.error().code.category().name()) + ":" + std::to_string(r.error().code.value());
    };
    std::string const failed = "garage.api.post:" + std::to_string(int(post::error::condition_failed));

    auto const later = std::chrono::sys_days(std::chrono::year(2031) / 1 / 1);
    CHECK(refused(good_fields(), "Policy expired", later) ==
          "garage.api.post:" + std::to_string(int(post::error::policy_expired)));

    auto f = good_fields();
    f[1].value = "admin/a.png";
    CHECK(refused(f, R"(["starts-with", "$key", "user/"])", now) == failed);

    f = good_fields();
    f[0].value = "other-bucket";
    CHECK(refused(f, R"(["eq", "$bucket", "photos"])", now) == failed);

    f = good_fields();
    f.erase(f.begin() + 2); // acl
    CHECK(refused(f, R"(["eq", "$acl", "private"])", now) == failed);

    f = good_fields();
    f.push_back({"x-amz-meta-extra", "1"});
    CHECK(refused(f, "Extra input fields: x-amz-meta-extra", now) == failed);
}

TEST_CASE("a content-type prefix must match every listed type", "[api][post_policy]")
{
    post::policy_document p;
    p.expiration = std::chrono::system_clock::now() + 1h;
    p.conditions = {{post::condition_op::starts_with, "content-type", "image/"}};
    std::vector<post::form_field> f{{"content-type", "image/png, image/jpeg"}};
    CHECK(post::check_policy(p, f, std::chrono::system_clock::now()));
    f[0].value = "image/png,text/html";
    CHECK(!post::check_policy(p, f, std::chrono::system_clock::now()));
}

TEST_CASE("the credential fields must name the server's scope and a recent date", "[api][post_policy]")
{
    auto const now = std::chrono::sys_days(std::chrono::year(2015) / 12 / 29) + 12h;
    std::vector<post::form_field> f{
        {"x-amz-algorithm", "AWS4-HMAC-SHA256"},
        {"x-amz-credential", "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"},
        {"x-amz-date", "20151229T000000Z"}};
    sigv4::service_scope const scope{"us-east-1", sigv4::service::s3};
    auto c = post::parse_credential(f, scope, now);
    REQUIRE(c);
    CHECK(c->access_key_id == "AKIAIOSFODNN7EXAMPLE");
    CHECK(c->short_date == "20151229");
    CHECK(c->region == "us-east-1");

    auto code = [&](std::vector<post::form_field> const& fields, std::chrono::system_clock::time_point when) {
        auto r = post::parse_credential(fields, scope, when);
        return r ? util::error_code{} : r.error().code;
    };
    util::error_code const invalid = post::error::invalid_argument;
    CHECK(code(f, now + 25h) == util::error_code(post::error::request_expired));
    auto g = f;
    g[0].value = "AWS4-HMAC-SHA1";
    CHECK(code(g, now) == invalid);
    g = f;
    g[1].value = "AKIAIOSFODNN7EXAMPLE/20151229/eu-west-1/s3/aws4_request";
    CHECK(code(g, now) == invalid);
    g[1].value = "AKIAIOSFODNN7EXAMPLE/20151228/us-east-1/s3/aws4_request";
    CHECK(code(g, now) == invalid);
    g[1].value = "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/k2v/aws4_request";
    CHECK(code(g, now) == invalid);
    g[1].value = "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3";
    CHECK(code(g, now) == invalid);
    g = f;
    g.pop_back();
    auto missing = post::parse_credential(g, scope, now);
    REQUIRE(!missing);
    CHECK(missing.error().message.find("'x-amz-date'") != std::string::npos);
}

TEST_CASE("the policy signature is the SigV4 HMAC of the base64 policy", "[api][post_policy]")
{
    // computed independently with Python's hmac module
    std::string const policy = "eyJleHBpcmF0aW9uIjogIjIwMTUtMTItMzBUMTI6MDA6MDAuMDAwWiIsICJjb25kaXRpb25zIjogW"
                               "3siYnVja2V0IjogInNpZ3Y0ZXhh"
                               "bXBsZWJ1Y2tldCJ9LCBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXV19";
    std::string const signature = "d45045268feb0d6f083076769fc0b9ba068dc1ab344d20a042427c3631b931f1";
    auto const key =
        sigv4::derive_signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20151229", "us-east-1", "s3");
    CHECK(post::verify_signature(policy, signature, key));
    CHECK(post::verify_signature(policy, "D45045268FEB0D6F083076769FC0B9BA068DC1AB344D20A042427C3631B931F1",
                                 key));
    CHECK(post::verify_signature(policy + "=", signature, key).error().code ==
          post::error::signature_mismatch);
    CHECK(!post::verify_signature(policy, signature.substr(1), key));
    auto const other = sigv4::derive_signing_key("another secret", "20151229", "us-east-1", "s3");
    CHECK(!post::verify_signature(policy, signature, other));
    auto const doc = post::decode_policy(policy).value();
    CHECK(doc.conditions.size() == 2);
}

TEST_CASE("${filename} in the key is replaced by the file's name", "[api][post_policy]")
{
    CHECK(post::substitute_filename("uploads/${filename}", "a.txt") == "uploads/a.txt");
    CHECK(post::substitute_filename("${filename}/${filename}", "x") == "x/x");
    CHECK(post::substitute_filename("plain", "x") == "plain");
    CHECK(post::substitute_filename("${filenam}", "x") == "${filenam}");
}

TEST_CASE("post errors map to S3 codes and statuses", "[api][post_policy]")
{
    CHECK(post::s3_error_code(post::error::malformed_form) == "MalformedPOSTRequest");
    CHECK(post::s3_error_code(post::error::condition_failed) == "AccessDenied");
    CHECK(post::http_status(post::error::signature_mismatch) == 403);
    CHECK(post::s3_error_code(post::error::entity_too_large) == "EntityTooLarge");
    CHECK(post::http_status(post::error::entity_too_small) == 400);
    util::failure const f(post::error::policy_expired, "x");
    CHECK(f.is(util::condition::forbidden));
    CHECK(util::failure(post::error::invalid_policy, "x").is(util::condition::bad_request));
}

} // namespace
