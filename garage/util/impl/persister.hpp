#pragma once

#include <cereal/archives/portable_binary.hpp>

#include <exception>
#include <sstream>
#include <string>

namespace garage::util {

template <class T>
result<std::optional<T>> persister<T>::load() const
{
    auto raw = detail::read_whole_file(path_);
    if (!raw) {
        return raw.error();
    }
    if (!*raw) {
        return std::optional<T>();
    }
    std::size_t const size = (*raw)->size();
    std::istringstream in(std::move(**raw));
    std::optional<T> value(std::in_place);
    try {
        cereal::PortableBinaryInputArchive ar(in);
        ar(*value);
    } catch (std::exception const& e) {
        // cereal::Exception on truncation; std::length_error / bad_alloc on absurd sizes.
        return failure(error::decode_error, "cannot decode " + path_.string() + ": " + e.what());
    }
    auto const consumed = in.tellg();
    if (consumed < 0 || static_cast<std::size_t>(consumed) != size) {
        return failure(error::decode_error,
                       "cannot decode " + path_.string() + ": trailing bytes after the value");
    }
    return value;
}

template <class T>
result<void> persister<T>::save(T const& value) const
{
    std::ostringstream out;
    try {
        cereal::PortableBinaryOutputArchive ar(out);
        ar(value);
    } catch (std::exception const& e) {
        return failure(error::io_error, "cannot encode a value for " + path_.string() + ": " + e.what());
    }
    return detail::write_file_atomic(path_, std::move(out).str());
}

} // namespace garage::util
