#include "temp_dir.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "hvkit/fs.h"

namespace hvkit::testing {

TempDir::TempDir() {
    const char* base = getenv("TMPDIR");
    auto dir = MakeTempDirectory(base ? base : "/tmp", "hvkit-test-");
    if (!dir.ok()) {
        ADD_FAILURE() << dir.status().message();
        abort();
    }
    path_ = *dir;
}

TempDir::~TempDir() {
    (void)RemoveTree(path_);
}

void WriteTestFile(const std::string& path, const std::string& contents) {
    Status st = MakeDirectories(DirName(path));
    if (st.ok()) st = WriteFileAtomic(path, contents);
    if (!st.ok()) {
        ADD_FAILURE() << st.message();
        abort();
    }
}

std::string ReadTestFile(const std::string& path) {
    auto text = ReadFile(path, size_t{1} << 30);
    if (!text.ok()) {
        ADD_FAILURE() << text.status().message();
        abort();
    }
    return *text;
}

}  // namespace hvkit::testing
