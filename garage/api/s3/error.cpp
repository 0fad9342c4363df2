#include <garage/api/s3/error.hpp>

#include <garage/api/s3/xml.hpp>

namespace garage::api::s3 {

s3_error to_s3_error(util::failure const& f)
{
    using util::condition;
    if (f.is(condition::bad_request)) {
        return s3_error::invalid_request("Bad request: " + f.message);
    }
    if (f.is(condition::forbidden)) {
        return s3_error::access_denied("Forbidden: " + f.message);
    }
    if (f.is(condition::not_found)) {
        return {"NoSuchKey", 404, f.message};
    }
    if (f.is(condition::conflict)) {
        return {"OperationAborted", 409, f.message};
    }
    if (f.is(condition::precondition_failed)) {
        return {"PreconditionFailed", 412, f.message};
    }
    if (f.is(condition::quorum_not_reached) || f.is(condition::unavailable)) {
        return {"ServiceUnavailable", 503, f.message};
    }
    return s3_error::internal("Internal error: " + f.message);
}

std::string error_xml(s3_error const& e, std::string_view resource, std::string_view region,
                      std::string_view request_id)
{
    xml_writer w("Error", false);
    w.text("Code", e.code);
    w.text("Message", e.message);
    w.text("Resource", resource);
    w.text("Region", region);
    w.text("RequestId", request_id);
    return w.str();
}

} // namespace garage::api::s3
