// The control socket's protocol and line cutting, without sockets: every
// refusal and its message, the responses' shape, the 64 KiB line cap.
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "control/control.h"
#include "fake_control_target.h"

namespace hvkit::hvmm {
namespace {

using testing::FakeTarget;

Json Parse(const std::string& response) {
    EXPECT_EQ(response.find('\n'), std::string::npos) << "a response is one line";
    auto j = ParseJson(response, "response");
    EXPECT_TRUE(j.ok()) << response;
    return j.ok() ? *j : Json();
}

// The error message a refused (line) gets, after checking it is a refusal
// that changed nothing.
std::string Refusal(std::string_view line) {
    FakeTarget target;
    Json r = Parse(HandleControlLine(line, target));
    EXPECT_EQ(r.Find("ok") != nullptr && r.Find("ok")->as_bool(), false) << line;
    EXPECT_EQ(target.pauses + target.resumes + target.shutdowns, 0) << line;
    const Json* error = r.Find("error");
    return error != nullptr && error->is_string() ? error->as_string() : "(no error member)";
}

#define EXPECT_REFUSED(line, fragment) \
    EXPECT_NE(Refusal(line).find(fragment), std::string::npos) << Refusal(line)

TEST(ControlProtocol, ParsesEachCommand) {
    EXPECT_EQ(ParseControlRequest(R"({"cmd":"status"})")->command, ControlCommand::kStatus);
    EXPECT_EQ(ParseControlRequest(R"({"cmd":"pause"})")->command, ControlCommand::kPause);
    EXPECT_EQ(ParseControlRequest(R"({"cmd":"resume"})")->command, ControlCommand::kResume);
    EXPECT_EQ(ParseControlRequest(R"( { "cmd" : "shutdown" } )")->command,
              ControlCommand::kShutdown);
    EXPECT_EQ(ParseControlRequest("{\"cmd\":\"status\"}\r")->command,
              ControlCommand::kStatus);  // CRLF
}

TEST(ControlProtocol, RefusesEmptyLines) {
    EXPECT_REFUSED("", "empty request line");
    EXPECT_REFUSED("   ", "empty request line");
}

TEST(ControlProtocol, RefusesMalformedJson) {
    EXPECT_REFUSED("{", "request is not valid JSON");
    EXPECT_REFUSED("status", "request is not valid JSON");
    EXPECT_REFUSED(R"({"cmd":"status",})", "request is not valid JSON");
    EXPECT_REFUSED(R"({"cmd":"status"} {"cmd":"pause"})", "request is not valid JSON");
    // Duplicate keys: which one wins would be a guess.
    EXPECT_REFUSED(R"({"cmd":"status","cmd":"shutdown"})", "request is not valid JSON");
    EXPECT_REFUSED("{\"cmd\":\"st\xff\"}", "request is not valid JSON");  // invalid UTF-8
    EXPECT_REFUSED(std::string("{\"cmd\":\"status\"}\0", 17), "request is not valid JSON");
}

TEST(ControlProtocol, RefusesWrongTypes) {
    EXPECT_REFUSED("[1,2]", "request must be a JSON object; got array");
    EXPECT_REFUSED(R"("status")", "request must be a JSON object; got string");
    EXPECT_REFUSED("{}", "request lacks \"cmd\"");
    EXPECT_REFUSED(R"({"cmd":1})", "\"cmd\" must be a string; got integer");
    EXPECT_REFUSED(R"({"cmd":null})", "\"cmd\" must be a string; got null");
    EXPECT_REFUSED(R"({"cmd":["pause"]})", "\"cmd\" must be a string; got array");
    EXPECT_REFUSED(R"({"cmd":"pause","force":true})", "request has unknown member \"force\"");
}

TEST(ControlProtocol, RefusesUnknownCommandsNamingTheKnownOnes) {
    std::string error = Refusal(R"({"cmd":"reboot"})");
    EXPECT_NE(error.find("unknown cmd \"reboot\""), std::string::npos) << error;
    EXPECT_NE(error.find("status, pause, resume, shutdown"), std::string::npos) << error;
    EXPECT_REFUSED(R"({"cmd":"STATUS"})", "unknown cmd");  // case matters
    EXPECT_REFUSED(R"({"cmd":""})", "unknown cmd");
}

TEST(ControlProtocol, RefusesLinesOverTheCap) {
    std::string pad(kMaxControlLine, ' ');
    std::string at_cap = R"({"cmd":"status"})";
    at_cap += pad.substr(at_cap.size());
    ASSERT_EQ(at_cap.size(), kMaxControlLine);
    EXPECT_TRUE(ParseControlRequest(at_cap).ok());
    auto over = ParseControlRequest(at_cap + " ");
    ASSERT_FALSE(over.ok());
    EXPECT_EQ(over.status().code(), ErrorCode::kTooLarge);
    EXPECT_NE(over.status().message().find("longer than 65536 bytes"), std::string::npos);
}

TEST(ControlProtocol, RefusesDeepNesting) {
    EXPECT_REFUSED(std::string(100, '[') + std::string(100, ']'), "request is not valid JSON");
}

TEST(ControlProtocol, StatusReportsTheMachine) {
    FakeTarget target;
    Json r = Parse(HandleControlLine(R"({"cmd":"status"})", target));
    EXPECT_EQ(r.Find("ok")->as_bool(), true);
    EXPECT_EQ(r.Find("state")->as_string(), "running");
    EXPECT_EQ(r.Find("vcpus")->as_int(), 2);
    EXPECT_EQ(r.Find("memory_bytes")->as_int(), int64_t{256} << 20);
    EXPECT_EQ(r.Find("uptime_s")->as_int(), 7);
    EXPECT_EQ(r.Find("version")->as_string(), "1.2.3");
    ASSERT_TRUE(r.Find("devices")->is_array());
    ASSERT_EQ(r.Find("devices")->as_array().size(), 2u);
    EXPECT_EQ(r.Find("devices")->as_array()[1].as_string(), "i8042");
    EXPECT_EQ(r.Find("committed_version"), nullptr);  // not known yet: left out
    target.report.committed_version = "1.3.0";
    r = Parse(HandleControlLine(R"({"cmd":"status"})", target));
    ASSERT_NE(r.Find("committed_version"), nullptr);
    EXPECT_EQ(r.Find("committed_version")->as_string(), "1.3.0");
}

TEST(ControlProtocol, PauseResumeShutdownReachTheTarget) {
    FakeTarget target;
    EXPECT_EQ(HandleControlLine(R"({"cmd":"pause"})", target), R"({"ok":true})");
    EXPECT_EQ(target.pauses, 1);
    EXPECT_EQ(Parse(HandleControlLine(R"({"cmd":"status"})", target)).Find("state")->as_string(),
              "paused");
    EXPECT_EQ(HandleControlLine(R"({"cmd":"resume"})", target), R"({"ok":true})");
    EXPECT_EQ(target.resumes, 1);
    EXPECT_EQ(Parse(HandleControlLine(R"({"cmd":"status"})", target)).Find("state")->as_string(),
              "running");
    EXPECT_EQ(HandleControlLine(R"({"cmd":"shutdown"})", target), R"({"ok":true})");
    EXPECT_EQ(target.shutdowns, 1);
}

TEST(ControlProtocol, AFailedPauseIsAnErrorResponse) {
    FakeTarget target;
    target.pause_result = Error(ErrorCode::kConflict, "cannot pause: the VM is stopping");
    Json r = Parse(HandleControlLine(R"({"cmd":"pause"})", target));
    EXPECT_EQ(r.Find("ok")->as_bool(), false);
    EXPECT_EQ(r.Find("error")->as_string(), "cannot pause: the VM is stopping");
}

TEST(ControlProtocol, ErrorMessagesAreEscaped) {
    Json r = Parse(ControlErrorResponse("bad \"x\"\n\x01"));
    EXPECT_EQ(r.Find("error")->as_string(), "bad \"x\"\n\x01");
}

TEST(ControlProtocol, RequestForAWordIsEscapedJson) {
    EXPECT_EQ(ControlRequestFor("status"), R"({"cmd":"status"})");
    EXPECT_EQ(ParseControlRequest(ControlRequestFor("pause"))->command, ControlCommand::kPause);
    EXPECT_EQ(ControlRequestFor("a\"b"), R"({"cmd":"a\"b"})");
}

TEST(ControlLineBuffer, CutsLinesAcrossChunks) {
    ControlLineBuffer b;
    EXPECT_TRUE(b.Feed(R"({"cmd":)").empty());
    EXPECT_EQ(b.pending(), 7u);
    auto lines = b.Feed("\"status\"}\nsecond\nthi");
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].text, R"({"cmd":"status"})");
    EXPECT_FALSE(lines[0].too_long);
    EXPECT_EQ(lines[1].text, "second");
    EXPECT_EQ(b.pending(), 3u);
    lines = b.Feed("rd\n\n");
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].text, "third");
    EXPECT_EQ(lines[1].text, "");  // an empty line is a line (and gets refused)
}

TEST(ControlLineBuffer, AnOverlongLineIsReportedOnceThenSkipped) {
    ControlLineBuffer b;
    std::string big(kMaxControlLine, 'x');
    EXPECT_TRUE(b.Feed(big).empty());  // at the cap: still collecting
    auto lines = b.Feed("y");          // one past it
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_TRUE(lines[0].too_long);
    EXPECT_EQ(b.pending(), 0u);  // nothing of it kept
    EXPECT_TRUE(b.Feed(big).empty());
    EXPECT_TRUE(b.Feed(big).empty());  // still the same line: no second report
    lines = b.Feed("tail\nnext\n");
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_FALSE(lines[0].too_long);
    EXPECT_EQ(lines[0].text, "next");
}

TEST(ControlLineBuffer, ALineOfExactlyTheCapIsKept) {
    ControlLineBuffer b;
    auto lines = b.Feed(std::string(kMaxControlLine, 'x') + "\n");
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_FALSE(lines[0].too_long);
    EXPECT_EQ(lines[0].text.size(), kMaxControlLine);
}

TEST(ControlLineBuffer, AnOverlongLineInOneChunkIsReportedOnce) {
    ControlLineBuffer b;
    auto lines = b.Feed(std::string(3 * kMaxControlLine, 'x') + "\nok\n");
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_TRUE(lines[0].too_long);
    EXPECT_EQ(lines[1].text, "ok");
}

TEST(ControlProtocol, ParsesFilterAttach) {
    EXPECT_EQ(ParseControlRequest(R"({"cmd":"filter-attach"})")->command,
              ControlCommand::kFilterAttach);
    EXPECT_REFUSED(R"({"cmd":"filter_attach"})", "filter-attach");  // named among the known
}

TEST(ControlProtocol, FilterAttachIsRefusedWithoutFilterRings) {
    FakeTarget target;  // the default AttachFilter: no rings
    ControlReply reply = HandleControlRequest(R"({"cmd":"filter-attach"})", target);
    Json r = Parse(reply.line);
    EXPECT_FALSE(r.Find("ok")->as_bool());
    EXPECT_NE(r.Find("error")->as_string().find("no filter rings"), std::string::npos);
    EXPECT_NE(r.Find("error")->as_string().find("--filter-rings"), std::string::npos);
    EXPECT_TRUE(reply.fds.empty());
}

TEST(ControlProtocol, FilterAttachAnswersSizeVersionAndThreeFdsInOrder) {
    FakeTarget target;
    target.attach = []() -> Result<FilterAttachment> {
        FilterAttachment a;
        a.region_size = 2u << 20;
        a.abi_major = 0;
        a.abi_minor = 1;
        for (int i = 0; i < 3; ++i) a.fds[i] = UniqueFd(eventfd(static_cast<unsigned>(i + 1), 0));
        return a;
    };
    ControlReply reply = HandleControlRequest(R"({"cmd":"filter-attach"})", target);
    Json r = Parse(reply.line);
    ASSERT_TRUE(r.is_object());
    EXPECT_EQ(r.as_object().size(), 4u) << reply.line;
    EXPECT_TRUE(r.Find("ok")->as_bool());
    EXPECT_EQ(r.Find("region_size")->as_int(), 2 << 20);
    EXPECT_EQ(r.Find("abi_major")->as_int(), 0);
    EXPECT_EQ(r.Find("abi_minor")->as_int(), 1);
    ASSERT_EQ(reply.fds.size(), 3u);
    for (int i = 0; i < 3; ++i) {
        uint64_t v = 0;
        ASSERT_EQ(read(reply.fds[i].get(), &v, sizeof v), 8);
        EXPECT_EQ(v, static_cast<uint64_t>(i + 1)) << "fd " << i << " out of order";
    }
    EXPECT_EQ(target.attaches, 1);
}

TEST(ControlProtocol, FilterAttachPassesATargetsErrorOn) {
    FakeTarget target;
    target.attach = []() -> Result<FilterAttachment> {
        return Error(ErrorCode::kIo, "hvfilt: duplicating the region memfd: EMFILE");
    };
    ControlReply reply = HandleControlRequest(R"({"cmd":"filter-attach"})", target);
    Json r = Parse(reply.line);
    EXPECT_FALSE(r.Find("ok")->as_bool());
    EXPECT_EQ(r.Find("error")->as_string(), "hvfilt: duplicating the region memfd: EMFILE");
    EXPECT_TRUE(reply.fds.empty());
}

TEST(ControlProtocol, TakeoverTakesAnAbsoluteBinaryAndNothingElseDoes) {
    auto plain = ParseControlRequest(R"({"cmd":"takeover"})");
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain->command, ControlCommand::kTakeover);
    EXPECT_EQ(plain->binary, "");
    auto with = ParseControlRequest(R"({"cmd":"takeover","binary":"/opt/hvmm"})");
    ASSERT_TRUE(with.ok());
    EXPECT_EQ(with->binary, "/opt/hvmm");
    auto relative = ParseControlRequest(R"({"cmd":"takeover","binary":"hvmm"})");
    ASSERT_FALSE(relative.ok());
    EXPECT_NE(relative.status().message().find("absolute path"), std::string::npos);
    EXPECT_FALSE(ParseControlRequest(R"({"cmd":"takeover","binary":7})").ok());
    auto elsewhere = ParseControlRequest(R"({"cmd":"status","binary":"/opt/hvmm"})");
    ASSERT_FALSE(elsewhere.ok());
    EXPECT_NE(elsewhere.status().message().find("unknown member \"binary\""), std::string::npos);
}

TEST(ControlProtocol, ATargetWithoutTakeoverRefusesIt) {
    FakeTarget target;
    Json r = Parse(HandleControlRequest(R"({"cmd":"takeover"})", target).line);
    EXPECT_FALSE(r.Find("ok")->as_bool());
    EXPECT_NE(r.Find("error")->as_string().find("cannot hand its guest over"), std::string::npos);
}

TEST(ControlProtocol, StatusNamesTheAnsweringProcessAndItsTakeovers) {
    FakeTarget target;
    target.report.pid = 4242;
    target.report.took_over = Json::MakeObject();
    target.report.took_over["from_pid"] = Json(int64_t{17});
    Json r = Parse(HandleControlRequest(R"({"cmd":"status"})", target).line);
    EXPECT_EQ(r.Find("pid")->as_int(), 4242);
    EXPECT_EQ(r.Find("took_over")->Find("from_pid")->as_int(), 17);
    EXPECT_EQ(r.Find("takeover"), nullptr);  // none attempted: left out
}

}  // namespace
}  // namespace hvkit::hvmm
