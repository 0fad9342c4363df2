#include <garage/api/common/error.hpp>

namespace garage::api {
namespace {

using util::condition;

class api_category_impl final : public boost::system::error_category {
public:
    char const* name() const noexcept override { return "garage.api"; }

    std::string message(int ev) const override
    {
        switch (static_cast<error>(ev)) {
        case error::anonymous_access:
            return "anonymous access is not supported";
        case error::unsupported_algorithm:
            return "unsupported authorization algorithm";
        case error::authorization_header_malformed:
            return "authorization header malformed";
        case error::authorization_query_malformed:
            return "authorization query parameters malformed";
        case error::missing_security_header:
            return "missing required security header";
        case error::unsigned_header:
            return "a header that must be signed is not signed";
        case error::missing_signed_header:
            return "a signed header is missing from the request";
        case error::invalid_date:
            return "invalid request date";
        case error::request_time_too_skewed:
            return "request time too skewed";
        case error::expired_presigned:
            return "request has expired";
        case error::invalid_expires:
            return "invalid X-Amz-Expires";
        case error::invalid_content_sha256:
            return "invalid x-amz-content-sha256";
        case error::invalid_access_key_id:
            return "no such access key";
        case error::signature_does_not_match:
            return "signature does not match";
        case error::access_denied:
            return "access denied";
        case error::conflicting_query_header:
            return "conflicting values in query parameters and request headers";
        case error::invalid_argument:
            return "invalid argument";
        case error::chunk_format_error:
            return "aws-chunked format error";
        case error::chunk_signature_mismatch:
            return "invalid payload chunk signature";
        case error::incomplete_body:
            return "unexpected end of request body";
        case error::decoded_length_mismatch:
            return "decoded content length mismatch";
        case error::missing_trailer:
            return "missing trailer";
        case error::invalid_content_encoding:
            return "content-encoding does not contain aws-chunked";
        case error::invalid_digest:
            return "checksum verification failed";
        case error::invalid_checksum_algorithm:
            return "invalid checksum algorithm";
        case error::invalid_checksum_value:
            return "invalid checksum value";
        case error::multiple_checksums:
            return "multiple x-amz-checksum-* headers given";
        }
        return "unknown api error";
    }

    boost::system::error_condition default_error_condition(int ev) const noexcept override
    {
        switch (static_cast<error>(ev)) {
        case error::anonymous_access:
        case error::request_time_too_skewed:
        case error::expired_presigned:
        case error::invalid_access_key_id:
        case error::signature_does_not_match:
        case error::access_denied:
        case error::chunk_signature_mismatch:
            return condition::forbidden;
        case error::unsupported_algorithm:
        case error::authorization_header_malformed:
        case error::authorization_query_malformed:
        case error::missing_security_header:
        case error::unsigned_header:
        case error::missing_signed_header:
        case error::invalid_date:
        case error::invalid_expires:
        case error::invalid_content_sha256:
        case error::conflicting_query_header:
        case error::invalid_argument:
        case error::chunk_format_error:
        case error::incomplete_body:
        case error::decoded_length_mismatch:
        case error::missing_trailer:
        case error::invalid_content_encoding:
        case error::invalid_digest:
        case error::invalid_checksum_algorithm:
        case error::invalid_checksum_value:
        case error::multiple_checksums:
            return condition::bad_request;
        }
        return condition::internal;
    }
};

} // namespace

boost::system::error_category const& api_category() noexcept
{
    static api_category_impl const instance;
    return instance;
}

std::string_view s3_error_code(error e) noexcept
{
    switch (e) {
    case error::anonymous_access:
    case error::access_denied:
    case error::expired_presigned:
        return "AccessDenied";
    case error::unsupported_algorithm:
    case error::invalid_expires:
    case error::authorization_query_malformed:
        return "AuthorizationQueryParametersError";
    case error::authorization_header_malformed:
        return "AuthorizationHeaderMalformed";
    case error::missing_security_header:
        return "MissingSecurityHeader";
    case error::unsigned_header:
    case error::missing_signed_header:
    case error::conflicting_query_header:
    case error::invalid_content_encoding:
    case error::chunk_format_error:
        return "InvalidRequest";
    case error::invalid_date:
    case error::invalid_content_sha256:
    case error::invalid_argument:
    case error::invalid_checksum_algorithm:
    case error::invalid_checksum_value:
    case error::multiple_checksums:
        return "InvalidArgument";
    case error::request_time_too_skewed:
        return "RequestTimeTooSkewed";
    case error::invalid_access_key_id:
        return "InvalidAccessKeyId";
    case error::signature_does_not_match:
    case error::chunk_signature_mismatch:
        return "SignatureDoesNotMatch";
    case error::missing_trailer:
        return "MalformedTrailerError";
    case error::incomplete_body:
    case error::decoded_length_mismatch:
        return "IncompleteBody";
    case error::invalid_digest:
        return "InvalidDigest";
    }
    return "InternalError";
}

unsigned http_status(error e) noexcept
{
    switch (e) {
    case error::anonymous_access:
    case error::access_denied:
    case error::expired_presigned:
    case error::request_time_too_skewed:
    case error::invalid_access_key_id:
    case error::signature_does_not_match:
    case error::chunk_signature_mismatch:
        return 403;
    default:
        return 400;
    }
}

} // namespace garage::api
