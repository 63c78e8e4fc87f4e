// Finding files that ship with Warden (policies, models, the dashboard's web/ folder, red-team
// seeds) from wherever the program runs: the current directory first, then the source tree the
// binary was built from, then the installed share/warden folder beside the binary's bin/.
#pragma once

#include <string>

namespace warden {

// Returns the first existing path for `relative` (e.g. "policies/default.yaml"), or `relative`
// itself when none exists, so that the error that follows names it.
std::string FindBundledFile(const std::string& relative);

}  // namespace warden
