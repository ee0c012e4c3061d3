// hvrepo: creates, publishes and serves a TUF 1.0 repository (see
// docs/repository-format.md). The commands live in commands.cc and serve.cc.
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"

namespace {

constexpr const char* kUsage = R"(usage: hvrepo COMMAND REPO [options]

commands:
  init REPO [--threshold ROLE=N]... [--keys-per-role ROLE=N]... [--expires ROLE=DAYS]...
        create a repository: keys for root, targets, snapshot and timestamp,
        root v1 (self-signed) and empty targets, snapshot and timestamp v1
        (expiry defaults: root 365 days, targets 90, snapshot 7, timestamp 1)
  add REPO FILE [--name TARGET/PATH] [--custom JSON]
        stage FILE as a target (stored as targets/DIR/SHA256.NAME)
  remove REPO TARGET/PATH
        stage the removal of a published target
  publish REPO
        release the staged targets; always renews snapshot and timestamp
  rotate-key REPO --role ROLE [--revoke KEYID]... [--add]... [--threshold N]
        new root version with ROLE's keys changed (no --revoke/--add/--threshold:
        replace all of ROLE's keys); re-signs the roles that depend on them
  renew-root REPO
        new root version with the same keys and a fresh expiry
  status REPO [--json]
        versions, expiry, keys per role, published and staged targets
  serve REPO [--port P] [--bind ADDR] [--quiet]
        serve REPO/metadata on port P and REPO/targets on port P+1 over HTTP
        (development only; default: two free ports, printed at start)

every command takes --keys DIR: where the private keys are (default: the
directory given at init, REPO/keys unless --keys was given there).

exit status: 0 success, 1 failure, 2 bad command line
)";

using Command = int (*)(const std::vector<std::string>&);

}  // namespace

int main(int argc, char** argv) {
    const std::map<std::string, Command> commands = {
        {"init", hvrepo_cli::RunInit},
        {"add", hvrepo_cli::RunAdd},
        {"remove", hvrepo_cli::RunRemove},
        {"publish", hvrepo_cli::RunPublish},
        {"rotate-key", hvrepo_cli::RunRotateKey},
        {"renew-root", hvrepo_cli::RunRenewRoot},
        {"status", hvrepo_cli::RunStatus},
        {"serve", hvrepo_cli::RunServe},
    };
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
        !std::strcmp(argv[1], "help")) {
        std::cout << kUsage;
        return argc < 2 ? hvrepo_cli::kExitUsage : hvrepo_cli::kExitOk;
    }
    auto command = commands.find(argv[1]);
    if (command == commands.end()) {
        return hvrepo_cli::UsageError(std::string("unknown command '") + argv[1] + "'");
    }
    return command->second(std::vector<std::string>(argv + 2, argv + argc));
}
