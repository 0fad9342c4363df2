// Test that header file is self-contained.
#include <garage/web/website.hpp>

#include <catch2/catch.hpp>

namespace {

using namespace garage;
using web::redirect;

/// The value of `r`, which must hold one.
template <class T>
T ok(web::web_result<T> r)
{
    REQUIRE(r.has_value());
    return std::move(*r);
}

model::website_config config_with(std::vector<model::website_routing_rule> rules)
{
    model::website_config c;
    c.routing_rules = std::move(rules);
    return c;
}

TEST_CASE("a host under the root domain names the labels before it", "[web][website]")
{
    CHECK(ok(web::host_to_bucket("site.web.garage", ".web.garage")) == "site");
    CHECK(ok(web::host_to_bucket("deuxfleurs.fr.web.garage.eu", "web.garage.eu")) == "deuxfleurs.fr");
    CHECK(ok(web::host_to_bucket("Site.WEB.garage:3902", ".web.garage")) == "site");
}

TEST_CASE("any other host names itself, port dropped and lower-cased", "[web][website]")
{
    CHECK(ok(web::host_to_bucket("www.Example.com:8080", ".web.garage")) == "www.example.com");
    CHECK(ok(web::host_to_bucket("web.garage", ".web.garage")) == "web.garage");
    CHECK(ok(web::host_to_bucket("xweb.garage", ".web.garage")) == "xweb.garage");
    CHECK(ok(web::host_to_bucket("[::1]:3902", ".web.garage")) == "[::1]");
}

TEST_CASE("an empty or malformed host is a bad request", "[web][website]")
{
    for (auto h : {"", "  ", ":80", "a b", "a/b", "a@b", "a:1:2", "a:x", "[::1", "[::1]x"}) {
        INFO(h);
        auto r = web::host_to_bucket(h, ".web.garage");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().status == 400);
    }
}

TEST_CASE("paths map to keys with the index document for directories", "[web][website]")
{
    auto k = ok(web::path_to_key("/", "index.html"));
    CHECK(k.key == "index.html");
    CHECK(k.request_key.empty());
    k = ok(web::path_to_key("/dir/sub/", "index.html"));
    CHECK(k.key == "dir/sub/index.html");
    CHECK(k.request_key == "dir/sub/");
    k = ok(web::path_to_key("/a%20b/c.txt", "index.html"));
    CHECK(k.key == "a b/c.txt");
    CHECK(k.request_key == "a b/c.txt");
    k = ok(web::path_to_key("/caf%C3%A9", "i.htm"));
    CHECK(k.key == "caf\xC3\xA9");
    CHECK(ok(web::path_to_key("/a..b/.c/d.", "index.html")).key == "a..b/.c/d.");
}

TEST_CASE("path traversal attempts and encoded slashes are bad requests", "[web][website]")
{
    for (auto p :
         {"", "index.html", "/..", "/../etc/passwd", "/a/../b", "/a/./b", "/%2e%2e/x", "/a/%2E%2E",
          "/a/.%2e/b", "/a%2Fb", "/a%2fb", "/a%5Cb", "/a\\b", "/%00", "/a%", "/a%2", "/%zz", "/%2g"}) {
        INFO(p);
        auto r = web::path_to_key(p, "index.html");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().status == 400);
        CHECK(r.error().code == "InvalidRequest");
    }
}

TEST_CASE("RedirectAllRequestsTo keeps the path and query", "[web][website]")
{
    model::website_config c;
    CHECK_FALSE(web::redirect_all(c, "/x", {"h"}));
    c.redirect_all_requests_to = model::website_redirect_all{"new.example", std::nullopt};
    CHECK(web::redirect_all(c, "/a/b?x=1", {"old", "http"}) == redirect{301, "http://new.example/a/b?x=1"});
    c.redirect_all_requests_to->protocol = "https";
    CHECK(web::redirect_all(c, "/", {"old", "http"}) == redirect{301, "https://new.example/"});
}

TEST_CASE("a key prefix rule replaces the prefix", "[web][website]")
{
    model::website_routing_rule r;
    r.condition.key_prefix_equals = "docs/";
    r.redirect.replace_key_prefix_with = "documents/";
    auto c = config_with({r});
    CHECK(web::match_routing_rules(c, "docs/a b.html", std::nullopt, {"h"}) ==
          redirect{301, "/documents/a%20b.html"});
    CHECK_FALSE(web::match_routing_rules(c, "doc/a.html", std::nullopt, {"h"}));
    // a rule without an error condition does not apply after the lookup
    CHECK_FALSE(web::match_routing_rules(c, "docs/a.html", 404u, {"h"}));
}

TEST_CASE("a host, protocol or code make an absolute redirect", "[web][website]")
{
    model::website_routing_rule r;
    r.condition.key_prefix_equals = "old/";
    r.redirect.host_name = "elsewhere.example";
    r.redirect.replace_key_with = "landing.html";
    r.redirect.http_redirect_code = 302;
    auto c = config_with({r});
    CHECK(web::match_routing_rules(c, "old/x", std::nullopt, {"site:3902", "http"}) ==
          redirect{302, "http://elsewhere.example/landing.html"});
    c.routing_rules[0].redirect.host_name.reset();
    c.routing_rules[0].redirect.protocol = "https";
    CHECK(web::match_routing_rules(c, "old/x", std::nullopt, {"site:3902", "http"}) ==
          redirect{302, "https://site:3902/landing.html"});
}

TEST_CASE("an error code rule applies only to that error, first match wins", "[web][website]")
{
    model::website_routing_rule a;
    a.condition.http_error_code_returned_equals = 404;
    a.redirect.host_name = "fallback.example";
    model::website_routing_rule b;
    b.condition.http_error_code_returned_equals = 404;
    b.redirect.replace_key_with = "never";
    model::website_routing_rule c403;
    c403.condition.http_error_code_returned_equals = 403;
    c403.redirect.replace_key_with = "denied.html";
    auto c = config_with({c403, a, b});
    CHECK_FALSE(web::match_routing_rules(c, "x/y", std::nullopt, {"h"}));
    CHECK(web::match_routing_rules(c, "x/y", 404u, {"h", "https"}) ==
          redirect{301, "https://fallback.example/x/y"});
    CHECK(web::match_routing_rules(c, "x/y", 403u, {"h"}) == redirect{301, "/denied.html"});
    CHECK_FALSE(web::match_routing_rules(c, "x/y", 400u, {"h"}));
}

TEST_CASE("a rule that redirects to itself answers one redirect", "[web][website]")
{
    model::website_routing_rule r;
    r.condition.key_prefix_equals = "loop/";
    r.redirect.replace_key_prefix_with = "loop/";
    auto c = config_with({r});
    auto first = web::match_routing_rules(c, "loop/a", std::nullopt, {"h"});
    REQUIRE(first);
    CHECK(first->location == "/loop/a");
    // following it gives the same answer again: the loop is the client's to notice
    CHECK(web::match_routing_rules(c, first->location.substr(1), std::nullopt, {"h"}) == first);
}

TEST_CASE("the error page names the status, code and escaped message", "[web][website]")
{
    auto p = web::error_page({"NoSuchKey", 404, "Key <b>not</b> found"});
    CHECK(p.starts_with("<title>404 Not Found</title>\n<h1>404 Not Found</h1>"));
    CHECK(p.find("Code: NoSuchKey") != std::string::npos);
    CHECK(p.find("Key &lt;b&gt;not&lt;/b&gt; found") != std::string::npos);
}

} // namespace
