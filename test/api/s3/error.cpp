// Test that header file is self-contained.
#include <garage/api/s3/error.hpp>

#include <garage/api/s3/xml.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;
using namespace garage::api::s3;

TEST_CASE("S3 error bodies are XML with code, message, resource and request id", "[api][s3][error]")
{
    auto const xml = error_xml(s3_error::no_such_key(), "/b/a<b>&c", "garage", "req-1");
    pugi::xml_document doc;
    REQUIRE(parse_xml(doc, xml).has_value());
    auto e = doc.child("Error");
    CHECK(std::string(e.child_value("Code")) == "NoSuchKey");
    CHECK(std::string(e.child_value("Message")) == "Key not found");
    CHECK(std::string(e.child_value("Resource")) == "/b/a<b>&c"); // escaped on the wire, intact here
    CHECK(std::string(e.child_value("Region")) == "garage");
    CHECK(std::string(e.child_value("RequestId")) == "req-1");
    CHECK(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    CHECK(xml.find("&lt;b&gt;&amp;c") != std::string::npos);
}

TEST_CASE("failures of any layer map to S3 codes by condition", "[api][s3][error]")
{
    CHECK(to_s3_error(util::failure(util::error::invalid_hex, "x")).status == 400);
    CHECK(to_s3_error(util::failure(util::error::timeout, "x")).code == "ServiceUnavailable");
    CHECK(to_s3_error(util::failure(util::error::decode_error, "x")).status == 500);
    CHECK(s3_error::not_implemented("PutBucketPolicy").status == 501);
}

TEST_CASE("malformed XML bodies are rejected with a position", "[api][s3][xml]")
{
    pugi::xml_document doc;
    auto r = parse_xml(doc, "<Delete><Object><Key>a</Key></Delete>");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message.find("MalformedXML") != std::string::npos);
    CHECK(parse_xml(doc, "<Delete><Quiet>true</Quiet></Delete>").has_value());
}
} // namespace
