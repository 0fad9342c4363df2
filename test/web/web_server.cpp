// Test that header file is self-contained.
#include <garage/web/web_server.hpp>

#include <test/support/web_fixture.hpp>

#include <catch2/catch.hpp>

#include <string>

namespace {

using namespace garage;
using test::web::fixture;

constexpr char const* basic_site =
    "<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument>"
    "<ErrorDocument><Key>404.html</Key></ErrorDocument></WebsiteConfiguration>";

/// A bucket `site` with an index page, a nested directory, a 404 page and a 5 KiB file.
void make_site(fixture& f, std::string const& website_xml = basic_site)
{
    f.create_bucket("site");
    f.put("site", "index.html", "<h1>home</h1>", {{"content-type", "text/html"}});
    f.put("site", "dir/index.html", "<h1>nested</h1>", {{"content-type", "text/html"}});
    f.put("site", "dir/page.html", "<p>page</p>", {{"content-type", "text/html"}});
    f.put("site", "404.html", "<h1>custom not found</h1>", {{"content-type", "text/html"}});
    f.put("site", "big.bin", test::s3::pattern(5000));
    f.set_website("site", website_xml);
}

TEST_CASE("the root and directories serve their index document", "[web][web_server]")
{
    fixture f;
    make_site(f);
    auto r = f.get("/");
    CHECK(r.status == 200);
    CHECK(r.body == "<h1>home</h1>");
    CHECK(r.header("content-type") == "text/html");
    r = f.get("/dir/");
    CHECK(r.status == 200);
    CHECK(r.body == "<h1>nested</h1>");
    r = f.get("/dir/page.html?ignored=1");
    CHECK(r.status == 200);
    CHECK(r.body == "<p>page</p>");
}

TEST_CASE("the bucket is found by its global alias, directly or under the root domain", "[web][web_server]")
{
    fixture f;
    make_site(f);
    CHECK(f.get("/", "site").body == "<h1>home</h1>");
    CHECK(f.get("/", "SITE.web.garage:3902").body == "<h1>home</h1>");
    f.create_bucket("www.example.com");
    f.put("www.example.com", "index.html", "example");
    f.set_website("www.example.com", basic_site);
    CHECK(f.get("/", "www.example.com:80").body == "example");
    CHECK(f.get("/", "www.example.com.web.garage").body == "example");
}

TEST_CASE("a directory without its slash redirects to it", "[web][web_server]")
{
    fixture f;
    make_site(f);
    auto r = f.get("/dir");
    CHECK(r.status == 302);
    CHECK(r.header("location") == "/dir/");
    // no such directory: the error document, with the original status
    r = f.get("/nodir");
    CHECK(r.status == 404);
}

TEST_CASE("a missing key gets the error document with status 404", "[web][web_server]")
{
    fixture f;
    make_site(f);
    auto r = f.get("/missing.html");
    CHECK(r.status == 404);
    CHECK(r.body == "<h1>custom not found</h1>");
    CHECK(r.header("content-type") == "text/html");
    CHECK(r.header("x-garage-error") == "Key not found");
    // HEAD never gets the error document
    r = f.request("HEAD", "/missing.html", "site.web.garage");
    CHECK(r.status == 404);
    CHECK(r.body.empty());
}

TEST_CASE("without an error document, errors are plain HTML pages", "[web][web_server]")
{
    fixture f;
    make_site(f, "<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument>"
                 "</WebsiteConfiguration>");
    auto r = f.get("/missing.html");
    CHECK(r.status == 404);
    CHECK(r.header("content-type") == "text/html; charset=utf-8");
    CHECK(r.body.starts_with("<title>404 Not Found</title>"));
    CHECK(r.body.find("NoSuchKey") != std::string::npos);
    CHECK(r.body.find("<?xml") == std::string::npos);
}

TEST_CASE("an error document that is missing falls back to the plain page", "[web][web_server]")
{
    fixture f;
    f.create_bucket("site");
    f.set_website("site", "<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument>"
                          "<ErrorDocument><Key>gone.html</Key></ErrorDocument></WebsiteConfiguration>");
    auto r = f.get("/x");
    CHECK(r.status == 404);
    CHECK(r.body.starts_with("<title>404 Not Found</title>"));
}

TEST_CASE("a missing or foreign Host is answered as Garage does, and the node keeps serving",
          "[web][web_server]")
{
    fixture f;
    make_site(f);
    auto r = f.request("GET", "/", std::nullopt);
    CHECK(r.status == 400);
    CHECK(r.body.find("Host header required") != std::string::npos);
    r = f.get("/", "evil.example.org");
    CHECK(r.status == 404);
    CHECK(r.body.find("NoSuchBucket") != std::string::npos);
    r = f.get("/", "a b");
    CHECK(r.status == 400);
    r = f.get("/", "");
    CHECK(r.status == 400);
    CHECK(f.get("/").body == "<h1>home</h1>");
}

TEST_CASE("buckets without a website configuration, or only a local alias, are not served",
          "[web][web_server]")
{
    fixture f;
    f.create_bucket("private");
    f.put("private", "index.html", "secret");
    auto r = f.get("/", "private.web.garage");
    CHECK(r.status == 404);
    CHECK(r.body.find("secret") == std::string::npos);
    CHECK(r.header("content-type") == "text/html; charset=utf-8");
}

TEST_CASE("path traversal attempts and encoded slashes are 400, inside the bucket's keys",
          "[web][web_server]")
{
    fixture f;
    make_site(f);
    f.create_bucket("other");
    f.put("other", "secret.txt", "secret");
    for (auto p : {"/../other/secret.txt", "/dir/../index.html", "/%2e%2e/other/secret.txt",
                   "/dir%2Fpage.html", "/dir/..%2Fsecret", "/%zz", "/a%00b"}) {
        INFO(p);
        auto r = f.get(p);
        CHECK(r.status == 400);
        CHECK(r.body.find("secret") == std::string::npos);
    }
    // a target that is not a path
    CHECK(f.get("*").status == 400);
    CHECK(f.get("/").status == 200);
}

TEST_CASE("only GET, HEAD and OPTIONS are served", "[web][web_server]")
{
    fixture f;
    make_site(f);
    for (auto m : {"PUT", "DELETE", "POST"}) {
        auto r = f.request(m, "/index.html", "site.web.garage");
        CHECK(r.status == 400);
        CHECK(r.body.find("HTTP method not supported") != std::string::npos);
    }
    CHECK(f.get("/").body == "<h1>home</h1>");
    auto h = f.request("HEAD", "/", "site.web.garage");
    CHECK(h.status == 200);
    CHECK(h.header("content-length") == "13");
}

TEST_CASE("an object with a website redirect location answers 301", "[web][web_server]")
{
    fixture f;
    make_site(f);
    f.put("site", "old.html", "", {{"x-amz-website-redirect-location", "/dir/page.html"}});
    f.put("site", "ext.html", "ignored body", {{"x-amz-website-redirect-location", "https://example.com/x"}});
    auto r = f.get("/old.html");
    CHECK(r.status == 301);
    CHECK(r.header("location") == "/dir/page.html");
    r = f.get("/ext.html");
    CHECK(r.status == 301);
    CHECK(r.header("location") == "https://example.com/x");
    CHECK(r.body.empty());
    CHECK(f.request("HEAD", "/ext.html", "site.web.garage").status == 301);
}

TEST_CASE("ranges and conditional requests work as on the S3 API", "[web][web_server]")
{
    fixture f;
    make_site(f);
    auto const data = test::s3::pattern(5000);
    auto r = f.get("/big.bin", "site.web.garage", {{"range", "bytes=4000-4099"}});
    CHECK(r.status == 206);
    CHECK(r.body == data.substr(4000, 100));
    CHECK(r.header("content-range") == "bytes 4000-4099/5000");
    auto full = f.get("/big.bin");
    CHECK(full.body == data);
    auto const etag = full.header("etag");
    REQUIRE_FALSE(etag.empty());
    r = f.get("/big.bin", "site.web.garage", {{"if-none-match", etag}});
    CHECK(r.status == 304);
    CHECK(r.body.empty());
    r = f.get("/big.bin", "site.web.garage", {{"range", "bytes=9000-"}});
    CHECK(r.status == 416);
}

TEST_CASE("CORS rules of the bucket apply to the web endpoint", "[web][web_server]")
{
    fixture f;
    make_site(f);
    f.set_cors("site", "<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example</AllowedOrigin>"
                       "<AllowedMethod>GET</AllowedMethod><AllowedHeader>*</AllowedHeader></CORSRule>"
                       "</CORSConfiguration>");
    auto r = f.request("OPTIONS", "/index.html", "site.web.garage",
                       {{"origin", "https://app.example"}, {"access-control-request-method", "GET"}});
    CHECK(r.status == 200);
    CHECK(r.header("access-control-allow-origin") == "https://app.example");
    r = f.request("OPTIONS", "/index.html", "site.web.garage",
                  {{"origin", "https://evil.example"}, {"access-control-request-method", "GET"}});
    CHECK(r.status == 403);
    CHECK(r.header("access-control-allow-origin").empty());
    r = f.request("OPTIONS", "/index.html", "site.web.garage", {{"origin", "https://app.example"}});
    CHECK(r.status == 400);
    r = f.get("/", "site.web.garage", {{"origin", "https://app.example"}});
    CHECK(r.status == 200);
    CHECK(r.header("access-control-allow-origin") == "https://app.example");
    r = f.get("/", "site.web.garage", {{"origin", "https://evil.example"}});
    CHECK(r.status == 200);
    CHECK(r.header("access-control-allow-origin").empty());
}

TEST_CASE("RedirectAllRequestsTo sends every request to the other host", "[web][web_server]")
{
    fixture f;
    make_site(f, "<WebsiteConfiguration><RedirectAllRequestsTo><HostName>new.example</HostName>"
                 "<Protocol>https</Protocol></RedirectAllRequestsTo></WebsiteConfiguration>");
    auto r = f.get("/dir/page.html?x=1");
    CHECK(r.status == 301);
    CHECK(r.header("location") == "https://new.example/dir/page.html?x=1");
}

TEST_CASE("routing rules redirect by key prefix and by error code", "[web][web_server]")
{
    fixture f;
    make_site(f, "<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument>"
                 "<ErrorDocument><Key>404.html</Key></ErrorDocument><RoutingRules>"
                 "<RoutingRule><Condition><KeyPrefixEquals>docs/</KeyPrefixEquals></Condition>"
                 "<Redirect><ReplaceKeyPrefixWith>dir/</ReplaceKeyPrefixWith><HttpRedirectCode>302"
                 "</HttpRedirectCode></Redirect></RoutingRule>"
                 "<RoutingRule><Condition><KeyPrefixEquals>ext/</KeyPrefixEquals></Condition>"
                 "<Redirect><HostName>other.example</HostName><Protocol>https</Protocol>"
                 "<ReplaceKeyWith>landing.html</ReplaceKeyWith></Redirect></RoutingRule>"
                 "<RoutingRule><Condition><KeyPrefixEquals>gone/</KeyPrefixEquals>"
                 "<HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>"
                 "<Redirect><ReplaceKeyWith>index.html</ReplaceKeyWith></Redirect></RoutingRule>"
                 "</RoutingRules></WebsiteConfiguration>");
    auto r = f.get("/docs/page.html");
    CHECK(r.status == 302);
    CHECK(r.header("location") == "/dir/page.html");
    r = f.get("/ext/anything");
    CHECK(r.status == 301);
    CHECK(r.header("location") == "https://other.example/landing.html");
    r = f.get("/gone/old.html");
    CHECK(r.status == 301);
    CHECK(r.header("location") == "/index.html");
    // an existing object under the error-code rule's prefix is served
    f.put("site", "gone/here.html", "still here");
    CHECK(f.get("/gone/here.html").body == "still here");
    // other missing keys get the error document
    CHECK(f.get("/nope").body == "<h1>custom not found</h1>");
}

TEST_CASE("a redirect to another host keeps the scheme the proxy reports", "[web][web_server]")
{
    fixture f;
    make_site(f,
              "<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument><RoutingRules>"
              "<RoutingRule><Condition><KeyPrefixEquals>x/</KeyPrefixEquals></Condition>"
              "<Redirect><HostName>other.example</HostName></Redirect></RoutingRule>"
              "</RoutingRules></WebsiteConfiguration>");
    CHECK(f.get("/x/a%20b").header("location") == "http://other.example/x/a%20b");
    CHECK(f.get("/x/a", "site.web.garage", {{"x-forwarded-proto", "https"}}).header("location") ==
          "https://other.example/x/a");
}

TEST_CASE("routing rules that loop answer one redirect per request", "[web][web_server]")
{
    fixture f;
    make_site(f,
              "<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument><RoutingRules>"
              "<RoutingRule><Condition><KeyPrefixEquals>a/</KeyPrefixEquals></Condition>"
              "<Redirect><ReplaceKeyPrefixWith>b/</ReplaceKeyPrefixWith></Redirect></RoutingRule>"
              "<RoutingRule><Condition><KeyPrefixEquals>b/</KeyPrefixEquals></Condition>"
              "<Redirect><ReplaceKeyPrefixWith>a/</ReplaceKeyPrefixWith></Redirect></RoutingRule>"
              "</RoutingRules></WebsiteConfiguration>");
    std::string target = "/a/x";
    for (int i = 0; i < 20; ++i) {
        auto r = f.get(target);
        REQUIRE(r.status == 301);
        auto const next = r.header("location");
        CHECK(next == (i % 2 == 0 ? "/b/x" : "/a/x"));
        target = next;
    }
    CHECK(f.get("/").body == "<h1>home</h1>");
}

} // namespace
