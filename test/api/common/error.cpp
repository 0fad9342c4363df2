// Test that header file is self-contained.
#include <garage/api/common/error.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <string>

namespace {
using namespace garage;
using garage::api::error;

TEST_CASE("api errors have the garage.api category and a message", "[api][error]")
{
    util::error_code const ec = error::signature_does_not_match;
    CHECK(std::string(ec.category().name()) == "garage.api");
    CHECK(ec.message() == "signature does not match");
    CHECK(util::failure(error::chunk_format_error, "Chunk format error: x").message ==
          "Chunk format error: x");
}

TEST_CASE("api errors map to generic conditions", "[api][error]")
{
    CHECK(util::error_code(error::signature_does_not_match) == util::condition::forbidden);
    CHECK(util::error_code(error::request_time_too_skewed) == util::condition::forbidden);
    CHECK(util::error_code(error::expired_presigned) == util::condition::forbidden);
    CHECK(util::error_code(error::anonymous_access) == util::condition::forbidden);
    CHECK(util::error_code(error::authorization_header_malformed) == util::condition::bad_request);
    CHECK(util::error_code(error::incomplete_body) == util::condition::bad_request);
    CHECK(util::error_code(error::invalid_digest) == util::condition::bad_request);
    CHECK(util::error_code(error::chunk_format_error) != util::condition::forbidden);
}

TEST_CASE("every api error has an S3 code and a status consistent with its condition", "[api][error]")
{
    std::set<std::string> messages;
    for (int v = static_cast<int>(error::anonymous_access); v <= static_cast<int>(error::multiple_checksums);
         ++v) {
        auto const e = static_cast<error>(v);
        util::error_code const ec = e;
        INFO(ec.message());
        CHECK(api::s3_error_code(e) != "InternalError");
        CHECK(ec.message() != "unknown api error");
        messages.insert(ec.message());
        unsigned const status = api::http_status(e);
        if (ec == util::condition::forbidden) {
            CHECK(status == 403);
        } else {
            CHECK(ec == util::condition::bad_request);
            CHECK(status == 400);
        }
    }
    // Every code says something different.
    CHECK(messages.size() == static_cast<std::size_t>(error::multiple_checksums));
    CHECK(api::s3_error_code(error::authorization_header_malformed) == "AuthorizationHeaderMalformed");
    CHECK(api::s3_error_code(error::request_time_too_skewed) == "RequestTimeTooSkewed");
    CHECK(api::s3_error_code(error::invalid_access_key_id) == "InvalidAccessKeyId");
}

} // namespace
