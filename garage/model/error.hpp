#pragma once
/** @file
    Errors of the model layer (category `"garage.model"`).
*/

#include <garage/util/error.hpp>

namespace garage::model {

/// The error codes of the `model` layer.
enum class error {
    invalid_key_id = 1,    ///< an access key id is not `GK` followed by 24 hexadecimal digits
    invalid_secret_key,    ///< a secret key is not 64 hexadecimal digits
    corrupt_counter,       ///< a node-local counter entry could not be decoded
    invalid_bucket_name,   ///< a bucket name breaks S3's naming rules
    bucket_already_exists, ///< a global or local alias is taken
    no_such_bucket,        ///< no bucket has that id or alias
    no_such_key,           ///< no access key has that id
    bucket_not_empty,      ///< a bucket to delete still holds objects
};

/// @return The category of @ref garage::model::error (`"garage.model"`).
boost::system::error_category const& model_category() noexcept;

/** Makes an error code of the `model` layer (found by ADL).
    @param e The error.
    @return `{e, model_category()}`. */
inline util::error_code make_error_code(error e) noexcept
{
    return {static_cast<int>(e), model_category()};
}

} // namespace garage::model

/// Registers @ref garage::model::error as an error-code enum.
template <>
struct boost::system::is_error_code_enum<garage::model::error> : std::true_type {
};
