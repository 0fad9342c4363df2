// Test that header file is self-contained.
#include <garage/api/s3/bucket_config.hpp>

#include <catch2/catch.hpp>

#include <string>

namespace {

using namespace garage;
namespace s3 = api::s3;

/// The S3 error code of a failed parse ("" if it succeeded).
template <class T>
std::string code_of(s3::config_result<T> const& r)
{
    return r ? std::string() : r.error().code;
}

TEST_CASE("a CORS configuration round-trips through XML", "[api][s3][bucket_config]")
{
    auto const body = R"(<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <CORSRule><ID>web</ID><AllowedOrigin>https://app.example</AllowedOrigin><AllowedOrigin>https://*.test</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule>
  <CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>HEAD</AllowedMethod></CORSRule>
</CORSConfiguration>)";
    auto r = s3::parse_cors_configuration(body);
    REQUIRE(r.has_value());
    REQUIRE(r->size() == 2);
    auto const& a = (*r)[0];
    CHECK(a.id == "web");
    CHECK(a.allow_origins == std::vector<std::string>{"https://app.example", "https://*.test"});
    CHECK(a.allow_methods == std::vector<std::string>{"GET", "PUT"});
    CHECK(a.allow_headers == std::vector<std::string>{"*"});
    CHECK(a.expose_headers == std::vector<std::string>{"ETag"});
    CHECK(a.max_age_seconds == 3000u);
    CHECK_FALSE((*r)[1].id);
    CHECK_FALSE((*r)[1].max_age_seconds);

    auto const xml = s3::render_cors_configuration(*r);
    CHECK(xml.find("<MaxAgeSeconds>3000</MaxAgeSeconds>") != std::string::npos);
    auto again = s3::parse_cors_configuration(xml);
    REQUIRE(again.has_value());
    CHECK(*again == *r);
}

TEST_CASE("invalid CORS configurations get S3's errors", "[api][s3][bucket_config]")
{
    CHECK(code_of(s3::parse_cors_configuration("<CORSConfiguration>")) == "MalformedXML");
    CHECK(code_of(s3::parse_cors_configuration("<Other/>")) == "MalformedXML");
    CHECK(code_of(s3::parse_cors_configuration("<CORSConfiguration/>")) == "MalformedXML");
    CHECK(code_of(s3::parse_cors_configuration("<CORSConfiguration><CORSRule><AllowedMethod>GET</"
                                               "AllowedMethod></CORSRule></CORSConfiguration>")) ==
          "MalformedXML");
    CHECK(code_of(s3::parse_cors_configuration(
              "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
              "<AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>")) == "InvalidRequest");
    CHECK(code_of(s3::parse_cors_configuration(
              "<CORSConfiguration><CORSRule><AllowedOrigin>https://*.*.x</AllowedOrigin>"
              "<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>")) == "InvalidRequest");
    CHECK(code_of(s3::parse_cors_configuration("<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
                                               "<AllowedMethod>GET</AllowedMethod><Bogus/></CORSRule>"
                                               "</CORSConfiguration>")) == "MalformedXML");
    CHECK(code_of(s3::parse_cors_configuration("<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
                                               "<AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>x"
                                               "</MaxAgeSeconds></CORSRule></CORSConfiguration>")) ==
          "MalformedXML");
}

TEST_CASE("a website configuration with routing rules round-trips", "[api][s3][bucket_config]")
{
    auto const body = R"(<WebsiteConfiguration>
  <IndexDocument><Suffix>home.html</Suffix></IndexDocument>
  <ErrorDocument><Key>errors/404.html</Key></ErrorDocument>
  <RoutingRules>
    <RoutingRule><Condition><KeyPrefixEquals>docs/</KeyPrefixEquals></Condition>
      <Redirect><ReplaceKeyPrefixWith>documents/</ReplaceKeyPrefixWith><HttpRedirectCode>302</HttpRedirectCode></Redirect></RoutingRule>
    <RoutingRule><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
      <Redirect><HostName>fallback.example</HostName><Protocol>https</Protocol><ReplaceKeyWith>x.html</ReplaceKeyWith></Redirect></RoutingRule>
  </RoutingRules>
</WebsiteConfiguration>)";
    auto r = s3::parse_website_configuration(body);
    REQUIRE(r.has_value());
    CHECK(r->index_document == "home.html");
    CHECK(r->error_document == "errors/404.html");
    CHECK_FALSE(r->redirect_all_requests_to);
    REQUIRE(r->routing_rules.size() == 2);
    CHECK(r->routing_rules[0].condition.key_prefix_equals == "docs/");
    CHECK(r->routing_rules[0].redirect.replace_key_prefix_with == "documents/");
    CHECK(r->routing_rules[0].redirect.http_redirect_code == 302);
    CHECK(r->routing_rules[1].condition.http_error_code_returned_equals == 404);
    CHECK(r->routing_rules[1].redirect.host_name == "fallback.example");
    CHECK(r->routing_rules[1].redirect.protocol == "https");
    CHECK(r->routing_rules[1].redirect.replace_key_with == "x.html");

    auto again = s3::parse_website_configuration(s3::render_website_configuration(*r));
    REQUIRE(again.has_value());
    CHECK(*again == *r);
}

TEST_CASE("a website may redirect every request, and nothing else", "[api][s3][bucket_config]")
{
    auto r =
        s3::parse_website_configuration("<WebsiteConfiguration><RedirectAllRequestsTo><HostName>new.example"
                                        "</HostName><Protocol>https</Protocol></RedirectAllRequestsTo>"
                                        "</WebsiteConfiguration>");
    REQUIRE(r.has_value());
    REQUIRE(r->redirect_all_requests_to);
    CHECK(r->redirect_all_requests_to->host_name == "new.example");
    CHECK(r->redirect_all_requests_to->protocol == "https");
    auto const xml = s3::render_website_configuration(*r);
    CHECK(xml.find("IndexDocument") == std::string::npos);
    auto again = s3::parse_website_configuration(xml);
    REQUIRE(again.has_value());
    CHECK(*again == *r);

    CHECK(code_of(s3::parse_website_configuration(
              "<WebsiteConfiguration><RedirectAllRequestsTo><HostName>a</HostName></RedirectAllRequestsTo>"
              "<IndexDocument><Suffix>index.html</Suffix></IndexDocument></WebsiteConfiguration>")) ==
          "InvalidArgument");
    CHECK(code_of(s3::parse_website_configuration(
              "<WebsiteConfiguration><RedirectAllRequestsTo><HostName>a</HostName><Protocol>ftp</Protocol>"
              "</RedirectAllRequestsTo></WebsiteConfiguration>")) == "InvalidRequest");
}

TEST_CASE("invalid website configurations get S3's errors", "[api][s3][bucket_config]")
{
    CHECK(code_of(s3::parse_website_configuration("<WebsiteConfiguration/>")) == "InvalidArgument");
    CHECK(code_of(s3::parse_website_configuration("<WebsiteConfiguration><ErrorDocument><Key>e.html</Key></"
                                                  "ErrorDocument></WebsiteConfiguration>")) ==
          "InvalidArgument");
    CHECK(code_of(s3::parse_website_configuration("<WebsiteConfiguration><IndexDocument><Suffix></Suffix>"
                                                  "</IndexDocument></WebsiteConfiguration>")) ==
          "InvalidArgument");
    CHECK(code_of(s3::parse_website_configuration(
              "<WebsiteConfiguration><IndexDocument><Suffix>a/b.html</Suffix>"
              "</IndexDocument></WebsiteConfiguration>")) == "InvalidArgument");
    std::string const idx = "<IndexDocument><Suffix>i.html</Suffix></IndexDocument>";
    auto rule = [&](std::string const& inner) {
        return "<WebsiteConfiguration>" + idx + "<RoutingRules><RoutingRule>" + inner +
               "</RoutingRule></RoutingRules></WebsiteConfiguration>";
    };
    CHECK(code_of(s3::parse_website_configuration(rule(
              "<Redirect><ReplaceKeyWith>a</ReplaceKeyWith><ReplaceKeyPrefixWith>b</ReplaceKeyPrefixWith>"
              "</Redirect>"))) == "InvalidRequest");
    CHECK(code_of(s3::parse_website_configuration(
              rule("<Redirect><HttpRedirectCode>200</HttpRedirectCode></Redirect>"))) == "InvalidRequest");
    CHECK(code_of(s3::parse_website_configuration(
              rule("<Redirect><HttpRedirectCode>300</HttpRedirectCode></Redirect>"))) == "InvalidRequest");
    CHECK(code_of(s3::parse_website_configuration(
              rule("<Redirect><Protocol>gopher</Protocol></Redirect>"))) == "InvalidRequest");
    CHECK(code_of(s3::parse_website_configuration(
              rule("<Condition><KeyPrefixEquals>a</KeyPrefixEquals></Condition>"))) == "MalformedXML");
    CHECK(code_of(s3::parse_website_configuration(rule("<Redirect><HttpRedirectCode>301</HttpRedirectCode>"
                                                       "</Redirect>"))) == "");
    CHECK(code_of(s3::parse_website_configuration("<WebsiteConfiguration>" + idx +
                                                  "<Foo/></WebsiteConfiguration>")) == "MalformedXML");
}

TEST_CASE("a lifecycle configuration round-trips through XML", "[api][s3][bucket_config]")
{
    auto const body = R"(<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Rule><ID>logs</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status>
    <Expiration><Days>30</Days></Expiration>
    <AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>
  <Rule><ID>big</ID><Filter><And><Prefix>tmp/</Prefix><ObjectSizeGreaterThan>1000</ObjectSizeGreaterThan>
    <ObjectSizeLessThan>5000</ObjectSizeLessThan></And></Filter><Status>Disabled</Status>
    <Expiration><Date>2030-01-01T00:00:00.000Z</Date></Expiration></Rule>
  <Rule><Filter></Filter><Status>Enabled</Status><Expiration><Days>365</Days></Expiration></Rule>
  <Rule><Prefix>old/</Prefix><Status>Enabled</Status><Expiration><Date>2024-02-29</Date></Expiration></Rule>
</LifecycleConfiguration>)";
    auto r = s3::parse_lifecycle_configuration(body);
    REQUIRE(r.has_value());
    REQUIRE(r->size() == 4);
    auto const& a = (*r)[0];
    CHECK(a.id == "logs");
    CHECK(a.enabled);
    CHECK(a.filter.prefix == "logs/");
    CHECK(a.expiration == model::lifecycle_expiration{model::expire_after_days{30}});
    CHECK(a.abort_incomplete_mpu_days == 7u);
    auto const& b = (*r)[1];
    CHECK_FALSE(b.enabled);
    CHECK(b.filter.prefix == "tmp/");
    CHECK(b.filter.size_gt == 1000u);
    CHECK(b.filter.size_lt == 5000u);
    CHECK(b.expiration == model::lifecycle_expiration{model::expire_at_date{"2030-01-01"}});
    CHECK((*r)[2].filter == model::lifecycle_filter{});
    CHECK((*r)[3].filter.prefix == "old/");
    CHECK((*r)[3].expiration == model::lifecycle_expiration{model::expire_at_date{"2024-02-29"}});

    auto const xml = s3::render_lifecycle_configuration(*r);
    CHECK(xml.find("<Date>2030-01-01T00:00:00.000Z</Date>") != std::string::npos);
    CHECK(xml.find("<And>") != std::string::npos);
    auto again = s3::parse_lifecycle_configuration(xml);
    REQUIRE(again.has_value());
    CHECK(*again == *r);
}

TEST_CASE("invalid lifecycle configurations get S3's errors", "[api][s3][bucket_config]")
{
    auto rule = [](std::string const& inner) {
        return "<LifecycleConfiguration><Rule>" + inner + "</Rule></LifecycleConfiguration>";
    };
    auto parse = [](std::string const& b) { return code_of(s3::parse_lifecycle_configuration(b)); };
    std::string const exp = "<Expiration><Days>1</Days></Expiration>";
    CHECK(parse(rule("<Status>Enabled</Status>" + exp)) == "");
    CHECK(parse("<LifecycleConfiguration/>") == "MalformedXML");
    CHECK(parse(rule(exp)) == "MalformedXML");                          // no Status
    CHECK(parse(rule("<Status>On</Status>" + exp)) == "MalformedXML");  // bad Status
    CHECK(parse(rule("<Status>Enabled</Status>")) == "InvalidRequest"); // no action
    CHECK(parse(rule("<Status>Enabled</Status><Expiration><Days>0</Days></Expiration>")) ==
          "InvalidArgument");
    CHECK(parse(rule("<Status>Enabled</Status><Expiration></Expiration>")) == "MalformedXML");
    CHECK(parse(rule("<Status>Enabled</Status><Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date>"
                     "</Expiration>")) == "MalformedXML");
    CHECK(parse(rule("<Status>Enabled</Status><Expiration><Date>2030-01-01T12:00:00Z</Date></Expiration>")) ==
          "InvalidArgument");
    CHECK(parse(rule("<Status>Enabled</Status><Expiration><Date>2030-02-30T00:00:00Z</Date></Expiration>")) ==
          "InvalidArgument");
    CHECK(parse(rule("<Status>Enabled</Status><Filter><Prefix>a</Prefix><ObjectSizeLessThan>5"
                     "</ObjectSizeLessThan></Filter>" +
                     exp)) == "MalformedXML"); // several conditions without And
    CHECK(parse(rule("<Status>Enabled</Status><Filter><And><And/></And></Filter>" + exp)) == "MalformedXML");
    CHECK(parse(rule("<Status>Enabled</Status><Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan>"
                     "<ObjectSizeLessThan>5</ObjectSizeLessThan></And></Filter>" +
                     exp)) == "InvalidArgument");
    CHECK(parse(rule("<Status>Enabled</Status><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>" +
                     exp)) == "NotImplemented");
    CHECK(parse(rule("<Status>Enabled</Status><Transition><Days>1</Days><StorageClass>GLACIER</StorageClass>"
                     "</Transition>")) == "NotImplemented");
    CHECK(parse(rule("<Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
                     "</NoncurrentVersionExpiration>")) == "NotImplemented");
    CHECK(parse(rule("<Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true"
                     "</ExpiredObjectDeleteMarker></Expiration>")) == "NotImplemented");
    CHECK(parse("<LifecycleConfiguration><Rule><ID>x</ID><Status>Enabled</Status>" + exp +
                "</Rule><Rule><ID>x</ID><Status>Enabled</Status>" + exp +
                "</Rule></LifecycleConfiguration>") == "InvalidArgument");
    auto const e = s3::parse_lifecycle_configuration(rule("<Status>Enabled</Status><Transition/>"));
    REQUIRE_FALSE(e.has_value());
    CHECK(e.error().status == 501);
}

TEST_CASE("dates are accepted only at midnight UTC", "[api][s3][bucket_config]")
{
    CHECK(s3::parse_midnight_date("2024-05-01") == "2024-05-01");
    CHECK(s3::parse_midnight_date("2024-05-01T00:00:00Z") == "2024-05-01");
    CHECK(s3::parse_midnight_date("2024-05-01T00:00:00.000Z") == "2024-05-01");
    CHECK(s3::parse_midnight_date("2024-05-01T00:00:00+00:00") == "2024-05-01");
    CHECK(s3::parse_midnight_date("2024-02-29T00:00:00Z") == "2024-02-29");
    CHECK_FALSE(s3::parse_midnight_date("2023-02-29T00:00:00Z"));
    CHECK_FALSE(s3::parse_midnight_date("2024-05-01T00:00:01Z"));
    CHECK_FALSE(s3::parse_midnight_date("2024-05-01T00:00:00.001Z"));
    CHECK_FALSE(s3::parse_midnight_date("2024-05-01T00:00:00+01:00"));
    CHECK_FALSE(s3::parse_midnight_date("2024-13-01"));
    CHECK_FALSE(s3::parse_midnight_date("tomorrow"));
}

} // namespace
