// store_json.hpp - the JSON shape of a suppression and of an event, shared by `show`, `list`,
// `export --format json` and `import --format json` (so an export reads back as it was written).
#pragma once

#include <nlohmann/json.hpp>

#include "store/records.hpp"

namespace bg::cli {

// {"key", "category", "since", "last_seen", "expires" (null: never), "count", "added_by", "reason"}
nlohmann::ordered_json suppression_json(const Suppression& s);
nlohmann::ordered_json event_json(const Event& e);

}  // namespace bg::cli
