#include "cli.h"

#include <cstdio>

namespace hvpkg {

int Fail(const hvkit::Status& status) {
    fprintf(stderr, "hvpkg: %s\n", status.message().c_str());
    return kExitFailed;
}

int Usage(const std::string& message) {
    fprintf(stderr, "hvpkg: %s\nTry 'hvpkg --help'.\n", message.c_str());
    return kExitUsage;
}

}  // namespace hvpkg
