// hvchan-push: a test program that hands a package straight to the
// hypervisor, skipping every check the agent makes (no TUF, no trust store,
// no version rule), so tests can show that hvmm refuses on its own what the
// agent would have refused. Not installed in production images.
//
//   hvchan-push PACKAGE [--commit]
//
// Prints each call's outcome; exit 0 when every call succeeded, 3 when the
// hypervisor refused one (the status name is printed), 1 on other failures.
#include <cstdio>

#include "hvkit/agent/host_updater.h"
#include "hvkit/cli_args.h"
#include "hvkit/json.h"
#include "hvkit/package/input.h"
#include "hvkit/package/verify.h"

using namespace hvkit;

int main(int argc, char** argv) {
    auto args = cli::ParseArgs(std::vector<std::string>(argv + 1, argv + argc),
                               {.flags = {"--commit"}, .positional = 1});
    if (!args.ok()) {
        fprintf(stderr, "hvchan-push: %s\nusage: hvchan-push PACKAGE [--commit]\n",
                args.status().message().c_str());
        return 2;
    }
    std::string path = args->positional[0];
    // The manifest as the package carries it, signatures unchecked.
    auto input = PackageInput::OpenFile(path);
    if (!input.ok())
        return fprintf(stderr, "hvchan-push: %s\n", input.status().message().c_str()), 1;
    auto info = InspectPackage(*input, false);
    if (!info.ok()) return fprintf(stderr, "hvchan-push: %s\n", info.status().message().c_str()), 1;
    auto ch = hvchan::Channel::OpenFirst();
    if (!ch.ok()) return fprintf(stderr, "hvchan-push: %s\n", ch.status().message().c_str()), 1;
    agent::HostUpdater host(**ch);
    auto report = [](const char* step, const Status& st) {
        printf("hvchan-push: %s: %s\n", step, st.ok() ? "ok" : st.message().c_str());
        if (st.ok()) return 0;
        return st.code() == ErrorCode::kIo ? 1 : 3;
    };
    // No download verified it: hash the file as it is (hvmm checks it at END).
    auto bytes = ReadFile(path, size_t{1} << 32);
    if (!bytes.ok())
        return fprintf(stderr, "hvchan-push: %s\n", bytes.status().message().c_str()), 1;
    auto session = host.Send(path, Sha256::Of(*bytes), DumpJson(info->envelope.ToJson()));
    if (int rc = report("send", session.status()); rc != 0) return rc;
    if (int rc = report("end", host.End(*session)); rc != 0) return rc;
    if (!args->Has("--commit")) return report("abort", host.Abort(*session));
    return report("commit", host.Commit(*session));
}
