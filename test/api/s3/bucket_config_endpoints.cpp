// Test that header file is self-contained.
#include <garage/api/s3/impl/cors.hpp>

// In-process tests over real HTTP of the bucket configuration endpoints (CORS, website,
// lifecycle) and of CORS on responses; the fixture is the one of test/api/s3/api_server.cpp.
#include <garage/api/s3/api_server.hpp>

#include <garage/model/helper.hpp>
#include <garage/model/key.hpp>
#include <garage/util/encoding.hpp>
#include <garage/util/hasher.hpp>

#include <test/support/s3_fixture.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace garage;
using namespace garage::test::s3;

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
