#include "directory_fetcher.h"

#include "hvkit/fs.h"

namespace hvkit::testing {

Result<std::string> DirectoryFetcher::Fetch(const std::string& url, const FetchOptions& options) {
    ++fetches_;
    for (const auto& [prefix, dir] : mounts_) {
        if (url.compare(0, prefix.size(), prefix) != 0) continue;
        const std::string rest = url.substr(prefix.size());
        if (rest.find("..") != std::string::npos) {
            return Error(ErrorCode::kNotFound, url + ": refusing '..' in a test URL");
        }
        auto bytes = ReadFile(dir + "/" + rest, static_cast<size_t>(options.max_bytes));
        if (!bytes.ok()) return bytes.status().WithContext(url);
        return bytes;
    }
    return Error(ErrorCode::kNotFound, url + ": no directory is mapped for this URL");
}

Status DirectoryFetcher::FetchToFile(const std::string& url, const std::string& path,
                                     const FetchOptions& options) {
    HVKIT_ASSIGN_OR_RETURN(std::string bytes, Fetch(url, options));
    if (options.progress) options.progress(static_cast<int64_t>(bytes.size()), options.max_bytes);
    return WriteFileAtomic(path, bytes);
}

}  // namespace hvkit::testing
