#include <garage/storage/error.hpp>

namespace garage::storage {
namespace {

class storage_category_impl final : public boost::system::error_category {
public:
    char const* name() const noexcept override { return "garage.storage"; }
    std::string message(int ev) const override
    {
        switch (static_cast<error>(ev)) {
        case error::key_too_long:
            return "storage key too long";
        case error::map_full:
            return "storage map full (raise lmdb_map_size)";
        case error::tree_not_found:
            return "storage tree not found";
        case error::too_many_trees:
            return "too many storage trees";
        case error::read_only:
            return "write in a read-only storage transaction";
        case error::io_error:
            return "storage I/O error";
        case error::corrupt:
            return "storage corrupt";
        case error::aborted:
            return "storage transaction aborted";
        case error::busy:
            return "storage busy";
        case error::empty_key:
            return "empty storage key";
        case error::invalid_tree_name:
            return "invalid storage tree name";
        case error::transaction_full:
            return "storage transaction too large";
        }
        return "unknown storage error";
    }
    boost::system::error_condition default_error_condition(int ev) const noexcept override
    {
        switch (static_cast<error>(ev)) {
        case error::key_too_long:
        case error::empty_key:
        case error::invalid_tree_name:
            return util::condition::bad_request;
        case error::map_full:
        case error::too_many_trees:
        case error::busy:
        case error::transaction_full:
            return util::condition::unavailable;
        case error::tree_not_found:
            return util::condition::not_found;
        case error::io_error:
            return util::condition::io_error;
        case error::corrupt:
            return util::condition::corrupt_data;
        case error::aborted:
            return util::condition::conflict;
        case error::read_only:
            return util::condition::internal;
        }
        return util::condition::internal;
    }
};

} // namespace

boost::system::error_category const& storage_category() noexcept
{
    static storage_category_impl const instance;
    return instance;
}

} // namespace garage::storage
