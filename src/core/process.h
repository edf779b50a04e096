#pragma once
// Process plumbing shared by the tollgate and tollgate-sim binaries: signal
// handling on the main thread and the ready file that tests and scripts wait for.

#include <cstdint>
#include <optional>
#include <string>

namespace tollgate {

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and in threads it
// starts afterwards), so only wait_for_signal() sees them. Call before starting
// worker threads.
void block_termination_signals();

// Waits for SIGINT, SIGTERM or SIGHUP; returns the signal number.
int wait_for_signal();

// Writes `content` to `path` atomically (temp file + rename).
bool write_file_atomically(const std::string& path, const std::string& content);
// Where tollgate keeps state when the config names no path: $STATE_DIRECTORY
// (systemd's StateDirectory=), else $XDG_STATE_HOME/tollgate, else
// ~/.local/state/tollgate, else /var/lib/tollgate. Never the working directory,
// so running from a checkout never writes into it.
std::string default_state_dir();
// Creates `dir` and its parents (mode 0700 for the last); false on failure.
bool make_dirs(const std::string& dir);

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit
// (0 when it cannot be read).
std::uint64_t raise_open_file_limit();

// Names the calling thread as `top -H`, `ps -L` and /proc/<pid>/task/*/comm show
// it (at most 15 bytes are kept; Linux's limit).
void set_thread_name(const char* name);

// The whole file; nullopt when it cannot be read.
std::optional<std::string> read_file(const std::string& path);

}  // namespace tollgate
