#pragma once
// Process logging: the default logger (operational messages) and the "calls"
// logger (one line per call), both to stdout, as JSON lines or text.

#include "config/config.h"

namespace tollgate::app {

void setup_logging(const config::LogConfig& cfg);
// Applies a reloaded level (the format is fixed at start).
void apply_log_level(const config::LogConfig& cfg);

}  // namespace tollgate::app
