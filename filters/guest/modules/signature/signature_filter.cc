// The signature module: drops an item whose content holds any signature of
// its signature file (the transport payload for packets, the whole content
// for files), matched with one Aho–Corasick pass.
#include <memory>

#include "aho_corasick.h"
#include "module_entry.h"
#include "module_location.h"
#include "signature_file.h"
#include "transport_payload.h"

namespace hvkit::filters {
namespace {

class SignatureFilter {
  public:
    // Params: {"signatures": "<path>"}; a relative path is taken from the
    // directory holding this module, where an extension ships its rules.
    static Result<std::unique_ptr<SignatureFilter>> Create(const Json& params) {
        HVKIT_RETURN_IF_ERROR(CheckKnownParams(params, {"signatures"}));
        HVKIT_ASSIGN_OR_RETURN(std::string path, JsonString(params, "signatures", "params"));
        if (path.empty())
            return Error(ErrorCode::kInvalidArgument, "params: 'signatures' is empty");
        if (path[0] != '/') {
            std::string directory = ThisModuleDirectory();
            if (directory.empty()) {
                return Error(ErrorCode::kNotFound,
                             "params: cannot tell this module's directory "
                             "to resolve '" +
                                 path + "'; give an absolute path");
            }
            path = directory + "/" + path;
        }
        HVKIT_ASSIGN_OR_RETURN(std::vector<Signature> signatures, LoadSignatureFile(path));
        std::vector<std::string> patterns;
        for (const Signature& signature : signatures) patterns.push_back(signature.bytes);
        Result<AhoCorasick> automaton = AhoCorasick::Build(patterns);
        if (!automaton.ok()) return automaton.status().WithContext(path);
        return std::unique_ptr<SignatureFilter>(
            new SignatureFilter(std::move(signatures), std::move(automaton).value()));
    }

    // A packet whose headers do not parse is scanned whole: better a false
    // match on header bytes than an unscanned payload.
    Inspection Inspect(const hvfilter_item& item, VerdictOutput& out) {
        std::span<const uint8_t> content(item.bytes, item.len);
        if (item.source == HVFILTER_ITEM_NETWORK) {
            if (auto payload = FindTransportPayload(content)) {
                content = content.subspan(payload->offset, payload->length);
            }
        }
        std::optional<PatternMatch> match = automaton_.FindFirst(content);
        if (!match) return HVFILTER_INSPECT_PASS;
        out.ExplainDrop("signature " + signatures_[match->pattern].name);
        return HVFILTER_INSPECT_DROP;
    }

  private:
    SignatureFilter(std::vector<Signature> signatures, AhoCorasick automaton)
        : signatures_(std::move(signatures)), automaton_(std::move(automaton)) {}

    std::vector<Signature> signatures_;
    AhoCorasick automaton_;
};

}  // namespace
}  // namespace hvkit::filters

extern "C" const hvfilter_module* hvfilter_module_v1(void) {
    static const hvfilter_module table =
        hvkit::filters::MakeModuleTable<hvkit::filters::SignatureFilter>("signature", "1.0.0");
    return &table;
}
