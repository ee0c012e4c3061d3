// hvpkg: builds, signs, verifies, inspects and extracts hvkit update packages.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"

namespace {

constexpr const char* kHelp = R"(usage: hvpkg COMMAND [ARGS]

Build, sign, verify, inspect and extract hvkit update packages (.hvpkg).
Format and rules: docs/package-format.md.

Keys and trust:
  hvpkg keygen --out KEY.json
      New Ed25519 signing key KEY.json (mode 0600) and its public key KEY.pub.json.
  hvpkg trust --key A.pub.json [--key B.pub.json ...] [--threshold N] --out TRUST.json
      Trust store: packages need valid signatures from N (default 1) distinct keys.

Publishing:
  hvpkg build RECIPE.json [--key KEY.json ...] --out PKG.hvpkg
              [--compression zstd|xz] [--level N]
      Package the files a recipe names (paths relative to the recipe), signed
      by each --key. Without --key the package is unsigned until hvpkg sign.
  hvpkg sign PKG.hvpkg --key KEY.json [--key ...]
      Add signatures; the package is checked against its manifest and rewritten
      atomically.

Consuming:
  hvpkg verify PKG.hvpkg --trust TRUST.json [POLICY]
      Check signatures, every entry, size and SHA-256; writes nothing.
  hvpkg extract PKG.hvpkg --trust TRUST.json --dest DIR [--component C ...] [POLICY]
      Verify and extract into DIR, which must not exist; it appears complete or
      not at all. --component limits which files are written (all are checked).
  hvpkg inspect PKG.hvpkg [--json]
      Show the manifest, signature key IDs and files, and whether the content
      matches the manifest. Signatures are NOT verified.

POLICY:
  --installed-version V     refuse unless the package may replace version V
                            (V >= min_installed_version and V < the package version)
  --allow-setuid C          components whose files may be setuid/setgid
                            (repeatable; default guest-extension; "none" for none)

Components: hypervisor, guest-extension, filter-module, config.

Exit status:
  0  success
  1  failure: verification failed, the package was refused, or an I/O error
  2  usage error
)";

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return hvpkg::Usage("missing command");
    std::string command = argv[1];
    std::vector<std::string> rest(argv + 2, argv + argc);
    if (command == "--help" || command == "-h" || command == "help") {
        fputs(kHelp, stdout);
        return hvpkg::kExitOk;
    }
    struct Entry {
        const char* name;
        int (*run)(const std::vector<std::string>&);
    };
    static const Entry kCommands[] = {
        {"keygen", hvpkg::RunKeygen},   {"trust", hvpkg::RunTrust},
        {"build", hvpkg::RunBuild},     {"sign", hvpkg::RunSign},
        {"verify", hvpkg::RunVerify},   {"inspect", hvpkg::RunInspect},
        {"extract", hvpkg::RunExtract},
    };
    for (const auto& entry : kCommands) {
        if (command != entry.name) continue;
        for (const auto& arg : rest) {
            if (arg == "--help" || arg == "-h") {
                fputs(kHelp, stdout);
                return hvpkg::kExitOk;
            }
        }
        return entry.run(rest);
    }
    return hvpkg::Usage("unknown command '" + command + "'");
}
