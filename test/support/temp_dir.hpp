#pragma once
// A temporary directory removed with everything in it when the object dies.

#include <filesystem>
#include <random>
#include <string>

namespace garage::test {

class temp_dir {
public:
    temp_dir()
    {
        auto base = std::filesystem::temp_directory_path();
        if (char const* t = std::getenv("TEST_TMPDIR")) {
            base = t;
        }
        std::random_device rd;
        for (;;) {
            path_ = base / ("garage-test-" + std::to_string(rd()));
            if (std::filesystem::create_directories(path_)) {
                break;
            }
        }
    }
    temp_dir(temp_dir const&) = delete;
    temp_dir& operator=(temp_dir const&) = delete;
    ~temp_dir()
    {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    std::filesystem::path const& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
};

} // namespace garage::test
