// Test that header file is self-contained.
#include <garage/api/s3/cors.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <string>

namespace {

using namespace garage;
using api::s3::cors_request;

model::cors_rule rule(std::vector<std::string> origins, std::vector<std::string> methods,
                      std::vector<std::string> headers = {}, std::vector<std::string> expose = {})
{
    model::cors_rule r;
    r.allow_origins = std::move(origins);
    r.allow_methods = std::move(methods);
    r.allow_headers = std::move(headers);
    r.expose_headers = std::move(expose);
    return r;
}

std::map<std::string, std::string> as_map(api::s3::cors_header_list const& l)
{
    return {l.begin(), l.end()};
}

TEST_CASE("a wildcard stands for any run of characters", "[api][s3][cors]")
{
    using api::s3::cors_wildcard_match;
    CHECK(cors_wildcard_match("*", ""));
    CHECK(cors_wildcard_match("*", "https://a.example"));
    CHECK(cors_wildcard_match("https://*.example.com", "https://www.example.com"));
    CHECK(cors_wildcard_match("https://*.example.com", "https://a.b.example.com"));
    CHECK_FALSE(cors_wildcard_match("https://*.example.com", "https://example.com"));
    CHECK_FALSE(cors_wildcard_match("https://*.example.com", "http://www.example.com"));
    CHECK_FALSE(cors_wildcard_match("https://*.example.com", "https://www.example.com.evil"));
    CHECK(cors_wildcard_match("https://a.example", "https://a.example"));
    CHECK_FALSE(cors_wildcard_match("https://a.example", "https://a.example2"));
    CHECK_FALSE(cors_wildcard_match("https://A.example", "https://a.example"));
    CHECK(cors_wildcard_match("X-Amz-*", "x-amz-date", true));
    CHECK_FALSE(cors_wildcard_match("X-Amz-*", "x-amz-date", false));
    CHECK(cors_wildcard_match("a*b*c", "aXXbYYc"));
    CHECK_FALSE(cors_wildcard_match("a*b*c", "aXXbYY"));
}

TEST_CASE("a header list is split on commas and trimmed", "[api][s3][cors]")
{
    auto const v = api::s3::split_header_list(" content-type ,x-amz-date,, authorization ");
    REQUIRE(v.size() == 3);
    CHECK(v[0] == "content-type");
    CHECK(v[1] == "x-amz-date");
    CHECK(v[2] == "authorization");
    CHECK(api::s3::split_header_list("").empty());
}

TEST_CASE("a rule matches on origin, method and every requested header", "[api][s3][cors]")
{
    auto const r =
        rule({"https://app.example", "https://*.test"}, {"GET", "PUT"}, {"content-type", "x-amz-*"});
    CHECK(api::s3::cors_rule_matches(r, {"https://app.example", "GET"}));
    CHECK(api::s3::cors_rule_matches(r, {"https://x.test", "PUT", {"Content-Type", "X-Amz-Date"}}));
    CHECK_FALSE(api::s3::cors_rule_matches(r, {"https://other.example", "GET"}));
    CHECK_FALSE(api::s3::cors_rule_matches(r, {"https://app.example", "DELETE"}));
    CHECK_FALSE(
        api::s3::cors_rule_matches(r, {"https://app.example", "GET", {"content-type", "authorization"}}));
    auto const any = rule({"*"}, {"*"}, {"*"});
    CHECK(api::s3::cors_rule_matches(any, {"https://whatever", "DELETE", {"a", "b"}}));
}

TEST_CASE("the first matching rule wins", "[api][s3][cors]")
{
    std::vector<model::cors_rule> rules{rule({"https://a.example"}, {"GET"}), rule({"*"}, {"GET", "PUT"}),
                                        rule({"*"}, {"PUT"})};
    CHECK(api::s3::find_cors_rule(rules, {"https://a.example", "GET"}) == &rules[0]);
    CHECK(api::s3::find_cors_rule(rules, {"https://b.example", "GET"}) == &rules[1]);
    CHECK(api::s3::find_cors_rule(rules, {"https://a.example", "PUT"}) == &rules[1]);
    CHECK(api::s3::find_cors_rule(rules, {"https://a.example", "POST"}) == nullptr);
    CHECK(api::s3::find_cors_rule({}, {"https://a.example", "GET"}) == nullptr);
}

TEST_CASE("response headers echo a specific origin and list the rule's members", "[api][s3][cors]")
{
    auto r = rule({"https://app.example"}, {"GET", "PUT"}, {"content-type"}, {"ETag", "x-amz-version-id"});
    r.max_age_seconds = 600;
    cors_request const req{"https://app.example", "PUT"};
    auto const h = as_map(api::s3::cors_response_headers(r, req, false));
    CHECK(h.at("Access-Control-Allow-Origin") == "https://app.example");
    CHECK(h.at("Access-Control-Allow-Methods") == "GET, PUT");
    CHECK(h.at("Access-Control-Allow-Headers") == "content-type");
    CHECK(h.at("Access-Control-Expose-Headers") == "ETag, x-amz-version-id");
    CHECK(h.count("Access-Control-Max-Age") == 0);
    CHECK(h.count("Vary") == 1);

    auto const p =
        as_map(api::s3::cors_response_headers(r, {"https://app.example", "PUT", {"content-type"}}, true));
    CHECK(p.at("Access-Control-Max-Age") == "600");
    CHECK(p.at("Access-Control-Allow-Headers") == "content-type");
}

TEST_CASE("a rule for any origin answers with a star", "[api][s3][cors]")
{
    auto const r = rule({"*"}, {"GET"});
    auto const h = as_map(api::s3::cors_response_headers(r, {"https://x.example", "GET"}, true));
    CHECK(h.at("Access-Control-Allow-Origin") == "*");
    CHECK(h.count("Access-Control-Allow-Headers") == 0);
    CHECK(h.count("Access-Control-Expose-Headers") == 0);
    CHECK(h.count("Access-Control-Max-Age") == 0);
}

} // namespace
