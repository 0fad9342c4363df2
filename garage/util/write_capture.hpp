#pragma once
/** @file
    `write_capture`: records what the local writes of one request stored, so that the request
    can send the same entries and blocks to the other nodes that store them before it answers.
*/

#include <garage/util/bytes32.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace garage::util {

/// One table entry written on this node, as stored (its merged value, encoded).
struct captured_entry {
    std::string_view table; ///< the table's name (a static string: `Schema::table_name`)
    util::hash32 partition; ///< the partition hash of its key (which nodes store it)
    std::string bytes;      ///< the stored entry, encoded as the table encodes it
};

/// One block written on this node, as stored.
struct captured_block {
    util::hash32 hash;         ///< the block's hash
    std::uint8_t encoding = 0; ///< its encoding (`block::block_encoding`)
    std::string bytes;         ///< its stored bytes
};

/** What the writes made on one thread while a @ref write_capture_scope was open stored.

    The local layers (a table's merge, the block manager's writes) append to the capture of
    the calling thread, if any (@ref write_capture::current); a cluster node then sends what
    was captured to the other nodes of each entry's and block's write sets. Scopes are opened
    around synchronous code only (a storage transaction, a block write), never across a
    suspension point, so a capture never sees another request's writes.

    @par Thread Safety
    A capture is used by one thread at a time.
*/
struct write_capture {
    std::vector<captured_entry> entries; ///< entries, in the order written
    std::vector<captured_block> blocks;  ///< blocks, in the order written

    /// @return Whether nothing was captured.
    bool empty() const noexcept { return entries.empty() && blocks.empty(); }

    /** Moves what `other` captured to the end of this capture.
        @param other The capture emptied. */
    void append(write_capture&& other)
    {
        for (auto& e : other.entries) {
            entries.push_back(std::move(e));
        }
        for (auto& b : other.blocks) {
            blocks.push_back(std::move(b));
        }
        other.entries.clear();
        other.blocks.clear();
    }

    /// @return The capture of the calling thread, or null when no scope is open on it.
    static write_capture*& current() noexcept
    {
        thread_local write_capture* cur = nullptr;
        return cur;
    }
};

/** Opens a capture on the calling thread for its lifetime (restoring the previous one after).
    Open it only around code that does not suspend. */
class write_capture_scope {
public:
    /// @param into Where the writes of this thread are recorded until the scope ends.
    explicit write_capture_scope(write_capture& into) noexcept : prev_(write_capture::current())
    {
        write_capture::current() = &into;
    }
    ~write_capture_scope() { write_capture::current() = prev_; }
    write_capture_scope(write_capture_scope const&) = delete;
    write_capture_scope& operator=(write_capture_scope const&) = delete;

private:
    write_capture* prev_;
};

} // namespace garage::util
