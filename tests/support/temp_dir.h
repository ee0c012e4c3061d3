// A scratch directory for one test, removed when the test ends.
#pragma once

#include <string>

namespace hvkit::testing {

class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    // (path)/(name)
    std::string Sub(const std::string& name) const { return path_ + "/" + name; }

  private:
    std::string path_;
};

// Writes (contents) to (path), creating parent directories; aborts the test on failure.
void WriteTestFile(const std::string& path, const std::string& contents);
// Reads (path) whole; aborts the test on failure.
std::string ReadTestFile(const std::string& path);

}  // namespace hvkit::testing
