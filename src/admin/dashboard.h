#pragma once
// The live dashboard: one self-contained HTML page (CSS and JS inline, no network
// access needed) served on the admin listener. It polls /admin/overview every
// second with the admin token (from the URL fragment #token=…, or asked for once
// and kept in the tab's session storage) and offers disable/enable and replay.

#include <string_view>

namespace tollgate::admin {

std::string_view dashboard_html();

}  // namespace tollgate::admin
