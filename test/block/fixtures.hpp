#pragma once
// Shared helpers of the block tests: a metadata DB of either backend in a temporary
// directory, block options over data directories inside it, data and file helpers.

#include <garage/block/manager.hpp>
#include <garage/storage/lmdb_backend.hpp>
#include <garage/storage/memory_backend.hpp>
#include <garage/util/hasher.hpp>

#include <test/support/temp_dir.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace garage::test {

namespace fs = std::filesystem;

/// Incompressible bytes, the same for the same seed.
inline std::string random_data(std::size_t size, std::uint32_t seed)
{
    std::mt19937 gen(seed);
    std::string s(size, '\0');
    for (auto& c : s) {
        c = static_cast<char>(gen() & 0xff);
    }
    return s;
}

/// Compressible bytes (text-like), distinct per seed.
inline std::string text_data(std::size_t size, std::uint32_t seed)
{
    static constexpr char const* words[] = {"garage ", "block ", "object ", "bucket ", "layout ", "merkle "};
    std::mt19937 gen(seed);
    std::string s = "seed " + std::to_string(seed) + ": ";
    while (s.size() < size) {
        s += words[gen() % 6];
    }
    s.resize(size);
    return s;
}

inline std::string read_file(fs::path const& p)
{
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_file(fs::path const& p, std::string const& bytes)
{
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << bytes;
}

/// Flips the bits of one byte of a file in place.
inline void flip_byte(fs::path const& p, std::size_t offset)
{
    auto s = read_file(p);
    s.at(offset) = static_cast<char>(~s.at(offset));
    write_file(p, s);
}

/// The regular files under `dir` whose name ends with `suffix` (recursively).
inline std::vector<fs::path> files_under(fs::path const& dir, std::string const& suffix = "")
{
    std::vector<fs::path> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        auto const name = it->path().filename().string();
        if (it->is_regular_file() && name.size() >= suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
            name != "garage-marker") {
            out.push_back(it->path());
        }
    }
    return out;
}

/// A metadata DB of backend `Backend` in a fresh temporary directory, and options for a
/// block manager whose data directories are under the same directory.
template <class Backend>
struct block_fixture;

template <>
struct block_fixture<storage::memory_backend> {
    temp_dir dir;
    storage::memory_backend db;
    static constexpr char const* name = "memory";
};

template <>
struct block_fixture<storage::lmdb_backend> {
    temp_dir dir;
    storage::lmdb_backend db = open(dir);
    static constexpr char const* name = "lmdb";

    static storage::lmdb_backend open(temp_dir const& d)
    {
        storage::lmdb_options o;
        o.path = d.path() / "db.lmdb";
        o.map_size = 1ull << 30;
        return std::move(storage::lmdb_backend::open(o).value());
    }
};

/// Options with one data directory `data` (a plain `data_dir` string), metadata in `meta`.
inline block::block_options single_dir_options(fs::path const& root, std::optional<int> level = 1)
{
    block::block_options o;
    o.data_dirs = {util::data_dir_config{root / "data", std::nullopt, false}};
    o.metadata_dir = root / "meta";
    o.compression_level = level;
    return o;
}

/// A data directory with a capacity.
inline util::data_dir_config dir_with_capacity(fs::path const& p, std::uint64_t capacity)
{
    return util::data_dir_config{p, capacity, false};
}

/// A read-only data directory.
inline util::data_dir_config read_only_dir(fs::path const& p)
{
    return util::data_dir_config{p, std::nullopt, true};
}

/// A block of `data`: its hash and bytes.
struct test_block {
    util::hash32 hash;
    std::string data;
};

inline test_block make_block(std::string data)
{
    auto h = util::blake2sum(data);
    return {h, std::move(data)};
}

} // namespace garage::test
