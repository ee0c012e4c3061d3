// A recipe is what a publisher writes to build a package: the manifest's
// header plus, for each file, where its content comes from. See
// docs/package-format.md ("Recipes") and packages/recipes/.
#pragma once

#include <string>
#include <vector>

#include "hvkit/crypto.h"
#include "hvkit/json.h"
#include "hvkit/package/component.h"
#include "hvkit/package/manifest.h"
#include "hvkit/package/writer.h"
#include "hvkit/semver.h"
#include "hvkit/status.h"

namespace hvkit {

struct RecipeFile {
    Component component = Component::kConfig;
    std::string source{};  // file to package, resolved against the recipe's directory
    std::string path{};    // install path
    uint32_t mode = 0644;
};

struct Recipe {
    std::string name;
    SemVer version;
    SemVer min_installed_version;
    std::vector<RecipeFile> files;
};

// Parses a recipe document; relative sources are resolved against (base_dir).
// (what) names the recipe in errors.
Result<Recipe> RecipeFromJson(const Json& doc, const std::string& base_dir, std::string_view what);
// Reads the recipe file at (path); sources are relative to its directory.
Result<Recipe> LoadRecipe(const std::string& path);

// Hashes every source into a manifest (sources must be regular files).
Result<Manifest> ManifestFromRecipe(const Recipe& recipe);

// Builds the package of (recipe) at (out), signed by each of (keys) (none
// leaves it unsigned, for signing later with SignPackageFile). Sources are
// hashed, then streamed into the archive and hashed again, so a source that
// changes during the build is an error, not a bad package.
Result<Manifest> BuildPackage(const Recipe& recipe, const std::vector<PrivateKey>& keys,
                              const std::string& out, const WriterOptions& options = {});

}  // namespace hvkit
