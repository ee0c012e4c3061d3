// hvpkg build and hvpkg sign: the publisher's side.
#include <cstdio>
#include <cstdlib>

#include "cli.h"
#include "commands.h"
#include "hvkit/package/recipe.h"
#include "hvkit/package/sign.h"
#include "shared_options.h"

namespace hvpkg {

using namespace hvkit;

int RunBuild(const std::vector<std::string>& argv) {
    auto args = ParseArgs(argv, {.value_options = {"--key", "--out", "--compression", "--level"},
                                 .flags = {},
                                 .positional = 1});
    if (!args.ok()) return Usage("build: " + args.status().message());
    auto out = args->Required("--out");
    if (!out.ok()) return Usage("build: " + out.status().message());
    WriterOptions options;
    auto compression = args->One("--compression");
    auto level = args->One("--level");
    if (!compression.ok()) return Usage("build: " + compression.status().message());
    if (!level.ok()) return Usage("build: " + level.status().message());
    if (*compression) {
        auto c = ParseCompression(**compression, "--compression");
        if (!c.ok() || *c == Compression::kNone) return Usage("build: --compression is zstd or xz");
        options.compression = *c;
    }
    if (*level) {
        char* end = nullptr;
        long n = strtol((*level)->c_str(), &end, 10);
        if ((*level)->empty() || *end != '\0' || n < 1 || n > 22) {
            return Usage("build: --level must be a number from 1 to 22 (xz: 0 to 9)");
        }
        options.level = static_cast<int>(n);
    }
    auto keys = LoadSigningKeys(*args);
    if (!keys.ok()) return Fail(keys.status());
    auto recipe = LoadRecipe(args->positional[0]);
    if (!recipe.ok()) return Fail(recipe.status());
    auto manifest = BuildPackage(*recipe, *keys, *out, options);
    if (!manifest.ok()) return Fail(manifest.status());
    printf("built %s: %s %s, %zu files, %llu bytes, %zu signature(s)\n", out->c_str(),
           manifest->name.c_str(), manifest->version.ToString().c_str(), manifest->files.size(),
           static_cast<unsigned long long>(manifest->TotalBytes()), keys->size());
    if (keys->empty()) {
        printf("note: the package is unsigned; add signatures with hvpkg sign %s --key KEY.json\n",
               out->c_str());
    }
    return kExitOk;
}

int RunSign(const std::vector<std::string>& argv) {
    auto args = ParseArgs(argv, {.value_options = {"--key"}, .flags = {}, .positional = 1});
    if (!args.ok()) return Usage("sign: " + args.status().message());
    if (args->All("--key").empty()) return Usage("sign: give at least one --key KEY.json");
    auto keys = LoadSigningKeys(*args);
    if (!keys.ok()) return Fail(keys.status());
    auto info = SignPackageFile(args->positional[0], *keys);
    if (!info.ok()) return Fail(info.status());
    printf("signed %s: %s, now %zu signature(s)\n", args->positional[0].c_str(),
           DescribePackage(*info).c_str(), info->envelope.signatures.size());
    return kExitOk;
}

}  // namespace hvpkg
