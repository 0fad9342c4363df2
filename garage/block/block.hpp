#pragma once
/** @file
    A data block as stored and sent between nodes: plain bytes or a zstd frame.
*/

#include <garage/util/bytes32.hpp>
#include <garage/util/error.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace garage::block {

/// The largest plain block this layer ever handles (a sanity limit against corrupt or hostile
/// input: 256 MiB; Garage recommends block sizes up to 10 MiB).
inline constexpr std::size_t max_block_size = std::size_t(256) << 20;

/// How the bytes of a @ref garage::block::data_block are encoded (Garage's `DataBlockHeader`).
enum class block_encoding : std::uint8_t {
    plain,      ///< the block's bytes as hashed
    compressed, ///< one or more zstd frames, with frame checksums, of the block's bytes
};

/** A data block: the bytes of a file under a data directory (or of a block sent by a peer),
    with their encoding.

    A block is identified by the BLAKE2b hash of its plain bytes. The encoded form is what is
    stored and transferred; `verify` and `decode` check it against the hash.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe for const member functions.

    @par Example
    @code
    auto blk = block::data_block::encode(bytes, 1);        // zstd level 1
    auto plain = blk.decode(util::blake2sum(bytes));        // the original bytes, checked
    @endcode
*/
class data_block {
public:
    /// An empty plain block.
    data_block() = default;
    /** A block of the given encoding over `bytes` (not checked).
        @param enc   How `bytes` are encoded.
        @param bytes The encoded bytes. */
    data_block(block_encoding enc, std::string bytes) : bytes_(std::move(bytes)), encoding_(enc) {}

    /** A plain block.
        @param bytes The block's bytes.
        @return A plain block over `bytes`. */
    static data_block plain(std::string bytes) { return {block_encoding::plain, std::move(bytes)}; }
    /** A compressed block (the frames are not checked).
        @param bytes One or more zstd frames.
        @return A compressed block over `bytes`. */
    static data_block compressed(std::string bytes) { return {block_encoding::compressed, std::move(bytes)}; }

    /** Encodes `data` for storage: zstd at `compression_level` with the frame checksum on when
        that makes it smaller; plain when it would not (Garage keeps the larger compressed form;
        a large block is judged on two 32 KiB samples first, so already-compressed data costs no
        full zstd pass), when `compression_level` is `nullopt` (Garage's `compression_level =
        "none"`) or when compression fails.
        @param data The plain bytes of the block.
        @param compression_level zstd level: 0 is zstd's default (3), 1–19 normal, 20–22
               ultra, negative levels faster; out-of-range levels are clamped by zstd.
        @return The encoded block. */
    static data_block encode(std::string_view data, std::optional<int> compression_level);

    /// @return The encoding.
    block_encoding encoding() const noexcept { return encoding_; }
    /// @return True for a compressed block.
    bool is_compressed() const noexcept { return encoding_ == block_encoding::compressed; }
    /// @return The encoded bytes.
    std::string const& bytes() const& noexcept { return bytes_; }
    /// @return The encoded bytes, moved out of this block.
    std::string&& bytes() && noexcept { return std::move(bytes_); }
    /// @return The size of the encoded bytes.
    std::size_t size() const noexcept { return bytes_.size(); }

    /** Checks the block against its hash without keeping the plain bytes: a plain block's
        BLAKE2b hash must equal `hash`; a compressed block must decompress (each frame's
        checksum must match), to at most `max_plain` bytes, into bytes whose hash is `hash`.
        Decompression is streamed through a small buffer.
        @param hash      The block's hash (BLAKE2b of its plain bytes).
        @param max_plain The most plain bytes accepted.
        @return Success; `error::corrupt_block` naming the hash and what failed. */
    util::result<void> verify(util::hash32 const& hash, std::size_t max_plain = max_block_size) const;

    /** The plain bytes, checked as by `verify`.
        @param hash      The block's hash (BLAKE2b of its plain bytes).
        @param max_plain The most plain bytes accepted.
        @return The plain bytes; `error::corrupt_block` on any mismatch (the bytes are then
                never returned). */
    util::result<std::string> decode(util::hash32 const& hash, std::size_t max_plain = max_block_size) const&;
    /** The plain bytes, checked as by `verify`; a plain block's bytes are moved out instead of
        copied.
        @param hash      The block's hash (BLAKE2b of its plain bytes).
        @param max_plain The most plain bytes accepted.
        @return The plain bytes; `error::corrupt_block` on any mismatch. */
    util::result<std::string> decode(util::hash32 const& hash, std::size_t max_plain = max_block_size) &&;

    /// Equal when encodings and encoded bytes are equal (the same block may have other encodings).
    friend bool operator==(data_block const&, data_block const&) = default;

private:
    std::string bytes_;
    block_encoding encoding_ = block_encoding::plain;
};

/** Compresses `data` into one zstd frame with its content size and checksum.
    @param data  The bytes to compress, at most @ref garage::block::max_block_size.
    @param level The zstd level (as for @ref garage::block::data_block::encode).
    @return The frame; `error::block_too_large` beyond `max_block_size`; a failure of zstd
            itself (no context, a compression error) as `error::io_error` with zstd's
            message. */
util::result<std::string> zstd_compress(std::string_view data, int level);

/** Decompresses zstd frames, checking each frame's checksum, into at most `max_size` bytes.
    @param frames   One or more complete zstd frames.
    @param max_size The most bytes the output may have.
    @return The decompressed bytes; `error::corrupt_block` if the input is not a complete,
            valid sequence of frames or decompresses to more than `max_size` bytes. */
util::result<std::string> zstd_decompress(std::string_view frames, std::size_t max_size = max_block_size);

} // namespace garage::block
