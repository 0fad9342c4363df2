#pragma once
// The answer of an admin API endpoint and the JSON error bodies (shared by the endpoints).

#include <garage/model/error.hpp>
#include <garage/util/error.hpp>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <optional>
#include <string>

namespace garage::api::admin::detail {

namespace json = boost::json;
namespace beast_http = boost::beast::http;

/// An admin API answer: a status and a JSON body (or none for 204).
struct reply {
    unsigned status = 200;
    std::optional<json::value> body;
    std::optional<std::string> text{}; ///< a non-JSON body sent as is (`/metrics`), with `content_type`
    std::string content_type{};
};

inline reply error_reply(unsigned status, std::string code, std::string message)
{
    return {status, json::value{{"code", std::move(code)}, {"message", std::move(message)}}};
}

inline reply from_failure(util::failure const& f)
{
    using util::condition;
    if (f.is(condition::not_found)) {
        return error_reply(404, f.code == model::error::no_such_key ? "NoSuchKey" : "NoSuchBucket",
                           f.message);
    }
    if (f.is(condition::conflict)) {
        return error_reply(
            409, f.code == model::error::bucket_not_empty ? "BucketNotEmpty" : "BucketAlreadyExists",
            f.message);
    }
    if (f.is(condition::bad_request)) {
        return error_reply(400, "InvalidRequest", "Bad request: " + f.message);
    }
    if (f.is(condition::forbidden)) {
        return error_reply(403, "AccessDenied", f.message);
    }
    return error_reply(500, "InternalError", f.message);
}

} // namespace garage::api::admin::detail
