// Test that header file is self-contained.
#include <garage/api/s3/router.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage::api::s3;

route must(std::string_view method, std::string_view target, std::string_view host = "",
           std::string_view root = "", bool copy = false)
{
    auto r = route_request(method, host, target, root, copy);
    INFO(std::string(method) << " " << std::string(target));
    REQUIRE(r.has_value());
    return *r;
}

TEST_CASE("the router finds service, bucket and object endpoints in path style", "[api][s3][router]")
{
    CHECK(must("GET", "/").ep == endpoint::list_buckets);
    CHECK(must("OPTIONS", "/b/k").ep == endpoint::options);
    CHECK(must("PUT", "/b").ep == endpoint::create_bucket);
    CHECK(must("PUT", "/b/").ep == endpoint::create_bucket);
    CHECK(must("DELETE", "/b").ep == endpoint::delete_bucket);
    CHECK(must("HEAD", "/b").ep == endpoint::head_bucket);
    CHECK(must("GET", "/b").ep == endpoint::list_objects);
    CHECK(must("GET", "/b?list-type=2&prefix=a%2Fb").ep == endpoint::list_objects_v2);
    CHECK(must("GET", "/b?list-type=2&prefix=a%2Fb").param("prefix") == "a/b");
    CHECK(must("GET", "/b?uploads").ep == endpoint::list_multipart_uploads);
    CHECK(must("GET", "/b?versions").ep == endpoint::list_object_versions);
    CHECK(must("GET", "/b?location").ep == endpoint::get_bucket_location);
    CHECK(must("GET", "/b?versioning").ep == endpoint::get_bucket_versioning);
    CHECK(must("GET", "/b?website").ep == endpoint::get_bucket_website);
    CHECK(must("PUT", "/b?cors").ep == endpoint::put_bucket_cors);
    CHECK(must("DELETE", "/b?lifecycle").ep == endpoint::delete_bucket_lifecycle);
    CHECK(must("POST", "/b?delete").ep == endpoint::delete_objects);
    CHECK(must("POST", "/b").ep == endpoint::post_object);

    auto get = must("GET", "/b/dir/a%20file.txt?response-content-type=text%2Fplain");
    CHECK(get.ep == endpoint::get_object);
    CHECK(get.bucket == "b");
    CHECK(get.key == "dir/a file.txt");
    CHECK(get.param("response-content-type") == "text/plain");
    CHECK(must("GET", "/b/k?uploadId=u1").ep == endpoint::list_parts);
    CHECK(must("HEAD", "/b/k").ep == endpoint::head_object);
    CHECK(must("PUT", "/b/k").ep == endpoint::put_object);
    CHECK(must("PUT", "/b/k", "", "", true).ep == endpoint::copy_object);
    CHECK(must("PUT", "/b/k?partNumber=2&uploadId=u").ep == endpoint::upload_part);
    CHECK(must("PUT", "/b/k?partNumber=2&uploadId=u", "", "", true).ep == endpoint::upload_part_copy);
    CHECK(must("POST", "/b/k?uploads").ep == endpoint::create_multipart_upload);
    CHECK(must("POST", "/b/k?uploadId=u").ep == endpoint::complete_multipart_upload);
    CHECK(must("DELETE", "/b/k?uploadId=u").ep == endpoint::abort_multipart_upload);
    CHECK(must("DELETE", "/b/k").ep == endpoint::delete_object);
    CHECK(must("GET", "/b//k").key == "/k"); // only the first slash separates bucket and key
}

TEST_CASE("unsupported sub-resources are recognised and named, not taken for plain requests",
          "[api][s3][router]")
{
    auto r = must("PUT", "/b?policy");
    CHECK(r.ep == endpoint::not_implemented);
    CHECK(r.unsupported == "PutBucketPolicy");
    CHECK(must("GET", "/b?tagging").unsupported == "GetBucketTagging");
    CHECK(must("GET", "/b/k?tagging").unsupported == "GetObjectTagging");
    CHECK(must("PUT", "/b/k?acl").unsupported == "PutObjectAcl");
    CHECK(must("DELETE", "/b?encryption").unsupported == "DeleteBucketEncryption");
    CHECK(must("POST", "/b/k?select&select-type=2").unsupported == "SelectObjectContent");
    CHECK(must("GET", "/b/k?attributes").unsupported == "GetObjectAttributes");
    CHECK(must("GET", "/b/k?attributes").ep == endpoint::not_implemented);
    CHECK(name(endpoint::list_objects_v2) == "ListObjectsV2");
}

TEST_CASE("virtual-hosted style takes the bucket from the Host header", "[api][s3][router]")
{
    auto r = must("GET", "/photos/cat.jpg", "my.bucket.s3.garage.localhost:3900", ".s3.garage.localhost");
    CHECK(r.vhost);
    CHECK(r.bucket == "my.bucket");
    CHECK(r.key == "photos/cat.jpg");
    auto p =
        must("GET", "/b/k", "s3.garage.localhost", ".s3.garage.localhost"); // the root itself: path style
    CHECK_FALSE(p.vhost);
    CHECK(p.bucket == "b");
    CHECK(host_to_bucket("B.S3.Example.COM", "s3.example.com") == "b");
    CHECK(host_to_bucket("[::1]:3900", "s3.example.com") == std::nullopt);
    CHECK(host_to_bucket("evils3.example.com", "s3.example.com") == std::nullopt);
    auto no_host = route_request("GET", "", "/b/k", "s3.example.com", false);
    REQUIRE_FALSE(no_host.has_value());
    CHECK(no_host.error().code == route_error::missing_host);
}

TEST_CASE("the router rejects bad methods, encodings, duplicates and list types", "[api][s3][router]")
{
    auto code = [](std::string_view m, std::string_view t) {
        auto r = route_request(m, "", t, "", false);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().is(garage::util::condition::bad_request));
        return r.error().code;
    };
    CHECK(code("PATCH", "/b/k") == route_error::unknown_method);
    CHECK(code("GET", "/b/%zz") == route_error::bad_encoding);
    CHECK(code("GET", "/b/%e2%82") == route_error::bad_encoding); // truncated UTF-8
    CHECK(code("GET", "/b/%c0%af") == route_error::bad_encoding); // overlong
    CHECK(code("GET", "/b/k%") == route_error::bad_encoding);
    CHECK(code("GET", "/b?prefix=a&prefix=b") == route_error::duplicate_query_param);
    CHECK(code("GET", "/b?list-type=3") == route_error::invalid_endpoint);
    CHECK(code("PUT", "/") == route_error::invalid_endpoint);
    CHECK(percent_decode("%E2%82%AC+x").value() == "\xE2\x82\xAC+x");
}
} // namespace
