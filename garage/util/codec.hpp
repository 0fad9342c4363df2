#pragma once
/** @file
    Binary encoding of values with cereal's portable binary archive, into and out of byte
    strings without the copies of `std::stringstream`.

    Every persisted or transmitted structure (table entries, RPC messages) goes through
    @ref garage::util::encode and @ref garage::util::decode. A leading format byte lets a later
    version change the encoding while still reading what an older one wrote; within a format,
    types evolve through cereal class versions.
*/

#include <garage/util/error.hpp>

#include <cereal/archives/portable_binary.hpp>

#include <istream>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>

namespace garage::util {

/// The format byte that prefixes every value written by @ref encode.
inline constexpr char codec_format_v1 = '\x01';

namespace detail {

/// A write-only streambuf that appends to a `std::string`.
class string_sink final : public std::streambuf {
public:
    explicit string_sink(std::string& out) noexcept : out_(out) {}

protected:
    std::streamsize xsputn(char const* s, std::streamsize n) override
    {
        out_.append(s, static_cast<std::size_t>(n));
        return n;
    }
    int_type overflow(int_type ch) override
    {
        if (!traits_type::eq_int_type(ch, traits_type::eof())) {
            out_.push_back(traits_type::to_char_type(ch));
        }
        return traits_type::not_eof(ch);
    }

private:
    std::string& out_;
};

/// A read-only streambuf over borrowed bytes.
class view_source final : public std::streambuf {
public:
    explicit view_source(std::string_view in) noexcept
    {
        char* p = const_cast<char*>(in.data()); // never written: this buffer has no put area
        setg(p, p, p + in.size());
    }
    /// Bytes not consumed yet.
    std::size_t remaining() const noexcept { return static_cast<std::size_t>(egptr() - gptr()); }
};

} // namespace detail

/** Appends the encoding of `value` to `out`.

    @tparam T A type cereal can save (a `serialize` or `save` member or free function).
*/
template <class T>
void encode_to(T const& value, std::string& out)
{
    out.push_back(codec_format_v1);
    detail::string_sink sink(out);
    std::ostream os(&sink);
    cereal::PortableBinaryOutputArchive ar(os);
    ar(value);
}

/// The encoding of `value` as a new byte string.
template <class T>
std::string encode(T const& value)
{
    std::string out;
    encode_to(value, out);
    return out;
}

/** Decodes a value written by @ref encode.

    @return `error::decode_error` when the bytes are truncated, have trailing garbage, or carry
            an unknown format byte; the message says which.
*/
template <class T>
result<T> decode(std::string_view bytes)
{
    if (bytes.empty()) {
        return failure(error::decode_error, "empty value");
    }
    if (bytes.front() != codec_format_v1) {
        return failure(error::decode_error,
                       "unknown format byte " + std::to_string(static_cast<unsigned char>(bytes.front())));
    }
    detail::view_source src(bytes.substr(1));
    std::istream is(&src);
    T value{};
    try {
        cereal::PortableBinaryInputArchive ar(is);
        ar(value);
    } catch (std::exception const& e) {
        return failure(error::decode_error, e.what());
    }
    if (src.remaining() != 0) {
        return failure(error::decode_error, std::to_string(src.remaining()) + " trailing bytes");
    }
    return value;
}

} // namespace garage::util
