// hvmm's control side: what the host uses to drive a running machine.
//
//   protocol.cc        the control socket's requests and responses (pure:
//                      line in, line out, against a ControlTarget)
//   line_buffer.cc     cutting a client's byte stream into request lines
//   machine_target.cc  the ControlTarget a real Machine answers through
//   socket.cc          creating, probing and removing the socket file
//   server.cc          the server thread: poll(), clients, wake on stop
//   client.cc          one request/response round trip (`hvmm control`)
//   serial_input.cc    host stdin to the UART, the terminal's raw mode
//
// The protocol is documented for users in docs/hvmm.md ("Control socket").
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "devices/serial.h"
#include "hvfilt/hvfilt.h"
#include "hvkit/fs.h"
#include "hvkit/json.h"
#include "hvkit/status.h"
#include "hvmm.h"

namespace hvkit::hvmm {

// ============================================================================
// protocol.cc — requests and responses
// ============================================================================

// The longest request line accepted, newline excluded.
inline constexpr size_t kMaxControlLine = 64 * 1024;

enum class ControlCommand { kStatus, kPause, kResume, kShutdown, kFilterAttach, kTakeover };

// A parsed request: the command, and takeover's optional "binary" and
// "trial_ms".
struct ControlRequest {
    ControlCommand command = ControlCommand::kStatus;
    std::string binary;    // takeover: the successor hvmm ("" = this binary)
    int64_t trial_ms = 0;  // takeover: on trial for this long (0: none)
};

// What {"cmd":"status"} reports.
struct VmStatusReport {
    int64_t pid = 0;  // the hvmm process answering
    bool paused = false;
    uint32_t vcpus = 0;
    uint64_t memory_bytes = 0;
    uint64_t uptime_s = 0;
    std::string version;               // this hvmm's version
    std::vector<std::string> devices;  // device names in setup order
    // The release the host's store committed (what the next start runs),
    // for a VM with update permission. Empty means none and the member is
    // left out of the response.
    std::string committed_version;
    // Live takeover: how this hvmm came to run the guest ({"from_pid",
    // "from_version", "blackout_us"}) and the last takeover it attempted
    // ({"state", "binary", "error"}); null when there is nothing to say.
    Json took_over;
    Json takeover;
};

// What the protocol acts on: a running Machine (MachineControlTarget) or a
// fake in tests. Called from the control thread only, one request at a time.
class ControlTarget {
  public:
    virtual ~ControlTarget() = default;
    virtual VmStatusReport Report() const = 0;
    // Machine::Pause()'s contract: returns once every vCPU is parked.
    virtual Status Pause() = 0;
    virtual void Resume() = 0;
    // Requests the stop hvmm reports as a host request (exit status 3).
    virtual void Shutdown() = 0;
    // Fresh dups of the filter-ring fds for an attaching hvfilterd. The
    // default refuses: the VM has no filter rings.
    virtual Result<FilterAttachment> AttachFilter();
    // Starts a live takeover by (binary) ("" = this hvmm's own binary); the
    // outcome shows in Report(). The default refuses.
    // On trial when (trial_ms) > 0 (docs/live-takeover.md, "The trial").
    virtual Status Takeover(const std::string& binary, int64_t trial_ms);
};

// A response line and the fds sent with it (SCM_RIGHTS, in order, in the
// same sendmsg as the line's first byte).
struct ControlReply {
    std::string line;
    std::vector<UniqueFd> fds;
};

// Parses one request line (newline removed; a trailing "\r" is allowed):
// a JSON object with exactly one member, "cmd", a string naming a command.
// Every refusal is kInvalidArgument or kMalformed with a message that names
// the rule broken.
Result<ControlRequest> ParseControlRequest(std::string_view line);

// The response lines (no newline): {"ok":true}, the status object, and
// {"ok":false,"error":(message)}.
std::string ControlOkResponse();
std::string ControlStatusResponse(const VmStatusReport& report);
std::string ControlErrorResponse(std::string_view message);
// {"ok":true,"region_size":N,"abi_major":M,"abi_minor":m} for (a).
std::string ControlFilterAttachResponse(const FilterAttachment& a);

// Parses (line), acts on (target) and returns the response line with the
// fds it carries (only filter-attach carries any: region memfd, doorbell
// eventfd, interrupt eventfd).
ControlReply HandleControlRequest(std::string_view line, ControlTarget& target);
// HandleControlRequest's line alone; any fds are closed.
std::string HandleControlLine(std::string_view line, ControlTarget& target);

// ============================================================================
// line_buffer.cc — a client's bytes -> request lines
// ============================================================================

// Collects one client's bytes into lines of at most kMaxControlLine bytes.
// A longer line is reported once as too long and then skipped up to its
// newline, so the client's next line is read normally.
class ControlLineBuffer {
  public:
    struct Line {
        bool too_long = false;
        std::string text;  // without the newline; empty when too_long
    };
    // Appends (bytes); returns the lines they completed, in order.
    std::vector<Line> Feed(std::string_view bytes);
    // Bytes of an unfinished line held (for tests).
    size_t pending() const { return partial_.size(); }

  private:
    std::string partial_;
    bool skipping_ = false;
};

// ============================================================================
// machine_target.cc — the real machine behind the protocol
// ============================================================================

class Predecessor;

class MachineControlTarget final : public ControlTarget {
  public:
    // Answers for (machine), reporting (version); uptime counts from now.
    // (takeover) starts takeovers (none: refused).
    MachineControlTarget(Machine& machine, std::string version, Predecessor* takeover = nullptr);
    VmStatusReport Report() const override;
    Status Pause() override;
    void Resume() override;
    void Shutdown() override;
    Result<FilterAttachment> AttachFilter() override;
    Status Takeover(const std::string& binary, int64_t trial_ms) override;
    // A successor on trial: its state ("on-trial", "passed", ...) shows as
    // took_over's "trial".
    void ReportTrial(std::function<std::string()> state) { trial_state_ = std::move(state); }
    // A successor: how it got the guest (VmStatusReport::took_over), asked
    // at each status, and the VM's start (MonotonicNs) its uptime counts
    // from: the first hvmm's, carried by each takeover.
    void ReportTookOver(std::function<Json()> took_over) { took_over_ = std::move(took_over); }
    void CountUptimeFrom(int64_t started_ns) { started_ns_ = started_ns; }
    int64_t started_ns() const { return started_ns_; }

  private:
    Machine& machine_;
    std::function<std::string()> trial_state_;
    std::string version_;
    Predecessor* takeover_;
    std::function<Json()> took_over_;
    int64_t started_ns_ = 0;  // CLOCK_MONOTONIC
};

// ============================================================================
// socket.cc — the socket file
// ============================================================================

// A listening Unix stream socket bound at a path, and that file's identity
// so only this socket's file is removed later.
struct ControlSocket {
    UniqueFd fd;
    std::string path;
    uint64_t dev = 0;
    uint64_t ino = 0;
};

// Binds and listens at (path) with mode 0600. Refuses a path too long for a
// Unix socket, an existing non-socket, and a socket some process still
// accepts on; replaces a stale socket (connect refused). The fd is
// non-blocking and close-on-exec.
Result<ControlSocket> ListenControlSocket(const std::string& path);

// Removes (socket)'s file if it is still the one bound (a successor may have
// replaced it), and closes the fd.
void CloseControlSocket(ControlSocket& socket);

// ============================================================================
// server.cc — serving the socket
// ============================================================================

// Serves the control protocol on its own thread: any number of clients up to
// kMaxControlClients, each answered in order, one response line per request
// line. A client that sends garbage gets error responses; one that
// disconnects (mid-line or not), stops reading, or overflows its output
// buffer is dropped alone.
class ControlServer {
  public:
    static constexpr size_t kMaxControlClients = 32;
    // Listens at (path) (ListenControlSocket) and serves (target) until
    // destroyed or until (stop_fd) becomes readable (VmControl::eventfd(); -1
    // for none). Errors are the socket's.
    static Result<std::unique_ptr<ControlServer>> Start(const std::string& path,
                                                        ControlTarget& target, int stop_fd);
    // Serves (socket), already listening, and (clients), already accepted
    // (live takeover: the predecessor's).
    static Result<std::unique_ptr<ControlServer>> Adopt(ControlSocket socket,
                                                        std::vector<UniqueFd> clients,
                                                        ControlTarget& target, int stop_fd);
    // Live takeover: stops the thread and gives up the socket and the
    // clients (answers already queued are flushed first, as far as the
    // clients read them; an unfinished request line is dropped). The file
    // stays: the next owner serves it.
    struct Released {
        ControlSocket socket;
        std::vector<UniqueFd> clients;
    };
    Released Release();
    // Stops the thread, closes the clients and removes the socket file.
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

  private:
    ControlServer(ControlSocket socket, ControlTarget& target, int stop_fd);
    static Result<std::unique_ptr<ControlServer>> Launch(std::unique_ptr<ControlServer> server);
    void Serve();
    ControlSocket socket_;
    ControlTarget& target_;
    int stop_fd_;
    UniqueFd wake_;  // eventfd the destructor and Release() write
    std::thread thread_;
    std::vector<UniqueFd> clients_;  // handed in (Adopt) or out (Release)
    std::atomic<bool> releasing_{false};
};

// Starts (body) on a thread with every signal blocked, so SIGINT/SIGTERM go
// to the thread that waits for them (Machine::Run's signalfd), never here.
std::thread StartHostThread(std::function<void()> body);

// ============================================================================
// client.cc — one round trip
// ============================================================================

// Connects to (path), sends (request) plus a newline and returns the response
// line (without its newline). Fails when the socket cannot be reached, the
// server closes first, or no answer comes within (timeout_ms). Fds that came
// with the response (SCM_RIGHTS) go to (fds) when given, else are closed.
Result<std::string> SendControlRequest(const std::string& path, std::string_view request,
                                       int timeout_ms = 60000,
                                       std::vector<UniqueFd>* fds = nullptr);

// The request line a command word stands for: {"cmd":(word)}.
std::string ControlRequestFor(std::string_view word);

// ============================================================================
// serial_input.cc — host input to the guest's serial port
// ============================================================================

// Puts the terminal (fd) in raw mode: no echo, no line editing, CR passed
// through, no output flow control; ISIG and output processing stay, so
// Ctrl-C still stops hvmm and the guest's output looks as before. Restores
// the saved settings when destroyed. Nothing happens when (fd) is not a tty.
class TerminalRawMode {
  public:
    explicit TerminalRawMode(int fd);
    ~TerminalRawMode();
    TerminalRawMode(const TerminalRawMode&) = delete;
    TerminalRawMode& operator=(const TerminalRawMode&) = delete;
    bool active() const { return active_; }

  private:
    int fd_;
    bool active_ = false;
    std::vector<uint8_t> saved_;  // the struct termios, opaque here
};

// True when reading (fd) cannot stop hvmm: not a tty, or a tty whose
// foreground process group is ours (a background job reading its terminal
// would be stopped by SIGTTIN).
bool CanReadWithoutStopping(int fd);

// Copies bytes from (fd) into (serial) on its own thread. Bytes the UART's
// receive FIFO cannot take yet are held back and offered again every few
// milliseconds, so nothing is dropped. EOF or a read error ends the reading,
// not the VM. Runs until destroyed or (stop_fd) becomes readable.
class SerialInputPump {
  public:
    SerialInputPump(int fd, Serial8250& serial, int stop_fd);
    ~SerialInputPump();
    SerialInputPump(const SerialInputPump&) = delete;
    SerialInputPump& operator=(const SerialInputPump&) = delete;
    // True once (fd) reached EOF or failed.
    bool finished() const { return finished_.load(); }

  private:
    void Pump();
    int fd_;
    Serial8250& serial_;
    int stop_fd_;
    UniqueFd wake_;
    std::atomic<bool> finished_{false};
    std::thread thread_;
};

}  // namespace hvkit::hvmm
