#include <garage/api/k2v/error.hpp>

#include <garage/api/common/error.hpp>
#include <garage/api/s3/error.hpp>

#include <boost/json.hpp>

namespace garage::api::k2v {

k2v_error to_k2v_error(util::failure const& f)
{
    if (f.code.category() == api::api_category()) {
        auto const e = static_cast<api::error>(f.code.value());
        return {std::string(api::s3_error_code(e)), api::http_status(e), f.message};
    }
    auto s = s3::to_s3_error(f);
    return {std::move(s.code), s.status, std::move(s.message)};
}

std::string error_json(k2v_error const& e, std::string_view path, std::string_view region)
{
    boost::json::object o;
    o["code"] = e.code;
    o["message"] = e.message;
    o["path"] = path;
    o["region"] = region;
    return boost::json::serialize(o);
}

} // namespace garage::api::k2v
