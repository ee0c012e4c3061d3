#include "args.h"

#include <cerrno>
#include <cstdlib>

namespace hvrepo_cli {

using hvkit::Error;
using hvkit::ErrorCode;

hvkit::Status ParseRoleNumber(const std::string& option, const std::string& text,
                              std::map<std::string, int64_t>& out) {
    auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0) {
        return Error(ErrorCode::kInvalidArgument,
                     option + " " + text + ": expected ROLE=N, e.g. " + option + " root=2");
    }
    HVKIT_ASSIGN_OR_RETURN(int64_t n, ParseInteger(option + " " + text.substr(0, eq),
                                                   text.substr(eq + 1), 0, 1000000));
    out[text.substr(0, eq)] = n;
    return hvkit::Status::Ok();
}

}  // namespace hvrepo_cli
