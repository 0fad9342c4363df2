#include <garage/model/error.hpp>

namespace garage::model {
namespace {

class model_category_impl final : public boost::system::error_category {
public:
    char const* name() const noexcept override { return "garage.model"; }
    std::string message(int ev) const override
    {
        switch (static_cast<error>(ev)) {
        case error::invalid_key_id:
            return "invalid access key id";
        case error::invalid_secret_key:
            return "invalid secret key";
        case error::corrupt_counter:
            return "local counter entry cannot be decoded";
        case error::invalid_bucket_name:
            return "invalid bucket name";
        case error::bucket_already_exists:
            return "bucket already exists";
        case error::no_such_bucket:
            return "bucket not found";
        case error::no_such_key:
            return "access key not found";
        case error::bucket_not_empty:
            return "bucket not empty";
        }
        return "unknown model error";
    }
    boost::system::error_condition default_error_condition(int ev) const noexcept override
    {
        switch (static_cast<error>(ev)) {
        case error::invalid_key_id:
        case error::invalid_secret_key:
            return util::condition::bad_request;
        case error::corrupt_counter:
            return util::condition::corrupt_data;
        case error::invalid_bucket_name:
            return util::condition::bad_request;
        case error::bucket_already_exists:
        case error::bucket_not_empty:
            return util::condition::conflict;
        case error::no_such_bucket:
        case error::no_such_key:
            return util::condition::not_found;
        }
        return util::condition::internal;
    }
};

} // namespace

boost::system::error_category const& model_category() noexcept
{
    static model_category_impl const instance;
    return instance;
}

} // namespace garage::model
