// What runs beside the vCPUs for the host: the control socket and serial
// input, in `hvmm run` and in a successor hvmm, and what of them a live
// takeover hands over.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control/control.h"
#include "takeover/takeover.h"

namespace hvkit::hvmm {

class HostSide final : public HandoverHost {
  public:
    // For (machine); reads host stdin into its serial port when (read_stdin)
    // and stdin can be read without stopping hvmm.
    HostSide(Machine& machine, bool read_stdin) : machine_(machine), read_stdin_(read_stdin) {}
    ~HostSide() override { Stop(); }

    // Starts serving: the control socket at (control_path) if any (a fresh
    // one), answered by (target), and serial input.
    Status Start(const std::optional<std::string>& control_path,
                 std::unique_ptr<MachineControlTarget> target);
    // The same over a predecessor's control socket and clients (successor).
    Status StartAdopted(std::optional<ControlSocket> socket, std::vector<UniqueFd> clients,
                        std::unique_ptr<MachineControlTarget> target);
    // Ends serving, users first: input before the terminal is restored,
    // the server before its target; removes the socket file if still ours.
    void Stop();

    Status Release(std::vector<std::pair<std::string, UniqueFd>>& fds, Json& control) override;
    void Reclaim(std::vector<std::pair<std::string, UniqueFd>> fds) override;

  private:
    void StartInput();

    Machine& machine_;
    bool read_stdin_;
    std::unique_ptr<MachineControlTarget> target_;
    std::unique_ptr<ControlServer> server_;
    // The socket file's identity while released (to serve it again).
    ControlSocket released_;
    std::shared_ptr<Serial8250> serial_;
    std::unique_ptr<TerminalRawMode> raw_mode_;
    std::unique_ptr<SerialInputPump> input_;
};

// hvmm's exit statuses (docs/hvmm.md).
namespace exit_status {
inline constexpr int kOk = 0;       // the guest reset or shut down
inline constexpr int kFailure = 1;  // hvmm failed, or the guest crashed or triple-faulted
inline constexpr int kUsage = 2;
inline constexpr int kStopped = 3;        // SIGINT/SIGTERM or a control-socket shutdown
inline constexpr int kNoHardwareKvm = 4;  // check-kvm: KVM cannot boot a stock kernel
inline constexpr int kHandedOver = 5;     // live takeover: a successor runs the guest
}  // namespace exit_status

// Runs (machine) until it stops (SIGINT/SIGTERM included), stops (host),
// says why on stderr and returns the exit status for it. (started): as
// Machine::Run's.
int RunUntilStopped(Machine& machine, HostSide& host, const std::function<void()>& started = {});

// Writes every byte to (fd), retrying on EINTR and short writes; a console
// that is gone drops the rest (the guest keeps running).
void WriteAll(int fd, std::span<const uint8_t> bytes);

// The ControlSocket a handover's "control" member (path, dev, ino) and
// listener fd describe.
Result<ControlSocket> ControlSocketFromHandover(const Json& control, UniqueFd listener);

}  // namespace hvkit::hvmm
