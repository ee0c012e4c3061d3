// hvtuf-client: hvkit's TUF client behind the command-line interface of the
// public TUF conformance suite (exit 0 on success, 1 on failure), so hvkit can
// be run against that suite and against other implementations' repositories.
// Trusted metadata lives as "<role>.json" files in --metadata-dir, the layout
// the suite inspects.
#include <cstdio>
#include <cstring>
#include <map>
#include <string>

#include "hvkit/fs.h"
#include "hvkit/net/fetcher.h"
#include "hvkit/tuf/client.h"
#include "hvkit/tuf/trusted_store.h"
#include "hvkit/url.h"

namespace {

constexpr const char* kUsage =
    "usage: hvtuf-client --metadata-dir DIR init TRUSTED_ROOT\n"
    "       hvtuf-client --metadata-dir DIR --metadata-url URL refresh\n"
    "       hvtuf-client --metadata-dir DIR --metadata-url URL --target-name NAME\n"
    "                    --target-base-url URL --target-dir DIR download\n";

int Fail(const hvkit::Status& st) {
    fprintf(stderr, "hvtuf-client: %s\n", st.message().c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::map<std::string, std::string> opts;
    std::string command;
    std::string operand;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg.rfind("--", 0) == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "hvtuf-client: option %s needs a value\n%s", arg.c_str(), kUsage);
                return 2;
            }
            opts[arg.substr(2)] = argv[++i];
        } else if (command.empty()) {
            command = arg;
        } else {
            operand = arg;
        }
    }
    auto opt = [&](const char* name) { return opts.count(name) ? opts[name] : std::string(); };
    std::string metadata_dir = opt("metadata-dir");
    if (metadata_dir.empty() || command.empty()) {
        fputs(kUsage, stderr);
        return 2;
    }
    auto store = hvkit::tuf::MakeDirectoryTrustedStore(metadata_dir);
    auto fetcher = hvkit::MakeHttpFetcher();
    hvkit::tuf::ClientConfig config;
    config.metadata_base_url = opt("metadata-url");
    config.target_base_url = opt("target-base-url");
    hvkit::tuf::Client client(config, *fetcher, *store);

    if (command == "init") {
        auto root = hvkit::ReadFile(operand, 1 << 20);
        if (!root.ok()) return Fail(root.status());
        if (auto st = hvkit::MakeDirectories(metadata_dir); !st.ok()) return Fail(st);
        // The protocol asks for no checks here: the root is checked when used.
        if (auto st = store->Save("root", *root); !st.ok()) return Fail(st);
        return 0;
    }
    if (config.metadata_base_url.empty()) {
        fprintf(stderr, "hvtuf-client: %s needs --metadata-url\n%s", command.c_str(), kUsage);
        return 2;
    }
    if (auto st = client.Refresh(); !st.ok()) return Fail(st);
    if (command == "refresh") return 0;
    if (command == "download") {
        std::string name = opt("target-name");
        std::string dir = opt("target-dir");
        if (name.empty() || dir.empty() || config.target_base_url.empty()) {
            fputs(kUsage, stderr);
            return 2;
        }
        auto info = client.GetTargetInfo(name);
        if (!info.ok()) return Fail(info.status());
        if (auto st = hvkit::MakeDirectories(dir); !st.ok()) return Fail(st);
        if (auto st = client.DownloadTarget(*info, dir + "/" + hvkit::PercentEncode(name));
            !st.ok())
            return Fail(st);
        return 0;
    }
    fprintf(stderr, "hvtuf-client: unknown command \"%s\"\n%s", command.c_str(), kUsage);
    return 2;
}
